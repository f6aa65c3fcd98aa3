//! `POST /v1/bookings`, `GET` and `DELETE /v1/bookings/{id}`, and
//! `POST /v1/bookings/{id}/reschedule`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Duration, Utc};
use firststep_availability::{BusyTime, Interval};
use firststep_protocol::{
    BookingCreated, BookingMode, BookingRequest, BookingStatus, BookingView, ClinicianRef,
    RescheduleRequest, PROBLEM_JSON,
};
use sha2::{Digest, Sha256};

use super::AppState;
use crate::client_address::VisitorAddress;
use crate::config::{PracticeSettings, Service};
use crate::domain::{
    new_room_token, requested_slot, BookingId, IdempotencyKey, ManageToken, ParsedBooking,
};
use crate::error::{unavailable, ApiError};
use crate::offer::{is_offered, week_of};
use crate::sealing::{payload_key, seal_payload};
use crate::store::{
    BookOutcome, BookingRecord, KeyClaim, NewBooking, Reschedule, RescheduleOutcome,
    StoredResponse, Visitor,
};

/// `POST /v1/bookings`.
pub async fn create(
    State(app): State<Arc<AppState>>,
    VisitorAddress(visitor): VisitorAddress,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    app.booking_limiter.check(visitor)?;
    let key = idempotency_key(&headers)?;
    let body = readable(body)?;
    let answer = book(&app, &key, &body, app.clock.now()).await?;
    Ok(answer.into_response(&app))
}

/// `POST /v1/bookings/{id}/reschedule` with the manage token as Bearer.
pub async fn reschedule(
    State(app): State<Arc<AppState>>,
    VisitorAddress(visitor): VisitorAddress,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    app.booking_limiter.check(visitor)?;
    let token = bearer(&headers).ok_or(ApiError::NotFound)?;
    // The token is checked before a key is taken: a stranger claims nothing.
    let booking = owned_booking(&app, &id, &token).await?;
    let key = idempotency_key(&headers)?;
    let body = readable(body)?;
    let answer = reschedule_once(&app, booking, token, &key, &body, app.clock.now()).await?;
    Ok(answer.into_response(&app))
}

fn readable(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
        _ => ApiError::MalformedJson("the request body could not be read".into()),
    })
}

/// What booking (or moving a booking) answered: the response as stored for
/// its idempotency key.
pub(super) struct BookAnswer {
    /// The `201` with the booking and its manage token, or — on a replay — a
    /// final refusal the first request got.
    pub stored: StoredResponse,
    /// This key's request was answered before: this is that answer again.
    pub replayed: bool,
}

impl BookAnswer {
    /// The API's answer: the stored response, marked when replayed.
    fn into_response(self, app: &AppState) -> Response {
        let mut response = stored_response(self.stored, app);
        if self.replayed {
            response
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
        }
        response
    }
}

