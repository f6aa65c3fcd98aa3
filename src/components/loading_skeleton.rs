use yew::prelude::*;

/// Grey placeholders the size of the day and time buttons, so nothing jumps
/// when the slots arrive. Hidden from assistive tech: the live region says
/// "Loading" instead.
pub fn loading_skeleton() -> Html {
    html! {
        <div class="fs-skeleton" aria-hidden="true">
            <div class="fs-skeleton-row">
                { for (0..5).map(|_| html! { <span class="fs-skeleton-day"></span> }) }
            </div>
            <div class="fs-skeleton-grid">
                { for (0..8).map(|_| html! { <span class="fs-skeleton-time"></span> }) }
            </div>
        </div>
    }
}
