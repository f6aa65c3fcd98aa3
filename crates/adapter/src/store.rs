//! The SQLite store: the source of truth for what was promised to visitors.
//!
//! One file in WAL mode with `synchronous = FULL`: a booking is on disk before
//! its 201 leaves. Tables: `bookings` (with a unique index on live bookings per
//! service and start, so two visitors can never hold one slot), and
//! `idempotency_keys` (each key's request hash and final response), and
//! `outbox` (writes still owed to a calendar backend).
//!
//! Every method is blocking; async callers go through [`Store::call`].

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use chrono::{DateTime, Utc};
use firststep_availability::Interval;
use firststep_protocol::BookingStatus;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use crate::domain::{BookingId, IdempotencyKey, TokenHash};

/// Each step brings a store from the version before it to its own; the
/// store's `user_version` says how many have run.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE bookings (
    id                TEXT PRIMARY KEY,
    service           TEXT NOT NULL,
    start_at          INTEGER NOT NULL,   -- unix seconds
    end_at            INTEGER NOT NULL,
    status            TEXT NOT NULL
        CHECK (status IN ('pending', 'confirmed', 'declined', 'cancelled', 'expired')),
    created_at        INTEGER NOT NULL,
    expires_at        INTEGER,            -- when an unanswered request lapses
    client_name       TEXT NOT NULL,
    client_email      TEXT NOT NULL,
    client_phone      TEXT,
    client_time_zone  TEXT,
    note              TEXT,
    manage_token_hash BLOB NOT NULL
);
CREATE UNIQUE INDEX one_live_booking_per_slot
    ON bookings (service, start_at) WHERE status IN ('pending', 'confirmed');
CREATE INDEX bookings_by_start ON bookings (start_at);

CREATE TABLE idempotency_keys (
    key               TEXT PRIMARY KEY,
    request_hash      BLOB NOT NULL,
    started_at        INTEGER NOT NULL,
    response_status   INTEGER,            -- NULL while the first request runs
    response_location TEXT,
    response_body     BLOB
);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    booking_id      TEXT NOT NULL REFERENCES bookings (id),
    action          TEXT NOT NULL,        -- place, confirm, release
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    done_at         INTEGER
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE done_at IS NULL;
"#,
    r#"
-- Where each booking stands in the practice's calendar.
ALTER TABLE bookings ADD COLUMN calendar_etag TEXT;
ALTER TABLE bookings ADD COLUMN calendar_state TEXT NOT NULL DEFAULT 'owed'
    CHECK (calendar_state IN ('owed', 'placed', 'conflicted', 'released'));
"#,
    r#"
-- The visitor's language, for their emails; extras an outbox row needs
-- (a manage token for the first email), cleared once delivered.
ALTER TABLE bookings ADD COLUMN locale TEXT;
ALTER TABLE outbox ADD COLUMN payload TEXT;
"#,
];

/// A first request older than this is taken to have died with its process,
/// and the key may be claimed again.
const ABANDONED_AFTER_SECONDS: i64 = 60;

/// Shared handle to the store; cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    /// SQLite allows one writer at a time; this is it.
    writer: Mutex<Connection>,
    /// Readers see the last commit without waiting for the writer (WAL).
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

/// A booking to be stored; its slot was chosen by the visitor.
#[derive(Debug, Clone)]
pub struct NewBooking {
    pub id: BookingId,
    pub service: String,
    pub slot: Interval,
    pub status: BookingStatus,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub client_name: String,
    pub client_email: String,
    pub client_phone: Option<String>,
    pub client_time_zone: Option<String>,
    pub note: Option<String>,
    /// The visitor's language tag, for their emails.
    pub locale: Option<String>,
    pub manage_token_hash: TokenHash,
    /// The token itself, held only until the visitor's first email is sent.
    pub manage_token: String,
}

/// A response kept for an idempotency key, replayed byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub location: Option<String>,
    pub body: Vec<u8>,
}

/// What an idempotency key says about a new request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyClaim {
    /// First use: this request runs, and must finish or release the key.
    Claimed,
    /// Same key, same body, already answered: send this again.
    Replay(StoredResponse),
    /// Same key, same body, the first request is still running.
    InProgress,
    /// Same key, another body.
    Reused,
}

/// Whether [`Store::book`] stored the booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookOutcome {
    Booked,
    /// The slot is no longer offered (taken meanwhile, or never open).
    SlotUnavailable,
}

