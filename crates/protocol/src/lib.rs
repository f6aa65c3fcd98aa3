//! The wire types of First Step protocol v1 (`docs/protocol.md`), compiled into
//! both the widget and the adapter so the contract has one definition.
//!
//! The wire types are serde only: the adapter parses these raw shapes into
//! its own domain types; the widget trusts what the adapter sends. The one
//! set of rules for what a visitor types lives in [`visitor_fields`], called
//! by both sides.
//!
//! # Layout
//! - [`PracticeInfo`], [`ServiceInfo`], [`ClinicianInfo`], [`FormSettings`]:
//!   `GET /v1/practice`; [`ClinicianRef`]: whom a booking is with.
//! - [`SlotList`], [`Slot`]: `GET /v1/slots`.
//! - [`BookingRequest`], [`ClientDetails`]: the body of `POST /v1/bookings`.
//! - [`BookingCreated`], [`BookingView`], [`BookingStatus`]: booking responses.
//! - [`Problem`], [`ErrorCode`]: RFC 9457 problem details and their stable codes.
//! - [`instant`]: the one reader of instants on the wire (RFC 3339, four-digit
//!   years), for every timestamp field and query string.
//! - [`visitor_fields`]: limits and checks of the form's fields (name, email,
//!   phone, note, locale), shared by the widget and the adapter.
//! - [`add_to_calendar`]: the Google Calendar and Outlook links of a booked
//!   time, for the widget's success screen and the confirmation email.

pub mod add_to_calendar;
pub mod instant;
pub mod visitor_fields;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Header carrying the client's idempotency key on `POST /v1/bookings`.
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";
/// Response header set when a response is replayed for a repeated key.
pub const IDEMPOTENT_REPLAYED_HEADER: &str = "Idempotent-Replayed";
/// Media type of every error response.
pub const PROBLEM_JSON: &str = "application/problem+json";
/// The longest window `GET /v1/slots` answers, in days.
pub const MAX_SLOT_RANGE_DAYS: i64 = 62;

/// `ALL`, `as_str` and `parse` for an enum's names on the wire, for code that
/// reads or writes them without serde (the widget, to stay small; the store).
/// A test keeps them equal to serde's names.
macro_rules! wire_names {
    ($enum:ident { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $enum {
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name),+
                }
            }

            pub fn parse(text: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|value| value.as_str() == text)
            }
        }
    };
}

/// `GET /v1/practice`: what the widget needs before any slot arrives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PracticeInfo {
    pub name: String,
    /// IANA zone the practice's hours are kept in.
    pub time_zone: String,
    pub services: Vec<ServiceInfo>,
    pub form: FormSettings,
    /// Shown above the form, e.g. where to turn in a crisis.
    pub notice: Option<String>,
    pub privacy_url: Option<String>,
    /// The practice's clinicians, in its own order; absent when it has none
    /// (then it books as one person).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clinicians: Vec<ClinicianInfo>,
}

/// One clinician of a group practice, as a visitor chooses among them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClinicianInfo {
    pub id: String,
    pub name: String,
    pub pronouns: Option<String>,
    /// A sentence or two about them.
    pub bio: Option<String>,
    /// The ids of the services they offer.
    pub services: Vec<String>,
}

/// The clinician a booking is with, as its answer and emails name them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClinicianRef {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceInfo {
    pub id: String,
    pub title: String,
    pub duration_minutes: u32,
    pub mode: BookingMode,
    /// How the consultation happens: `phone`, `video` or `in_person`.
    pub location: Option<String>,
    /// Where, for `in_person`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    pub description: Option<String>,
}

/// Whether a booking waits for the practice (`request`) or is final (`instant`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BookingMode {
    Request,
    Instant,
}

wire_names!(BookingMode {
    Request => "request",
    Instant => "instant",
});

/// Which optional form fields the practice asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormSettings {
    pub phone: FieldRule,
    pub note: FieldRule,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldRule {
    Hidden,
    Optional,
    Required,
}

wire_names!(FieldRule {
    Hidden => "hidden",
    Optional => "optional",
    Required => "required",
});

