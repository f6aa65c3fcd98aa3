//! The one error type of the HTTP boundary. Each variant says its status; the
//! response is the protocol's problem+json and never shows internals. Errors
//! with an internal cause are logged once, here.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use firststep_protocol::{ErrorCode, Problem, PROBLEM_JSON};

use crate::domain::{BookingRefusal, FieldError};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 422: a missing, unparseable or inverted range.
    #[error("{0}")]
    InvalidRange(String),
    /// 422: a range longer than the protocol allows.
    #[error(
        "a range can be at most {} days long",
        firststep_protocol::MAX_SLOT_RANGE_DAYS
    )]
    RangeTooLarge,
    /// 404: no such service.
    #[error("this practice offers no service \"{0}\"")]
    UnknownService(String),
    /// 404: a clinician the practice does not have, or who does not offer the service.
    #[error("this practice has no clinician \"{0}\" offering this service")]
    UnknownClinician(String),
    /// 400: the body is not the JSON the protocol describes.
    #[error("{0}")]
    MalformedJson(String),
    /// 400: no or an invalid `Idempotency-Key`.
    #[error("{0}")]
    MissingIdempotencyKey(String),
    /// 409: the slot is not (or no longer) offered.
    #[error("this time is no longer available; please choose another")]
    SlotUnavailable,
    /// 409: a booking starting too soon to be moved by its visitor.
    #[error("this booking starts too soon to be changed here; please contact the practice")]
    ChangeWindowClosed,
    /// 409: a booking no longer live (declined, cancelled, expired) cannot be moved.
    #[error("this booking was declined, cancelled or has expired; please book anew")]
    BookingClosed,
    /// 409: the first request with this key is still running.
    #[error("a request with this Idempotency-Key is still being processed")]
    RequestInProgress,
    /// 413: the body is larger than 16 KiB.
    #[error("the request body is larger than 16 KiB")]
    PayloadTooLarge,
    /// 422: one field is wrong; the problem's `field` names it.
    #[error("{0}")]
    InvalidField(FieldError),
    /// 422: this key was used before with another body.
    #[error("this Idempotency-Key was used before for a different request")]
    IdempotencyKeyReused,
    /// 429: too many requests from this address; retry after the seconds given.
    #[error("too many requests; please wait a moment")]
    RateLimited { retry_after_seconds: u64 },
    /// 503: the request could not be stored durably.
    #[error("bookings cannot be taken right now; please try again shortly")]
    BackendUnavailable(#[source] anyhow::Error),
    /// 404: no such booking, or not yours (never 403, which would reveal it exists).
    #[error("no such booking")]
    NotFound,
    /// 404: no endpoint at this path.
    #[error("there is no such endpoint in this API")]
    UnknownRoute,
    /// 404: no practice by this id is served here (`/p/{id}/…`).
    #[error("there is no such practice here")]
    UnknownPractice,
    /// 405: the endpoint exists but not with this method (`Allow` lists those it takes).
    #[error("this endpoint does not take this method; see the Allow header")]
    MethodNotAllowed,
    /// 400: a request the API cannot read (e.g. a path that is not UTF-8), with the status found.
    #[error("the request could not be read")]
    BadRequest(StatusCode),
    /// 500: a fault of the adapter's own (a handler panicked); logged where it happened.
    #[error("something went wrong on our side")]
    Internal,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidRange(_)
            | Self::RangeTooLarge
            | Self::InvalidField(_)
            | Self::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Self::UnknownService(_) | Self::UnknownClinician(_) | Self::NotFound => {
                StatusCode::NOT_FOUND
            }
            Self::MalformedJson(_) | Self::MissingIdempotencyKey(_) => StatusCode::BAD_REQUEST,
            Self::SlotUnavailable
            | Self::RequestInProgress
            | Self::ChangeWindowClosed
            | Self::BookingClosed => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::BackendUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::UnknownRoute | Self::UnknownPractice => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::BadRequest(status) => *status,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidRange(_) => ErrorCode::InvalidRange,
            Self::RangeTooLarge => ErrorCode::RangeTooLarge,
            Self::UnknownService(_) => ErrorCode::UnknownService,
            Self::UnknownClinician(_) => ErrorCode::UnknownClinician,
            Self::MalformedJson(_) => ErrorCode::MalformedJson,
            Self::MissingIdempotencyKey(_) => ErrorCode::MissingIdempotencyKey,
            Self::SlotUnavailable => ErrorCode::SlotUnavailable,
            Self::ChangeWindowClosed => ErrorCode::ChangeWindowClosed,
            Self::BookingClosed => ErrorCode::BookingClosed,
            Self::RequestInProgress => ErrorCode::RequestInProgress,
            Self::PayloadTooLarge => ErrorCode::PayloadTooLarge,
            Self::InvalidField(_) => ErrorCode::InvalidField,
            Self::IdempotencyKeyReused => ErrorCode::IdempotencyKeyReused,
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::BackendUnavailable(_) => ErrorCode::BackendUnavailable,
            Self::NotFound | Self::UnknownRoute | Self::UnknownPractice => ErrorCode::NotFound,
            Self::MethodNotAllowed => ErrorCode::MethodNotAllowed,
            Self::BadRequest(_) => ErrorCode::BadRequest,
            Self::Internal => ErrorCode::Internal,
        }
    }

    fn title(&self) -> &'static str {
        match self.code() {
            ErrorCode::InvalidRange => "Invalid range",
            ErrorCode::RangeTooLarge => "Range too large",
            ErrorCode::UnknownService => "Unknown service",
            ErrorCode::UnknownClinician => "Unknown clinician",
            ErrorCode::MalformedJson => "Malformed JSON",
            ErrorCode::MissingIdempotencyKey => "Missing Idempotency-Key",
            ErrorCode::SlotUnavailable => "Slot no longer available",
            ErrorCode::ChangeWindowClosed => "Too late to change",
            ErrorCode::BookingClosed => "Booking closed",
            ErrorCode::RequestInProgress => "Request in progress",
            ErrorCode::PayloadTooLarge => "Payload too large",
            ErrorCode::InvalidField => "Invalid field",
            ErrorCode::IdempotencyKeyReused => "Idempotency-Key reused",
            ErrorCode::RateLimited => "Too many requests",
            ErrorCode::BackendUnavailable => "Backend unavailable",
            ErrorCode::NotFound => "Not found",
            ErrorCode::MethodNotAllowed => "Method not allowed",
            ErrorCode::BadRequest => "Bad request",
            ErrorCode::Internal => "Internal error",
            ErrorCode::Other => "Error",
        }
    }

    /// Whether the same request may succeed later without changes.
    pub fn retryable(&self) -> bool {
        matches!(
            self,
            Self::RequestInProgress | Self::RateLimited { .. } | Self::BackendUnavailable(_)
        )
    }

    pub fn problem(&self) -> Problem {
        let field = match self {
            Self::InvalidField(error) => Some(error.field.to_owned()),
            _ => None,
        };
        let detail = match self {
            Self::InvalidField(error) => error.message.clone(),
            other => other.to_string(),
        };
        Problem {
            kind: "about:blank".into(),
            title: self.title().into(),
            status: self.status().as_u16(),
            code: self.code(),
            detail,
            field,
            retryable: self.retryable(),
        }
    }

    /// The response body, as sent and as kept for idempotent replays.
    pub fn body(&self) -> Vec<u8> {
        serde_json::to_vec(&self.problem()).expect("a problem serializes")
    }
}