impl Store {
    /// Opens (creating if need be) the store at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder)
                .with_context(|| format!("creating the store's folder {}", folder.display()))?;
        }
        let writer = connect(path)?;
        migrate(&writer)
            .with_context(|| format!("updating the schema of the store {}", path.display()))?;
        let readers = (0..4)
            .map(|_| connect(path).map(Mutex::new))
            .collect::<anyhow::Result<_>>()?;
        Ok(Self {
            inner: Arc::new(Inner {
                writer: Mutex::new(writer),
                readers,
                next_reader: AtomicUsize::new(0),
            }),
        })
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

    fn write<T>(
        &self,
        work: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        let mut connection = self
            .inner
            .writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        work(&mut connection)
    }

    fn read<T>(
        &self,
        work: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        let readers = &self.inner.readers;
        let first = self.inner.next_reader.fetch_add(1, Ordering::Relaxed);
        // Take the first idle reader; wait on one only when all are busy.
        for i in 0..readers.len() {
            if let Ok(connection) = readers[(first + i) % readers.len()].try_lock() {
                return work(&connection);
            }
        }
        let connection = readers[first % readers.len()]
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        work(&connection)
    }

    /// Proves the store takes writes (for `/healthz`).
    pub fn check_writable(&self) -> anyhow::Result<()> {
        self.write(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.rollback()
        })
        .context("taking the store's write lock")
    }

    /// Live bookings (pending and confirmed) that overlap `range`, of any service.
    pub fn live_bookings(
        &self,
        range: Interval,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Vec<Interval>> {
        self.read(|c| live_bookings(c, range, now))
            .context("reading live bookings")
    }

    /// Looks an idempotency key up and claims it when it is new (or abandoned).
    pub fn claim_key(
        &self,
        key: &IdempotencyKey,
        request_hash: &[u8],
        now: DateTime<Utc>,
    ) -> anyhow::Result<KeyClaim> {
        self.write(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let existing = tx
                .query_row(
                    "SELECT request_hash, started_at, response_status, response_location, response_body
                     FROM idempotency_keys WHERE key = ?1",
                    [key.as_str()],
                    |row| {
                        Ok((
                            row.get::<_, Vec<u8>>(0)?,
                            row.get::<_, i64>(1)?,
                            row.get::<_, Option<u16>>(2)?,
                            row.get::<_, Option<String>>(3)?,
                            row.get::<_, Option<Vec<u8>>>(4)?,
                        ))
                    },
                )
                .optional()?;
            let claim = match existing {
                None => {
                    tx.execute(
                        "INSERT INTO idempotency_keys (key, request_hash, started_at) VALUES (?1, ?2, ?3)",
                        params![key.as_str(), request_hash, now.timestamp()],
                    )?;
                    KeyClaim::Claimed
                }
                Some((hash, _, _, _, _)) if hash != request_hash => KeyClaim::Reused,
                Some((_, _, Some(status), location, body)) => {
                    KeyClaim::Replay(StoredResponse { status, location, body: body.unwrap_or_default() })
                }
                Some((_, started_at, None, _, _)) if now.timestamp() - started_at > ABANDONED_AFTER_SECONDS => {
                    tx.execute(
                        "UPDATE idempotency_keys SET started_at = ?2 WHERE key = ?1",
                        params![key.as_str(), now.timestamp()],
                    )?;
                    KeyClaim::Claimed
                }
                Some(_) => KeyClaim::InProgress,
            };
            tx.commit()?;
            Ok(claim)
        })
        .context("claiming an idempotency key")
    }

    /// Keeps the final response of a claimed key, for replays.
    pub fn finish_key(
        &self,
        key: &IdempotencyKey,
        response: &StoredResponse,
    ) -> anyhow::Result<()> {
        self.write(|c| finish_key(c, key, response).map(drop))
            .context("storing an idempotent response")
    }

    /// Forgets a claimed key whose request failed for a passing reason, so a retry runs anew.
    pub fn release_key(&self, key: &IdempotencyKey) -> anyhow::Result<()> {
        self.write(|c| {
            c.execute(
                "DELETE FROM idempotency_keys WHERE key = ?1 AND response_status IS NULL",
                [key.as_str()],
            )
        })
        .map(drop)
        .context("releasing an idempotency key")
    }

    /// Stores `booking` and the key's response in one transaction, if
    /// `is_offered` — asked with the live bookings around the slot, inside the
    /// write lock — still says the slot is bookable. Nothing is half-written.
    pub fn book(
        &self,
        booking: &NewBooking,
        key: &IdempotencyKey,
        response: &StoredResponse,
        is_offered: impl FnOnce(&[Interval]) -> bool,
    ) -> anyhow::Result<BookOutcome> {
        self.write(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            expire_lapsed_requests(&tx, booking.created_at)?;
            // A day each side covers every booking that a buffer or the daily cap can involve.
            let around = Interval::new(booking.slot.start - chrono::Duration::hours(26), booking.slot.end + chrono::Duration::hours(26));
            if !is_offered(&live_bookings(&tx, around, booking.created_at)?) {
                return Ok(BookOutcome::SlotUnavailable);
            }
            let inserted = tx.execute(
                "INSERT INTO bookings (id, service, start_at, end_at, status, created_at, expires_at,
                    client_name, client_email, client_phone, client_time_zone, note, manage_token_hash, locale)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                params![
                    booking.id.as_str(),
                    booking.service,
                    booking.slot.start.timestamp(),
                    booking.slot.end.timestamp(),
                    booking.status.as_str(),
                    booking.created_at.timestamp(),
                    booking.expires_at.map(|t| t.timestamp()),
                    booking.client_name,
                    booking.client_email,
                    booking.client_phone,
                    booking.client_time_zone,
                    booking.note,
                    booking.manage_token_hash.0.as_slice(),
                    booking.locale,
                ],
            );
            match inserted {
                // The unique index is the last word on double booking.
                Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::ConstraintViolation => {
                    return Ok(BookOutcome::SlotUnavailable)
                }
                other => other?,
            };
            finish_key(&tx, key, response)?;
            enqueue(&tx, booking.id.as_str(), Delivery::PLACE, booking.created_at)?;
            let (to_practice, to_visitor) = match booking.status {
                BookingStatus::Confirmed => (Mail::PracticeBooked, Mail::VisitorConfirmed),
                _ => (Mail::PracticeRequest, Mail::VisitorReceived),
            };
            enqueue(&tx, booking.id.as_str(), to_practice.action(), booking.created_at)?;
            // The visitor's first email carries their manage link: the token
            // waits here, and only here, until it is sent.
            tx.execute(
                "INSERT INTO outbox (booking_id, action, next_attempt_at, created_at, payload) VALUES (?1, ?2, ?3, ?3, ?4)",
                params![booking.id.as_str(), to_visitor.action(), booking.created_at.timestamp(), booking.manage_token],
            )?;
            tx.commit()?;
            Ok(BookOutcome::Booked)
        })
        .context("storing a booking")
    }

    /// One booking, with its status as of `now`.
    pub fn booking(&self, id: &str, now: DateTime<Utc>) -> anyhow::Result<Option<BookingRecord>> {
        self.read(|c| booking(c, id, now))
            .context("reading a booking")
    }

    /// Cancels a live booking; a booking no longer live is left as it is.
    pub fn cancel(
        &self,
        id: &BookingId,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<BookingRecord>> {
        self.write(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            expire_lapsed_requests(&tx, now)?;
            let cancelled = tx.execute(
                "UPDATE bookings SET status = 'cancelled', expires_at = NULL
                 WHERE id = ?1 AND status IN ('pending', 'confirmed')",
                [id.as_str()],
            )?;
            if cancelled > 0 {
                enqueue(&tx, id.as_str(), Delivery::RELEASE, now)?;
                enqueue(&tx, id.as_str(), Mail::PracticeCancelled.action(), now)?;
            }
            let found = booking(&tx, id.as_str(), now)?;
            tx.commit()?;
            Ok(found)
        })
        .context("cancelling a booking")
    }
}

