//! What a visitor tells the practice about themselves.

use super::{has_control_chars, FieldError};

/// A visitor's name: trimmed, 1 to 100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientName(String);

impl ClientName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let field = "client.name";
        let name = raw.trim();
        if name.is_empty() {
            return Err(FieldError::new(field, "Please enter your name."));
        }
        if name.chars().count() > Self::MAX_CHARS {
            return Err(FieldError::new(
                field,
                format!("A name can be at most {} characters.", Self::MAX_CHARS),
            ));
        }
        if has_control_chars(name, false) {
            return Err(FieldError::new(
                field,
                "The name contains characters that cannot be used.",
            ));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An email address that can receive mail: `local@domain.tld`, at most 254
/// characters, no spaces or control characters. Deliverability is the mail
/// server's to judge; this catches typing slips.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientEmail(String);

impl ClientEmail {
    pub const MAX_CHARS: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let invalid = || {
            FieldError::new(
                "client.email",
                "Please enter an email address like name@example.org.",
            )
        };
        let email = raw.trim();
        if email.chars().count() > Self::MAX_CHARS {
            return Err(FieldError::new(
                "client.email",
                format!(
                    "An email address can be at most {} characters.",
                    Self::MAX_CHARS
                ),
            ));
        }
        let (local, domain) = email.rsplit_once('@').ok_or_else(invalid)?;
        let well_formed = !local.is_empty()
            && local.len() <= 64
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && domain.contains('.')
            && !domain.contains("..")
            && !email
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || "<>()[],;:\"\\".contains(c))
            && !local.contains('@');
        if !well_formed {
            return Err(invalid());
        }
        Ok(Self(email.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A phone number as people write it: digits with `+ - ( ) .` and spaces,
/// 5 to 20 digits, at most 32 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientPhone(String);

impl ClientPhone {
    pub const MAX_CHARS: usize = 32;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let field = "client.phone";
        let phone = raw.trim();
        if phone.chars().count() > Self::MAX_CHARS {
            return Err(FieldError::new(
                field,
                format!(
                    "A phone number can be at most {} characters.",
                    Self::MAX_CHARS
                ),
            ));
        }
        let digits = phone.chars().filter(char::is_ascii_digit).count();
        let allowed = phone
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c));
        if !allowed || !(5..=20).contains(&digits) || phone[1..].contains('+') {
            return Err(FieldError::new(
                field,
                "Please enter a phone number like +1 555 010 0199.",
            ));
        }
        Ok(Self(phone.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A free-text note to the practice: at most 1,000 characters; line breaks
/// are kept, other control characters refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note(String);

impl Note {
    pub const MAX_CHARS: usize = 1000;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let note = raw.trim();
        if note.chars().count() > Self::MAX_CHARS {
            return Err(FieldError::new(
                "note",
                format!("A note can be at most {} characters.", Self::MAX_CHARS),
            ));
        }
        if has_control_chars(note, true) {
            return Err(FieldError::new(
                "note",
                "The note contains characters that cannot be used.",
            ));
        }
        Ok(Self(note.to_owned()))
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

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(ClientName::parse("  Sam Lee ").unwrap().as_str(), "Sam Lee");
        assert_eq!(ClientName::parse("   ").unwrap_err().field, "client.name");
        assert!(ClientName::parse(&"é".repeat(100)).is_ok());
        assert!(ClientName::parse(&"é".repeat(101)).is_err());
        assert!(ClientName::parse("Sam\nBCC: x").is_err());
    }

    #[test]
    fn emails_catch_typing_slips() {
        for good in [
            "sam@example.org",
            "s.lee+first@mail.example.co.uk",
            "ÿ@example.org",
        ] {
            assert!(ClientEmail::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "sam",
            "sam@",
            "@example.org",
            "sam@example",
            "sam @example.org",
            "sam@example..org",
            "sam@.org",
            "a@b@c.org",
            "sam@example.org\r\nBcc: x",
        ] {
            assert_eq!(
                ClientEmail::parse(bad).unwrap_err().field,
                "client.email",
                "{bad:?}"
            );
        }
        let long = format!("{}@{}.org", "a".repeat(60), "b".repeat(200));
        assert!(ClientEmail::parse(&long).is_err());
    }

    #[test]
    fn phones_as_people_write_them() {
        for good in ["+1 (555) 010-0199", "030 1234567", "555.0100"] {
            assert!(ClientPhone::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "call me",
            "123",
            "+1 555 0100 ext. 4",
            "1+555 0100",
            &"1".repeat(33),
        ] {
            assert_eq!(
                ClientPhone::parse(bad).unwrap_err().field,
                "client.phone",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn notes_keep_line_breaks_but_not_other_controls() {
        assert_eq!(
            Note::parse("Evenings\nplease").unwrap().as_str(),
            "Evenings\nplease"
        );
        assert!(Note::parse("bell\u{7}").is_err());
        assert!(Note::parse(&"x".repeat(1001)).is_err());
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
        fn parsed_names_never_hold_control_characters_or_exceed_the_limit(raw in "\\PC{0,120}|[\\x00-\\x1f a-z]{0,20}") {
            if let Ok(name) = ClientName::parse(&raw) {
                prop_assert!(!name.as_str().chars().any(char::is_control));
                prop_assert!(!name.as_str().is_empty());
                prop_assert!(name.as_str().chars().count() <= ClientName::MAX_CHARS);
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
                prop_assert!(phone.as_str().len() <= ClientPhone::MAX_CHARS);
            }
        }
    }
}
