use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct ProblemNoticeProps {
    pub message: AttrValue,
    /// Shown as a "Try again" button when given.
    #[prop_or_default]
    pub on_retry: Option<Callback<()>>,
    #[prop_or_default]
    pub retry_label: AttrValue,
}

/// Something went wrong, in words, with a way forward when there is one.
#[component]
pub fn ProblemNotice(props: &ProblemNoticeProps) -> Html {
    let retry = props.on_retry.clone().map(|on_retry| {
        html! {
            <button type="button" class="fs-button fs-secondary" onclick={move |_| on_retry.emit(())}>
                { props.retry_label.clone() }
            </button>
        }
    });
    html! {
        <div class="fs-notice fs-problem" role="alert">
            <p>{ props.message.clone() }</p>
            { retry }
        </div>
    }
}
