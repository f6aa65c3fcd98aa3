//! The store: the source of truth for what was promised to visitors.
//!
//! # One interface, several backends
//! [`Store`] holds an enum of its backends, and its methods (listed once, in
//! `forward!`) dispatch to the backend's own. An enum rather than a trait
//! object: `book` and `reschedule` take the caller's rules as closures
//! (generic, so no trait object could carry them), the set of backends is
//! closed and known here, and a backend's every method is checked to match
//! the interface by the compiler. Blocking rather than async: every caller
//! already runs store work off the async runtime through [`Store::call`],
//! SQLite is blocking by nature, and a transaction with its retries reads
//! best as straight-line code; PostgreSQL's blocking client fits the same.
//!
//! `server.store` (or `FIRSTSTEP_STORE`) chooses the backend
//! ([`StoreLocation`]): a path is a SQLite file, the default; a
//! `postgres://` URL is PostgreSQL (`postgres`), for several replicas on
//! one database.
//!
//! # Layout
//! - `postgres`: the PostgreSQL store, for several replicas on one database.
//! - `sqlite`: the SQLite store's connections (one file in WAL mode with
//!   `synchronous = FULL`: a booking is on disk before its 201 leaves). Its
//!   queries, and the types of each theme, are in the theme modules:
//! - `schema`: the tables, as numbered migrations.
//! - `bookings`: bookings and their life — stored (unique per live slot, so two
//!   visitors can never hold one slot), answered, expired, cancelled, read.
//! - `idempotency`: each `Idempotency-Key`'s request hash and final response
//!   (sealed), kept 24 hours.
//! - `outbox`: what is owed after each change (calendar writes, emails),
//!   written in the same transaction as the change.
//! - `reminders`: the visitors' reminders falling due, queued in the outbox
//!   once each.
//! - `privacy`: retention (personal fields of bookings long over are erased),
//!   a visitor's export and erasure, sealing tokens left by older versions.
//! - `figures`: counts for `/metrics`.
//! - `backup`: a consistent copy of the live store.

mod backup;
mod bookings;
mod figures;
mod idempotency;
mod outbox;
mod postgres;
#[cfg(test)]
mod practices_apart;
mod privacy;
mod reminders;
mod schema;
mod sqlite;
#[cfg(test)]
#[path = "../../tests/support/postgres.rs"]
pub(crate) mod test_cluster;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use firststep_availability::Interval;
use serde_json::Value;

use crate::domain::{BookingId, IdempotencyKey};
use crate::sealing::SealingKey;

pub use backup::{backup, BackupReport};
pub use bookings::{
    may_change, Answer, Answered, BookOutcome, BookingRecord, NewBooking, Reschedule,
    RescheduleOutcome, Visitor,
};
pub use figures::{Figures, QueueFigures};
pub use idempotency::{KeyClaim, StoredResponse, KEPT_FOR as IDEMPOTENCY_KEPT_FOR};
pub use outbox::{Action, Delivery, Mail, SetAside};
use postgres::Postgres;
pub use privacy::{Erasure, Sweep};
use sqlite::Sqlite;

/// Where the bookings are kept: `server.store` (or `FIRSTSTEP_STORE`).
#[derive(Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// A SQLite file, the default.
    Sqlite(PathBuf),
    /// A PostgreSQL database, by its `postgres://` URL (which may hold a
    /// password: never shown).
    Postgres(String),
}

impl StoreLocation {
    /// A `postgres://` or `postgresql://` URL, or else a path to a SQLite file.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            // The parser's messages name the part at fault, never the password.
            return match text.parse::<::postgres::Config>() {
                Ok(_) => Ok(Self::Postgres(text.to_owned())),
                Err(error) => Err(format!("is not a PostgreSQL URL: {error}")),
            };
        }
        if text.is_empty() {
            return Err("must be a SQLite file's path or a postgres:// URL".into());
        }
        if text.contains("://") {
            return Err(
                "must be a SQLite file's path or a postgres:// URL; no other database is known"
                    .into(),
            );
        }
        Ok(Self::Sqlite(PathBuf::from(text)))
    }
}

impl std::str::FromStr for StoreLocation {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        Self::parse(text)
    }
}

impl std::fmt::Debug for StoreLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            Self::Postgres(_) => f.write_str("Postgres(<URL not shown>)"),
        }
    }
}

/// Shared handle to the store, scoped to one practice; cheap to clone.
///
/// Every practice's data is in one store, each row marked with its
/// practice's id. A handle reads and writes only its practice's rows: each
/// scoped method of the interface is given the handle's practice (one place,
/// [`forward!`]), and the backends put it in every query (the compiler
/// refuses a backend method that leaves its `practice` unused). Methods
/// marked `shared` work across practices: the outbox round (one round
/// claims any practice's due items, each delivered with its practice's
/// settings), housekeeping that needs no setting, health.
#[derive(Clone)]
pub struct Store {
    backend: Backend,
    practice: std::sync::Arc<str>,
}