/// `GET /v1/slots`: bookable starts in `[from, to)`, ascending.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlotList {
    pub service: String,
    /// The clinician asked for; absent for "first available".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clinician: Option<String>,
    pub time_zone: String,
    pub slots: Vec<Slot>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Slot {
    #[serde(deserialize_with = "instant::deserialize")]
    pub start: DateTime<Utc>,
    #[serde(deserialize_with = "instant::deserialize")]
    pub end: DateTime<Utc>,
}

/// The body of `POST /v1/bookings`. Unknown fields are refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BookingRequest {
    pub service: String,
    /// The clinician chosen; absent for "first available" (the adapter
    /// assigns one) and in a practice without clinicians.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clinician: Option<String>,
    #[serde(deserialize_with = "instant::deserialize")]
    pub start: DateTime<Utc>,
    pub client: ClientDetails,
    pub client_time_zone: Option<String>,
    /// The visitor's language (BCP 47), for the emails they receive.
    /// Optional: added in v1.1; absent means English.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    pub consent: bool,
    /// A honeypot: people never see it, so anything in it came from a bot.
    #[serde(default)]
    pub website: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientDetails {
    pub name: String,
    pub email: String,
    #[serde(default)]
    pub phone: Option<String>,
}

/// The body of `POST /v1/bookings/{id}/reschedule`: the new start, of the
/// booking's own service. Unknown fields are refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RescheduleRequest {
    #[serde(deserialize_with = "instant::deserialize")]
    pub start: DateTime<Utc>,
}

/// `201` of `POST /v1/bookings`: the booking and, once only, its manage token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookingCreated {
    #[serde(flatten)]
    pub booking: BookingView,
    /// Bearer token for the booking's own endpoints; shown this once.
    pub manage_token: String,
}

/// A booking as its owner sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookingView {
    pub id: String,
    pub status: BookingStatus,
    pub service: String,
    #[serde(deserialize_with = "instant::deserialize")]
    pub start: DateTime<Utc>,
    #[serde(deserialize_with = "instant::deserialize")]
    pub end: DateTime<Utc>,
    /// When an unanswered request lapses; `null` once answered.
    #[serde(default, deserialize_with = "instant::deserialize_option")]
    pub expires_at: Option<DateTime<Utc>>,
    /// The video room, for a confirmed booking of a `video` service only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_url: Option<String>,
    /// Whom the booking is with, in a practice with clinicians.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clinician: Option<ClinicianRef>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BookingStatus {
    Pending,
    Confirmed,
    Declined,
    Cancelled,
    Expired,
}

wire_names!(BookingStatus {
    Pending => "pending",
    Confirmed => "confirmed",
    Declined => "declined",
    Cancelled => "cancelled",
    Expired => "expired",
});

impl BookingStatus {
    /// Pending and confirmed bookings hold their slot; the others free it.
    pub fn holds_slot(self) -> bool {
        matches!(self, Self::Pending | Self::Confirmed)
    }
}

/// An RFC 9457 problem: every error response of the adapter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub code: ErrorCode,
    pub detail: String,
    /// The offending input on 422s, as a dotted path (`client.email`).
    pub field: Option<String>,
    pub retryable: bool,
}

/// The stable, machine-readable part of a problem; clients branch only on it.
/// Codes this version does not know deserialize as [`ErrorCode::Other`], so a
/// newer adapter never breaks an older widget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidRange,
    RangeTooLarge,
    UnknownService,
    MalformedJson,
    MissingIdempotencyKey,
    SlotUnavailable,
    RequestInProgress,
    PayloadTooLarge,
    InvalidField,
    IdempotencyKeyReused,
    RateLimited,
    BackendUnavailable,
    NotFound,
    Internal,
    MethodNotAllowed,
    BadRequest,
    /// A reschedule too close to the booking's start (`services.change_until_hours`).
    ChangeWindowClosed,
    /// A reschedule of a booking no longer live (declined, cancelled, expired).
    BookingClosed,
    /// A `clinician` the practice does not have, or who does not offer the service.
    UnknownClinician,
    #[serde(other)]
    Other,
}

