//! "Add to calendar" links for Google Calendar and Outlook, in their public
//! add-event formats: the event's title and time only — no tracking
//! parameters, no manage token, nothing about the visitor. One place, so the
//! widget's success screen and the confirmation email give the same links.
//!
//! - Google Calendar: `calendar.google.com/calendar/render?action=TEMPLATE`
//!   with `text` and `dates=START/END` (UTC, `YYYYMMDDTHHMMSSZ`).
//! - Outlook (Outlook.com and, once signed in, Microsoft 365):
//!   `outlook.live.com/calendar/0/action/compose` with `rru=addevent`,
//!   `subject`, `startdt` and `enddt` (ISO 8601 in UTC).

use std::fmt::Write;

/// A consultation as a calendar entry: the title already percent-encoded
/// (`encoded` here, `encodeURIComponent` in the browser), the times as
/// `2026-12-01T15:00:00Z`. The widget brings its own encoder and clock text
/// from the browser, which cost it nothing; the URLs' shapes live here.
pub struct CalendarEvent<'a> {
    pub encoded_title: &'a str,
    pub start: &'a str,
    pub end: &'a str,
}

impl CalendarEvent<'_> {
    pub fn google_url(&self) -> String {
        // Google takes `20261201T150000Z`.
        let compact =
            |t: &str| -> String { t.chars().filter(|c| !matches!(c, '-' | ':')).collect() };
        format!(
            "https://calendar.google.com/calendar/render?action=TEMPLATE&text={}&dates={}/{}",
            self.encoded_title,
            compact(self.start),
            compact(self.end)
        )
    }

    pub fn outlook_url(&self) -> String {
        format!(
            "https://outlook.live.com/calendar/0/action/compose?rru=addevent&subject={}&startdt={}&enddt={}",
            self.encoded_title, self.start, self.end
        )
    }
}

/// Percent-encoding for a query value: RFC 3986's unreserved characters
/// stay, every other byte of the UTF-8 is `%XX`.
pub fn encoded(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TITLE: &str = "Free consultation — Riverside & Co?";

    fn event(encoded_title: &str) -> CalendarEvent<'_> {
        CalendarEvent {
            encoded_title,
            start: "2026-12-01T15:00:00Z",
            end: "2026-12-01T15:15:00Z",
        }
    }

    #[test]
    fn google_gets_its_template_with_the_title_and_utc_times() {
        assert_eq!(
            event(&encoded(TITLE)).google_url(),
            "https://calendar.google.com/calendar/render?action=TEMPLATE\
             &text=Free%20consultation%20%E2%80%94%20Riverside%20%26%20Co%3F\
             &dates=20261201T150000Z/20261201T151500Z"
        );
    }

    #[test]
    fn outlook_gets_its_compose_form_with_the_title_and_utc_times() {
        assert_eq!(
            event(&encoded(TITLE)).outlook_url(),
            "https://outlook.live.com/calendar/0/action/compose?rru=addevent\
             &subject=Free%20consultation%20%E2%80%94%20Riverside%20%26%20Co%3F\
             &startdt=2026-12-01T15:00:00Z&enddt=2026-12-01T15:15:00Z"
        );
    }

    /// No title can add a parameter or end the query: only unreserved
    /// characters and escapes pass.
    #[test]
    fn a_title_cannot_add_parameters() {
        let title = encoded("a&text=b#c d=e?f/g%h\r\n");
        let link = event(&title).google_url();
        let value = link
            .split("&text=")
            .nth(1)
            .unwrap()
            .split("&dates=")
            .next()
            .unwrap();
        assert!(
            value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)),
            "{value}"
        );
        assert_eq!(link.matches('&').count(), 2);
    }
}