/// The id of the one practice a `--config` serves: empty, so that it can
/// never be taken by a practice of `--config-dir`, whose ids are not
/// (`crate::practices`). Rows stored before practices existed are its.
pub const SINGLE_PRACTICE: &str = "";

#[derive(Clone)]
enum Backend {
    Sqlite(Sqlite),
    Postgres(Postgres),
}

impl Store {
    /// Opens (creating if need be) the store at `location` and brings its
    /// schema up to date.
    pub fn open(location: &StoreLocation) -> anyhow::Result<Self> {
        match location {
            StoreLocation::Sqlite(path) => Self::open_sqlite(path),
            // On a thread of its own: the blocking client cannot run on an
            // async runtime's thread, and stores are opened from both.
            StoreLocation::Postgres(url) => std::thread::scope(|scope| {
                scope
                    .spawn(|| Postgres::open(url))
                    .join()
                    .unwrap_or_else(|_| {
                        Err(anyhow::anyhow!("opening the PostgreSQL store panicked"))
                    })
            })
            .map(|store| Self::scoped(Backend::Postgres(store))),
        }
    }

    /// Opens (creating if need be) the SQLite store at `path`.
    pub fn open_sqlite(path: &Path) -> anyhow::Result<Self> {
        Sqlite::open(path).map(|store| Self::scoped(Backend::Sqlite(store)))
    }

    fn scoped(backend: Backend) -> Self {
        Self {
            backend,
            practice: SINGLE_PRACTICE.into(),
        }
    }

    /// A handle to the same store (its connections shared) that reads and
    /// writes only the practice `id`'s rows.
    pub fn for_practice(&self, id: &str) -> Self {
        Self {
            backend: self.backend.clone(),
            practice: id.into(),
        }
    }

    /// The practice this handle reads and writes.
    pub fn practice(&self) -> &str {
        &self.practice
    }

    /// Runs blocking store work off the async runtime's threads.
    pub async fn call<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Store) -> T + Send + 'static,
    ) -> T {
        let store = self.clone();
        tokio::task::spawn_blocking(move || work(&store))
            .await
            .expect("store task panicked")
    }
}

