//! Each email of a request's life, from its template file. Visitors read
//! theirs in their own language and time zone; the practice in its own.
//! Plain text, no tracking, nothing from third parties; the visitor's note
//! only when the practice takes notes at all.
//!
//! Visitor text stays inert: templates are filled in one pass (a name like
//! `{decline_link}` stays those letters), the practice's emails put their
//! own links first and quote what the visitor wrote line by line (`> `), and
//! bodies go out with CRLF line breaks only.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Timelike, Utc};
use chrono_tz::Tz;
use firststep_protocol::add_to_calendar::{self, CalendarEvent};
use firststep_protocol::FieldRule;

use super::meeting::{how_we_meet, meeting_place, Reader};
use super::signed_link;
use super::Email;
use crate::config::{MailSettings, PracticeSettings};
use crate::ical;
use crate::store::{Answer, BookingRecord, Mail};

/// The languages emails are written in: the protocol's, so a locale reads
/// the same in the widget and in mail.
use firststep_protocol::visitor_fields::is_line_break;
pub use firststep_protocol::visitor_fields::Language;

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
        "visitor_expired" => Mail::VisitorExpired,
        "visitor_reminder" => Mail::VisitorReminder,
        "practice_moved" => Mail::PracticeMoved,
        "practice_moved_request" => Mail::PracticeMovedRequest,
        "visitor_moved" => Mail::VisitorMoved,
        "visitor_moved_request" => Mail::VisitorMovedRequest
    )
}

