//! A visitor's booking request, parsed: the service it names, the slot it
//! asks for, and every field checked against the practice's form. Whatever
//! way a request arrives (the JSON API today), it becomes this before
//! anything is stored.

use chrono::{DateTime, Duration, Utc};
use firststep_availability::Interval;
use firststep_protocol::{visitor_fields, BookingRequest, FieldRule};

use super::{ClientEmail, ClientName, ClientPhone, ClientTimeZone, FieldError, Note};
use crate::config::{PracticeSettings, Service};
use crate::offer::bearing_on;

/// A booking request whose every part is known to be good.
#[derive(Debug)]
pub struct ParsedBooking {
    pub service: Service,
    pub slot: Interval,
    /// The span whose bookings bear on `slot` (buffers, the daily cap).
    pub around: Interval,
    pub name: ClientName,
    pub email: ClientEmail,
    pub phone: Option<ClientPhone>,
    pub note: Option<Note>,
    pub time_zone: Option<ClientTimeZone>,
    /// A language tag only; anything else means English.
    pub locale: Option<String>,
    /// Whom it may be with ([`PracticeSettings::candidates`]).
    pub candidates: Vec<String>,
}

/// Why a request was refused before anything was looked up.
#[derive(Debug, PartialEq, Eq)]
pub enum BookingRefusal {
    UnknownService(String),
    /// A clinician the practice does not have, or who does not offer the service.
    UnknownClinician(String),
    /// Every field that is wrong, in the form's order (never empty): the
    /// API names the first, the booking page shows each beside its field.
    Fields(Vec<FieldError>),
}

impl ParsedBooking {
    pub fn parse(
        request: &BookingRequest,
        practice: &PracticeSettings,
    ) -> Result<Self, BookingRefusal> {
        let service = practice
            .services
            .iter()
            .find(|s| s.id == request.service)
            .ok_or_else(|| BookingRefusal::UnknownService(request.service.clone()))?
            .clone();
        let candidates = practice
            .candidates(&service, request.clinician.as_deref())
            .ok_or_else(|| {
                BookingRefusal::UnknownClinician(request.clinician.clone().unwrap_or_default())
            })?;
        // Each field is checked on its own, so a form can show every problem at once.
        let name = ClientName::parse(&request.client.name);
        let email = ClientEmail::parse(&request.client.email);
        let location = service.meeting.as_ref().map(|m| m.kind());
        let phone = optional_field(
            request.client.phone.as_deref(),
            visitor_fields::phone_rule(practice.form.phone, location),
            "client.phone",
            ClientPhone::parse,
        );
        let note = optional_field(
            request.note.as_deref(),
            practice.form.note,
            "note",
            Note::parse,
        );
        let time_zone = request
            .client_time_zone
            .as_deref()
            .map(ClientTimeZone::parse)
            .transpose();
        let consent = if request.consent {
            Ok(())
        } else {
            Err(FieldError::new(
                "consent",
                "Please agree to the privacy notice to send your request.",
            ))
        };
        let website = if request.website.is_empty() {
            Ok(())
        } else {
            Err(FieldError::new("website", "This field must be left empty."))
        };
        let slot = requested_slot(request.start, &service);
        match (name, email, phone, note, time_zone, consent, website, slot) {
            (
                Ok(name),
                Ok(email),
                Ok(phone),
                Ok(note),
                Ok(time_zone),
                Ok(()),
                Ok(()),
                Ok((slot, around)),
            ) => Ok(Self {
                service,
                slot,
                around,
                name,
                email,
                phone,
                note,
                time_zone,
                locale: request
                    .locale
                    .as_deref()
                    .and_then(visitor_fields::locale)
                    .map(str::to_owned),
                candidates,
            }),
            (name, email, phone, note, time_zone, consent, website, slot) => {
                Err(BookingRefusal::Fields(
                    [
                        name.err(),
                        email.err(),
                        phone.err(),
                        note.err(),
                        time_zone.err(),
                        consent.err(),
                        website.err(),
                        slot.err(),
                    ]
                    .into_iter()
                    .flatten()
                    .collect(),
                ))
            }
        }
    }
}

