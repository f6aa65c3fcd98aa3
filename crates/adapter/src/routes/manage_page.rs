//! `/manage/{id}?token=…`: the visitor's own page for their booking, from
//! their first email: its status and time, and a button to cancel.
//! A wrong token, an unknown id and a malformed address all read as "not
//! found", so the page tells nothing to someone without the link.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::{FormRejection, PathRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Form;
use chrono_tz::Tz;

use super::html::Html;
use super::page::Page;
use super::AppState;
use crate::domain::{BookingId, ManageToken};
use crate::mail::compose::{when, Language};
use crate::store::BookingRecord;

pub async fn show(
    State(app): State<Arc<AppState>>,
    id: Result<Path<String>, PathRejection>,
    Query(params): Query<HashMap<String, String>>,
) -> Page {
    let token = params.get("token").map_or("", String::as_str);
    let Ok(Path(id)) = id else {
        return not_found();
    };
    match owned(&app, &id, token).await {
        Some(details) => render(&app, &details, token, None),
        None => not_found(),
    }
}

pub async fn cancel(
    State(app): State<Arc<AppState>>,
    id: Result<Path<String>, PathRejection>,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Page {
    let (Ok(Path(id)), Ok(Form(form))) = (id, form) else {
        return not_found();
    };
    let token = form.get("token").map_or("", String::as_str);
    let Some(details) = owned(&app, &id, token).await else {
        return not_found();
    };
    let Some(booking_id) = BookingId::parse(&details.id) else {
        return not_found();
    };
    let now = app.clock.now();
    let after = match app.store.call(move |s| s.cancel(&booking_id, now)).await {
        Ok(Some(after)) => after,
        Ok(None) => return not_found(),
        Err(error) => {
            tracing::error!(
                error = format!("{error:#}"),
                "cancelling from the manage page"
            );
            return Page::store_busy();
        }
    };
    app.outbox.wake();
    // A second press (or a booking already over) changes nothing and says nothing new.
    let notice = details
        .status
        .holds_slot()
        .then_some("Your booking is cancelled. The practice has been told.");
    render(&app, &after, token, notice)
}

/// The booking, if `token` is its manage token.
async fn owned(app: &Arc<AppState>, id: &str, token: &str) -> Option<BookingRecord> {
    let id = BookingId::parse(id)?;
    let now = app.clock.now();
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

fn render(app: &AppState, details: &BookingRecord, token: &str, notice: Option<&str>) -> Page {
    let language = Language::from_tag(details.visitor.locale.as_deref().unwrap_or_default());
    let zone = details
        .visitor
        .time_zone
        .as_deref()
        .and_then(|z| z.parse::<Tz>().ok())
        .unwrap_or(app.settings.practice.zone);
    let mut body = Html::element("p", Html::text(&when(details.slot.start, zone, language)))
        + Html::trusted_static("<p>Status: <strong>")
        + Html::text(details.status.as_str())
        + Html::trusted_static("</strong></p>");
    if let Some(notice) = notice {
        body += Html::trusted_static("<p role=\"status\">")
            + Html::text(notice)
            + Html::trusted_static("</p>");
    }
    if details.status.holds_slot() {
        body += Html::trusted_static("<form method=\"post\" action=\"/manage/")
            + Html::text(&details.id)
            + Html::trusted_static("/cancel\"><input type=\"hidden\" name=\"token\" value=\"")
            + Html::text(token)
            + Html::trusted_static(
                "\"><button type=\"submit\">Cancel this booking</button></form>",
            );
    }
    Page::new(
        StatusCode::OK,
        Html::text(&format!("Your booking with {}", app.settings.practice.name)),
        body,
    )
}

fn not_found() -> Page {
    Page::new(
        StatusCode::NOT_FOUND,
        Html::text("Booking not found"),
        Html::trusted_static("<p>Please use the link exactly as it came in the email.</p>"),
    )
}
