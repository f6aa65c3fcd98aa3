//! `/requests/{id}/{confirm|decline}?expires=…&sig=…`: the practice answers
//! a request from the links in its email. Opening the link only shows the
//! request and a button (mail clients' link scanners open links too); the
//! button's POST acts. Links are signed, expire, and work once.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;

use super::page::{escape, page};
use super::AppState;
use crate::mail::compose::{when, Language};
use crate::mail::signed_link::{verify, LinkProblem};
use crate::store::{Answer, Answered};

pub async fn show(
    state: State<Arc<AppState>>,
    path: Path<(String, String)>,
    query: Query<HashMap<String, String>>,
) -> Response {
    handle(state, path, query, false).await
}

pub async fn act(
    state: State<Arc<AppState>>,
    path: Path<(String, String)>,
    query: Query<HashMap<String, String>>,
) -> Response {
    handle(state, path, query, true).await
}

async fn handle(
    State(app): State<Arc<AppState>>,
    Path((id, action)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
    acting: bool,
) -> Response {
    let invalid = || {
        page(
            StatusCode::FORBIDDEN,
            "This link is not valid",
            "<p>Please use the link exactly as it came in the email.</p>",
        )
    };
    let (Some(mail), Some(answer)) = (&app.settings.mail, parse_action(&action)) else {
        return invalid();
    };
    let expires = params.get("expires").and_then(|e| e.parse::<i64>().ok());
    let (Some(expires), Some(signature)) = (expires, params.get("sig")) else {
        return invalid();
    };
    let now = Utc::now();
    match verify(
        mail.link_secret.expose(),
        &id,
        answer,
        expires,
        signature,
        now,
    ) {
        Err(LinkProblem::Forged) => return invalid(),
        Err(LinkProblem::Expired) => {
            return page(
                StatusCode::GONE,
                "This link has expired",
                "<p>Answer the request with <code>firststep-adapter requests</code> instead.</p>",
            )
        }
        Ok(()) => {}
    }
    let lookup = id.clone();
    let details = match app.store.call(move |s| s.booking(&lookup, now)).await {
        Ok(Some(details)) => details,
        Ok(None) => return invalid(),
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "reading a request");
            return page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Please try again",
                "<p>The booking store is busy.</p>",
            );
        }
    };
    let summary = format!(
        "<p>{} — {}</p>",
        escape(&details.visitor.name),
        escape(&when(
            details.slot.start,
            app.settings.practice.zone,
            Language::English
        ))
    );
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
        let body = format!(
            "{summary}<form method=\"post\"><button type=\"submit\">{verb} this request</button></form>"
        );
        return page(StatusCode::OK, &format!("{verb} this request?"), &body);
    }
    match app.store.call(move |s| s.answer(&id, answer, now)).await {
        Ok(Answered::Done(status)) => {
            app.outbox.wake();
            tracing::info!(status = status.as_str(), "request answered by the practice");
            page(StatusCode::OK, done, &format!("{summary}<p>{next}</p>"))
        }
        Ok(Answered::AlreadyClosed(status)) => page(
            StatusCode::GONE,
            "This request was already closed",
            &format!(
                "{summary}<p>It is {}; nothing was changed.</p>",
                status.as_str()
            ),
        ),
        Ok(Answered::NotFound) => invalid(),
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "answering a request");
            page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Please try again",
                "<p>The booking store is busy.</p>",
            )
        }
    }
}

fn parse_action(action: &str) -> Option<Answer> {
    match action {
        "confirm" => Some(Answer::Confirm),
        "decline" => Some(Answer::Decline),
        _ => None,
    }
}
