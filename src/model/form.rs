//! The booking form's fields and the checks made before sending (the adapter
//! checks again; these only spare the visitor a round trip).

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
            "client.name" => Self::Name,
            "client.email" => Self::Email,
            "client.phone" => Self::Phone,
            "note" => Self::Note,
            "consent" => Self::Consent,
            _ => Self::Other,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldProblem {
    Missing,
    Invalid,
    TooLong,
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
        let name = self.name.trim();
        if name.is_empty() {
            found.push((Field::Name, FieldProblem::Missing));
        } else if name.chars().count() > 100 {
            found.push((Field::Name, FieldProblem::TooLong));
        }
        let email = self.email.trim();
        if email.is_empty() {
            found.push((Field::Email, FieldProblem::Missing));
        } else if !looks_like_email(email) {
            found.push((Field::Email, FieldProblem::Invalid));
        }
        let phone_text = self.phone.trim();
        match (phone, phone_text.is_empty()) {
            (FieldRule::Required, true) => found.push((Field::Phone, FieldProblem::Missing)),
            (FieldRule::Required | FieldRule::Optional, false) if !looks_like_phone(phone_text) => {
                found.push((Field::Phone, FieldProblem::Invalid))
            }
            _ => {}
        }
        let note_text = self.note.trim();
        match (note, note_text.is_empty()) {
            (FieldRule::Required, true) => found.push((Field::Note, FieldProblem::Missing)),
            (FieldRule::Required | FieldRule::Optional, false)
                if note_text.chars().count() > 1000 =>
            {
                found.push((Field::Note, FieldProblem::TooLong))
            }
            _ => {}
        }
        if !self.consent {
            found.push((Field::Consent, FieldProblem::Missing));
        }
        found
    }

    /// The protocol's request body. Hidden fields are sent empty; the honeypot
    /// is never filled.
    pub fn to_request(
        &self,
        service: &str,
        slot: Slot,
        phone: FieldRule,
        note: FieldRule,
        time_zone: Option<String>,
        locale: Option<String>,
    ) -> BookingRequest {
        let given = |text: &str, rule: FieldRule| {
            let text = text.trim();
            (rule != FieldRule::Hidden && !text.is_empty()).then(|| text.to_owned())
        };
        BookingRequest {
            service: service.to_owned(),
            start: slot.start,
            client: ClientDetails {
                name: self.name.trim().to_owned(),
                email: self.email.trim().to_owned(),
                phone: given(&self.phone, phone),
            },
            client_time_zone: time_zone,
            locale,
            note: given(&self.note, note),
            consent: self.consent,
            website: String::new(),
        }
    }
}

fn looks_like_email(text: &str) -> bool {
    match text.rsplit_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !text.contains(char::is_whitespace)
                && text.len() <= 254
        }
        None => false,
    }
}

fn looks_like_phone(text: &str) -> bool {
    let digits = text.chars().filter(char::is_ascii_digit).count();
    text.len() <= 32
        && (5..=20).contains(&digits)
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '(' | ')' | '.'))
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

    #[test]
    fn the_adapters_field_names_map_to_the_form() {
        assert_eq!(Field::from_protocol("client.email"), Field::Email);
        assert_eq!(Field::from_protocol("website"), Field::Other);
    }
}
