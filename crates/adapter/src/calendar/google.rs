//! Google Calendar (API v3), with the practice's own account (a refresh
//! token from `firststep-adapter connect google`) or a service account the
//! calendar is shared with; tokens come from [`super::oauth`].
//!
//! Busy time is read with `events.list?singleEvents=true`, not `freeBusy`:
//! `freeBusy` answers only busy blocks, so it cannot leave out events the
//! practice declined, and it says nothing about which block is our own
//! hold; the event list gives each event's status, transparency, the
//! practice's answer and our private mark, with recurrences expanded.
//!
//! Each booking is one event whose id is derived from the booking id
//! (base32hex), so a retried insert that answers 409 finds the event an
//! earlier attempt made; changes carry `If-Match` with the stored etag.
//! 429, 403 `rateLimitExceeded`/`userRateLimitExceeded` and 5xx are
//! "unreachable" (the outbox retries with backoff); a `Retry-After` is
//! honoured by [`super::authorized`]: no request leaves before that time.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use firststep_availability::Interval;
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};

use super::authorized::{rfc3339, Advice, AuthorizedClient, Reply};
use super::oauth::{printable, Grant, TokenSource};
use super::{Calendar, CalendarEntry, CalendarError, CalendarFuture, Placement};

/// The permission asked for: events of calendars the account can see.
pub const SCOPE: &str = "https://www.googleapis.com/auth/calendar.events";
/// The private extended property that marks our own events, holding the booking id.
const MARK: &str = "firststepBooking";
/// Events asked for per page (Google's default; it allows up to 2500).
const PAGE_SIZE: u32 = 250;
/// Pages read per listing at most: past that the answer is refused, not cut.
const MAX_PAGES: usize = 40;

/// Where and how to reach the calendar.
pub struct GoogleOptions<'a> {
    pub api_base: &'a str,
    pub token_url: &'a str,
    pub calendar_id: &'a str,
    pub grant: Grant,
}

pub struct GoogleCalendar {
    /// `…/calendars/{calendar_id}/events`, the id escaped.
    events_url: String,
    /// The calendar's id: when it is an address, the attendee with it is the practice.
    calendar_id: String,
    api: AuthorizedClient,
    /// The practice's zone, for all-day events.
    zone: Tz,
}

