use super::FieldError;

/// The client's `Idempotency-Key`: 1 to 255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub const MAX_LEN: usize = 255;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let visible = raw.bytes().all(|b| b.is_ascii_graphic());
        if raw.is_empty() || raw.len() > Self::MAX_LEN || !visible {
            return Err(FieldError::new(
                "Idempotency-Key",
                "The Idempotency-Key header must be 1 to 255 visible ASCII characters.",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// A new random key, for a form the adapter itself hands out.
    pub fn generate() -> Self {
        Self(format!("form_{}", super::tokens::random_text(16)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_uuids_and_refuses_blank_spaced_or_long_keys() {
        assert!(IdempotencyKey::parse("0b6f8c1e-5d2a-4c1e-9f3a-2b7c8d9e0f11").is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
        for bad in ["", "has space", "tab\t", "ünïcode", &"k".repeat(256)] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn a_key_is_accepted_exactly_when_it_is_short_visible_ascii(raw in "[\\x00-\\x7f]{0,300}") {
            let expected = !raw.is_empty() && raw.len() <= 255 && raw.bytes().all(|b| b.is_ascii_graphic());
            prop_assert_eq!(IdempotencyKey::parse(&raw).is_ok(), expected);
        }
    }
}