/// Books the JSON booking request `body` once per `key`: the one way in for
/// the API and the booking page's form.
pub(super) async fn book(
    app: &Arc<AppState>,
    key: &IdempotencyKey,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<BookAnswer, ApiError> {
    let request_hash = Sha256::digest(body).to_vec();
    once_per_key(app, key, request_hash, now, place(app, key, body, now)).await
}

/// Moves `booking` as the JSON reschedule request `body` asks, once per
/// `key`: the one way in for the API and the manage page's form.
pub(super) async fn reschedule_once(
    app: &Arc<AppState>,
    booking: BookingRecord,
    token: ManageToken,
    key: &IdempotencyKey,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<BookAnswer, ApiError> {
    // The key stands for this move of this booking: reused for another, it is refused.
    let request_hash = Sha256::new()
        .chain_update(b"reschedule\n")
        .chain_update(booking.id.as_bytes())
        .chain_update(b"\n")
        .chain_update(body)
        .finalize()
        .to_vec();
    let work = move_booking(app, key, booking, token, body, now);
    once_per_key(app, key, request_hash, now, work).await
}

/// Runs `work` once for `key`: the same request again gets its answer
/// again, another request with the key is refused. `work` stores its
/// success with the key itself, in its own transaction; a final refusal is
/// kept for the key here (and returned as the error); a passing failure
/// frees the key for a retry.
async fn once_per_key(
    app: &Arc<AppState>,
    key: &IdempotencyKey,
    request_hash: Vec<u8>,
    now: DateTime<Utc>,
    work: impl std::future::Future<Output = Result<StoredResponse, ApiError>>,
) -> Result<BookAnswer, ApiError> {
    let claim_key = key.clone();
    match app
        .store
        .call(move |s| s.claim_key(&claim_key, &request_hash, now))
        .await
        .map_err(unavailable)?
    {
        KeyClaim::Claimed => {}
        KeyClaim::Replay(stored) => {
            return Ok(BookAnswer {
                stored,
                replayed: true,
            })
        }
        KeyClaim::InProgress => return Err(ApiError::RequestInProgress),
        KeyClaim::Reused => return Err(ApiError::IdempotencyKeyReused),
    }

    match work.await {
        Ok(stored) => Ok(BookAnswer {
            stored,
            replayed: false,
        }),
        Err(error) if error.retryable() => {
            // A passing failure: forget the key so the retry runs anew.
            let key = key.clone();
            if let Err(release) = app.store.call(move |s| s.release_key(&key)).await {
                tracing::error!(
                    error = format!("{release:#}"),
                    "releasing an idempotency key"
                );
            }
            Err(error)
        }
        Err(error) => {
            // A final answer: the same request will get it again, byte for byte.
            let stored = StoredResponse {
                status: error.status().as_u16(),
                location: None,
                body: error.body(),
            };
            let key = key.clone();
            app.store
                .call(move |s| s.finish_key(&key, &stored))
                .await
                .map_err(unavailable)?;
            Err(error)
        }
    }
}

/// When a request made at `now` for a slot starting at `start` lapses
/// unanswered: after the practice's expiry, never after the slot starts.
fn request_expiry(
    practice: &PracticeSettings,
    now: DateTime<Utc>,
    start: DateTime<Utc>,
) -> DateTime<Utc> {
    // An expiry past the range of dates never comes before the slot.
    now.checked_add_signed(Duration::hours(practice.request_expiry_hours.into()))
        .map_or(start, |expiry| expiry.min(start))
}

/// Moves `booking` to the start asked for, if that slot is offered and the
/// booking may still be changed; answers as a booking's creation does.
async fn move_booking(
    app: &Arc<AppState>,
    key: &IdempotencyKey,
    booking: BookingRecord,
    token: ManageToken,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<StoredResponse, ApiError> {
    let request: RescheduleRequest = serde_json::from_slice(body).map_err(|error| {
        ApiError::MalformedJson(format!("the body is not a reschedule request: {error}"))
    })?;
    let practice = &app.settings.practice;
    // A service the practice no longer offers has no slots to move to.
    let service = service_of(practice, &booking)
        .ok_or(ApiError::SlotUnavailable)?
        .clone();
    let (slot, around) = requested_slot(request.start, &service).map_err(ApiError::InvalidField)?;
    let id = BookingId::parse(&booking.id).ok_or(ApiError::NotFound)?;
    let change = Reschedule {
        id,
        slot,
        around,
        now,
        change_until: service.change_until(),
        confirmed_stays: service.reschedule == BookingMode::Instant,
        request_expires_at: request_expiry(practice, now, slot.start),
    };
    let settings = app.clone();
    let answer =
        move |moved: &BookingRecord| moved_response(moved, &token, &settings.settings.practice);
    let outbox = app.outbox.clone();
    let app = app.clone();
    let key = key.clone();
    let outcome = app
        .store
        .clone()
        .call(move |store| {
            store
                .reschedule(&change, &key, &answer, |clinician, bookings| {
                    still_offered(&app, &service, slot.start, clinician, bookings, now)
                })
                .map(|outcome| (outcome, answer))
        })
        .await
        .map_err(unavailable)?;
    match outcome {
        (RescheduleOutcome::Moved(moved), answer) => {
            tracing::info!(
                status = moved.status.as_str(),
                "booking moved by its visitor"
            );
            outbox.wake();
            Ok(answer(&moved))
        }
        (RescheduleOutcome::NotFound, _) => Err(ApiError::NotFound),
        (RescheduleOutcome::Closed, _) => Err(ApiError::BookingClosed),
        (RescheduleOutcome::WindowClosed, _) => Err(ApiError::ChangeWindowClosed),
        (RescheduleOutcome::SlotUnavailable, _) => Err(ApiError::SlotUnavailable),
    }
}

/// The answer to a move: the booking as creation answers it, at the same place.
fn moved_response(
    moved: &BookingRecord,
    token: &ManageToken,
    practice: &PracticeSettings,
) -> StoredResponse {
    let body = BookingCreated {
        booking: view(moved.clone(), practice),
        manage_token: token.expose().to_owned(),
    };
    StoredResponse {
        status: StatusCode::OK.as_u16(),
        location: Some(format!("/v1/bookings/{}", moved.id)),
        body: serde_json::to_vec(&body).expect("a booking serializes"),
    }
}

/// Parses the request, and stores the booking with its response if the slot is still offered.
async fn place(
    app: &Arc<AppState>,
    key: &IdempotencyKey,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<StoredResponse, ApiError> {
    let request: BookingRequest = serde_json::from_slice(body).map_err(|error| {
        ApiError::MalformedJson(format!("the body is not a booking request: {error}"))
    })?;
    let practice = &app.settings.practice;
    let ParsedBooking {
        service,
        slot,
        around,
        name,
        email,
        phone,
        note,
        time_zone,
        locale,
        candidates,
    } = ParsedBooking::parse(&request, practice)?;
    let week = week_of(slot.start, practice.zone).ok_or(ApiError::SlotUnavailable)?;
    let (status, expires_at) = match service.mode {
        BookingMode::Request => (
            BookingStatus::Pending,
            Some(request_expiry(practice, now, slot.start)),
        ),
        BookingMode::Instant => (BookingStatus::Confirmed, None),
    };
    let id = BookingId::generate();
    let token = ManageToken::generate();
    let room_token = service
        .meeting
        .as_ref()
        .filter(|meeting| meeting.needs_room_token())
        .map(|_| new_room_token());
    let view = BookingView {
        id: id.as_str().to_owned(),
        status,
        service: service.id.clone(),
        start: slot.start,
        end: slot.end,
        expires_at,
        video_url: service.video_url_of(status, room_token.as_deref()),
        clinician: None,
    };
    let location = format!("/v1/bookings/{}", id.as_str());
    let manage_token = token.expose().to_owned();
    // Made once the store has chosen whom the booking is with.
    let settings = app.clone();
    let response = move |clinician: Option<&str>| {
        let created = BookingCreated {
            booking: BookingView {
                clinician: clinician.map(|id| clinician_ref(&settings.settings.practice, id)),
                ..view
            },
            manage_token,
        };
        StoredResponse {
            status: StatusCode::CREATED.as_u16(),
            location: Some(location),
            body: serde_json::to_vec(&created).expect("a booking serializes"),
        }
    };
    // Without mail, no email will carry the token: it is not kept at all.
    let first_mail_payload = app
        .settings
        .mail
        .as_ref()
        .map(|mail| seal_payload(&payload_key(mail), id.as_str(), token.expose()));
    let booking = NewBooking {
        id,
        service: service.id.clone(),
        slot,
        status,
        created_at: now,
        expires_at,
        visitor: Visitor {
            name: name.as_str().to_owned(),
            email: email.as_str().to_owned(),
            phone: phone.map(|p| p.as_str().to_owned()),
            time_zone: time_zone.map(|z| z.name().to_owned()),
            note: note.map(|n| n.as_str().to_owned()),
            locale,
        },
        manage_token_hash: token.hash(),
        // The same sealed box, kept apart for the reminders' links.
        reminder_payload: first_mail_payload
            .clone()
            .filter(|_| !app.settings.reminders.hours_before.is_empty()),
        first_mail_payload,
        room_token,
        clear_after: clear_after(practice, &candidates),
        candidates,
        week,
    };

    let outbox = app.outbox.clone();
    let app = app.clone();
    let key = key.clone();
    let outcome = app
        .store
        .clone()
        .call(move |store| {
            store.book(&booking, around, &key, response, |clinician, bookings| {
                still_offered(&app, &service, slot.start, clinician, bookings, now)
            })
        })
        .await
        .map_err(unavailable)?;
    match outcome {
        BookOutcome::Booked(reply) => {
            tracing::info!(status = status.as_str(), "booking stored");
            outbox.wake();
            Ok(reply)
        }
        BookOutcome::SlotUnavailable => Err(ApiError::SlotUnavailable),
    }
}

/// Whether `start` of `service` is offered at `now` by `clinician` (or the
/// practice, `None`), given their live `bookings` around it and their
/// calendar's busy time as last read.
/// How long after its end no other booking of its clinician may start, for
/// the store's last word on double booking: the shortest buffer any
/// candidate keeps (whoever the store assigns), so the constraint never
/// refuses what their own rules allow.
fn clear_after(practice: &PracticeSettings, candidates: &[String]) -> chrono::Duration {
    let shortest = |rules: &firststep_availability::Rules| {
        rules.buffer_before_minutes.min(rules.buffer_after_minutes)
    };
    let minutes = if candidates.is_empty() {
        shortest(&practice.rules)
    } else {
        candidates
            .iter()
            .map(|id| shortest(practice.rules_of(Some(id))))
            .min()
            .unwrap_or(0)
    };
    chrono::Duration::minutes(minutes.into())
}

fn still_offered(
    app: &AppState,
    service: &Service,
    start: DateTime<Utc>,
    clinician: Option<&str>,
    bookings: &[Interval],
    now: DateTime<Utc>,
) -> bool {
    let calendar = app.busy_of(clinician);
    let busy = BusyTime {
        calendar: &calendar,
        bookings,
    };
    let rules = app.settings.practice.rules_of(clinician);
    is_offered(rules, service, start, busy, now)
}

fn idempotency_key(headers: &HeaderMap) -> Result<IdempotencyKey, ApiError> {
    let raw = headers.get("idempotency-key").ok_or_else(|| {
        ApiError::MissingIdempotencyKey("the Idempotency-Key header is required".into())
    })?;
    let text = raw.to_str().map_err(|_| {
        ApiError::MissingIdempotencyKey("the Idempotency-Key header must be visible ASCII".into())
    })?;
    IdempotencyKey::parse(text).map_err(|error| ApiError::MissingIdempotencyKey(error.message))
}

/// `stored` as answered; its `Location` (a path in the practice) under the
/// practice's address.
fn stored_response(stored: StoredResponse, app: &AppState) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let content_type = if status.is_success() {
        "application/json"
    } else {
        PROBLEM_JSON
    };
    let mut response =
        (status, [(header::CONTENT_TYPE, content_type)], stored.body).into_response();
    let location = stored.location.map(|path| app.address(&path));
    if let Some(location) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// `GET /v1/bookings/{id}` with the manage token as Bearer.
pub async fn show(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<BookingView>, ApiError> {
    let token = bearer(&headers).ok_or(ApiError::NotFound)?;
    let booking = owned_booking(&app, &id, &token).await?;
    Ok(Json(view(booking, &app.settings.practice)))
}

/// `DELETE /v1/bookings/{id}` with the manage token as Bearer. Idempotent.
pub async fn cancel(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<BookingView>, ApiError> {
    let token = bearer(&headers).ok_or(ApiError::NotFound)?;
    // Check the token before changing anything.
    owned_booking(&app, &id, &token).await?;
    let id = BookingId::parse(&id).ok_or(ApiError::NotFound)?;
    let now = app.clock.now();
    let cancelled = app
        .store
        .call(move |s| s.cancel(&id, now))
        .await
        .map_err(unavailable)?;
    let booking = cancelled.ok_or(ApiError::NotFound)?;
    app.outbox.wake();
    tracing::info!(
        status = booking.status.as_str(),
        "booking cancelled by its visitor"
    );
    Ok(Json(view(booking, &app.settings.practice)))
}

/// The booking `id`, if `token` is its manage token; otherwise as if it did
/// not exist.
pub(super) async fn owned_booking(
    app: &AppState,
    id: &str,
    token: &ManageToken,
) -> Result<BookingRecord, ApiError> {
    let id = BookingId::parse(id).ok_or(ApiError::NotFound)?;
    let now = app.clock.now();
    let found = app
        .store
        .call(move |s| s.booking(id.as_str(), now))
        .await
        .map_err(unavailable)?;
    found
        .filter(|booking| booking.manage_token_hash.matches(&token.hash()))
        .ok_or(ApiError::NotFound)
}

fn bearer(headers: &HeaderMap) -> Option<ManageToken> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| ManageToken::from_presented(token.trim()))
}

fn view(booking: BookingRecord, practice: &PracticeSettings) -> BookingView {
    let video_url = service_of(practice, &booking)
        .and_then(|service| service.video_url_of(booking.status, booking.room_token.as_deref()));
    BookingView {
        id: booking.id,
        status: booking.status,
        service: booking.service,
        start: booking.slot.start,
        end: booking.slot.end,
        expires_at: booking.expires_at,
        video_url,
        clinician: booking
            .clinician
            .as_deref()
            .map(|id| clinician_ref(practice, id)),
    }
}

/// Whom a booking is with, as its answer names them (by id alone if the
/// practice no longer lists them).
pub(super) fn clinician_ref(practice: &PracticeSettings, id: &str) -> ClinicianRef {
    ClinicianRef {
        id: id.to_owned(),
        name: practice
            .clinician(id)
            .map_or_else(|| id.to_owned(), |c| c.name.clone()),
    }
}

/// The service a stored booking was made for, if the practice still offers it.
pub(super) fn service_of<'a>(
    practice: &'a PracticeSettings,
    booking: &BookingRecord,
) -> Option<&'a Service> {
    practice.services.iter().find(|s| s.id == booking.service)
}
