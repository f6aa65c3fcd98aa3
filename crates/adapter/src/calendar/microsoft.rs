//! Microsoft 365 / Outlook calendars through Microsoft Graph v1.0, with the
//! practice's own account (a refresh token from `firststep-adapter connect
//! microsoft`, the device-code flow) or an app registration of the
//! practice's tenant (client credentials, the mailbox named by `user`);
//! tokens come from [`super::oauth`], requests go through
//! [`super::authorized`] (a 401 renews the token once; `Retry-After` holds
//! further requests back).
//!
//! Busy time is read from `calendarView` over the range, which expands
//! recurring events into their occurrences, in UTC (`Prefer:
//! outlook.timezone="UTC"`), page by page along `@odata.nextLink`. An event
//! counts unless it is cancelled or shown as `free` (`busy`, `tentative`,
//! `oof`, `workingElsewhere` count, and so does `unknown`: better a hidden
//! slot than a double booking). An all-day event blocks its dates from
//! midnight to midnight in the practice's zone: Graph gives it as midnight
//! in the zone asked for, so only its dates are read.
//!
//! Each booking is one event created with `transactionId` = the booking id,
//! so Graph itself drops a retried create whose first answer was lost. Our
//! events are told apart in listings by that `transactionId` (shaped like a
//! booking id). Graph chooses the event's id, and the store keeps only the
//! etag; confirm and release find the event again by a single-value
//! extended property holding the booking id, which — unlike
//! `transactionId` — Graph documents as filterable. So an event is found
//! also when the answer that named it was lost, and after a restart.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;
use firststep_availability::Interval;
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};

use super::authorized::{rfc3339, Advice, AuthorizedClient, Reply};
use super::oauth::{printable, Grant, TokenSource};
use super::{Calendar, CalendarEntry, CalendarError, CalendarFuture, Placement};
use crate::domain::BookingId;

/// Delegated permissions asked for by `connect microsoft`: the account's
/// calendars, and a refresh token.
pub const DELEGATED_SCOPE: &str = "Calendars.ReadWrite offline_access";
/// With client credentials: the application permissions an admin granted.
pub const APP_SCOPE: &str = "https://graph.microsoft.com/.default";
/// The extended property that holds the booking id of our events (a named
/// string property in our own property set).
pub const MARK: &str = "String {2f7c8a61-5e0b-4d39-9a4e-1b6f3c2d8e57} Name firststepBooking";
/// Times in answers in UTC (https://learn.microsoft.com/en-us/graph/api/user-list-calendarview).
const PREFER_UTC: &[(&str, &str)] = &[("Prefer", "outlook.timezone=\"UTC\"")];
/// Events asked for per page.
const PAGE_SIZE: u32 = 100;
/// Pages read per listing at most: past that the answer is refused, not cut.
const MAX_PAGES: usize = 40;

/// The token endpoint of a tenant (`common`, `organizations` or its id).
pub fn token_url(authority: &str, tenant: &str) -> String {
    format!(
        "{}/{tenant}/oauth2/v2.0/token",
        authority.trim_end_matches('/')
    )
}

/// The device-authorization endpoint of a tenant.
pub fn device_url(authority: &str, tenant: &str) -> String {
    format!(
        "{}/{tenant}/oauth2/v2.0/devicecode",
        authority.trim_end_matches('/')
    )
}

/// Where and how to reach the calendar.
pub struct MicrosoftOptions<'a> {
    pub graph_base: &'a str,
    pub token_url: &'a str,
    /// `None`: the mailbox's default calendar.
    pub calendar_id: Option<&'a str>,
    /// The mailbox, with client credentials; `None`: the signed-in account (`/me`).
    pub user: Option<&'a str>,
    pub grant: Grant,
}

pub struct MicrosoftCalendar {
    /// `…/me/calendar`, `…/users/{user}/calendar` or `…/calendars/{id}`.
    calendar_url: String,
    /// The origin of `graph_base`: a next page elsewhere is not followed
    /// (the token would go with it).
    origin: String,
    /// For messages: which calendar of which mailbox.
    described: String,
    /// What to do after a 401 with a fresh token.
    on_refusal: &'static str,
    api: AuthorizedClient,
    /// The practice's zone, for all-day events.
    zone: Tz,
}

/// An event as `calendarView` gives it; every field optional, so an odd
/// one is skipped rather than failing the page.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Event {
    show_as: String,
    is_cancelled: bool,
    is_all_day: bool,
    start: GraphTime,
    end: GraphTime,
    transaction_id: Option<String>,
}

