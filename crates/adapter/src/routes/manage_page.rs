//! `/manage/{id}?token=…`: the visitor's own page for their booking, from
//! their first email: its status and time, a way to move it to another open
//! time (`/manage/{id}/times`: the times as radio buttons, no script needed),
//! and a button to cancel. A wrong token, an unknown id and a malformed
//! address all read as "not found", so the page tells nothing to someone
//! without the link. Only POSTs change anything. The page speaks the
//! language the booking was made in (English or Spanish; the words are the
//! booking page's, `templates/page/`); before a booking is known, the
//! browser's.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::{FormRejection, PathRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Form;
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use firststep_availability::Interval;
use firststep_protocol::{instant, BookingStatus, ErrorCode, Problem, RescheduleRequest};

use super::booking_page::words::{self, fill, tag, Words};
use super::bookings::{clinician_ref, reschedule_once, service_of};
use super::html::Html;
use super::page::Page;
use super::slots::offered;
use super::AppState;
use crate::client_address::VisitorAddress;
use crate::domain::{BookingId, IdempotencyKey, ManageToken};
use crate::error::ApiError;
use crate::mail::compose::{when, Language};
use crate::store::{may_change, BookingRecord};

/// How far ahead the times page looks.
const TIMES_SHOWN: Duration = Duration::days(14);

pub async fn show(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    Query(params): Query<HashMap<String, String>>,
) -> Page {
    let token = token_in(&params);
    match owned_at(&app, id, token).await {
        Some(details) => render(&app, &details, token, None),
        None => not_found(&headers),
    }
}