/// An event as the API describes it; every field optional, so an odd one
/// is skipped rather than failing the page.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Event {
    id: String,
    etag: String,
    status: String,
    transparency: String,
    start: EventTime,
    end: EventTime,
    attendees: Vec<Attendee>,
    extended_properties: ExtendedProperties,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct EventTime {
    date_time: Option<String>,
    date: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Attendee {
    email: String,
    #[serde(rename = "self")]
    is_self: bool,
    response_status: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ExtendedProperties {
    private: HashMap<String, Value>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct EventPage {
    items: Vec<Value>,
    next_page_token: Option<String>,
}

impl GoogleCalendar {
    pub fn new(options: GoogleOptions<'_>, zone: Tz) -> Self {
        let client = super::authorized::http_client();
        let mut events_url = url::Url::parse(options.api_base)
            .expect("api_base was checked as a URL in the configuration");
        if let Ok(mut path) = events_url.path_segments_mut() {
            path.pop_if_empty()
                .extend(["calendars", options.calendar_id, "events"]);
        }
        let tokens = TokenSource::new(
            client.clone(),
            options.token_url,
            options.grant,
            SCOPE,
            "connect google",
        );
        Self {
            api: AuthorizedClient::new(client, tokens, "Google Calendar", &[]),
            events_url: events_url.into(),
            calendar_id: options.calendar_id.to_owned(),
            zone,
        }
    }

    fn event_url(&self, booking_id: &str) -> String {
        format!("{}/{}", self.events_url, event_id(booking_id))
    }

    /// Sends with a token (see [`AuthorizedClient::send`]); sorts failures
    /// into the three kinds and gives the rest back.
    async fn call(
        &self,
        what: &str,
        method: Method,
        url: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        if_match: Option<&str>,
    ) -> Result<Reply, CalendarError> {
        let reply = self
            .api
            .send(what, &method, url, query, body, if_match)
            .await?;
        let (reason, message) = error_reason(&reply.body);
        let rate_limited = reply.status == StatusCode::TOO_MANY_REQUESTS
            || (reply.status == StatusCode::FORBIDDEN
                && matches!(
                    reason.as_str(),
                    "rateLimitExceeded" | "userRateLimitExceeded"
                ));
        let calendar = format!("calendar \"{}\"", self.calendar_id);
        let advice = Advice {
            calendar: &calendar,
            unauthorized: "run firststep-adapter connect google again",
            forbidden: "is it shared with the account, allowed to make changes?",
        };
        self.api
            .sort(what, reply, rate_limited, (&reason, &message), advice)
    }

    /// Every event overlapping `range`, recurrences expanded, all pages.
    async fn events(&self, range: Interval) -> Result<Vec<Event>, CalendarError> {
        let mut events = Vec::new();
        let mut page_token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut query = vec![
                ("timeMin", rfc3339(range.start)),
                ("timeMax", rfc3339(range.end)),
                ("singleEvents", "true".to_owned()),
                ("maxResults", PAGE_SIZE.to_string()),
            ];
            if let Some(token) = page_token.take() {
                query.push(("pageToken", token));
            }
            let answer = self
                .call(
                    "reading busy time",
                    Method::GET,
                    &self.events_url,
                    &query,
                    None,
                    None,
                )
                .await?;
            if answer.status != StatusCode::OK {
                return Err(self.unexpected("reading busy time", &answer));
            }
            let page: EventPage = serde_json::from_slice(&answer.body).map_err(|_| {
                CalendarError::Unreachable(
                    "reading busy time: Google's answer is not an event list".into(),
                )
            })?;
            let mut skipped = 0usize;
            for item in page.items {
                match serde_json::from_value::<Event>(item) {
                    Ok(event) => events.push(event),
                    Err(_) => skipped = skipped.saturating_add(1),
                }
            }
            if skipped > 0 {
                tracing::warn!(
                    skipped,
                    "Google Calendar listed events of an unknown shape; they were left out"
                );
            }
            match page.next_page_token.filter(|t| !t.is_empty()) {
                Some(token) => page_token = Some(token),
                None => return Ok(events),
            }
        }
        Err(CalendarError::Unreachable(format!(
            "reading busy time: more than {MAX_PAGES} pages of events; not read"
        )))
    }

    /// When `event` makes the practice busy: not cancelled, not free
    /// (transparent), not declined by the practice; an all-day event from
    /// midnight to midnight in the practice's zone.
    fn busy_interval(&self, event: &Event) -> Option<Interval> {
        if event.status == "cancelled" || event.transparency == "transparent" {
            return None;
        }
        let declined = event.attendees.iter().any(|a| {
            (a.is_self || a.email.eq_ignore_ascii_case(&self.calendar_id))
                && a.response_status == "declined"
        });
        if declined {
            return None;
        }
        let start = self.instant(&event.start)?;
        let end = self.instant(&event.end)?;
        (end > start).then(|| Interval::new(start, end))
    }

    fn instant(&self, time: &EventTime) -> Option<DateTime<Utc>> {
        if let Some(text) = &time.date_time {
            return DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|t| t.with_timezone(&Utc));
        }
        let day = NaiveDate::parse_from_str(time.date.as_deref()?, "%Y-%m-%d").ok()?;
        super::ical_read::local(self.zone, day.and_hms_opt(0, 0, 0)?).ok()
    }

    fn unexpected(&self, what: &str, answer: &Reply) -> CalendarError {
        let (reason, message) = error_reason(&answer.body);
        CalendarError::Misconfigured(format!(
            "{what}: Google Calendar answered {} {reason}: {message} (is calendar_id \"{}\" right?)",
            answer.status, self.calendar_id
        ))
    }

    fn body(&self, entry: &CalendarEntry) -> Value {
        json!({
            "id": event_id(&entry.booking_id),
            "summary": entry.title,
            "description": entry.description,
            "start": {"dateTime": rfc3339(entry.slot.start)},
            "end": {"dateTime": rfc3339(entry.slot.end)},
            "status": if entry.confirmed { "confirmed" } else { "tentative" },
            "transparency": "opaque",
            "visibility": "private",
            "extendedProperties": {"private": {MARK: entry.booking_id}},
        })
    }

    /// The event's fields to change it to `entry` (its id is not one).
    fn changes(&self, entry: &CalendarEntry) -> Value {
        let mut body = self.body(entry);
        if let Some(fields) = body.as_object_mut() {
            fields.remove("id");
        }
        body
    }

    async fn patch(
        &self,
        booking_id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> Result<Reply, CalendarError> {
        self.call(
            "changing a booking's event",
            Method::PATCH,
            &self.event_url(booking_id),
            &[],
            Some(body),
            if_match,
        )
        .await
    }
}

impl Calendar for GoogleCalendar {
    fn check(&self) -> CalendarFuture<'_, ()> {
        Box::pin(async move {
            // Google's present, not the adapter's Clock: this only keeps
            // the answer to one event.
            let query = [
                ("maxResults", "1".to_owned()),
                ("timeMin", rfc3339(Utc::now())),
            ];
            let answer = self
                .call(
                    "checking the calendar",
                    Method::GET,
                    &self.events_url,
                    &query,
                    None,
                    None,
                )
                .await?;
            match answer.status {
                StatusCode::OK => Ok(()),
                _ => Err(self.unexpected("checking the calendar", &answer)),
            }
        })
    }

    fn busy(&self, range: Interval) -> CalendarFuture<'_, Vec<Interval>> {
        Box::pin(async move {
            let events = self.events(range).await?;
            Ok(events
                .iter()
                .filter(|e| !is_ours(e))
                .filter_map(|e| self.busy_interval(e))
                .collect())
        })
    }

    fn place<'a>(&'a self, entry: &'a CalendarEntry) -> CalendarFuture<'a, Placement> {
        Box::pin(async move {
            let body = self.body(entry);
            let answer = self
                .call(
                    "writing a booking",
                    Method::POST,
                    &self.events_url,
                    &[],
                    Some(&body),
                    None,
                )
                .await?;
            let answer = match answer.status {
                // Already there: an earlier attempt landed before its answer
                // was lost (or the event was deleted since): make it ours again.
                StatusCode::CONFLICT => self.patch(&entry.booking_id, &body, None).await?,
                _ => answer,
            };
            match answer.status {
                StatusCode::OK => Ok(Placement {
                    etag: etag_of(&answer.body),
                }),
                _ => Err(self.unexpected("writing a booking", &answer)),
            }
        })
    }

    fn confirm<'a>(
        &'a self,
        entry: &'a CalendarEntry,
        placed: &'a Placement,
    ) -> CalendarFuture<'a, Placement> {
        Box::pin(async move {
            let body = self.changes(entry);
            let mut answer = self
                .patch(&entry.booking_id, &body, placed.etag.as_deref())
                .await?;
            if answer.status == StatusCode::PRECONDITION_FAILED {
                // The practice changed the hold (moved it, added a note):
                // keep their change and set only the status, on the new etag.
                let current = self
                    .call(
                        "reading a booking's event",
                        Method::GET,
                        &self.event_url(&entry.booking_id),
                        &[],
                        None,
                        None,
                    )
                    .await?;
                let etag = etag_of(&current.body);
                answer = self
                    .patch(
                        &entry.booking_id,
                        &json!({"status": "confirmed"}),
                        etag.as_deref(),
                    )
                    .await?;
            }
            match answer.status {
                StatusCode::OK => Ok(Placement {
                    etag: etag_of(&answer.body),
                }),
                StatusCode::PRECONDITION_FAILED | StatusCode::NOT_FOUND | StatusCode::GONE => {
                    Err(CalendarError::Conflict(format!(
                        "the event of {} changed or was removed in the calendar",
                        entry.booking_id
                    )))
                }
                _ => Err(self.unexpected("confirming a booking", &answer)),
            }
        })
    }

    fn move_entry<'a>(
        &'a self,
        entry: &'a CalendarEntry,
        _placed: &'a Placement,
    ) -> CalendarFuture<'a, Placement> {
        Box::pin(async move {
            let body = self.changes(entry);
            // No If-Match: the visitor's new time wins over a change made
            // meanwhile; the status in the body brings back a deleted event.
            let answer = self.patch(&entry.booking_id, &body, None).await?;
            match answer.status {
                StatusCode::OK => Ok(Placement {
                    etag: etag_of(&answer.body),
                }),
                StatusCode::NOT_FOUND | StatusCode::GONE => self.place(entry).await,
                _ => Err(self.unexpected("moving a booking", &answer)),
            }
        })
    }

    fn release<'a>(
        &'a self,
        booking_id: &'a str,
        _placed: &'a Placement,
    ) -> CalendarFuture<'a, ()> {
        Box::pin(async move {
            let answer = self
                .call(
                    "removing a booking",
                    Method::DELETE,
                    &self.event_url(booking_id),
                    &[],
                    None,
                    None,
                )
                .await?;
            match answer.status {
                status if status.is_success() => Ok(()),
                // Gone already (deleted by the practice, or by an earlier attempt).
                StatusCode::NOT_FOUND | StatusCode::GONE => Ok(()),
                _ => Err(self.unexpected("removing a booking", &answer)),
            }
        })
    }

    fn foreign_overlap<'a>(
        &'a self,
        _booking_id: &'a str,
        slot: Interval,
    ) -> CalendarFuture<'a, bool> {
        Box::pin(async move {
            let events = self.events(slot).await?;
            Ok(events
                .iter()
                .filter(|e| !is_ours(e))
                .filter_map(|e| self.busy_interval(e))
                .any(|busy| busy.start < slot.end && slot.start < busy.end))
        })
    }
}