/// Composes `mail` about `booking`. `manage_token` is the visitor's, for
/// their first email and their reminders.
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
        Mail::PracticeRequest
            | Mail::PracticeBooked
            | Mail::PracticeCancelled
            | Mail::PracticeMoved
            | Mail::PracticeMovedRequest
    );
    // Only these ask the practice for an answer.
    let with_links = matches!(mail, Mail::PracticeRequest | Mail::PracticeMovedRequest);
    let language = if to_practice {
        practice.language
    } else {
        Language::from_tag(booking.visitor.locale.as_deref().unwrap_or_default())
    };
    let visitor_zone = booking
        .visitor
        .time_zone
        .as_deref()
        .and_then(|z| z.parse::<Tz>().ok())
        .unwrap_or(practice.zone);
    let offered = practice.services.iter().find(|s| s.id == booking.service);
    let service = offered.map_or_else(|| booking.service.clone(), |s| s.title.clone());
    let meeting = offered.and_then(|s| s.meeting.as_ref());
    // The practice knows its rooms; a visitor is given one once confirmed.
    let room = booking.room_token.as_deref();
    let video_url = if to_practice {
        meeting.and_then(|m| m.video_url(room))
    } else {
        offered.and_then(|s| s.video_url_of(booking.status, room))
    };
    let reader = if to_practice {
        Reader::Practice
    } else {
        Reader::Visitor
    };
    let link = |answer: Answer| {
        let expires = now + chrono::Duration::hours(settings.link_valid_hours.into());
        format!(
            "{}{}",
            settings.public_url,
            signed_link::path(
                settings.link_secret.expose(),
                &booking.id,
                booking.version,
                answer,
                expires
            )
        )
    };
    let note = match (&booking.visitor.note, practice.form.note) {
        (Some(note), rule) if rule != FieldRule::Hidden => Some(note.as_str()),
        _ => None,
    };
    let phone = booking.visitor.phone.as_deref().unwrap_or("—");
    // In a group practice, whom the booking is with.
    let clinician = booking
        .clinician
        .as_deref()
        .and_then(|id| practice.clinician(id));
    let with_clinician = clinician.map_or_else(String::new, |c| match language {
        Language::English => format!(" with {}", c.name),
        Language::Spanish => format!(" con {}", c.name),
    });
    // What the visitor's calendar will show: the ICS file and the links alike.
    let summary = format!("{service} — {}", practice.name);
    let instant = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (start, end) = (instant(booking.slot.start), instant(booking.slot.end));
    let encoded_title = add_to_calendar::encoded(&summary);
    let event = CalendarEvent {
        encoded_title: &encoded_title,
        start: &start,
        end: &end,
    };
    let values: Vec<(&str, String)> = vec![
        (
            "how_we_meet",
            how_we_meet(
                meeting,
                video_url.as_deref(),
                booking.visitor.phone.as_deref(),
                reader,
                language,
            ),
        ),
        ("google_link", event.google_url()),
        ("outlook_link", event.outlook_url()),
        ("practice", practice.name.clone()),
        (
            "with",
            clinician.map_or_else(
                || practice.name.clone(),
                |c| format!("{} ({})", c.name, practice.name),
            ),
        ),
        ("with_clinician", with_clinician),
        ("service", service.clone()),
        ("time", when(booking.slot.start, visitor_zone, language)),
        (
            "time_practice",
            when(booking.slot.start, practice.zone, practice.language),
        ),
        ("name", one_line(&booking.visitor.name)),
        (
            "visitor_wrote",
            visitor_wrote(
                language,
                &booking.visitor.name,
                &booking.visitor.email,
                phone,
                note,
            ),
        ),
        (
            "expires",
            booking
                .expires_at
                .map_or_else(String::new, |t| when(t, practice.zone, practice.language)),
        ),
        (
            "confirm_link",
            if with_links {
                link(Answer::Confirm)
            } else {
                String::new()
            },
        ),
        (
            "decline_link",
            if with_links {
                link(Answer::Decline)
            } else {
                String::new()
            },
        ),
        (
            "moved_from",
            booking
                .moved_from
                .map_or_else(String::new, |t| when(t, visitor_zone, language)),
        ),
        (
            "moved_from_practice",
            booking
                .moved_from
                .map_or_else(String::new, |t| when(t, practice.zone, practice.language)),
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
    // A sentence left empty (a service that says nothing of how it happens)
    // leaves no gap: a run of blank lines is one.
    let text = one_blank_line_at_most(&fill(template(language, mail), &values));
    let (subject, body) = text.split_once('\n').unwrap_or((&text, ""));
    let place = meeting_place(meeting, video_url.as_deref(), language);
    let ics = matches!(mail, Mail::VisitorConfirmed | Mail::VisitorMoved).then(|| {
        let uid = format!("{}@firststep", booking.id);
        ical::calendar(&[ical::Event {
            uid: &uid,
            stamp: now,
            start: booking.slot.start,
            end: booking.slot.end,
            summary: &summary,
            description: None,
            location: place.as_deref(),
            url: video_url.as_deref(),
            status: "CONFIRMED",
        }])
    });
    // A clinician's own address takes their bookings' emails, the practice
    // in copy if it asked to be.
    let clinicians_own = clinician
        .and_then(|c| c.email.clone())
        .filter(|_| to_practice);
    Email {
        cc: clinicians_own
            .as_ref()
            .filter(|_| settings.cc_practice)
            .map(|_| settings.practice_to.clone()),
        to: match clinicians_own {
            Some(own) => own,
            None if to_practice => settings.practice_to.clone(),
            None => booking.visitor.email.clone(),
        },
        subject: one_line(subject.trim_start_matches("Subject:").trim()),
        body: crlf(body),
        ics,
    }
}

/// Fills each `{key}` of `template` with its value in one pass: a value is
/// never read again, so text a visitor typed (a name `{decline_link}`) is
/// never taken for a placeholder. Braces around anything else stay.
fn fill(template: &str, values: &[(&str, String)]) -> String {
    let mut text = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        text.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let known = after.find('}').and_then(|close| {
            let key = &after[..close];
            let (_, value) = values.iter().find(|(k, _)| *k == key)?;
            Some((value, &after[close + 1..]))
        });
        match known {
            Some((value, tail)) => {
                text.push_str(value);
                rest = tail;
            }
            None => {
                text.push('{');
                rest = after;
            }
        }
    }
    text.push_str(rest);
    text
}