pub async fn cancel(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Page {
    let Ok(Form(form)) = form else {
        return not_found(&headers);
    };
    let token = token_in(&form);
    let Some(details) = owned_at(&app, id, token).await else {
        return not_found(&headers);
    };
    let Some(booking_id) = BookingId::parse(&details.id) else {
        return not_found(&headers);
    };
    let now = app.clock.now();
    let after = match app.store.call(move |s| s.cancel(&booking_id, now)).await {
        Ok(Some(after)) => after,
        Ok(None) => return not_found(&headers),
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
        .then_some(words_for(&details).manage_cancelled_notice.as_str());
    render(&app, &after, token, notice)
}

/// `GET /manage/{id}/times?token=…`: the open times to move the booking to.
pub async fn times(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    Query(params): Query<HashMap<String, String>>,
) -> Page {
    let token = token_in(&params);
    match owned_at(&app, id, token).await {
        Some(details) => times_page(&app, &details, token, None).await,
        None => not_found(&headers),
    }
}

/// `POST /manage/{id}/times`: moves the booking to the time chosen, once per
/// form (its hidden key), through the same path as the API's reschedule.
pub async fn reschedule(
    State(app): State<Arc<AppState>>,
    VisitorAddress(visitor): VisitorAddress,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Page {
    let Ok(Form(form)) = form else {
        return not_found(&headers);
    };
    // Each move writes to the calendar and emails both sides: the API's limit
    // holds here too, so a manage link cannot flood the practice.
    if app.booking_limiter.check(visitor).is_err() {
        return too_many_tries(words::language(&headers));
    }
    let token = token_in(&form);
    let Some(details) = owned_at(&app, id, token).await else {
        return not_found(&headers);
    };
    let said = words_for(&details);
    let start = form.get("start").and_then(|s| instant::parse(s).ok());
    let key = form.get("key").and_then(|k| IdempotencyKey::parse(k).ok());
    let (Some(start), Some(key)) = (start, key) else {
        return times_page(&app, &details, token, Some(&said.manage_choose_one)).await;
    };
    let body = serde_json::to_vec(&RescheduleRequest { start }).expect("a request serializes");
    let now = app.clock.now();
    let owner = ManageToken::from_presented(token);
    let answer = reschedule_once(&app, details.clone(), owner, &key, &body, now).await;
    let moved = match answer {
        // A replayed refusal reads like the refusal itself.
        Ok(answer) if answer.stored.status >= 400 => Err(kept_refusal(&answer.stored.body)),
        Ok(_) => Ok(()),
        Err(error) => Err(error),
    };
    match moved {
        Ok(()) => match owned(&app, &details.id, token).await {
            Some(after) => {
                let notice = match after.status {
                    BookingStatus::Pending => &said.manage_moved_request,
                    _ => &said.manage_moved,
                };
                render(&app, &after, token, Some(notice))
            }
            None => not_found(&headers),
        },
        Err(ApiError::SlotUnavailable) => {
            times_page(&app, &details, token, Some(&said.manage_time_taken)).await
        }
        Err(ApiError::ChangeWindowClosed | ApiError::BookingClosed | ApiError::NotFound) => {
            render(&app, &details, token, Some(&said.manage_not_changed))
        }
        Err(ApiError::RateLimited { .. }) => too_many_tries(language_of(&details)),
        // The same form pressed twice: the first press is moving it.
        Err(ApiError::RequestInProgress) => {
            render(&app, &details, token, Some(&said.manage_in_progress))
        }
        Err(_) => Page::store_busy(),
    }
}

/// A refusal kept for this form's key, as the error it was (a time taken
/// unless the kept answer says otherwise).
fn kept_refusal(body: &[u8]) -> ApiError {
    match serde_json::from_slice::<Problem>(body).map(|problem| problem.code) {
        Ok(ErrorCode::ChangeWindowClosed) => ApiError::ChangeWindowClosed,
        Ok(ErrorCode::BookingClosed) => ApiError::BookingClosed,
        Ok(ErrorCode::NotFound) => ApiError::NotFound,
        _ => ApiError::SlotUnavailable,
    }
}

fn too_many_tries(language: Language) -> Page {
    let said = words::words(language);
    Page::new(
        StatusCode::TOO_MANY_REQUESTS,
        Html::text(&said.manage_wait_title),
        Html::element("p", Html::text(&said.manage_wait)),
    )
    .in_language(tag(language))
}

/// The manage token a link's query or a page's form carries.
fn token_in(fields: &HashMap<String, String>) -> &str {
    fields.get("token").map_or("", String::as_str)
}

/// The booking a page's address names, if `token` is its manage token.
async fn owned_at(
    app: &Arc<AppState>,
    id: Result<Path<String>, PathRejection>,
    token: &str,
) -> Option<BookingRecord> {
    let Path(id) = id.ok()?;
    owned(app, &id, token).await
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

/// The zone the visitor's times are written in: theirs if they gave it, else the practice's.
fn zone_of(app: &AppState, details: &BookingRecord) -> Tz {
    details
        .visitor
        .time_zone
        .as_deref()
        .and_then(|z| z.parse::<Tz>().ok())
        .unwrap_or(app.settings.practice.zone)
}

fn language_of(details: &BookingRecord) -> Language {
    Language::from_tag(details.visitor.locale.as_deref().unwrap_or_default())
}

/// The page's words, in the language the booking was made in.
fn words_for(details: &BookingRecord) -> &'static Words {
    words::words(language_of(details))
}

/// Whether its visitor may still move the booking here; `None` when it is not live.
fn changeable(app: &AppState, details: &BookingRecord) -> Option<bool> {
    if !details.status.holds_slot() {
        return None;
    }
    let service = service_of(&app.settings.practice, details)?;
    Some(may_change(
        details.slot.start,
        service.change_until(),
        app.clock.now(),
    ))
}

/// What to say instead of the times once the booking starts too soon.
fn contact_practice(app: &AppState, said: &Words) -> Html {
    Html::element(
        "p",
        Html::text(&fill(&said.manage_too_late, &app.settings.practice.name)),
    )
}

fn render(app: &AppState, details: &BookingRecord, token: &str, notice: Option<&str>) -> Page {
    let (zone, language) = (zone_of(app, details), language_of(details));
    let said = words::words(language);
    let mut body = Html::element("p", Html::text(&when(details.slot.start, zone, language)))
        + Html::trusted_static("<p>")
        + Html::text(&said.manage_status)
        + Html::trusted_static(" <strong>")
        + Html::text(said.status(details.status))
        + Html::trusted_static("</strong></p>");
    if let Some(notice) = notice {
        body += Html::trusted_static("<p role=\"status\">")
            + Html::text(notice)
            + Html::trusted_static("</p>");
    }
    match changeable(app, details) {
        Some(true) => {
            body += Html::trusted_static("<p><a href=\"")
                + Html::text(&app.address(&format!("/manage/{}/times", details.id)))
                + Html::trusted_static("?token=")
                + Html::text(token)
                + Html::trusted_static("\">")
                + Html::text(&said.manage_change)
                + Html::trusted_static("</a></p>");
        }
        Some(false) => body += contact_practice(app, said),
        None => {}
    }
    if details.status.holds_slot() {
        body += Html::trusted_static("<form method=\"post\" action=\"")
            + Html::text(&app.address(&format!("/manage/{}/cancel", details.id)))
            + Html::trusted_static("\"><input type=\"hidden\" name=\"token\" value=\"")
            + Html::text(token)
            + Html::trusted_static("\"><button type=\"submit\">")
            + Html::text(&said.manage_cancel)
            + Html::trusted_static("</button></form>");
    }
    // In a group practice, whom it is with.
    let with = match &details.clinician {
        Some(id) => format!(
            "{} ({})",
            clinician_ref(&app.settings.practice, id).name,
            app.settings.practice.name
        ),
        None => app.settings.practice.name.clone(),
    };
    Page::new(
        StatusCode::OK,
        Html::text(&fill(&said.manage_title, &with)),
        body,
    )
    .in_language(tag(language))
}

/// The open times of the booking's service for the next two weeks, to pick
/// one; or why there is nothing to pick.
async fn times_page(
    app: &Arc<AppState>,
    details: &BookingRecord,
    token: &str,
    notice: Option<&str>,
) -> Page {
    let (zone, language) = (zone_of(app, details), language_of(details));
    let said = words::words(language);
    let page = |body| {
        Page::new(StatusCode::OK, Html::text(&said.manage_times_title), body)
            .in_language(tag(language))
    };
    let back = Html::trusted_static("<p><a href=\"")
        + Html::text(&app.address(&format!("/manage/{}", details.id)))
        + Html::trusted_static("?token=")
        + Html::text(token)
        + Html::trusted_static("\">")
        + Html::text(&said.manage_back)
        + Html::trusted_static("</a></p>");
    let now_at = when(details.slot.start, zone, language);
    let mut body = Html::element("p", Html::text(&fill(&said.manage_now, &now_at)));
    if let Some(notice) = notice {
        body += Html::trusted_static("<p role=\"status\">")
            + Html::text(notice)
            + Html::trusted_static("</p>");
    }
    match changeable(app, details) {
        Some(true) => {}
        Some(false) => return page(body + contact_practice(app, said) + back),
        None => {
            let status = said.status(details.status);
            let closed = Html::element("p", Html::text(&fill(&said.manage_closed, status)));
            return page(body + closed + back);
        }
    }
    let Some(service) = service_of(&app.settings.practice, details).cloned() else {
        return page(body + contact_practice(app, said) + back);
    };
    let now = app.clock.now();
    let Some(window) = now
        .checked_add_signed(TIMES_SHOWN)
        .map(|end| Interval::new(now, end))
    else {
        return Page::store_busy();
    };
    // It stays with its clinician: only their times.
    let with: Vec<String> = details.clinician.iter().cloned().collect();
    let open = match offered(app, &service, window, now, Some(&details.id), &with).await {
        Ok(open) => open,
        Err(_) => return Page::store_busy(),
    };
    let open: Vec<DateTime<Utc>> = open
        .into_iter()
        .map(|slot| slot.start)
        .filter(|start| *start != details.slot.start)
        .collect();
    if open.is_empty() {
        body += Html::element("p", Html::text(&said.manage_no_times));
        return page(body + back);
    }
    let choices: Html = open
        .iter()
        .map(|start| {
            let value = start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            Html::trusted_static(
                "<li><label><input type=\"radio\" name=\"start\" required value=\"",
            ) + Html::text(&value)
                + Html::trusted_static("\"> ")
                + Html::text(&when(*start, zone, language))
                + Html::trusted_static("</label></li>")
        })
        .collect();
    body += Html::element("p", Html::text(&fill(&said.manage_times_in, zone.name())))
        + Html::trusted_static("<form method=\"post\" action=\"")
        + Html::text(&app.address(&format!("/manage/{}/times", details.id)))
        + Html::trusted_static("\"><input type=\"hidden\" name=\"token\" value=\"")
        + Html::text(token)
        + Html::trusted_static("\"><input type=\"hidden\" name=\"key\" value=\"")
        + Html::text(IdempotencyKey::generate().as_str())
        + Html::trusted_static("\"><ul>")
        + choices
        + Html::trusted_static("</ul><button type=\"submit\">")
        + Html::text(&said.manage_move)
        + Html::trusted_static("</button></form>");
    page(body + back)
}

/// No booking to show: in the browser's language, since none is known.
fn not_found(headers: &HeaderMap) -> Page {
    let language = words::language(headers);
    let said = words::words(language);
    Page::new(
        StatusCode::NOT_FOUND,
        Html::text(&said.manage_not_found_title),
        Html::element("p", Html::text(&said.manage_not_found)),
    )
    .in_language(tag(language))
}