/// The store's interface: each method, as the backends implement it
/// (their documentation is on the backend's own). A `scoped` method is
/// given the handle's practice as its first argument; a `shared` one works
/// across practices.
macro_rules! forward {
    (@call scoped $practice:ident $store:ident . $name:ident ($($arg:ident),*)) => {
        $store.$name($practice $(, $arg)*)
    };
    (@call shared $practice:ident $store:ident . $name:ident ($($arg:ident),*)) => {{
        let _ = $practice;
        $store.$name($($arg),*)
    }};
    ($( $(#[$doc:meta])* $scope:ident fn $name:ident(&self $(, $arg:ident: $type:ty)* $(,)?) -> $out:ty; )*) => {
        impl Store {
            $(
                $(#[$doc])*
                pub fn $name(&self $(, $arg: $type)*) -> $out {
                    let practice: &str = &self.practice;
                    match &self.backend {
                        Backend::Sqlite(store) => forward!(@call $scope practice store.$name($($arg),*)),
                        Backend::Postgres(store) => forward!(@call $scope practice store.$name($($arg),*)),
                    }
                }
            )*
        }
    };
}

forward! {
    /// Proves the store takes writes (for `/healthz`).
    shared fn check_writable(&self) -> anyhow::Result<()>;
    /// Live bookings overlapping `range`, but `except`; only those bearing on the clinician `with`, when given.
    scoped fn live_bookings(&self, range: Interval, now: DateTime<Utc>, except: Option<&str>, with: Option<&str>) -> anyhow::Result<Vec<Interval>>;
    /// Stores a booking if `is_offered` still says its slot is bookable, all or nothing.
    scoped fn book(
        &self,
        booking: &NewBooking,
        around: Interval,
        key: &IdempotencyKey,
        response: impl FnOnce(Option<&str>) -> StoredResponse,
        is_offered: impl Fn(Option<&str>, &[Interval]) -> bool,
    ) -> anyhow::Result<BookOutcome>;
    /// Moves a live booking to another slot, all or nothing.
    scoped fn reschedule(
        &self,
        change: &Reschedule,
        key: &IdempotencyKey,
        response: impl FnOnce(&BookingRecord) -> StoredResponse,
        is_offered: impl FnOnce(Option<&str>, &[Interval]) -> bool,
    ) -> anyhow::Result<RescheduleOutcome>;
    /// One booking, with its status as of `now`.
    scoped fn booking(&self, id: &str, now: DateTime<Utc>) -> anyhow::Result<Option<BookingRecord>>;
    /// Cancels a live booking; a booking no longer live is left as it is.
    scoped fn cancel(&self, id: &BookingId, now: DateTime<Utc>) -> anyhow::Result<Option<BookingRecord>>;
    /// Live bookings starting in `range`, for the practice's feed.
    scoped fn feed_bookings(&self, range: Interval, now: DateTime<Utc>) -> anyhow::Result<Vec<BookingRecord>>;
    /// Confirms or declines a pending request.
    scoped fn answer(&self, id: &str, answer: Answer, now: DateTime<Utc>) -> anyhow::Result<Answered>;
    /// Confirms or declines a pending request if it still stands at `version`.
    scoped fn answer_as_of(&self, id: &str, version: Option<u32>, answer: Answer, now: DateTime<Utc>) -> anyhow::Result<Answered>;
    /// Expires every request past its time.
    shared fn expire_lapsed(&self, now: DateTime<Utc>) -> anyhow::Result<usize>;
    /// Requests waiting for the practice's answer, soonest first.
    scoped fn pending_requests(&self, now: DateTime<Utc>) -> anyhow::Result<Vec<BookingRecord>>;
    /// Looks an idempotency key up and claims it when it is new.
    scoped fn claim_key(&self, key: &IdempotencyKey, request_hash: &[u8], now: DateTime<Utc>) -> anyhow::Result<KeyClaim>;
    /// Keeps the final response of a claimed key, for replays.
    scoped fn finish_key(&self, key: &IdempotencyKey, response: &StoredResponse) -> anyhow::Result<()>;
    /// Forgets a claimed key whose request failed for a passing reason.
    scoped fn release_key(&self, key: &IdempotencyKey) -> anyhow::Result<()>;
    /// Deletes the records of keys first used [`IDEMPOTENCY_KEPT_FOR`] ago or more.
    shared fn delete_expired_keys(&self, now: DateTime<Utc>) -> anyhow::Result<usize>;
    /// Outbox items of `practices` (those this process delivers for) due at
    /// `now`, oldest first, at most `limit`, taken for this process until
    /// delivered, failed, set aside or let go.
    shared fn due_deliveries(&self, now: DateTime<Utc>, limit: usize, practices: &[String]) -> anyhow::Result<Vec<Delivery>>;
    /// Lets go of outbox items taken by [`Store::due_deliveries`] but not tried.
    shared fn let_go(&self, deliveries: &[Delivery]) -> anyhow::Result<()>;
    /// Records an outbox item as done.
    shared fn delivered(&self, delivery: &Delivery, state: Option<&str>, etag: Option<&str>, now: DateTime<Utc>) -> anyhow::Result<()>;
    /// Records a failed attempt and when to try again.
    shared fn delivery_failed(&self, delivery: &Delivery, reason: &str, retry_at: DateTime<Utc>) -> anyhow::Result<()>;
    /// Sets an outbox item aside: it can never succeed.
    shared fn set_aside(&self, delivery: &Delivery, reason: &str, now: DateTime<Utc>) -> anyhow::Result<()>;
    /// The outbox items set aside, for the operator.
    scoped fn set_aside_deliveries(&self) -> anyhow::Result<Vec<SetAside>>;
    /// Where a booking stands in the practice's calendar.
    scoped fn calendar_state(&self, booking_id: &str) -> anyhow::Result<Option<String>>;
    /// Queues the reminders falling due, once each.
    scoped fn queue_due_reminders(&self, hours_before: &[u32], now: DateTime<Utc>) -> anyhow::Result<usize>;
    /// Erases the personal fields of bookings long over.
    scoped fn sweep_personal_data(&self, now: DateTime<Utc>, retention: Duration) -> anyhow::Result<Sweep>;
    /// Everything stored about a visitor, as JSON.
    scoped fn visitor_export(&self, email: &str) -> anyhow::Result<Value>;
    /// Erases a visitor.
    scoped fn erase_visitor(&self, email: &str, now: DateTime<Utc>) -> anyhow::Result<Erasure>;
    /// Seals manage tokens left in clear by older versions.
    scoped fn seal_clear_payloads(&self, key: Option<&SealingKey>) -> anyhow::Result<usize>;
    /// Counts for `/metrics`.
    scoped fn figures(&self, now: DateTime<Utc>) -> anyhow::Result<Figures>;
}

fn instant(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap_or_default()
}
