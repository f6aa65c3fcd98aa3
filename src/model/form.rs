//! The booking form's fields and the checks made before sending: the
//! protocol's [`visitor_fields`] rules, the very ones the adapter applies, so
//! a form this accepts is one the adapter accepts.

pub use firststep_protocol::visitor_fields::FieldProblem;
use firststep_protocol::visitor_fields::{self, EMAIL_FIELD, NAME_FIELD, NOTE_FIELD, PHONE_FIELD};
use firststep_protocol::{BookingRequest, ClientDetails, FieldRule, Slot};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Name,
    Email,
    Phone,
    Note,
    Consent,
    /// A field the adapter named that the form does not show.
    Other,
}

impl Field {
    /// The protocol's name for a field, as a problem's `field` gives it.
    pub fn from_protocol(name: &str) -> Self {
        match name {
            NAME_FIELD => Self::Name,
            EMAIL_FIELD => Self::Email,
            PHONE_FIELD => Self::Phone,
            NOTE_FIELD => Self::Note,
            "consent" => Self::Consent,
            _ => Self::Other,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct FormFields {
    pub name: String,
    pub email: String,
    pub phone: String,
    pub note: String,
    pub consent: bool,
}

impl FormFields {
    pub fn set(&mut self, field: Field, value: String) {
        match field {
            Field::Name => self.name = value,
            Field::Email => self.email = value,
            Field::Phone => self.phone = value,
            Field::Note => self.note = value,
            Field::Consent | Field::Other => {}
        }
    }

    /// Every problem of the form as it stands, in the order of the fields.
    pub fn problems(&self, phone: FieldRule, note: FieldRule) -> Vec<(Field, FieldProblem)> {
        let mut found = Vec::new();
        if let Err(problem) = visitor_fields::name(&self.name) {
            found.push((Field::Name, problem));
        }
        if let Err(problem) = visitor_fields::email(&self.email) {
            found.push((Field::Email, problem));
        }
        let offered = [
            (
                Field::Phone,
                phone,
                visitor_fields::phone(&self.phone).err(),
            ),
            (Field::Note, note, visitor_fields::note(&self.note).err()),
        ];
        for (field, rule, problem) in offered {
            match (rule, problem) {
                (FieldRule::Hidden, _) | (_, None) => {}
                (FieldRule::Optional, Some(FieldProblem::Missing)) => {}
                (_, Some(problem)) => found.push((field, problem)),
            }
        }
        if !self.consent {
            found.push((Field::Consent, FieldProblem::Missing));
        }
        found
    }

    /// The protocol's request body, with each field as the rules keep it
    /// (trimmed, the note's line breaks made LF). Hidden and empty fields are
    /// sent as absent; the honeypot is never filled.
    pub fn to_request(
        &self,
        service: &str,
        slot: Slot,
        phone: FieldRule,
        note: FieldRule,
        time_zone: Option<String>,
        locale: Option<String>,
    ) -> BookingRequest {
        let offered =
            |rule: FieldRule, kept: Option<String>| kept.filter(|_| rule != FieldRule::Hidden);
        BookingRequest {
            service: service.to_owned(),
            clinician: None,
            start: slot.start,
            client: ClientDetails {
                name: self.name.trim().to_owned(),
                email: self.email.trim().to_owned(),
                phone: offered(
                    phone,
                    visitor_fields::phone(&self.phone).ok().map(str::to_owned),
                ),
            },
            client_time_zone: time_zone,
            locale,
            note: offered(note, visitor_fields::note(&self.note).ok()),
            consent: self.consent,
            website: String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled() -> FormFields {
        FormFields {
            name: "Sam".into(),
            email: "sam@example.org".into(),
            consent: true,
            ..Default::default()
        }
    }

    #[test]
    fn a_complete_form_has_no_problems() {
        assert_eq!(
            filled().problems(FieldRule::Optional, FieldRule::Hidden),
            []
        );
    }

    #[test]
    fn hidden_fields_are_neither_checked_nor_sent() {
        let form = FormFields {
            phone: "not a phone".into(),
            note: "x".repeat(2000),
            ..filled()
        };
        assert_eq!(form.problems(FieldRule::Hidden, FieldRule::Hidden), []);
        let slot = Slot {
            start: "2026-12-01T14:00:00Z".parse().unwrap(),
            end: "2026-12-01T14:15:00Z".parse().unwrap(),
        };
        let request = form.to_request(
            "s",
            slot,
            FieldRule::Hidden,
            FieldRule::Hidden,
            Some("Europe/Berlin".into()),
            Some("es-MX".into()),
        );
        assert_eq!(request.locale.as_deref(), Some("es-MX"));
        assert_eq!((request.client.phone, request.note), (None, None));
        assert_eq!(request.website, "");
        assert_eq!(request.client_time_zone.as_deref(), Some("Europe/Berlin"));
    }

    #[test]
    fn offered_fields_are_checked_when_given() {
        let form = FormFields {
            phone: "call me".into(),
            note: "x".repeat(1001),
            ..filled()
        };
        assert_eq!(
            form.problems(FieldRule::Optional, FieldRule::Optional),
            [
                (Field::Phone, FieldProblem::Invalid),
                (Field::Note, FieldProblem::TooLong)
            ]
        );
    }

    /// The protocol's shared table, through the form: the widget refuses
    /// exactly what the adapter refuses, for the same reason, and sends what
    /// the adapter keeps.
    #[test]
    fn the_form_agrees_with_the_shared_table() {
        let slot = Slot {
            start: "2026-12-01T14:00:00Z".parse().unwrap(),
            end: "2026-12-01T14:15:00Z".parse().unwrap(),
        };
        for example in visitor_fields::EXAMPLES {
            let field = Field::from_protocol(example.field);
            let mut form = FormFields {
                phone: "+1 555 010 0199".into(),
                note: "Evenings".into(),
                ..filled()
            };
            form.set(field, example.input.to_owned());
            let problems = form.problems(FieldRule::Required, FieldRule::Required);
            match example.verdict {
                Err(problem) => assert_eq!(problems, [(field, problem)], "{example:?}"),
                Ok(kept) => {
                    assert_eq!(problems, [], "{example:?}");
                    let sent = form.to_request(
                        "s",
                        slot,
                        FieldRule::Required,
                        FieldRule::Required,
                        None,
                        None,
                    );
                    let sent = match field {
                        Field::Name => sent.client.name,
                        Field::Email => sent.client.email,
                        Field::Phone => sent.client.phone.unwrap_or_default(),
                        _ => sent.note.unwrap_or_default(),
                    };
                    assert_eq!(sent, kept, "{example:?}");
                }
            }
        }
    }

    #[test]
    fn an_optional_field_left_blank_is_no_problem_and_not_sent() {
        let form = FormFields {
            phone: "  ".into(),
            note: "\u{200B}".into(),
            ..filled()
        };
        assert_eq!(form.problems(FieldRule::Optional, FieldRule::Optional), []);
        assert_eq!(
            form.problems(FieldRule::Required, FieldRule::Required),
            [
                (Field::Phone, FieldProblem::Missing),
                (Field::Note, FieldProblem::Missing)
            ]
        );
    }

    #[test]
    fn the_adapters_field_names_map_to_the_form() {
        assert_eq!(Field::from_protocol("client.email"), Field::Email);
        assert_eq!(Field::from_protocol("website"), Field::Other);
    }
}
