use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use firststep_protocol::visitor_fields::Language;
use firststep_protocol::BookingStatus;

use super::bookings::{owned_booking, service_of};
use super::AppState;
use crate::domain::ManageToken;
use crate::error::ApiError;
use crate::ical::{calendar, Event};
use crate::mail::meeting::meeting_place;

/// `GET /v1/bookings/{id}/calendar.ics?token=…`: the visitor's own calendar
/// file. It names the service and the practice and nothing of the client,
/// since calendar files get forwarded and synced to third parties.
pub async fn download(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<impl IntoResponse, ApiError> {
    let token = ManageToken::from_presented(params.get("token").ok_or(ApiError::NotFound)?);
    let booking = owned_booking(&app, &id, &token).await?;
    let now = app.clock.now();

    let practice = &app.settings.practice;
    let service = service_of(practice, &booking);
    let title = service.map_or("Consultation", |s| s.title.as_str());
    let summary = format!("{title} — {}", practice.name);
    let uid = format!("{}@firststep", booking.id);
    let status = match booking.status {
        BookingStatus::Pending => "TENTATIVE",
        BookingStatus::Confirmed => "CONFIRMED",
        _ => "CANCELLED",
    };
    let video_url =
        service.and_then(|s| s.video_url_of(booking.status, booking.room_token.as_deref()));
    let language = Language::from_tag(booking.visitor.locale.as_deref().unwrap_or_default());
    let meeting = service.and_then(|s| s.meeting.as_ref());
    let place = meeting_place(meeting, video_url.as_deref(), language);
    let text = calendar(&[Event {
        uid: &uid,
        stamp: now,
        start: booking.slot.start,
        end: booking.slot.end,
        summary: &summary,
        description: service.and_then(|s| s.description.as_deref()),
        location: place.as_deref(),
        url: video_url.as_deref(),
        status,
    }]);
    Ok((
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"consultation.ics\"",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        text,
    ))
}
