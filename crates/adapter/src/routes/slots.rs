use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use chrono::{DateTime, Duration, Utc};
use firststep_availability::{BusyTime, Interval};
use firststep_protocol::{instant, Slot, SlotList, MAX_SLOT_RANGE_DAYS};

use super::AppState;
use crate::config::Service;
use crate::error::{unavailable, ApiError};
use crate::offer::{bearing_on, open_slots};

/// `GET /v1/slots?service=ID&from=INSTANT&to=INSTANT`.
pub async fn list(
    State(app): State<Arc<AppState>>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Query(params) = query.map_err(|_| {
        ApiError::InvalidRange("the query string is not valid (percent-encoded UTF-8)".into())
    })?;
    let from = instant_param(&params, "from")?;
    let to = instant_param(&params, "to")?;
    if from >= to {
        return Err(ApiError::InvalidRange("`from` must be before `to`".into()));
    }
    if to - from > Duration::days(MAX_SLOT_RANGE_DAYS) {
        return Err(ApiError::RangeTooLarge);
    }
    let requested = params.get("service").map(String::as_str);
    let service = app
        .settings
        .service(requested)
        .ok_or_else(|| match requested {
            Some(id) => ApiError::UnknownService(id.to_owned()),
            None => ApiError::UnknownService("(none given; this practice offers several)".into()),
        })?;

    let now = app.clock.now();
    let slots = offered(&app, service, Interval::new(from, to), now, None)
        .await?
        .into_iter()
        .map(|slot| Slot {
            start: slot.start,
            end: slot.end,
        })
        .collect();
    let body = SlotList {
        service: service.id.clone(),
        clinician: None,
        time_zone: app.settings.practice.zone.name().into(),
        slots,
    };
    // Slots change with every booking; correctness comes from POST, freshness from here.
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(body)))
}

/// The slots of `service` open within `window` at `now`: what `/v1/slots`
/// lists, the booking page shows, and — for the booking `moving`, which does
/// not stand in its own way — the manage page offers to move to.
pub(super) async fn offered(
    app: &AppState,
    service: &Service,
    window: Interval,
    now: DateTime<Utc>,
    moving: Option<&str>,
) -> Result<Vec<Interval>, ApiError> {
    let moving = moving.map(str::to_owned);
    let around = bearing_on(window).ok_or_else(|| {
        ApiError::InvalidRange("`from` and `to` are too far away to look up".into())
    })?;
    let bookings = app
        .store
        .call(move |store| store.live_bookings(around, now, moving.as_deref()))
        .await
        .map_err(unavailable)?;
    let calendar = app.busy.current();
    let busy = BusyTime {
        calendar: &calendar,
        bookings: &bookings,
    };
    Ok(open_slots(
        &app.settings.practice,
        service,
        busy,
        window,
        now,
    ))
}

fn instant_param(params: &HashMap<String, String>, name: &str) -> Result<DateTime<Utc>, ApiError> {
    let raw = params.get(name).ok_or_else(|| {
        ApiError::InvalidRange(format!("`{name}` is missing: give an RFC 3339 instant"))
    })?;
    instant::parse(raw).map_err(|_| {
        ApiError::InvalidRange(format!(
            "`{name}` is not an RFC 3339 instant like 2026-12-01T14:00:00Z"
        ))
    })
}
