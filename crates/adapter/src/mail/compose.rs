//! Each email of a request's life, from its template file. Visitors read
//! theirs in their own language and time zone; the practice in its own.
//! Plain text, no tracking, nothing from third parties; the visitor's note
//! only when the practice takes notes at all.

use chrono::{DateTime, Datelike, Timelike, Utc};
use chrono_tz::Tz;
use firststep_protocol::FieldRule;

use super::signed_link;
use super::Email;
use crate::config::{MailSettings, PracticeSettings};
use crate::ical;
use crate::store::{Answer, BookingRecord, Mail};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    English,
    Spanish,
}

impl Language {
    /// From a BCP 47 tag; English for anything but Spanish.
    pub fn from_tag(tag: Option<&str>) -> Self {
        match tag.map(|t| {
            t.split(['-', '_'])
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase()
        }) {
            Some(primary) if primary == "es" => Self::Spanish,
            _ => Self::English,
        }
    }
}

/// The template files, compiled in.
fn template(language: Language, mail: Mail) -> &'static str {
    macro_rules! pick {
        ($($name:literal => $kind:path),*) => {
            match (language, mail) {
                $(
                    (Language::English, $kind) => include_str!(concat!("../../templates/mail/en/", $name, ".txt")),
                    (Language::Spanish, $kind) => include_str!(concat!("../../templates/mail/es/", $name, ".txt")),
                )*
            }
        };
    }
    pick!(
        "practice_request" => Mail::PracticeRequest,
        "practice_booked" => Mail::PracticeBooked,
        "practice_cancelled" => Mail::PracticeCancelled,
        "visitor_received" => Mail::VisitorReceived,
        "visitor_confirmed" => Mail::VisitorConfirmed,
        "visitor_declined" => Mail::VisitorDeclined,
        "visitor_expired" => Mail::VisitorExpired
    )
}

/// Composes `mail` about `booking`. `manage_token` is the visitor's, for
/// their first email only.
pub fn compose(
    mail: Mail,
    booking: &BookingRecord,
    manage_token: Option<&str>,
    practice: &PracticeSettings,
    settings: &MailSettings,
    now: DateTime<Utc>,
) -> Email {
    let to_practice = matches!(
        mail,
        Mail::PracticeRequest | Mail::PracticeBooked | Mail::PracticeCancelled
    );
    let language = if to_practice {
        Language::English
    } else {
        Language::from_tag(booking.visitor.locale.as_deref())
    };
    let visitor_zone = booking
        .visitor
        .time_zone
        .as_deref()
        .and_then(|z| z.parse::<Tz>().ok())
        .unwrap_or(practice.zone);
    let service = practice
        .services
        .iter()
        .find(|s| s.id == booking.service)
        .map_or_else(|| booking.service.clone(), |s| s.title.clone());
    let link = |answer: Answer| {
        let expires = now + chrono::Duration::hours(settings.link_valid_hours.into());
        format!(
            "{}{}",
            settings.public_url,
            signed_link::path(settings.link_secret.expose(), &booking.id, answer, expires)
        )
    };
    let note = match (&booking.visitor.note, practice.form.note) {
        (Some(note), rule) if rule != FieldRule::Hidden => format!("Note: {note}\n"),
        _ => String::new(),
    };
    let values: Vec<(&str, String)> = vec![
        ("practice", practice.name.clone()),
        ("service", service.clone()),
        ("time", when(booking.slot.start, visitor_zone, language)),
        (
            "time_practice",
            when(booking.slot.start, practice.zone, Language::English),
        ),
        ("name", booking.visitor.name.clone()),
        ("email", booking.visitor.email.clone()),
        (
            "phone",
            booking.visitor.phone.clone().unwrap_or_else(|| "—".into()),
        ),
        ("note", note),
        (
            "expires",
            booking
                .expires_at
                .map_or_else(String::new, |t| when(t, practice.zone, Language::English)),
        ),
        (
            "confirm_link",
            if mail == Mail::PracticeRequest {
                link(Answer::Confirm)
            } else {
                String::new()
            },
        ),
        (
            "decline_link",
            if mail == Mail::PracticeRequest {
                link(Answer::Decline)
            } else {
                String::new()
            },
        ),
        (
            "manage_link",
            manage_token.map_or_else(String::new, |token| {
                format!(
                    "{}/manage/{}?token={token}",
                    settings.public_url, booking.id
                )
            }),
        ),
        (
            "booking_page",
            settings.booking_page_url.clone().unwrap_or_default(),
        ),
    ];
    let text = fill(template(language, mail), &values);
    let (subject, body) = text.split_once('\n').unwrap_or((&text, ""));
    let ics = (mail == Mail::VisitorConfirmed).then(|| {
        let uid = format!("{}@firststep", booking.id);
        let summary = format!("{service} — {}", practice.name);
        ical::calendar(&[ical::Event {
            uid: &uid,
            stamp: now,
            start: booking.slot.start,
            end: booking.slot.end,
            summary: &summary,
            description: None,
            location: None,
            status: "CONFIRMED",
        }])
    });
    Email {
        to: if to_practice {
            settings.practice_to.clone()
        } else {
            booking.visitor.email.clone()
        },
        subject: subject.trim_start_matches("Subject:").trim().to_owned(),
        body: body.to_owned(),
        ics,
    }
}

