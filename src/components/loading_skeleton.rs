use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct LoadingSkeletonProps {
    pub label: AttrValue,
}

/// Grey placeholders the size of the day and time buttons, so nothing jumps
/// when the slots arrive.
#[component]
pub fn LoadingSkeleton(props: &LoadingSkeletonProps) -> Html {
    html! {
        <div class="fs-skeleton" aria-busy="true" aria-label={props.label.clone()}>
            <div class="fs-skeleton-row">
                { for (0..5).map(|_| html! { <span class="fs-skeleton-day"></span> }) }
            </div>
            <div class="fs-skeleton-grid">
                { for (0..8).map(|_| html! { <span class="fs-skeleton-time"></span> }) }
            </div>
        </div>
    }
}