/// A write owed to the practice's calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: i64,
    pub booking_id: String,
    /// A calendar write ([`Delivery::PLACE`], [`Delivery::CONFIRM`],
    /// [`Delivery::RELEASE`]) or an email (`mail:` and a [`Mail`] kind).
    pub action: String,
    pub attempts: u32,
    /// What the action needs that the booking row does not hold.
    pub payload: Option<String>,
}

impl Delivery {
    pub const PLACE: &'static str = "place";
    pub const CONFIRM: &'static str = "confirm";
    pub const RELEASE: &'static str = "release";

    /// The email this delivery sends, if it is one.
    pub fn mail(&self) -> Option<Mail> {
        Mail::ALL.into_iter().find(|m| m.action() == self.action)
    }
}

/// The emails of a request's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mail {
    /// To the practice: a new request, with links to confirm or decline.
    PracticeRequest,
    /// To the practice: a new instant booking.
    PracticeBooked,
    /// To the practice: a visitor cancelled.
    PracticeCancelled,
    /// To the visitor: the request arrived (with their manage link).
    VisitorReceived,
    /// To the visitor: confirmed, with a calendar file.
    VisitorConfirmed,
    /// To the visitor: declined, kindly, with a way to choose another time.
    VisitorDeclined,
    /// To the visitor: unanswered in time; the slot is free again.
    VisitorExpired,
}