fn fill(template: &str, values: &[(&str, String)]) -> String {
    let mut text = template.to_owned();
    for (key, value) in values {
        text = text.replace(&format!("{{{key}}}"), value);
    }
    text
}

/// "Tuesday, December 1, 2026 at 9:00 AM (America/New_York)", or in Spanish
/// "martes, 1 de diciembre de 2026, 9:00 (America/New_York)".
pub fn when(instant: DateTime<Utc>, zone: Tz, language: Language) -> String {
    let local = instant.with_timezone(&zone);
    match language {
        Language::English => format!(
            "{} ({})",
            local.format("%A, %B %-d, %Y at %-I:%M %p"),
            zone.name()
        ),
        Language::Spanish => {
            const DAYS: [&str; 7] = [
                "lunes",
                "martes",
                "miércoles",
                "jueves",
                "viernes",
                "sábado",
                "domingo",
            ];
            const MONTHS: [&str; 12] = [
                "enero",
                "febrero",
                "marzo",
                "abril",
                "mayo",
                "junio",
                "julio",
                "agosto",
                "septiembre",
                "octubre",
                "noviembre",
                "diciembre",
            ];
            format!(
                "{}, {} de {} de {}, {}:{:02} ({})",
                DAYS[local.weekday().num_days_from_monday() as usize],
                local.day(),
                MONTHS[local.month0() as usize],
                local.year(),
                local.hour(),
                local.minute(),
                zone.name()
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_in_the_readers_language_and_zone() {
        let at: DateTime<Utc> = "2026-12-01T14:00:00Z".parse().unwrap();
        assert_eq!(
            when(at, chrono_tz::America::New_York, Language::English),
            "Tuesday, December 1, 2026 at 9:00 AM (America/New_York)"
        );
        assert_eq!(
            when(at, chrono_tz::Europe::Madrid, Language::Spanish),
            "martes, 1 de diciembre de 2026, 15:00 (Europe/Madrid)"
        );
        assert_eq!(Language::from_tag(Some("es-MX")), Language::Spanish);
        assert_eq!(Language::from_tag(None), Language::English);
    }

    #[test]
    fn every_template_starts_with_a_subject_and_fills_every_placeholder() {
        for language in [Language::English, Language::Spanish] {
            for mail in Mail::ALL {
                let text = template(language, mail);
                assert!(text.starts_with("Subject: "), "{mail:?}");
                let placeholders = [
                    "practice",
                    "service",
                    "time",
                    "time_practice",
                    "name",
                    "email",
                    "phone",
                    "note",
                    "expires",
                    "confirm_link",
                    "decline_link",
                    "manage_link",
                    "booking_page",
                ];
                let filled = fill(text, &placeholders.map(|p| (p, String::new())));
                assert!(
                    !filled.contains('{') && !filled.contains('}'),
                    "{language:?} {mail:?}: {filled}"
                );
            }
        }
    }
}