/// What the visitor wrote, each line quoted with `> `, so nothing in it can
/// pass for the email's own words or links.
fn visitor_wrote(
    language: Language,
    name: &str,
    email: &str,
    phone: &str,
    note: Option<&str>,
) -> String {
    let [name_label, email_label, phone_label, note_label] = match language {
        Language::English => ["Name", "Email", "Phone", "Note"],
        Language::Spanish => ["Nombre", "Correo", "Teléfono", "Nota"],
    };
    let mut lines = vec![
        format!("{name_label}: {}", one_line(name)),
        format!("{email_label}: {}", one_line(email)),
        format!("{phone_label}: {}", one_line(phone)),
    ];
    if let Some(note) = note {
        lines.push(format!("{note_label}:"));
        lines.extend(
            note.replace("\r\n", "\n")
                .split(is_line_break)
                .map(str::to_owned),
        );
    }
    lines
        .iter()
        .map(|line| match line.as_str() {
            "" => ">".to_owned(),
            line => format!("> {line}"),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `text` with no two blank lines in a row. The visitor's own words are
/// quoted (`>` on every line), so none of theirs are touched.
fn one_blank_line_at_most(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split('\n') {
        if line.is_empty() && out.ends_with("\n\n") {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.pop();
    out
}

/// `text` on one line: the rules keep line breaks out of names, addresses
/// and numbers; this holds for rows stored before they did.
fn one_line(text: &str) -> String {
    text.replace(is_line_break, " ")
}

/// `text` with CRLF as its only line break: no bare CR or LF reaches SMTP
/// (a bare CR before a dot is a smuggling pattern on lenient relays).
fn crlf(text: &str) -> String {
    text.replace("\r\n", "\n")
        .split(['\r', '\n'])
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// "Tuesday, December 1, 2026 at 9:00 AM (America/New_York)", or in Spanish
/// "martes, 1 de diciembre de 2026, 9:00 (America/New_York)".
pub fn when(instant: DateTime<Utc>, zone: Tz, language: Language) -> String {
    let local = instant.with_timezone(&zone).naive_local();
    let (date, time) = (
        date_words(local.date(), language),
        clock_words(local.time(), language),
    );
    match language {
        Language::English => format!("{date}, {} at {time} ({})", local.year(), zone.name()),
        Language::Spanish => format!("{date} de {}, {time} ({})", local.year(), zone.name()),
    }
}

/// A day without its year: "Tuesday, December 1", "martes, 1 de diciembre".
pub fn date_words(date: NaiveDate, language: Language) -> String {
    match language {
        Language::English => date.format("%A, %B %-d").to_string(),
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
            let weekday = DAYS.get(date.weekday().num_days_from_monday() as usize);
            let month = MONTHS.get(date.month0() as usize);
            format!(
                "{}, {} de {}",
                weekday.copied().unwrap_or_default(),
                date.day(),
                month.copied().unwrap_or_default()
            )
        }
    }
}

/// A time of day as each language writes it: "9:00 AM", "9:00".
pub fn clock_words(time: NaiveTime, language: Language) -> String {
    match language {
        Language::English => time.format("%-I:%M %p").to_string(),
        Language::Spanish => format!("{}:{:02}", time.hour(), time.minute()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;
    use crate::domain::TokenHash;
    use crate::store::Visitor;
    use firststep_availability::Interval;

    /// A practice taking notes, with mail, and a request from `visitor`.
    fn request_from(visitor: Visitor) -> (Settings, BookingRecord) {
        let folder = tempfile::tempdir().unwrap();
        std::fs::write(folder.path().join("secret"), "x".repeat(40)).unwrap();
        let config = r#"
[practice]
name = "Test Practice"
time_zone = "UTC"

[[services]]
id = "free-consultation"
title = "Free consultation"
mode = "request"

[form]
phone = "optional"
note = "optional"

[availability.weekly]
monday = ["09:00-17:00"]

[mail]
smtp_host = "127.0.0.1"
from = "Test Practice <bookings@test.example.org>"
practice_to = "therapist@test.example.org"
public_url = "https://public.test"
link_secret_file = "secret"
"#;
        let settings = Settings::from_toml(config, folder.path()).expect("a config");
        let start: DateTime<Utc> = "2026-12-01T14:00:00Z".parse().unwrap();
        let booking = BookingRecord {
            id: "bk_test".into(),
            service: "free-consultation".into(),
            slot: Interval::new(start, start + chrono::Duration::minutes(15)),
            status: firststep_protocol::BookingStatus::Pending,
            expires_at: Some(start),
            visitor,
            manage_token_hash: TokenHash([0; 32]),
            calendar_etag: None,
            room_token: None,
            version: 0,
            moved_from: None,
            clinician: None,
        };
        (settings, booking)
    }

    fn visitor(name: &str, note: Option<&str>) -> Visitor {
        Visitor {
            name: name.into(),
            email: "sam@example.org".into(),
            phone: None,
            time_zone: None,
            note: note.map(str::to_owned),
            locale: None,
        }
    }

    fn practice_request(visitor: Visitor) -> Email {
        let (settings, booking) = request_from(visitor);
        let now = "2026-11-30T10:00:00Z".parse().unwrap();
        let mail = settings.mail.as_ref().unwrap();
        compose(
            Mail::PracticeRequest,
            &booking,
            None,
            &settings.practice,
            mail,
            now,
        )
    }

    /// Each email of a move says where from and where to, in its reader's
    /// language and zone; only a moved request carries links, for the new version.
    #[test]
    fn a_move_is_told_from_and_to_in_each_language() {
        let (mut settings, mut booking) = request_from(visitor("Sam Lee", None));
        let from: DateTime<Utc> = "2026-11-30T16:00:00Z".parse().unwrap();
        (booking.moved_from, booking.version) = (Some(from), 3);
        booking.visitor.time_zone = Some("Europe/Madrid".into());
        let now = "2026-11-30T10:00:00Z".parse().unwrap();
        for language in [Language::English, Language::Spanish] {
            settings.practice.language = language;
            booking.visitor.locale = Some(
                if language == Language::Spanish {
                    "es"
                } else {
                    "en"
                }
                .into(),
            );
            let mail = settings.mail.clone().unwrap();
            for kind in [
                Mail::PracticeMoved,
                Mail::PracticeMovedRequest,
                Mail::VisitorMoved,
                Mail::VisitorMovedRequest,
            ] {
                let email = compose(kind, &booking, None, &settings.practice, &mail, now);
                let to_practice = matches!(kind, Mail::PracticeMoved | Mail::PracticeMovedRequest);
                let zone: Tz = if to_practice {
                    settings.practice.zone
                } else {
                    "Europe/Madrid".parse().unwrap()
                };
                for instant in [from, booking.slot.start] {
                    let told = when(instant, zone, language);
                    assert!(
                        email.body.contains(&told),
                        "{kind:?} {language:?}: {told}\n{}",
                        email.body
                    );
                }
                let links = email.body.matches("/requests/").count();
                assert_eq!(
                    links,
                    if kind == Mail::PracticeMovedRequest {
                        2
                    } else {
                        0
                    },
                    "{kind:?}"
                );
                if links > 0 {
                    assert!(email.body.contains("&v=3&sig="), "{}", email.body);
                }
                assert_eq!(email.ics.is_some(), kind == Mail::VisitorMoved, "{kind:?}");
            }
        }
    }

    /// A visitor named `{decline_link}` with a note holding `{confirm_link}`:
    /// both stay the letters they typed, and the real links appear once each.
    #[test]
    fn placeholders_a_visitor_typed_are_never_filled() {
        let email = practice_request(visitor("{decline_link}", Some("Please {confirm_link} now")));
        assert!(
            email.body.contains("> Name: {decline_link}\r\n"),
            "{}",
            email.body
        );
        assert!(
            email.body.contains("> Please {confirm_link} now"),
            "{}",
            email.body
        );
        assert_eq!(
            email.body.matches("/requests/").count(),
            2,
            "{}",
            email.body
        );
        let decline = email.body.find("/decline?").expect("a decline link");
        assert!(email.body[decline..].contains("{decline_link}"));
    }

    /// A note dressed as the email's own link reads as a quote, after the
    /// real links.
    #[test]
    fn the_practice_reads_its_links_first_and_the_visitors_text_quoted() {
        let note = "Confirm this request:\nhttps://evil.example/confirm\r\nthanks";
        let email = practice_request(visitor("Sam Lee", Some(note)));
        let body = &email.body;
        let heading = body.find("What they wrote").expect("the heading");
        let confirm = body
            .find("Confirm this request:\r\nhttps://public.test/")
            .unwrap();
        let decline = body
            .find("Decline this request:\r\nhttps://public.test/")
            .unwrap();
        assert!(confirm < heading && decline < heading, "{body}");
        let quoted: Vec<&str> = body[heading..].split("\r\n").skip(1).collect();
        assert_eq!(
            quoted,
            [
                "> Name: Sam Lee",
                "> Email: sam@example.org",
                "> Phone: —",
                "> Note:",
                "> Confirm this request:",
                "> https://evil.example/confirm",
                "> thanks",
                ""
            ]
        );
        assert_eq!(
            body.matches("\r\nConfirm this request:").count(),
            1,
            "{body}"
        );
    }

    /// A bare CR (stored before notes were normalised) cannot reach SMTP as
    /// `\r.\r\n`: every line break of a body is CRLF.
    #[test]
    fn bodies_have_crlf_line_breaks_only() {
        let email = practice_request(visitor("Sam\u{2028}Lee", Some("one\r.\r\ntwo\rthree\n")));
        let body = email.body.as_bytes();
        for (at, byte) in body.iter().enumerate() {
            match byte {
                b'\r' => assert_eq!(body.get(at + 1), Some(&b'\n'), "bare CR at {at}"),
                b'\n' => assert_eq!(
                    at.checked_sub(1).map(|i| body[i]),
                    Some(b'\r'),
                    "bare LF at {at}"
                ),
                _ => {}
            }
        }
        assert!(email.body.contains("> Name: Sam Lee\r\n"));
        assert!(
            email.body.contains("> one\r\n> .\r\n> two\r\n> three\r\n"),
            "{}",
            email.body
        );
        assert!(!email.subject.contains(['\r', '\n']));
    }

    #[test]
    fn fill_keeps_unknown_braces_and_reads_each_value_once() {
        let values = [("a", "{b}".to_owned()), ("b", "B".to_owned())];
        assert_eq!(fill("{a} {b} {c} { {", &values), "{b} B {c} { {");
        assert_eq!(fill("end {a", &values), "end {a");
    }

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
    }

    /// The confirmation offers the time to Google Calendar and Outlook too:
    /// the service, practice and time only, never the visitor or a token.
    #[test]
    fn the_confirmation_links_the_time_to_google_calendar_and_outlook() {
        let (settings, booking) = request_from(visitor("Sam Lee", None));
        let mail = settings.mail.as_ref().unwrap();
        let now = "2026-11-30T10:00:00Z".parse().unwrap();
        let email = compose(
            Mail::VisitorConfirmed,
            &booking,
            Some("secret-token"),
            &settings.practice,
            mail,
            now,
        );
        let title = "Free%20consultation%20%E2%80%94%20Test%20Practice";
        let google = format!(
            "https://calendar.google.com/calendar/render?action=TEMPLATE&text={title}\
             &dates=20261201T140000Z/20261201T141500Z"
        );
        let outlook = format!(
            "https://outlook.live.com/calendar/0/action/compose?rru=addevent&subject={title}\
             &startdt=2026-12-01T14:00:00Z&enddt=2026-12-01T14:15:00Z"
        );
        let lines: Vec<&str> = email.body.lines().collect();
        assert!(lines.contains(&google.as_str()), "{}", email.body);
        assert!(lines.contains(&outlook.as_str()), "{}", email.body);
        for link in [&google, &outlook] {
            assert!(!link.contains("Sam") && !link.contains("secret-token"));
        }
    }

    /// A reminder says when (in the visitor's zone and language), how they
    /// meet (the video room too: the booking is confirmed) and links their
    /// manage page.
    #[test]
    fn a_reminder_says_when_how_and_where_to_manage_in_the_visitors_language() {
        let (mut settings, mut booking) = request_from(Visitor {
            time_zone: Some("Europe/Madrid".into()),
            locale: Some("es-ES".into()),
            ..visitor("Sam Lee", None)
        });
        booking.status = firststep_protocol::BookingStatus::Confirmed;
        let now = "2026-11-30T14:00:00Z".parse().unwrap();
        let remind = |settings: &Settings| {
            compose(
                Mail::VisitorReminder,
                &booking,
                Some("the-token"),
                &settings.practice,
                settings.mail.as_ref().unwrap(),
                now,
            )
        };

        let email = remind(&settings);
        assert_eq!(email.to, "sam@example.org");
        assert_eq!(
            email.subject,
            "Recordatorio: Free consultation — Test Practice"
        );
        assert!(
            email
                .body
                .contains("  martes, 1 de diciembre de 2026, 15:00 (Europe/Madrid)\r\n"),
            "{}",
            email.body
        );
        assert!(
            !email.body.contains("\r\n\r\n\r\n"),
            "a service that says nothing of how leaves no gap: {}",
            email.body
        );
        assert!(
            email
                .body
                .contains("\r\nhttps://public.test/manage/bk_test?token=the-token\r\n"),
            "{}",
            email.body
        );
        assert_eq!(email.ics, None);

        // A confirmed booking's reminder carries the video room.
        settings.practice.services[0].meeting = Some(crate::config::Meeting::Video(
            crate::config::VideoRoom::Fixed("https://meet.example/room".into()),
        ));
        let email = remind(&settings);
        assert!(
            email.body.contains(
                "(Europe/Madrid)\r\n\r\nPor videollamada, en esta sala:\r\nhttps://meet.example/room\r\n"
            ),
            "{}",
            email.body
        );
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
                    "visitor_wrote",
                    "expires",
                    "confirm_link",
                    "decline_link",
                    "manage_link",
                    "booking_page",
                    "google_link",
                    "outlook_link",
                    "how_we_meet",
                    "moved_from",
                    "moved_from_practice",
                    "with",
                    "with_clinician",
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