impl Mail {
    pub const ALL: [Mail; 7] = [
        Mail::PracticeRequest,
        Mail::PracticeBooked,
        Mail::PracticeCancelled,
        Mail::VisitorReceived,
        Mail::VisitorConfirmed,
        Mail::VisitorDeclined,
        Mail::VisitorExpired,
    ];

    /// Its template's name, and (after `mail:`) its outbox action.
    pub fn name(self) -> &'static str {
        match self {
            Mail::PracticeRequest => "practice_request",
            Mail::PracticeBooked => "practice_booked",
            Mail::PracticeCancelled => "practice_cancelled",
            Mail::VisitorReceived => "visitor_received",
            Mail::VisitorConfirmed => "visitor_confirmed",
            Mail::VisitorDeclined => "visitor_declined",
            Mail::VisitorExpired => "visitor_expired",
        }
    }

    pub fn action(self) -> &'static str {
        match self {
            Mail::PracticeRequest => "mail:practice_request",
            Mail::PracticeBooked => "mail:practice_booked",
            Mail::PracticeCancelled => "mail:practice_cancelled",
            Mail::VisitorReceived => "mail:visitor_received",
            Mail::VisitorConfirmed => "mail:visitor_confirmed",
            Mail::VisitorDeclined => "mail:visitor_declined",
            Mail::VisitorExpired => "mail:visitor_expired",
        }
    }
}

/// How the practice answered a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Confirm,
    Decline,
}

/// What answering a request did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answered {
    Done(BookingStatus),
    /// The request was no longer pending (already answered, cancelled, expired).
    AlreadyClosed(BookingStatus),
    NotFound,
}

/// A booking as stored, with its status as of the time it was read
/// (a pending request past its expiry reads as expired).
#[derive(Debug, Clone)]
pub struct BookingRecord {
    pub id: String,
    pub service: String,
    pub slot: Interval,
    pub status: BookingStatus,
    pub expires_at: Option<DateTime<Utc>>,
    pub client_name: String,
    pub client_email: String,
    pub client_phone: Option<String>,
    pub client_time_zone: Option<String>,
    pub note: Option<String>,
    pub locale: Option<String>,
    pub manage_token_hash: TokenHash,
    /// The calendar entry's tag, once placed.
    pub calendar_etag: Option<String>,
}

impl Store {
    /// Writes owed to the calendar whose time has come, oldest first.
    pub fn due_deliveries(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> anyhow::Result<Vec<Delivery>> {
        self.read(|c| {
            let mut statement = c.prepare_cached(
                "SELECT id, booking_id, action, attempts, payload FROM outbox
                 WHERE done_at IS NULL AND next_attempt_at <= ?1 ORDER BY id LIMIT ?2",
            )?;
            let rows = statement.query_map(params![now.timestamp(), limit as i64], |row| {
                Ok(Delivery {
                    id: row.get(0)?,
                    booking_id: row.get(1)?,
                    action: row.get(2)?,
                    attempts: row.get(3)?,
                    payload: row.get(4)?,
                })
            })?;
            rows.collect()
        })
        .context("reading the outbox")
    }

    /// Marks a delivery done and records where the booking now stands in the calendar.
    /// `state` is the booking's new calendar state, for calendar writes.
    pub fn delivered(
        &self,
        delivery: &Delivery,
        state: Option<&str>,
        etag: Option<&str>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        self.write(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute(
                "UPDATE outbox SET done_at = ?2, attempts = attempts + 1, payload = NULL WHERE id = ?1",
                params![delivery.id, now.timestamp()],
            )?;
            if let Some(state) = state {
                tx.execute(
                    "UPDATE bookings SET calendar_state = ?2, calendar_etag = ?3 WHERE id = ?1",
                    params![delivery.booking_id, state, etag],
                )?;
            }
            tx.commit()
        })
        .context("recording a delivery")
    }