wire_names!(ErrorCode {
    InvalidRange => "invalid_range",
    RangeTooLarge => "range_too_large",
    UnknownService => "unknown_service",
    MalformedJson => "malformed_json",
    MissingIdempotencyKey => "missing_idempotency_key",
    SlotUnavailable => "slot_unavailable",
    RequestInProgress => "request_in_progress",
    PayloadTooLarge => "payload_too_large",
    InvalidField => "invalid_field",
    IdempotencyKeyReused => "idempotency_key_reused",
    RateLimited => "rate_limited",
    BackendUnavailable => "backend_unavailable",
    NotFound => "not_found",
    Internal => "internal",
    MethodNotAllowed => "method_not_allowed",
    BadRequest => "bad_request",
    ChangeWindowClosed => "change_window_closed",
    BookingClosed => "booking_closed",
    UnknownClinician => "unknown_clinician",
    Other => "other",
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booking_created_flattens_to_the_documented_shape() {
        let created = BookingCreated {
            booking: BookingView {
                id: "bk_1".into(),
                status: BookingStatus::Pending,
                service: "free-consultation".into(),
                start: "2026-12-01T14:00:00Z".parse().unwrap(),
                end: "2026-12-01T14:15:00Z".parse().unwrap(),
                expires_at: Some("2026-12-03T14:00:00Z".parse().unwrap()),
                video_url: None,
                clinician: None,
            },
            manage_token: "secret".into(),
        };
        let json = serde_json::to_value(&created).unwrap();
        assert_eq!(json["status"], "pending");
        assert_eq!(json["start"], "2026-12-01T14:00:00Z");
        assert_eq!(json["manage_token"], "secret");
        assert_eq!(
            json.as_object().unwrap().len(),
            7,
            "no video_url member without a room"
        );

        let mut with_room = created.clone();
        with_room.booking.video_url = Some("https://meet.example/r".into());
        let json = serde_json::to_value(&with_room).unwrap();
        assert_eq!(json["video_url"], "https://meet.example/r");
        let back: BookingCreated = serde_json::from_value(json).unwrap();
        assert_eq!(back, with_room);
    }

    #[test]
    fn booking_request_refuses_unknown_fields() {
        let body = r#"{"service":"s","start":"2026-12-01T14:00:00Z",
            "client":{"name":"Sam","email":"sam@example.org","phone":null},
            "client_time_zone":"Europe/Berlin","note":null,"consent":true,
            "website":"","admin":true}"#;
        let error = serde_json::from_str::<BookingRequest>(body).unwrap_err();
        assert!(error.to_string().contains("unknown field `admin`"));
    }

    #[test]
    fn unknown_error_codes_do_not_break_older_clients() {
        let body = r#"{"type":"about:blank","title":"t","status":418,
            "code":"brand_new_code","detail":"d","field":null,"retryable":false}"#;
        let problem: Problem = serde_json::from_str(body).unwrap();
        assert_eq!(problem.code, ErrorCode::Other);
    }

    #[test]
    fn only_pending_and_confirmed_bookings_hold_a_slot() {
        for status in ["pending", "confirmed", "declined", "cancelled", "expired"] {
            let parsed = BookingStatus::parse(status).unwrap();
            assert_eq!(parsed.as_str(), status);
            assert_eq!(
                parsed.holds_slot(),
                status == "pending" || status == "confirmed"
            );
        }
        assert_eq!(BookingStatus::parse("lost"), None);
    }

    /// Each enum's `as_str` must be the very name serde writes, or a reader
    /// without serde would misread the adapter.
    #[test]
    fn wire_names_are_the_names_serde_writes() {
        fn check<T: Serialize + Copy + std::fmt::Debug>(all: &[T], name: fn(T) -> &'static str) {
            for value in all {
                let written = serde_json::to_value(value).unwrap();
                assert_eq!(written, name(*value), "{value:?}");
            }
        }
        check(BookingStatus::ALL, BookingStatus::as_str);
        check(BookingMode::ALL, BookingMode::as_str);
        check(FieldRule::ALL, FieldRule::as_str);
        check(ErrorCode::ALL, ErrorCode::as_str);
        assert_eq!(
            ErrorCode::parse("slot_unavailable"),
            Some(ErrorCode::SlotUnavailable)
        );
        assert_eq!(FieldRule::parse("sometimes"), None);
    }
}
