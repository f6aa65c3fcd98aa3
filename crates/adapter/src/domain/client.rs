//! What a visitor tells the practice about themselves. The rules are the
//! protocol's [`visitor_fields`], the very ones the widget applies; this
//! module only words their refusals for the API.

use firststep_protocol::visitor_fields::{self, FieldProblem};

use super::FieldError;

/// A refusal of `field`, in the sentence for its `problem`: what to write
/// when it is missing, too long or not of its shape.
fn refusal(field: &'static str, problem: FieldProblem, sentences: [&str; 3]) -> FieldError {
    let [missing, too_long, invalid] = sentences;
    let message = match problem {
        FieldProblem::Missing => missing,
        FieldProblem::TooLong => too_long,
        FieldProblem::Invalid => invalid,
    };
    FieldError::new(field, message)
}

/// A visitor's name: trimmed, something visible in it, at most
/// [`visitor_fields::NAME_MAX_CHARS`] characters, nothing that reorders text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientName(String);

impl ClientName {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        visitor_fields::name(raw)
            .map(|name| Self(name.to_owned()))
            .map_err(|problem| {
                refusal(
                    visitor_fields::NAME_FIELD,
                    problem,
                    [
                        "Please enter your name.",
                        "A name can be at most 100 characters.",
                        "The name contains characters that cannot be used.",
                    ],
                )
            })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An email address the mailer can send to (see [`visitor_fields::email`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientEmail(String);

impl ClientEmail {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        visitor_fields::email(raw)
            .map(|email| Self(email.to_owned()))
            .map_err(|problem| {
                refusal(
                    visitor_fields::EMAIL_FIELD,
                    problem,
                    [
                        "Please enter your email address.",
                        "An email address can be at most 254 characters.",
                        "Please enter an email address like name@example.org.",
                    ],
                )
            })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A phone number as people write it (see [`visitor_fields::phone`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientPhone(String);

impl ClientPhone {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        visitor_fields::phone(raw)
            .map(|phone| Self(phone.to_owned()))
            .map_err(|problem| {
                refusal(
                    visitor_fields::PHONE_FIELD,
                    problem,
                    [
                        "Please enter a phone number.",
                        "A phone number can be at most 32 characters.",
                        "Please enter a phone number like +1 555 010 0199.",
                    ],
                )
            })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A free-text note to the practice, as stored: line breaks made LF, tabs
/// kept, other control characters and bidi overrides refused, at most
/// [`visitor_fields::NOTE_MAX_CHARS`] characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note(String);

impl Note {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        visitor_fields::note(raw).map(Self).map_err(|problem| {
            refusal(
                visitor_fields::NOTE_FIELD,
                problem,
                [
                    "Please add a short note.",
                    "A note can be at most 1000 characters.",
                    "The note contains characters that cannot be used.",
                ],
            )
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The visitor's IANA zone, kept to write times back to them in their own zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientTimeZone(chrono_tz::Tz);

impl ClientTimeZone {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        raw.parse().map(Self).map_err(|_| {
            FieldError::new(
                "client_time_zone",
                format!("\"{raw}\" is not an IANA time zone."),
            )
        })
    }

    pub fn name(self) -> &'static str {
        self.0.name()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The shared table gives the verdicts; here each refusal names its
    /// field and reads as a sentence.
    #[test]
    fn each_refusal_names_its_field_in_a_sentence() {
        for example in visitor_fields::EXAMPLES {
            let result = match example.field {
                visitor_fields::NAME_FIELD => ClientName::parse(example.input).map(|v| v.0),
                visitor_fields::EMAIL_FIELD => ClientEmail::parse(example.input).map(|v| v.0),
                visitor_fields::PHONE_FIELD => ClientPhone::parse(example.input).map(|v| v.0),
                _ => Note::parse(example.input).map(|v| v.0),
            };
            match (result, example.verdict) {
                (Ok(kept), Ok(expected)) => assert_eq!(kept, expected),
                (Err(error), Err(_)) => {
                    assert_eq!(error.field, example.field);
                    assert!(error.message.ends_with('.'), "{error}");
                }
                (result, _) => panic!("{example:?} gave {result:?}"),
            }
        }
    }

    #[test]
    fn the_shared_tables_addresses_are_ones_lettre_can_send_to() {
        let accepted = visitor_fields::EXAMPLES
            .iter()
            .filter(|e| e.field == visitor_fields::EMAIL_FIELD)
            .filter_map(|e| e.verdict.ok());
        for address in accepted {
            assert!(address.parse::<lettre::Address>().is_ok(), "{address}");
        }
        // Longest accepted: a 64-byte local part, a 254-byte address.
        let longest = format!(
            "{}@{}.{}.{}.org",
            "a".repeat(64),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(57)
        );
        assert_eq!(longest.len(), 254);
        assert!(ClientEmail::parse(&longest).is_ok());
        assert!(longest.parse::<lettre::Address>().is_ok());
    }

    #[test]
    fn time_zones_are_iana_names() {
        assert_eq!(
            ClientTimeZone::parse("Europe/Berlin").unwrap().name(),
            "Europe/Berlin"
        );
        assert_eq!(
            ClientTimeZone::parse("Mars/Olympus").unwrap_err().field,
            "client_time_zone"
        );
    }

    proptest! {
        #[test]
        fn parsed_names_never_hold_control_characters_or_exceed_the_limit(
            raw in "\\PC{0,120}|[\\x00-\\x1f a-z\u{200B}\u{202A}-\u{202E}\u{2066}-\u{2069}\u{2028}]{0,20}"
        ) {
            if let Ok(name) = ClientName::parse(&raw) {
                prop_assert!(!name.as_str().chars().any(char::is_control));
                let reorders = |c: char| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{2028}');
                prop_assert!(!name.as_str().chars().any(reorders));
                prop_assert!(!visitor_fields::is_blank(name.as_str()));
                prop_assert!(name.as_str().chars().count() <= visitor_fields::NAME_MAX_CHARS);
            }
        }

        #[test]
        fn parsed_emails_have_one_local_part_and_a_dotted_domain(raw in "[a-z.@ ]{0,30}") {
            if let Ok(email) = ClientEmail::parse(&raw) {
                let (local, domain) = email.as_str().split_once('@').unwrap();
                prop_assert!(!local.is_empty() && domain.contains('.') && !domain.contains('@'));
                prop_assert!(!email.as_str().contains(' '));
            }
        }

        #[test]
        fn parsed_phones_are_digits_and_punctuation_only(raw in "[0-9 +().a-z-]{0,40}") {
            if let Ok(phone) = ClientPhone::parse(&raw) {
                prop_assert!(phone.as_str().chars().all(|c| c.is_ascii_digit() || " +-().".contains(c)));
                prop_assert!(phone.as_str().len() <= visitor_fields::PHONE_MAX_CHARS);
            }
        }

        /// Every address the rule accepts is one lettre accepts, so no
        /// visitor is told "received" for an email that can never be sent.
        #[test]
        fn every_accepted_address_is_one_lettre_can_send_to(
            raw in "[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~@\"ÿ\\ \\[\\]-]{1,80}|[a-z0-9.+_-]{0,70}@[a-z0-9.-]{0,260}"
        ) {
            if let Ok(email) = ClientEmail::parse(&raw) {
                let parsed = email.as_str().parse::<lettre::Address>();
                prop_assert!(parsed.is_ok(), "{:?}: {:?}", email.as_str(), parsed);
            }
        }

        /// Dot-atoms at letter/digit/hyphen domains: always accepted, and
        /// lettre agrees, so the property above is exercised on every run.
        #[test]
        fn dot_atom_addresses_are_accepted_and_lettre_agrees(
            raw in "[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]{1,20}(\\.[a-z0-9_+{}-]{1,10}){0,3}@([a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?\\.){1,4}[a-z]{2,10}"
        ) {
            let email = ClientEmail::parse(&raw);
            prop_assert!(email.is_ok(), "{:?}", raw);
            prop_assert!(raw.parse::<lettre::Address>().is_ok(), "{:?}", raw);
        }
    }
}