    /// Puts a failed delivery off until `retry_at`, keeping the reason (no personal data).
    pub fn delivery_failed(
        &self,
        delivery: &Delivery,
        reason: &str,
        retry_at: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        self.write(|c| {
            c.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3 WHERE id = ?1",
                params![delivery.id, retry_at.timestamp(), reason],
            )
        })
        .map(drop)
        .context("postponing a delivery")
    }

    /// Live bookings (pending and confirmed) starting in `range`, for the practice's feed.
    pub fn feed_bookings(
        &self,
        range: Interval,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Vec<BookingRecord>> {
        self.read(|c| {
            let mut statement = c.prepare_cached(&format!(
                "{RECORD} WHERE start_at >= ?1 AND start_at < ?2
                   AND (status = 'confirmed' OR (status = 'pending' AND (expires_at IS NULL OR expires_at > ?3)))
                 ORDER BY start_at"
            ))?;
            let rows = statement
                .query_map(params![range.start.timestamp(), range.end.timestamp(), now.timestamp()], |row| record(row, now))?;
            rows.collect()
        })
        .context("reading bookings for the feed")
    }

    /// Confirms or declines a pending request, with its calendar write and
    /// the visitor's email, in one transaction. Anything else is left as it is.
    pub fn answer(&self, id: &str, answer: Answer, now: DateTime<Utc>) -> anyhow::Result<Answered> {
        self.write(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            expire_lapsed_requests(&tx, now)?;
            let status: Option<String> = tx
                .query_row("SELECT status FROM bookings WHERE id = ?1", [id], |row| {
                    row.get(0)
                })
                .optional()?;
            let Some(status) = status.and_then(|s| BookingStatus::parse(&s)) else {
                return Ok(Answered::NotFound);
            };
            if status != BookingStatus::Pending {
                return Ok(Answered::AlreadyClosed(status));
            }
            let (new_status, calendar, mail) = match answer {
                Answer::Confirm => (
                    BookingStatus::Confirmed,
                    Delivery::CONFIRM,
                    Mail::VisitorConfirmed,
                ),
                Answer::Decline => (
                    BookingStatus::Declined,
                    Delivery::RELEASE,
                    Mail::VisitorDeclined,
                ),
            };
            tx.execute(
                "UPDATE bookings SET status = ?2, expires_at = NULL WHERE id = ?1",
                params![id, new_status.as_str()],
            )?;
            enqueue(&tx, id, calendar, now)?;
            enqueue(&tx, id, mail.action(), now)?;
            tx.commit()?;
            Ok(Answered::Done(new_status))
        })
        .context("answering a request")
    }

    /// Expires every request past its time (releasing holds, telling visitors).
    pub fn expire_lapsed(&self, now: DateTime<Utc>) -> anyhow::Result<usize> {
        self.write(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let expired = expire_lapsed_requests(&tx, now)?;
            tx.commit()?;
            Ok(expired)
        })
        .context("expiring lapsed requests")
    }

    /// Requests waiting for the practice's answer, soonest first.
    pub fn pending_requests(&self, now: DateTime<Utc>) -> anyhow::Result<Vec<BookingRecord>> {
        self.read(|c| {
            let mut statement = c.prepare(&format!(
                "{RECORD} WHERE status = 'pending' AND (expires_at IS NULL OR expires_at > ?1) ORDER BY start_at"
            ))?;
            let rows = statement.query_map([now.timestamp()], |row| record(row, now))?;
            rows.collect()
        })
        .context("reading pending requests")
    }

    /// The booking's calendar state (for tests and operators).
    pub fn calendar_state(&self, booking_id: &str) -> anyhow::Result<Option<String>> {
        self.read(|c| {
            c.query_row(
                "SELECT calendar_state FROM bookings WHERE id = ?1",
                [booking_id],
                |row| row.get(0),
            )
            .optional()
        })
        .context("reading a calendar state")
    }
}

const RECORD: &str =
    "SELECT id, service, start_at, end_at, status, expires_at, client_name, client_email,
    client_phone, client_time_zone, note, locale, manage_token_hash, calendar_etag FROM bookings";

