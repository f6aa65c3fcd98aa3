use std::collections::{BTreeSet, HashMap};
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

/// `GET /v1/slots?service=ID&from=INSTANT&to=INSTANT[&clinician=ID]`.
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

    let clinician = params.get("clinician").cloned();
    let with = app
        .settings
        .practice
        .candidates(service, clinician.as_deref())
        .ok_or_else(|| ApiError::UnknownClinician(clinician.clone().unwrap_or_default()))?;

    let now = app.clock.now();
    let slots = offered(&app, service, Interval::new(from, to), now, None, &with)
        .await?
        .into_iter()
        .map(|slot| Slot {
            start: slot.start,
            end: slot.end,
        })
        .collect();
    let body = SlotList {
        service: service.id.clone(),
        clinician,
        time_zone: app.settings.practice.zone.name().into(),
        slots,
    };
    // Slots change with every booking; correctness comes from POST, freshness from here.
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(body)))
}

/// The slots of `service` open within `window` at `now`: what `/v1/slots`
/// lists, the booking page shows, and — for the booking `moving`, which does
/// not stand in its own way — the manage page offers to move to. `with`: the
/// clinicians whose slots count (each start once if any of them is free);
/// empty in a practice without clinicians.
pub(super) async fn offered(
    app: &AppState,
    service: &Service,
    window: Interval,
    now: DateTime<Utc>,
    moving: Option<&str>,
    with: &[String],
) -> Result<Vec<Interval>, ApiError> {
    let moving = moving.map(str::to_owned);
    let around = bearing_on(window).ok_or_else(|| {
        ApiError::InvalidRange("`from` and `to` are too far away to look up".into())
    })?;
    // `None` stands for the practice as one person.
    let whose: Vec<Option<String>> = match with {
        [] => vec![None],
        with => with.iter().cloned().map(Some).collect(),
    };
    let bookings = app
        .store
        .call(move |store| {
            whose
                .into_iter()
                .map(|who| {
                    let theirs =
                        store.live_bookings(around, now, moving.as_deref(), who.as_deref());
                    theirs.map(|bookings| (who, bookings))
                })
                .collect::<anyhow::Result<Vec<_>>>()
        })
        .await
        .map_err(unavailable)?;
    let mut starts = BTreeSet::new();
    for (who, bookings) in bookings {
        let calendar = app.busy_of(who.as_deref());
        let busy = BusyTime {
            calendar: &calendar,
            bookings: &bookings,
        };
        let rules = app.settings.practice.rules_of(who.as_deref());
        starts.extend(
            open_slots(rules, service, busy, window, now)
                .into_iter()
                .map(|slot| (slot.start, slot.end)),
        );
    }
    Ok(starts
        .into_iter()
        .map(|(start, end)| Interval::new(start, end))
        .collect())
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
