//! Parsed values: once a value of these types exists, it is known to be good.
//! Each `parse` returns a [`FieldError`] naming the offending field.

mod booking_request;
mod client;
mod idempotency_key;
mod tokens;

pub use booking_request::{requested_slot, BookingRefusal, ParsedBooking};
pub use client::{ClientEmail, ClientName, ClientPhone, ClientTimeZone, Note};
pub use idempotency_key::IdempotencyKey;
pub use tokens::{new_room_token, BookingId, ManageToken, TokenHash};

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
