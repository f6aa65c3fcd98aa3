//! Parsed values: once a value of these types exists, it is known to be good.
//! Each `parse` returns a [`FieldError`] naming the offending field.

mod client;
mod idempotency_key;
mod tokens;

pub use client::{ClientEmail, ClientName, ClientPhone, ClientTimeZone, Note};
pub use idempotency_key::IdempotencyKey;
pub use tokens::{BookingId, ManageToken, TokenHash};

/// Why an input was refused, with the protocol's dotted field name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// Control characters never belong in a name, address or number; a note may
/// keep its line breaks and tabs.
fn has_control_chars(text: &str, allow_line_breaks: bool) -> bool {
    text.chars()
        .any(|c| c.is_control() && !(allow_line_breaks && matches!(c, '\n' | '\r' | '\t')))
}
