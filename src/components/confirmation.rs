use yew::prelude::*;

/// The end of the visit: what happens next, and the time to keep.
pub struct Confirmation<'a> {
    /// "Request sent" or "Booked".
    pub title: &'a str,
    pub detail: &'a str,
    /// The booked time in words, in both zones when they differ.
    pub time: String,
    pub calendar_url: String,
    pub calendar_label: &'a str,
    /// Focused when the confirmation appears.
    pub heading: NodeRef,
}

impl Confirmation<'_> {
    pub fn view(self) -> Html {
        html! {
            <div class="fs-confirmation">
                <h3 class="fs-step-heading" tabindex="-1" ref={self.heading}>{ self.title }</h3>
                <p>{ self.detail }</p>
                <p class="fs-confirmed-time"><strong>{ self.time }</strong></p>
                <a class="fs-button fs-secondary" href={self.calendar_url} download="consultation.ics">
                    { self.calendar_label }
                </a>
            </div>
        }
    }
}
