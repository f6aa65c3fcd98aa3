use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use chrono::Duration;
use firststep_availability::Interval;
use firststep_protocol::BookingStatus;

use super::bookings::clinician_ref;
use super::AppState;
use crate::domain::ManageToken;
use crate::error::{unavailable, ApiError};
use crate::ical::{calendar, Event};

/// `GET /feeds/bookings.ics?token=…`: the practice's private feed of
/// requests (tentative) and bookings (confirmed), from a month back to the
/// horizon, for any calendar app to subscribe to. Without the right token —
/// or with no feed configured — it does not exist.
pub async fn bookings(
    State(app): State<Arc<AppState>>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<impl IntoResponse, ApiError> {
    let feed = app.settings.feed.as_ref().ok_or(ApiError::NotFound)?;
    let presented = ManageToken::from_presented(params.get("token").ok_or(ApiError::NotFound)?);
    if !presented
        .hash()
        .matches(&ManageToken::from_presented(feed.token.expose()).hash())
    {
        return Err(ApiError::NotFound);
    }
    let now = app.clock.now();
    let horizon = i64::from(app.settings.practice.rules.horizon_days) + 1;
    let range = Interval::new(now - Duration::days(31), now + Duration::days(horizon));
    let bookings = app
        .store
        .call(move |s| s.feed_bookings(range, now))
        .await
        .map_err(unavailable)?;

    let services = &app.settings.practice.services;
    let entries: Vec<(String, String)> = bookings
        .iter()
        .map(|b| {
            let title = services
                .iter()
                .find(|s| s.id == b.service)
                .map_or("Consultation", |s| s.title.as_str());
            let mut summary = if b.status == BookingStatus::Confirmed {
                title.to_owned()
            } else {
                format!("Request: {title}")
            };
            // In a group practice, whose it is (the feed shows everyone's).
            if let Some(id) = &b.clinician {
                let name = clinician_ref(&app.settings.practice, id).name;
                summary = format!("{summary} with {name}");
            }
            if feed.include_client_name {
                summary = format!("{summary} — {}", b.visitor.name);
            }
            (format!("{}@firststep", b.id), summary)
        })
        .collect();
    let events: Vec<Event<'_>> = bookings
        .iter()
        .zip(&entries)
        .map(|(b, (uid, summary))| Event {
            uid,
            stamp: now,
            start: b.slot.start,
            end: b.slot.end,
            summary,
            description: None,
            location: None,
            url: None,
            status: if b.status == BookingStatus::Confirmed {
                "CONFIRMED"
            } else {
                "TENTATIVE"
            },
        })
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        calendar(&events),
    ))
}
