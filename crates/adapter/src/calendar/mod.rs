//! Where the practice sees its bookings, and where its own appointments come
//! from: the [`Calendar`] trait and its backends.
//!
//! The store stays the source of truth for what was promised to visitors;
//! writes to a calendar go through the outbox (`crate::outbox`), so a calendar
//! that is down delays them and loses nothing.
//!
//! # Layout
//! - [`local`]: the embedded default — bookings stay in the store; nothing to write.
//! - [`caldav`]: Nextcloud, iCloud, Fastmail, Radicale, Baïkal.
//! - [`google`]: Google Calendar (API v3), the practice's account or a service account.
//! - [`microsoft`]: Microsoft 365 / Outlook (Graph v1.0), the practice's
//!   account or a tenant's app registration.
//! - [`oauth`]: OAuth 2.0 access tokens (refresh token, service-account
//!   JWT or client credentials), cached and renewed; the consent steps of
//!   `connect` (loopback redirect, device code).
//! - [`authorized`]: requests carrying those tokens: a 401 renews once,
//!   `Retry-After` holds further requests back.
//! - [`ical_read`]: busy time read out of iCalendar text.
//! - `ical_zone`: the zones its TZIDs name (IANA, Windows, its own VTIMEZONEs).
//! - [`busy_cache`]: the calendar's busy time, refreshed in the background,
//!   so slot requests never wait on a remote server.
//! - [`capped_body`]: answers of calendar servers, read with a size cap.

pub mod authorized;
pub mod busy_cache;
pub mod caldav;
pub mod capped_body;
pub mod google;
pub mod ical_read;
mod ical_zone;
pub mod local;
pub mod microsoft;
pub mod oauth;

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};
use firststep_availability::Interval;

/// What a calendar can fail with, kept apart because each asks for a
/// different response: retry later, give the slot up, or tell the operator.
#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    /// The server could not be reached or answered 5xx: retry later.
    #[error("calendar unreachable: {0}")]
    Unreachable(String),
    /// The write lost a race (someone else's event, a changed ETag).
    #[error("calendar conflict: {0}")]
    Conflict(String),
    /// Wrong address, credentials or permissions: retrying will not help
    /// until the operator changes the configuration.
    #[error("calendar misconfigured: {0}")]
    Misconfigured(String),
    /// The server refused this write itself (a 4xx about the request):
    /// retrying the same write will not help.
    #[error("calendar refused the write: {0}")]
    Refused(String),
}

/// A booking as written into the practice's calendar.
#[derive(Debug, Clone)]
pub struct CalendarEntry {
    pub booking_id: String,
    pub slot: Interval,
    /// The event's title (private by default: no client name).
    pub title: String,
    pub description: String,
    /// `false` for a request waiting for the practice (a tentative hold).
    pub confirmed: bool,
    pub stamp: DateTime<Utc>,
}

/// Where an entry landed, so later changes can be made conditional on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    pub etag: Option<String>,
}

pub type CalendarFuture<'a, T> =
    Pin<Box<dyn Future<Output = Result<T, CalendarError>> + Send + 'a>>;

/// A practice's calendar. Object-safe, so the adapter holds an `Arc<dyn Calendar>`.
pub trait Calendar: Send + Sync {
    /// Proves the calendar is reachable and the credentials work (at start, in `check-config`).
    fn check(&self) -> CalendarFuture<'_, ()>;
    /// Busy time in `range`: opaque, confirmed or tentative events; not
    /// transparent or cancelled ones; recurrences expanded.
    fn busy(&self, range: Interval) -> CalendarFuture<'_, Vec<Interval>>;
    /// Writes the entry (tentative or confirmed) unless it is there already.
    fn place<'a>(&'a self, entry: &'a CalendarEntry) -> CalendarFuture<'a, Placement>;
    /// Rewrites a placed entry as confirmed.
    fn confirm<'a>(
        &'a self,
        entry: &'a CalendarEntry,
        placed: &'a Placement,
    ) -> CalendarFuture<'a, Placement>;
    /// Rewrites the booking's entry at the entry's time and status, after
    /// its visitor moved it: the same entry (its id stays the booking's), so
    /// nothing can clash with or be deduplicated into the old one; written
    /// anew if it is gone. The new time wins over changes made meanwhile.
    fn move_entry<'a>(
        &'a self,
        entry: &'a CalendarEntry,
        placed: &'a Placement,
    ) -> CalendarFuture<'a, Placement>;
    /// Removes a placed entry; removing one that is gone is not an error.
    fn release<'a>(&'a self, booking_id: &'a str, placed: &'a Placement) -> CalendarFuture<'a, ()>;
    /// Whether anything other than our own entry is busy during `slot`.
    fn foreign_overlap<'a>(
        &'a self,
        booking_id: &'a str,
        slot: Interval,
    ) -> CalendarFuture<'a, bool>;
}