/// Graph's `dateTimeTimeZone`: a local time without offset, and its zone.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct GraphTime {
    date_time: String,
    time_zone: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct EventPage {
    value: Vec<Value>,
    #[serde(rename = "@odata.nextLink")]
    next_link: Option<String>,
}

/// Our event, as found by its mark.
struct Found {
    id: String,
    etag: Option<String>,
}

impl MicrosoftCalendar {
    pub fn new(options: MicrosoftOptions<'_>, zone: Tz) -> Self {
        let client = super::authorized::http_client();
        let mut calendar_url = url::Url::parse(options.graph_base)
            .expect("graph_base was checked as a URL in the configuration");
        let origin = calendar_url.origin().ascii_serialization();
        if let Ok(mut path) = calendar_url.path_segments_mut() {
            path.pop_if_empty();
            match options.user {
                Some(user) => path.extend(["users", user]),
                None => path.push("me"),
            };
            match options.calendar_id {
                Some(id) => path.extend(["calendars", id]),
                None => path.push("calendar"),
            };
        }
        let mailbox = options.user.unwrap_or("the signed-in account");
        let described = match options.calendar_id {
            Some(id) => format!("calendar \"{id}\" of {mailbox}"),
            None => format!("the default calendar of {mailbox}"),
        };
        let (scope, on_refusal) = match options.grant {
            Grant::ClientCredentials { .. } => (
                APP_SCOPE,
                "check the app registration's client secret and its Calendars.ReadWrite application permission (admin consent)",
            ),
            _ => (
                DELEGATED_SCOPE,
                "run firststep-adapter connect microsoft again",
            ),
        };
        let tokens = TokenSource::new(
            client.clone(),
            options.token_url,
            options.grant,
            scope,
            "connect microsoft",
        );
        Self {
            calendar_url: calendar_url.into(),
            origin,
            described,
            on_refusal,
            api: AuthorizedClient::new(client, tokens, "Microsoft Graph", PREFER_UTC),
            zone,
        }
    }

    fn event_url(&self, id: &str) -> String {
        let mut url = url::Url::parse(&self.calendar_url).expect("built from a URL");
        if let Ok(mut path) = url.path_segments_mut() {
            path.extend(["events", id]);
        }
        url.into()
    }