/// The slot asked for, and the span whose bookings bear on it. A start so far
/// away that date arithmetic cannot reach it is refused as a field.
pub fn requested_slot(
    start: DateTime<Utc>,
    service: &Service,
) -> Result<(Interval, Interval), FieldError> {
    let out_of_range = || FieldError::new("start", "This time is out of range.");
    let end = start
        .checked_add_signed(Duration::minutes(service.duration_minutes.into()))
        .ok_or_else(out_of_range)?;
    let slot = Interval::new(start, end);
    let around = bearing_on(slot).ok_or_else(out_of_range)?;
    Ok((slot, around))
}

/// A field the practice may hide, offer or require; blank (nothing visible,
/// as the widget judges it too) counts as absent.
fn optional_field<T>(
    raw: Option<&str>,
    rule: FieldRule,
    field: &'static str,
    parse: impl Fn(&str) -> Result<T, FieldError>,
) -> Result<Option<T>, FieldError> {
    let given = raw.filter(|text| !visitor_fields::is_blank(text));
    match (rule, given) {
        (FieldRule::Hidden, Some(_)) => Err(FieldError::new(
            field,
            "This practice does not take this field.",
        )),
        (FieldRule::Required, None) => Err(FieldError::new(field, "This field is required.")),
        (_, Some(text)) => parse(text).map(Some),
        (_, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use firststep_protocol::BookingMode;

    fn service() -> Service {
        Service {
            id: "intake".into(),
            title: "Intake".into(),
            duration_minutes: 50,
            mode: BookingMode::Instant,
            reschedule: BookingMode::Instant,
            change_until_hours: 24,
            meeting: None,
            description: None,
            clinicians: Vec::new(),
        }
    }

    #[test]
    fn a_slot_and_the_span_bearing_on_it() {
        let start: DateTime<Utc> = "2026-12-01T14:00:00Z".parse().unwrap();
        let (slot, around) = requested_slot(start, &service()).unwrap();
        assert_eq!(slot.end - slot.start, Duration::minutes(50));
        assert_eq!(slot.start - around.start, Duration::hours(26));
        assert_eq!(around.end - slot.end, Duration::hours(26));
    }

    /// Unreachable through the protocol's reader (four-digit years), and
    /// still no panic: the field is named.
    #[test]
    fn a_start_at_the_end_of_dates_is_an_invalid_field() {
        for start in [
            DateTime::<Utc>::MAX_UTC,
            DateTime::<Utc>::MAX_UTC - Duration::hours(2),
            DateTime::<Utc>::MIN_UTC,
        ] {
            let error = requested_slot(start, &service()).unwrap_err();
            assert_eq!(error.field, "start", "{start:?}");
        }
    }

    /// Every wrong field is named, in the form's order; the API shows the first.
    #[test]
    fn every_wrong_field_is_reported_in_the_forms_order() {
        let settings = crate::config::Settings::from_toml(
            "[practice]\nname = \"P\"\ntime_zone = \"UTC\"\n[[services]]\nid = \"s\"\ntitle = \"S\"\n\
             [form]\nphone = \"required\"\n[availability.weekly]\n",
            std::path::Path::new("/tmp"),
        )
        .unwrap();
        let request: BookingRequest = serde_json::from_value(serde_json::json!({
            "service": "s", "start": "2026-12-01T14:00:00Z",
            "client": {"name": " ", "email": "not-an-address"},
            "client_time_zone": null, "consent": false, "website": "bot"
        }))
        .unwrap();
        let Err(BookingRefusal::Fields(errors)) =
            ParsedBooking::parse(&request, &settings.practice)
        else {
            panic!("refused by field");
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "client.name",
                "client.email",
                "client.phone",
                "consent",
                "website"
            ]
        );
    }

    #[test]
    fn blank_counts_as_absent_and_hidden_fields_are_refused_when_given() {
        let parse = |text: &str| Ok::<_, FieldError>(text.to_owned());
        assert_eq!(
            optional_field(Some("  "), FieldRule::Optional, "note", parse),
            Ok(None)
        );
        assert_eq!(
            optional_field(Some(" \u{200b} "), FieldRule::Required, "note", parse)
                .unwrap_err()
                .message,
            "This field is required."
        );
        assert_eq!(
            optional_field(Some("hi"), FieldRule::Hidden, "note", parse)
                .unwrap_err()
                .field,
            "note"
        );
        assert_eq!(
            optional_field(Some("hi"), FieldRule::Optional, "note", parse),
            Ok(Some("hi".to_owned()))
        );
    }
}
