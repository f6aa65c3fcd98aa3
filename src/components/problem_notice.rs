use yew::prelude::*;

/// Something went wrong, in words, with a way forward when there is one: a
/// "Try again" button, given its label and `on_retry`.
pub fn problem_notice(message: &str, retry: Option<(&str, Callback<()>)>) -> Html {
    let retry = retry.map(|(label, on_retry)| {
        html! {
            <button type="button" class="fs-button fs-secondary" onclick={move |_| on_retry.emit(())}>
                { label }
            </button>
        }
    });
    html! {
        <div class="fs-notice fs-problem" role="alert">
            <p>{ message }</p>
            { retry }
        </div>
    }
}
