use yew::prelude::*;

use crate::i18n::Texts;

/// The end of the visit: what happens next, and the time to keep.
pub struct Confirmation<'a> {
    /// "Request sent" or "Booked".
    pub title: &'a str,
    pub detail: &'a str,
    /// How the consultation happens, when the service says (and no room is given).
    pub how: Option<String>,
    /// The video room, for a confirmed video booking.
    pub video_url: Option<String>,
    /// The booked time in words, in both zones when they differ.
    pub time: String,
    /// "With Dana Whitfield.", in a group practice.
    pub clinician: Option<String>,
    /// The .ics file, and the same time as a new event in Google Calendar and Outlook.
    pub calendar_url: String,
    pub google_url: String,
    pub outlook_url: String,
    pub texts: &'a Texts,
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
                { self.clinician.map(|clinician| html! { <p>{ clinician }</p> }) }
                { self.how.map(|how| html! { <p>{ how }</p> }) }
                { self.video_url.map(|url| html! {
                    <p><a class="fs-button fs-primary" href={url} target="_blank" rel="noopener noreferrer">{ self.texts.join_video }</a></p>
                }) }
                <p class="fs-calendar-links">
                    <a class="fs-button fs-secondary" href={self.calendar_url} download="consultation.ics">
                        { self.texts.add_to_calendar }
                    </a>
                    // A new tab; no referrer, so the practice's page is not told to Google or Microsoft.
                    <a class="fs-button fs-secondary" href={self.google_url} target="_blank" rel="noopener noreferrer">
                        { self.texts.add_to_google }
                    </a>
                    <a class="fs-button fs-secondary" href={self.outlook_url} target="_blank" rel="noopener noreferrer">
                        { self.texts.add_to_outlook }
                    </a>
                </p>
            </div>
        }
    }
}