/// Whether `event` is one of our bookings (the store counts those already).
fn is_ours(event: &Event) -> bool {
    event.extended_properties.private.contains_key(MARK)
}

/// The event id of a booking: its id's bytes in base32hex (RFC 4648 §7),
/// lowercase without padding — the alphabet Google allows in client-chosen ids.
pub fn event_id(booking_id: &str) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789abcdefghijklmnopqrstuv";
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for byte in booking_id.bytes() {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

fn etag_of(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<Value>(body)
        .ok()?
        .get("etag")?
        .as_str()
        .map(str::to_owned)
}

/// The first reason and the message of Google's error body
/// (`{"error":{"code":…,"message":…,"errors":[{"reason":…}]}}`), printable.
fn error_reason(body: &[u8]) -> (String, String) {
    let error = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("error").cloned())
        .unwrap_or(Value::Null);
    let reason = error
        .get("errors")
        .and_then(|e| e.get(0))
        .and_then(|e| e.get("reason"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let message = error.get("message").and_then(Value::as_str).unwrap_or("");
    (printable(reason, 60), printable(message, 200))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_are_base32hex_of_the_booking_id() {
        // RFC 4648 §10's test vectors, lowercase and unpadded.
        assert_eq!(event_id("f"), "co");
        assert_eq!(event_id("foobar"), "cpnmuoj1e8");
        let id = event_id("bk_01JD4Z7Q0R9");
        assert!(id.len() >= 5 && id.len() <= 1024);
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'v').contains(&b)),
            "{id}"
        );
    }

    fn calendar() -> GoogleCalendar {
        GoogleCalendar::new(
            GoogleOptions {
                api_base: "http://127.0.0.1:9/calendar/v3",
                token_url: "http://127.0.0.1:9/token",
                calendar_id: "therapist@practice.example",
                grant: Grant::RefreshToken {
                    client_id: "c".into(),
                    client_secret: Some(crate::config::Secret::new("s")),
                    token_file: "/nonexistent".into(),
                },
            },
            "America/New_York".parse().unwrap(),
        )
    }

    fn event(value: Value) -> Event {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn declined_transparent_cancelled_and_malformed_events_are_not_busy() {
        let google = calendar();
        let timed = |extra: Value| {
            let mut base = json!({"start": {"dateTime": "2026-12-01T10:00:00-05:00"}, "end": {"dateTime": "2026-12-01T11:00:00-05:00"}});
            base.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            event(base)
        };
        assert!(google.busy_interval(&timed(json!({}))).is_some());
        assert!(google
            .busy_interval(&timed(json!({"status": "tentative"})))
            .is_some());
        assert!(google
            .busy_interval(&timed(json!({"status": "cancelled"})))
            .is_none());
        assert!(google
            .busy_interval(&timed(json!({"transparency": "transparent"})))
            .is_none());
        assert!(google
            .busy_interval(&timed(
                json!({"attendees": [{"self": true, "responseStatus": "declined"}]})
            ))
            .is_none());
        // Read by a service account, the practice is the attendee with the calendar's address.
        assert!(google
            .busy_interval(&timed(json!({"attendees": [{"email": "Therapist@practice.example", "responseStatus": "declined"}]})))
            .is_none());
        assert!(google
            .busy_interval(&timed(json!({"attendees": [{"email": "someone@else.example", "responseStatus": "declined"}]})))
            .is_some());
        let backwards = event(
            json!({"start": {"dateTime": "2026-12-01T11:00:00Z"}, "end": {"dateTime": "2026-12-01T10:00:00Z"}}),
        );
        assert!(google.busy_interval(&backwards).is_none());
        let nonsense = event(json!({"start": {"date": "2026-13-45"}, "end": {"dateTime": "x"}}));
        assert!(google.busy_interval(&nonsense).is_none());
    }

    #[test]
    fn an_all_day_event_blocks_its_day_in_the_practices_zone() {
        let busy = calendar()
            .busy_interval(&event(
                json!({"start": {"date": "2026-12-01"}, "end": {"date": "2026-12-02"}}),
            ))
            .unwrap();
        assert_eq!(rfc3339(busy.start), "2026-12-01T05:00:00Z");
        assert_eq!(rfc3339(busy.end), "2026-12-02T05:00:00Z");
    }

    #[test]
    fn googles_error_body_gives_its_reason() {
        let body = br#"{"error":{"errors":[{"domain":"usageLimits","reason":"rateLimitExceeded","message":"Rate Limit Exceeded"}],"code":403,"message":"Rate Limit Exceeded"}}"#;
        assert_eq!(
            error_reason(body),
            ("rateLimitExceeded".into(), "Rate Limit Exceeded".into())
        );
        assert_eq!(error_reason(b"<html>"), (String::new(), String::new()));
    }
}
