//! What can go wrong between the widget and the adapter, as the widget tells
//! the visitor: the protocol's error codes folded into the few cases it
//! treats differently. Pure; `browser::http` produces these.

use firststep_protocol::{ErrorCode, Problem};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// The adapter could not be reached at all (offline, blocked, down).
    Offline,
    /// The chosen slot is no longer offered (409 `slot_unavailable`).
    SlotTaken,
    /// Too many attempts; `Retry-After` seconds, when given.
    RateLimited { retry_after: Option<u32> },
    /// The adapter answered but cannot take requests right now; retry later.
    Unavailable,
    /// One field was refused (422 `invalid_field`), by its protocol name.
    Invalid { field: String },
    /// The element names a service the practice does not offer.
    UnknownService,
    /// The element names a clinician the practice does not have, or one who
    /// does not offer the service.
    UnknownClinician,
    /// A manage link that opens no booking (404 `not_found`): a wrong id or token.
    NotFound,
    /// Too close to the booking's start to move it here (409 `change_window_closed`).
    ChangeWindowClosed,
    /// The booking was declined, cancelled or has expired (409 `booking_closed`).
    BookingClosed,
    /// Anything else: a fault of ours or of the page's set-up.
    Unexpected(ErrorCode),
}

impl ApiError {
    /// The protocol code for `firststep:error` events (never personal data).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Offline => "offline",
            Self::SlotTaken => "slot_unavailable",
            Self::RateLimited { .. } => "rate_limited",
            Self::Unavailable => "backend_unavailable",
            Self::Invalid { .. } => "invalid_field",
            Self::UnknownService => "unknown_service",
            Self::UnknownClinician => "unknown_clinician",
            Self::NotFound => "not_found",
            Self::ChangeWindowClosed => "change_window_closed",
            Self::BookingClosed => "booking_closed",
            Self::Unexpected(_) => "unexpected",
        }
    }

    /// A refusal that stays whatever the visitor retries: the view says so
    /// in place of the step (a manage link's booking that cannot be moved).
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            Self::NotFound | Self::ChangeWindowClosed | Self::BookingClosed
        )
    }

    /// The case a problem the adapter answered with falls into.
    pub fn from_problem(problem: Problem, retry_after: Option<u32>) -> Self {
        match problem.code {
            ErrorCode::SlotUnavailable => Self::SlotTaken,
            ErrorCode::RateLimited => Self::RateLimited { retry_after },
            ErrorCode::BackendUnavailable | ErrorCode::RequestInProgress => Self::Unavailable,
            ErrorCode::InvalidField => Self::Invalid {
                field: problem.field.unwrap_or_default(),
            },
            ErrorCode::UnknownService => Self::UnknownService,
            ErrorCode::UnknownClinician => Self::UnknownClinician,
            ErrorCode::NotFound => Self::NotFound,
            ErrorCode::ChangeWindowClosed => Self::ChangeWindowClosed,
            ErrorCode::BookingClosed => Self::BookingClosed,
            code => Self::Unexpected(code),
        }
    }
}