    /// Sends with a token; sorts failures into the three kinds and gives
    /// the rest back.
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
        let (code, message) = graph_error(&reply.body);
        let busy = reply.status == StatusCode::TOO_MANY_REQUESTS;
        let advice = Advice {
            calendar: &self.described,
            unauthorized: self.on_refusal,
            forbidden: "the account needs Calendars.ReadWrite on it (with client credentials: the application permission, admin consent given)",
        };
        self.api.sort(what, reply, busy, (&code, &message), advice)
    }

    fn unexpected(&self, what: &str, answer: &Reply) -> CalendarError {
        let (code, message) = graph_error(&answer.body);
        CalendarError::Misconfigured(format!(
            "{what}: Microsoft Graph answered {} {code}: {message} for {} (are calendar_id and user right?)",
            answer.status, self.described
        ))
    }

    /// Every event overlapping `range`, recurrences expanded, all pages.
    async fn events(&self, range: Interval) -> Result<Vec<Event>, CalendarError> {
        const WHAT: &str = "reading busy time";
        let mut events = Vec::new();
        let mut url = format!("{}/calendarView", self.calendar_url);
        let mut query = vec![
            ("startDateTime", rfc3339(range.start)),
            ("endDateTime", rfc3339(range.end)),
            (
                "$select",
                "showAs,isCancelled,isAllDay,start,end,transactionId".to_owned(),
            ),
            ("$top", PAGE_SIZE.to_string()),
        ];
        for _ in 0..MAX_PAGES {
            let answer = self
                .call(WHAT, Method::GET, &url, &query, None, None)
                .await?;
            if answer.status != StatusCode::OK {
                return Err(self.unexpected(WHAT, &answer));
            }
            let page: EventPage = serde_json::from_slice(&answer.body).map_err(|_| {
                CalendarError::Unreachable(format!("{WHAT}: Graph's answer is not an event list"))
            })?;
            let mut skipped = 0usize;
            for item in page.value {
                match serde_json::from_value::<Event>(item) {
                    Ok(event) => events.push(event),
                    Err(_) => skipped = skipped.saturating_add(1),
                }
            }
            if skipped > 0 {
                tracing::warn!(
                    skipped,
                    "Microsoft Graph listed events of an unknown shape; they were left out"
                );
            }
            match page.next_link {
                None => return Ok(events),
                // The link carries the query itself (https://learn.microsoft.com/en-us/graph/paging).
                Some(next) if next.starts_with(&format!("{}/", self.origin)) => {
                    url = next;
                    query.clear();
                }
                Some(_) => {
                    return Err(CalendarError::Unreachable(format!(
                        "{WHAT}: Graph's next page is on another server; not followed"
                    )))
                }
            }
        }
        Err(CalendarError::Unreachable(format!(
            "{WHAT}: more than {MAX_PAGES} pages of events; not read"
        )))
    }

    /// When `event` makes the practice busy: not cancelled, not shown as
    /// free; an all-day event over its dates in the practice's zone.
    fn busy_interval(&self, event: &Event) -> Option<Interval> {
        if event.is_cancelled || event.show_as.eq_ignore_ascii_case("free") {
            return None;
        }
        let (start, end) = if event.is_all_day {
            (self.day_start(&event.start)?, self.day_start(&event.end)?)
        } else {
            (instant(&event.start)?, instant(&event.end)?)
        };
        (end > start).then(|| Interval::new(start, end))
    }

    /// Midnight of the time's date, in the practice's zone.
    fn day_start(&self, time: &GraphTime) -> Option<DateTime<Utc>> {
        let day = NaiveDate::parse_from_str(time.date_time.get(..10)?, "%Y-%m-%d").ok()?;
        super::ical_read::local(self.zone, day.and_hms_opt(0, 0, 0)?).ok()
    }

    /// Our event of `booking_id`, by its mark
    /// (https://learn.microsoft.com/en-us/graph/api/singlevaluelegacyextendedproperty-get).
    async fn find(&self, what: &str, booking_id: &str) -> Result<Option<Found>, CalendarError> {
        let filter = format!(
            "singleValueExtendedProperties/Any(ep: ep/id eq '{MARK}' and ep/value eq '{}')",
            booking_id.replace('\'', "''")
        );
        let query = [("$filter", filter), ("$select", "id".to_owned())];
        let url = format!("{}/events", self.calendar_url);
        let answer = self
            .call(what, Method::GET, &url, &query, None, None)
            .await?;
        if answer.status != StatusCode::OK {
            return Err(self.unexpected(what, &answer));
        }
        let page: EventPage = serde_json::from_slice(&answer.body).map_err(|_| {
            CalendarError::Unreachable(format!("{what}: Graph's answer is not an event list"))
        })?;
        Ok(page.value.first().and_then(|event| {
            Some(Found {
                id: event.get("id")?.as_str()?.to_owned(),
                etag: etag_of(event),
            })
        }))
    }

    fn body(&self, entry: &CalendarEntry) -> Value {
        json!({
            "subject": entry.title,
            "body": {"contentType": "text", "content": entry.description},
            "start": graph_time(entry.slot.start),
            "end": graph_time(entry.slot.end),
            "showAs": if entry.confirmed { "busy" } else { "tentative" },
            "sensitivity": "private",
            "isReminderOn": false,
        })
    }

    async fn patch(
        &self,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> Result<Reply, CalendarError> {
        self.call(
            "changing a booking's event",
            Method::PATCH,
            &self.event_url(id),
            &[],
            Some(body),
            if_match,
        )
        .await
    }
}

impl Calendar for MicrosoftCalendar {
    fn check(&self) -> CalendarFuture<'_, ()> {
        Box::pin(async move {
            const WHAT: &str = "checking the calendar";
            let query = [("$select", "id".to_owned())];
            let answer = self
                .call(WHAT, Method::GET, &self.calendar_url, &query, None, None)
                .await?;
            match answer.status {
                StatusCode::OK => Ok(()),
                _ => Err(self.unexpected(WHAT, &answer)),
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
            const WHAT: &str = "writing a booking";
            let mut body = self.body(entry);
            if let Some(fields) = body.as_object_mut() {
                // Graph answers a retried create with the event the first one made
                // (https://learn.microsoft.com/en-us/graph/api/resources/event).
                fields.insert("transactionId".into(), entry.booking_id.clone().into());
                fields.insert(
                    "singleValueExtendedProperties".into(),
                    json!([{"id": MARK, "value": entry.booking_id}]),
                );
            }
            let url = format!("{}/events", self.calendar_url);
            let answer = self
                .call(WHAT, Method::POST, &url, &[], Some(&body), None)
                .await?;
            match answer.status {
                status if status.is_success() => Ok(Placement {
                    etag: serde_json::from_slice(&answer.body)
                        .ok()
                        .and_then(|event: Value| etag_of(&event)),
                }),
                _ => Err(self.unexpected(WHAT, &answer)),
            }
        })
    }