fn record(row: &rusqlite::Row<'_>, now: DateTime<Utc>) -> rusqlite::Result<BookingRecord> {
    let expires_at: Option<DateTime<Utc>> = row.get::<_, Option<i64>>(5)?.map(instant);
    let mut status =
        BookingStatus::parse(&row.get::<_, String>(4)?).unwrap_or(BookingStatus::Expired);
    if status == BookingStatus::Pending && expires_at.is_some_and(|t| t <= now) {
        status = BookingStatus::Expired;
    }
    let hash: Vec<u8> = row.get(12)?;
    Ok(BookingRecord {
        id: row.get(0)?,
        service: row.get(1)?,
        slot: Interval::new(instant(row.get(2)?), instant(row.get(3)?)),
        status,
        expires_at: expires_at.filter(|_| status == BookingStatus::Pending),
        client_name: row.get(6)?,
        client_email: row.get(7)?,
        client_phone: row.get(8)?,
        client_time_zone: row.get(9)?,
        note: row.get(10)?,
        locale: row.get(11)?,
        manage_token_hash: TokenHash(hash.try_into().unwrap_or([0; 32])),
        calendar_etag: row.get(13)?,
    })
}

fn enqueue(
    connection: &Connection,
    booking_id: &str,
    action: &str,
    now: DateTime<Utc>,
) -> rusqlite::Result<usize> {
    connection.execute(
        "INSERT INTO outbox (booking_id, action, next_attempt_at, created_at) VALUES (?1, ?2, ?3, ?3)",
        params![booking_id, action, now.timestamp()],
    )
}

fn connect(path: &Path) -> anyhow::Result<Connection> {
    let connection =
        Connection::open(path).with_context(|| format!("opening the store {}", path.display()))?;
    connection
        .execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA foreign_keys = ON;
             PRAGMA busy_timeout = 5000;",
        )
        .with_context(|| format!("configuring the store {}", path.display()))?;
    Ok(connection)
}

fn migrate(connection: &Connection) -> rusqlite::Result<()> {
    let done: usize = connection.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    for (version, step) in MIGRATIONS.iter().enumerate().skip(done) {
        connection.execute_batch(&format!(
            "BEGIN; {step}; PRAGMA user_version = {}; COMMIT;",
            version + 1
        ))?;
    }
    Ok(())
}

/// Pending requests past their expiry no longer hold their slot.
/// Pending requests past their expiry free their slot; the calendar hold is
/// released and the visitor told.
fn expire_lapsed_requests(connection: &Connection, now: DateTime<Utc>) -> rusqlite::Result<usize> {
    let lapsed: Vec<String> = connection
        .prepare_cached("SELECT id FROM bookings WHERE status = 'pending' AND expires_at <= ?1")?
        .query_map([now.timestamp()], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for id in &lapsed {
        connection.execute(
            "UPDATE bookings SET status = 'expired', expires_at = NULL WHERE id = ?1",
            [id],
        )?;
        enqueue(connection, id, Delivery::RELEASE, now)?;
        enqueue(connection, id, Mail::VisitorExpired.action(), now)?;
    }
    Ok(lapsed.len())
}

fn live_bookings(
    connection: &Connection,
    range: Interval,
    now: DateTime<Utc>,
) -> rusqlite::Result<Vec<Interval>> {
    let mut statement = connection.prepare_cached(
        "SELECT start_at, end_at FROM bookings
         WHERE start_at < ?2 AND end_at > ?1
           AND (status = 'confirmed' OR (status = 'pending' AND (expires_at IS NULL OR expires_at > ?3)))
         ORDER BY start_at",
    )?;
    let rows = statement.query_map(
        params![
            range.start.timestamp(),
            range.end.timestamp(),
            now.timestamp()
        ],
        |row| Ok(Interval::new(instant(row.get(0)?), instant(row.get(1)?))),
    )?;
    rows.collect()
}

fn finish_key(
    connection: &Connection,
    key: &IdempotencyKey,
    response: &StoredResponse,
) -> rusqlite::Result<usize> {
    connection.execute(
        "UPDATE idempotency_keys SET response_status = ?2, response_location = ?3, response_body = ?4 WHERE key = ?1",
        params![key.as_str(), response.status, response.location, response.body],
    )
}

fn booking(
    connection: &Connection,
    id: &str,
    now: DateTime<Utc>,
) -> rusqlite::Result<Option<BookingRecord>> {
    connection
        .query_row(&format!("{RECORD} WHERE id = ?1"), [id], |row| {
            record(row, now)
        })
        .optional()
}

fn instant(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap_or_default()
}
