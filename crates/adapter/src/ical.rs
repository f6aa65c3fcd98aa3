//! iCalendar (RFC 5545) writing: text escaped so no input can add a property
//! or a line, lines folded at 75 octets, CRLF line ends.

use chrono::{DateTime, Utc};
use firststep_protocol::visitor_fields::is_line_break;

/// One VEVENT.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    pub uid: &'a str,
    pub stamp: DateTime<Utc>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub summary: &'a str,
    pub description: Option<&'a str>,
    pub location: Option<&'a str>,
    /// Where to join (a video room).
    pub url: Option<&'a str>,
    /// `TENTATIVE`, `CONFIRMED` or `CANCELLED`.
    pub status: &'static str,
}

/// A whole VCALENDAR holding `events`.
pub fn calendar(events: &[Event<'_>]) -> String {
    let mut out = String::new();
    line(&mut out, "BEGIN:VCALENDAR");
    line(&mut out, "VERSION:2.0");
    line(&mut out, "PRODID:-//First Step//Booking adapter//EN");
    line(&mut out, "CALSCALE:GREGORIAN");
    for event in events {
        line(&mut out, "BEGIN:VEVENT");
        line(&mut out, &format!("UID:{}", escape(event.uid)));
        line(&mut out, &format!("DTSTAMP:{}", utc(event.stamp)));
        line(&mut out, &format!("DTSTART:{}", utc(event.start)));
        line(&mut out, &format!("DTEND:{}", utc(event.end)));
        line(&mut out, &format!("SUMMARY:{}", escape(event.summary)));
        if let Some(description) = event.description {
            line(&mut out, &format!("DESCRIPTION:{}", escape(description)));
        }
        if let Some(location) = event.location {
            line(&mut out, &format!("LOCATION:{}", escape(location)));
        }
        // A URI value, not TEXT: kept as it is, but never across a line.
        if let Some(url) = event.url.filter(|u| !u.contains(is_line_break)) {
            line(&mut out, &format!("URL:{url}"));
        }
        line(&mut out, &format!("STATUS:{}", event.status));
        line(&mut out, "END:VEVENT");
    }
    line(&mut out, "END:VCALENDAR");
    out
}

fn utc(instant: DateTime<Utc>) -> String {
    instant.format("%Y%m%dT%H%M%SZ").to_string()
}

/// TEXT escaping: `\`, `;`, `,` and line breaks; other controls are dropped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends one content line, folded so no physical line exceeds 75 octets.
fn line(out: &mut String, content: &str) {
    let mut width = 0;
    for c in content.chars() {
        if width + c.len_utf8() > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += c.len_utf8();
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn event(summary: &str) -> String {
        let at = "2026-12-01T14:00:00Z".parse().unwrap();
        calendar(&[Event {
            uid: "bk_1@firststep",
            stamp: at,
            start: at,
            end: at + chrono::Duration::minutes(15),
            summary,
            description: None,
            location: None,
            url: None,
            status: "TENTATIVE",
        }])
    }

    #[test]
    fn writes_a_valid_event_with_crlf_lines() {
        let text = event("Free consultation");
        assert!(text.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"));
        assert!(text.contains("\r\nDTSTART:20261201T140000Z\r\nDTEND:20261201T141500Z\r\n"));
        assert!(text.ends_with("END:VEVENT\r\nEND:VCALENDAR\r\n"));
        assert!(!text.replace("\r\n", "").contains('\n'));
    }

    #[test]
    fn text_cannot_inject_properties_or_lines() {
        let text = event("Hi\r\nATTENDEE:mailto:x@example.org;a,b\\c");
        assert!(text.contains("SUMMARY:Hi\\nATTENDEE:mailto:x@example.org\\;a\\,b\\\\c\r\n"));
        assert!(!text.contains("\r\nATTENDEE"));
    }

    #[test]
    fn long_lines_fold_at_75_octets_without_splitting_characters() {
        let text = event(&"é".repeat(100));
        for physical in text.split("\r\n") {
            assert!(
                physical.len() <= 75,
                "{physical:?} is {} octets",
                physical.len()
            );
        }
        let unfolded = text.replace("\r\n ", "");
        assert!(unfolded.contains(&format!("SUMMARY:{}\r\n", "é".repeat(100))));
    }

    proptest! {
        #[test]
        fn any_summary_stays_on_one_logical_line(summary in "\\PC*|[\\r\\n;,\\\\a]{0,50}") {
            let text = event(&summary);
            let unfolded = text.replace("\r\n ", "");
            let lines: Vec<&str> = unfolded.split("\r\n").collect();
            prop_assert_eq!(lines.len(), 14); // 13 content lines and the empty tail
            prop_assert_eq!(lines.iter().filter(|l| l.starts_with("SUMMARY:")).count(), 1);
            prop_assert!(text.split("\r\n").all(|physical| physical.len() <= 75));
        }
    }
}