    fn confirm<'a>(
        &'a self,
        entry: &'a CalendarEntry,
        placed: &'a Placement,
    ) -> CalendarFuture<'a, Placement> {
        Box::pin(async move {
            const WHAT: &str = "confirming a booking";
            let gone = || {
                CalendarError::Conflict(format!(
                    "the event of {} changed or was removed in the calendar",
                    entry.booking_id
                ))
            };
            let Some(event) = self.find(WHAT, &entry.booking_id).await? else {
                return Err(gone());
            };
            let mut answer = self
                .patch(&event.id, &self.body(entry), placed.etag.as_deref())
                .await?;
            if answer.status == StatusCode::PRECONDITION_FAILED {
                // The practice changed the hold (moved it, added a note):
                // keep their change and set only showAs, on the etag just read.
                answer = self
                    .patch(&event.id, &json!({"showAs": "busy"}), event.etag.as_deref())
                    .await?;
            }
            match answer.status {
                StatusCode::OK => Ok(Placement {
                    etag: serde_json::from_slice(&answer.body)
                        .ok()
                        .and_then(|event: Value| etag_of(&event)),
                }),
                StatusCode::PRECONDITION_FAILED | StatusCode::NOT_FOUND => Err(gone()),
                _ => Err(self.unexpected(WHAT, &answer)),
            }
        })
    }

    fn move_entry<'a>(
        &'a self,
        entry: &'a CalendarEntry,
        _placed: &'a Placement,
    ) -> CalendarFuture<'a, Placement> {
        Box::pin(async move {
            const WHAT: &str = "moving a booking";
            // The same event, patched: a new one under the same transactionId
            // could be taken by Graph for a retry of the first and dropped.
            let Some(event) = self.find(WHAT, &entry.booking_id).await? else {
                return self.place(entry).await;
            };
            // No If-Match: the visitor's new time wins over a change made meanwhile.
            let answer = self.patch(&event.id, &self.body(entry), None).await?;
            match answer.status {
                StatusCode::OK => Ok(Placement {
                    etag: serde_json::from_slice(&answer.body)
                        .ok()
                        .and_then(|event: Value| etag_of(&event)),
                }),
                StatusCode::NOT_FOUND => self.place(entry).await,
                _ => Err(self.unexpected(WHAT, &answer)),
            }
        })
    }

    fn release<'a>(
        &'a self,
        booking_id: &'a str,
        _placed: &'a Placement,
    ) -> CalendarFuture<'a, ()> {
        Box::pin(async move {
            const WHAT: &str = "removing a booking";
            // Not there: never written, or deleted by the practice or an earlier attempt.
            let Some(event) = self.find(WHAT, booking_id).await? else {
                return Ok(());
            };
            let answer = self
                .call(
                    WHAT,
                    Method::DELETE,
                    &self.event_url(&event.id),
                    &[],
                    None,
                    None,
                )
                .await?;
            match answer.status {
                status if status.is_success() => Ok(()),
                StatusCode::NOT_FOUND => Ok(()),
                _ => Err(self.unexpected(WHAT, &answer)),
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

/// Whether `event` is one of our bookings (the store counts those already):
/// its `transactionId` is a booking id.
fn is_ours(event: &Event) -> bool {
    event
        .transaction_id
        .as_deref()
        .and_then(BookingId::parse)
        .is_some()
}

/// A timed event's instant: Graph's local time read in its zone (UTC as
/// asked; an IANA name is read too, anything else is not trusted).
fn instant(time: &GraphTime) -> Option<DateTime<Utc>> {
    let local = NaiveDateTime::parse_from_str(&time.date_time, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
    if time.time_zone.eq_ignore_ascii_case("UTC") || time.time_zone.is_empty() {
        return Some(local.and_utc());
    }
    let zone: Tz = time.time_zone.parse().ok()?;
    super::ical_read::local(zone, local).ok()
}

fn graph_time(t: DateTime<Utc>) -> Value {
    json!({"dateTime": t.format("%Y-%m-%dT%H:%M:%S").to_string(), "timeZone": "UTC"})
}

fn etag_of(event: &Value) -> Option<String> {
    event.get("@odata.etag")?.as_str().map(str::to_owned)
}

/// The code and message of Graph's error body
/// (`{"error":{"code":…,"message":…}}`), printable.
fn graph_error(body: &[u8]) -> (String, String) {
    let error = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("error").cloned())
        .unwrap_or(Value::Null);
    let text = |key: &str| {
        printable(
            error.get(key).and_then(Value::as_str).unwrap_or(""),
            if key == "code" { 60 } else { 200 },
        )
    };
    (text("code"), text("message"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calendar() -> MicrosoftCalendar {
        MicrosoftCalendar::new(
            MicrosoftOptions {
                graph_base: "http://127.0.0.1:9/v1.0",
                token_url: "http://127.0.0.1:9/common/oauth2/v2.0/token",
                calendar_id: None,
                user: None,
                grant: Grant::RefreshToken {
                    client_id: "c".into(),
                    client_secret: None,
                    token_file: "/nonexistent".into(),
                },
            },
            "America/New_York".parse().unwrap(),
        )
    }

    fn event(value: Value) -> Event {
        serde_json::from_value(value).unwrap()
    }

    fn timed(extra: Value) -> Event {
        let mut base = json!({
            "start": {"dateTime": "2026-12-01T15:00:00.0000000", "timeZone": "UTC"},
            "end": {"dateTime": "2026-12-01T16:00:00.0000000", "timeZone": "UTC"},
        });
        base.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        event(base)
    }

    #[test]
    fn free_and_cancelled_events_are_not_busy_and_every_other_show_as_is() {
        let graph = calendar();
        for show_as in ["busy", "tentative", "oof", "workingElsewhere", "unknown"] {
            let busy = graph
                .busy_interval(&timed(json!({"showAs": show_as})))
                .unwrap_or_else(|| panic!("{show_as} is busy"));
            assert_eq!(rfc3339(busy.start), "2026-12-01T15:00:00Z");
        }
        assert!(graph
            .busy_interval(&timed(json!({"showAs": "free"})))
            .is_none());
        assert!(graph
            .busy_interval(&timed(json!({"showAs": "busy", "isCancelled": true})))
            .is_none());
        let nonsense =
            event(json!({"start": {"dateTime": "x"}, "end": {"dateTime": "2026-13-45"}}));
        assert!(graph.busy_interval(&nonsense).is_none());
        let unknown_zone = event(json!({
            "start": {"dateTime": "2026-12-01T15:00:00", "timeZone": "Nowhere Standard Time"},
            "end": {"dateTime": "2026-12-01T16:00:00", "timeZone": "UTC"},
        }));
        assert!(graph.busy_interval(&unknown_zone).is_none());
    }

    #[test]
    fn an_all_day_event_blocks_its_dates_in_the_practices_zone() {
        let busy = calendar()
            .busy_interval(&event(json!({
                "isAllDay": true,
                "start": {"dateTime": "2026-12-01T00:00:00.0000000", "timeZone": "UTC"},
                "end": {"dateTime": "2026-12-02T00:00:00.0000000", "timeZone": "UTC"},
            })))
            .unwrap();
        assert_eq!(rfc3339(busy.start), "2026-12-01T05:00:00Z");
        assert_eq!(rfc3339(busy.end), "2026-12-02T05:00:00Z");
    }

    #[test]
    fn ours_are_the_events_whose_transaction_id_is_a_booking_id() {
        assert!(is_ours(&timed(
            json!({"transactionId": "bk_AAAAAAAAAAAAAAAA"})
        )));
        assert!(!is_ours(&timed(
            json!({"transactionId": "another-apps-id"})
        )));
        assert!(!is_ours(&timed(json!({}))));
    }

    #[test]
    fn graphs_error_body_gives_its_code_and_message() {
        let body = br#"{"error":{"code":"ErrorAccessDenied","message":"Access is denied.\nCheck credentials."}}"#;
        assert_eq!(
            graph_error(body),
            (
                "ErrorAccessDenied".into(),
                "Access is denied.Check credentials.".into()
            )
        );
        assert_eq!(graph_error(b"<html>"), (String::new(), String::new()));
    }
}
