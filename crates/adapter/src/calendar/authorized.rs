//! Requests to a calendar service's REST API (Google Calendar, Microsoft
//! Graph) that carry an OAuth access token: after a 401 once more with a
//! fresh token; a `Retry-After` the service gave is honoured here — no
//! request leaves before that time — and answers are read under a cap. What
//! a status means is left to each backend.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::capped_body::{body_text, MAX_BODY_BYTES};
use super::oauth::TokenSource;
use super::CalendarError;

/// Longest `Retry-After` believed.
const MAX_RETRY_AFTER: u64 = 3600;

/// A service's API, reached with tokens from one [`TokenSource`].
pub struct AuthorizedClient {
    pub http: reqwest::Client,
    pub tokens: TokenSource,
    /// The service's name, for messages ("Google Calendar").
    service: &'static str,
    /// Headers every request carries (Graph: the zone of times in answers).
    headers: &'static [(&'static str, &'static str)],
    /// The service asked (`Retry-After`) for no requests before this.
    quiet_until: Mutex<Option<Instant>>,
}

/// An answer for the backend to interpret (2xx and the statuses that mean
/// something for the call, such as 404, 409, 412).
pub struct Reply {
    pub status: StatusCode,
    /// `Retry-After` in seconds, when given as a number.
    pub retry_after: Option<u64>,
    pub body: Vec<u8>,
}

impl AuthorizedClient {
    pub fn new(
        http: reqwest::Client,
        tokens: TokenSource,
        service: &'static str,
        headers: &'static [(&'static str, &'static str)],
    ) -> Self {
        Self {
            http,
            tokens,
            service,
            headers,
            quiet_until: Mutex::new(None),
        }
    }

    /// Sends a request (a JSON `body`, conditional on `if_match`) with a
    /// bearer token; after a 401 once more with a fresh one. Refused without
    /// sending while the service's `Retry-After` runs.
    pub async fn send(
        &self,
        what: &str,
        method: &Method,
        url: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        if_match: Option<&str>,
    ) -> Result<Reply, CalendarError> {
        if let Some(until) = *self.quiet_until.lock().unwrap_or_else(|p| p.into_inner()) {
            if Instant::now() < until {
                return Err(CalendarError::Unreachable(format!(
                    "{what}: {} asked to wait {} s more (Retry-After)",
                    self.service,
                    until.saturating_duration_since(Instant::now()).as_secs()
                )));
            }
        }
        let mut retried = false;
        loop {
            let token = self.tokens.access_token().await?;
            let mut request = self
                .http
                .request(method.clone(), url)
                .query(query)
                .bearer_auth(token.expose());
            for (name, value) in self.headers {
                request = request.header(*name, *value);
            }
            if let Some(body) = body {
                request = request
                    .header("Content-Type", "application/json")
                    .body(body.to_string());
            }
            if let Some(etag) = if_match {
                request = request.header("If-Match", etag);
            }
            let response = request.send().await.map_err(|error| {
                CalendarError::Unreachable(format!(
                    "{what}: {}: {}",
                    self.service,
                    error.without_url()
                ))
            })?;
            let status = response.status();
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(|s| s.min(MAX_RETRY_AFTER));
            let body = body_text(response, MAX_BODY_BYTES)
                .await
                .map_err(|error| {
                    CalendarError::Unreachable(format!(
                        "{what}: reading {}'s answer: {error}",
                        self.service
                    ))
                })?
                .into_bytes();
            if status == StatusCode::UNAUTHORIZED && !retried {
                // The token lapsed or was revoked: fetch another and try once more.
                self.tokens.forget(&token).await;
                retried = true;
                continue;
            }
            return Ok(Reply {
                status,
                retry_after,
                body,
            });
        }
    }

    /// Sorts a reply into the three kinds of failure, or gives it back:
    /// overloaded (`busy`, the service's own sign) or down (5xx) is
    /// unreachable; a 401 after a fresh token, a 403 or a 400 is the
    /// operator's to fix, with the service's `advice`. `error` is the
    /// service's own (code, message) from the body.
    pub fn sort(
        &self,
        what: &str,
        reply: Reply,
        busy: bool,
        (code, message): (&str, &str),
        advice: Advice<'_>,
    ) -> Result<Reply, CalendarError> {
        if busy || reply.status.is_server_error() {
            return Err(self.unavailable(what, &reply, code));
        }
        let service = self.service;
        let refused = |why: String| {
            Err(CalendarError::Misconfigured(format!(
                "{what}: {service} refused {why}"
            )))
        };
        match reply.status {
            StatusCode::UNAUTHORIZED => refused(format!(
                "a fresh access token (401 {code}: {message}); {}",
                advice.unauthorized
            )),
            StatusCode::FORBIDDEN => refused(format!(
                "access to {} (403 {code}: {message}); {}",
                advice.calendar, advice.forbidden
            )),
            StatusCode::BAD_REQUEST => refused(format!("the request (400 {code}: {message})")),
            _ => Ok(reply),
        }
    }

    /// The service is overloaded or down: unreachable, and when it said how
    /// long to wait, nothing is sent before then.
    pub fn unavailable(&self, what: &str, reply: &Reply, code: &str) -> CalendarError {
        if let Some(seconds) = reply.retry_after {
            *self.quiet_until.lock().unwrap_or_else(|p| p.into_inner()) =
                Some(Instant::now() + Duration::from_secs(seconds));
        }
        CalendarError::Unreachable(format!(
            "{what}: {} answered {} {code}",
            self.service, reply.status
        ))
    }
}

/// What a service tells the operator when it refuses the adapter.
pub struct Advice<'a> {
    /// The calendar, as the operator configured it.
    pub calendar: &'a str,
    /// After a 401 that a fresh token did not cure.
    pub unauthorized: &'a str,
    /// After a 403: what the account needs.
    pub forbidden: &'a str,
}

/// The HTTP client of a calendar API: every request bounded in time.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("an HTTP client")
}

/// An instant as the calendar APIs take it in queries (RFC 3339, UTC, seconds).
pub fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
