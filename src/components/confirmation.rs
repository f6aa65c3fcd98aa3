use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct ConfirmationProps {
    /// "Request sent" or "Booked".
    pub title: AttrValue,
    pub detail: AttrValue,
    /// The booked time in words, in both zones when they differ.
    pub time: AttrValue,
    pub calendar_url: AttrValue,
    pub calendar_label: AttrValue,
    /// Focused when the confirmation appears.
    pub heading: NodeRef,
}

/// The end of the visit: what happens next, and the time to keep.
#[component]
pub fn Confirmation(props: &ConfirmationProps) -> Html {
    html! {
        <div class="fs-confirmation">
            <h3 class="fs-step-heading" tabindex="-1" ref={props.heading.clone()}>{ props.title.clone() }</h3>
            <p>{ props.detail.clone() }</p>
            <p class="fs-confirmed-time"><strong>{ props.time.clone() }</strong></p>
            <a class="fs-button fs-secondary" href={props.calendar_url.clone()} download="consultation.ics">
                { props.calendar_label.clone() }
            </a>
        </div>
    }
}
