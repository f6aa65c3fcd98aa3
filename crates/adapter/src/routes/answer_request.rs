//! `/requests/{id}/{confirm|decline}?expires=…&sig=…`: the practice answers
//! a request from the links in its email. Opening the link only shows the
//! request and a button (mail clients' link scanners open links too); the
//! button's POST acts. Links are signed, expire, and work once. A request
//! that is no longer waiting (answered, cancelled, expired) says so at once,
//! with no button.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use firststep_protocol::BookingStatus;

use super::bookings::clinician_ref;
use super::html::Html;
use super::page::Page;
use super::AppState;
use crate::mail::compose::{when, Language};
use crate::mail::signed_link::{verify, LinkProblem};
use crate::store::{Answer, Answered, BookingRecord};

pub async fn show(
    state: State<Arc<AppState>>,
    path: Result<Path<(String, String)>, PathRejection>,
    query: Query<HashMap<String, String>>,
) -> Page {
    handle(state, path, query, false).await
}

pub async fn act(
    state: State<Arc<AppState>>,
    path: Result<Path<(String, String)>, PathRejection>,
    query: Query<HashMap<String, String>>,
) -> Page {
    handle(state, path, query, true).await
}

async fn handle(
    State(app): State<Arc<AppState>>,
    path: Result<Path<(String, String)>, PathRejection>,
    Query(params): Query<HashMap<String, String>>,
    acting: bool,
) -> Page {
    let Ok(Path((id, action))) = path else {
        return invalid();
    };
    let (Some(mail), Some(answer)) = (&app.settings.mail, parse_action(&action)) else {
        return invalid();
    };
    let expires = params.get("expires").and_then(|e| e.parse::<i64>().ok());
    let (Some(expires), Some(signature)) = (expires, params.get("sig")) else {
        return invalid();
    };
    // No `v`: a link of a booking never moved (or sent before moves existed).
    let Some(version) = params.get("v").map_or(Some(0), |v| v.parse::<u32>().ok()) else {
        return invalid();
    };
    let now = app.clock.now();
    match verify(
        mail.link_secret.expose(),
        &id,
        version,
        answer,
        expires,
        signature,
        now,
    ) {
        Err(LinkProblem::Forged) => return invalid(),
        Err(LinkProblem::Expired) => return Page::new(
            StatusCode::GONE,
            Html::text("This link has expired"),
            Html::trusted_static(
                "<p>Answer the request with <code>firststep-adapter requests</code> instead.</p>",
            ),
        ),
        Ok(()) => {}
    }
    let lookup = id.clone();
    let details = match app.store.call(move |s| s.booking(&lookup, now)).await {
        Ok(Some(details)) => details,
        Ok(None) => return invalid(),
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "reading a request");
            return Page::store_busy();
        }
    };
    let summary = summary(&app, &details);
    if let Some(closed) = closed(&summary, details.status) {
        return closed;
    }
    if version != details.version {
        return replaced(summary);
    }
    let (verb, done, next) = match answer {
        Answer::Confirm => (
            "Confirm",
            "Confirmed",
            "The visitor gets an email with the time and a calendar file.",
        ),
        Answer::Decline => (
            "Decline",
            "Declined",
            "The visitor gets a kind email, and the time is offered again.",
        ),
    };
    if !acting {
        let button = Html::trusted_static("<form method=\"post\"><button type=\"submit\">")
            + Html::text(verb)
            + Html::trusted_static(" this request</button></form>");
        return Page::new(
            StatusCode::OK,
            Html::text(&format!("{verb} this request?")),
            summary + button,
        );
    }
    match app
        .store
        .call(move |s| s.answer_as_of(&id, Some(version), answer, now))
        .await
    {
        Ok(Answered::Done(status)) => {
            app.outbox.wake();
            tracing::info!(status = status.as_str(), "request answered by the practice");
            Page::new(
                StatusCode::OK,
                Html::text(done),
                summary + Html::element("p", Html::text(next)),
            )
        }
        // Answered, cancelled or expired between the page and the button.
        Ok(Answered::AlreadyClosed(status)) => closed(&summary, status).unwrap_or_else(invalid),
        // Moved between the page and the button.
        Ok(Answered::Moved) => replaced(summary),
        Ok(Answered::NotFound) => invalid(),
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "answering a request");
            Page::store_busy()
        }
    }
}

/// The page for a request that is no longer waiting for an answer; `None`
/// while it is.
fn closed(summary: &Html, status: BookingStatus) -> Option<Page> {
    let (title, next) = match status {
        BookingStatus::Pending => return None,
        BookingStatus::Confirmed => (
            "This request was already confirmed",
            "Nothing was changed: the visitor has their confirmation.",
        ),
        BookingStatus::Declined => (
            "This request was already declined",
            "Nothing was changed: the visitor was told, and the time is offered again.",
        ),
        BookingStatus::Cancelled => (
            "The visitor cancelled this request",
            "Nothing to answer: the time is offered again.",
        ),
        BookingStatus::Expired => (
            "This request expired unanswered",
            "It was not answered in time: the visitor was told, and the time is offered again.",
        ),
    };
    Some(Page::new(
        StatusCode::GONE,
        Html::text(title),
        summary.clone() + Html::element("p", Html::text(next)),
    ))
}

/// Who asked, for what and when, and their note quoted as theirs.
fn summary(app: &AppState, details: &BookingRecord) -> Html {
    let service = app
        .settings
        .service(Some(&details.service))
        .map_or(details.service.as_str(), |s| s.title.as_str());
    let time = when(
        details.slot.start,
        app.settings.practice.zone,
        Language::English,
    );
    let mut summary = Html::element(
        "p",
        Html::text(&details.visitor.name) + Html::trusted_static(" — ") + Html::text(&time),
    ) + Html::element("p", Html::text(service))
        + details
            .clinician
            .as_deref()
            .map(|id| {
                let name = clinician_ref(&app.settings.practice, id).name;
                Html::element("p", Html::text(&format!("With {name}")))
            })
            .unwrap_or_default();
    if let Some(note) = details.visitor.note.as_deref() {
        let lines: Html = note
            .lines()
            .enumerate()
            .map(|(i, line)| match i {
                0 => Html::text(line),
                _ => Html::trusted_static("<br>") + Html::text(line),
            })
            .collect();
        summary +=
            Html::element("p", Html::text("Their note:")) + Html::element("blockquote", lines);
    }
    summary
}

/// A link about a time the visitor has since moved away from.
fn replaced(summary: Html) -> Page {
    Page::new(
        StatusCode::GONE,
        Html::text("The visitor moved this request"),
        summary
            + Html::trusted_static(
                "<p>This link was for the earlier time; nothing was changed. \
                 Please use the links in the newest email about this booking.</p>",
            ),
    )
}

fn invalid() -> Page {
    Page::new(
        StatusCode::FORBIDDEN,
        Html::text("This link is not valid"),
        Html::trusted_static("<p>Please use the link exactly as it came in the email.</p>"),
    )
}

fn parse_action(action: &str) -> Option<Answer> {
    match action {
        "confirm" => Some(Answer::Confirm),
        "decline" => Some(Answer::Decline),
        _ => None,
    }
}
