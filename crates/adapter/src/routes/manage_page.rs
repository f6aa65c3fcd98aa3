//! `/manage/{id}?token=…`: the visitor's own page for their booking, from
//! their first email: its status and time, and a button to cancel.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use chrono::Utc;
use chrono_tz::Tz;

use super::page::{escape, page};
use super::AppState;
use crate::domain::{BookingId, ManageToken};
use crate::mail::compose::{when, Language};
use crate::store::BookingRecord;

pub async fn show(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let token = params.get("token").cloned().unwrap_or_default();
    match owned(&app, &id, &token).await {
        Some(details) => render(&app, &details, &token, None),
        None => not_found(),
    }
}

pub async fn cancel(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let token = form.get("token").cloned().unwrap_or_default();
    let Some(details) = owned(&app, &id, &token).await else {
        return not_found();
    };
    let Some(booking_id) = BookingId::parse(&details.id) else {
        return not_found();
    };
    let now = Utc::now();
    if let Err(error) = app.store.call(move |s| s.cancel(&booking_id, now)).await {
        tracing::error!(
            error = format!("{error:#}"),
            "cancelling from the manage page"
        );
        return page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Please try again",
            "<p>The booking store is busy.</p>",
        );
    }
    app.outbox.wake();
    let id = details.id.clone();
    match app.store.call(move |s| s.booking(&id, now)).await {
        Ok(Some(after)) => render(
            &app,
            &after,
            &token,
            Some("Your booking is cancelled. The practice has been told."),
        ),
        _ => not_found(),
    }
}

/// The booking, if `token` is its manage token.
async fn owned(app: &Arc<AppState>, id: &str, token: &str) -> Option<BookingRecord> {
    let id = BookingId::parse(id)?;
    let now = Utc::now();
    let found = app
        .store
        .call(move |s| s.booking(id.as_str(), now))
        .await
        .ok()??;
    found
        .manage_token_hash
        .matches(&ManageToken::from_presented(token).hash())
        .then_some(found)
}

fn render(app: &AppState, details: &BookingRecord, token: &str, notice: Option<&str>) -> Response {
    let language = Language::from_tag(details.visitor.locale.as_deref());
    let zone = details
        .visitor
        .time_zone
        .as_deref()
        .and_then(|z| z.parse::<Tz>().ok())
        .unwrap_or(app.settings.practice.zone);
    let mut body = format!(
        "<p>{}</p><p>Status: <strong>{}</strong></p>",
        escape(&when(details.slot.start, zone, language)),
        details.status.as_str()
    );
    if let Some(notice) = notice {
        body.push_str(&format!("<p role=\"status\">{}</p>", escape(notice)));
    }
    if details.status.holds_slot() {
        body.push_str(&format!(
            "<form method=\"post\" action=\"/manage/{}/cancel\"><input type=\"hidden\" name=\"token\" value=\"{}\">\
             <button type=\"submit\">Cancel this booking</button></form>",
            escape(&details.id),
            escape(token)
        ));
    }
    page(
        StatusCode::OK,
        &format!("Your booking with {}", app.settings.practice.name),
        &body,
    )
}

fn not_found() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "Booking not found",
        "<p>Please use the link exactly as it came in the email.</p>",
    )
}