impl From<FieldError> for ApiError {
    fn from(error: FieldError) -> Self {
        Self::InvalidField(error)
    }
}

impl From<BookingRefusal> for ApiError {
    fn from(refusal: BookingRefusal) -> Self {
        match refusal {
            BookingRefusal::UnknownService(id) => Self::UnknownService(id),
            BookingRefusal::UnknownClinician(id) => Self::UnknownClinician(id),
            // The protocol names one field: the first in the form's order.
            BookingRefusal::Fields(errors) => errors
                .into_iter()
                .next()
                .map_or(Self::Internal, Self::InvalidField),
        }
    }
}

impl ApiError {
    /// The problem for an error response made outside the handlers (the
    /// router's 404 and 405, an extractor's rejection), by its status.
    pub fn for_status(status: StatusCode) -> Self {
        match status {
            StatusCode::NOT_FOUND => Self::UnknownRoute,
            StatusCode::METHOD_NOT_ALLOWED => Self::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => Self::PayloadTooLarge,
            status if status.is_server_error() => Self::Internal,
            status => Self::BadRequest(status),
        }
    }
}

/// Shorthand for a store failure at the boundary.
pub fn unavailable(error: anyhow::Error) -> ApiError {
    ApiError::BackendUnavailable(error)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::BackendUnavailable(cause) = &self {
            tracing::error!(error = format!("{cause:#}"), "store unavailable");
        }
        let retry_after = match &self {
            Self::RateLimited {
                retry_after_seconds,
            } => Some(*retry_after_seconds),
            Self::BackendUnavailable(_) => Some(5),
            _ => None,
        };
        let mut response = (
            self.status(),
            [(header::CONTENT_TYPE, PROBLEM_JSON)],
            self.body(),
        )
            .into_response();
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
