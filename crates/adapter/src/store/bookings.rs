//! Bookings and their life: stored, answered, expired, cancelled, read.

use anyhow::Context;
use chrono::{DateTime, Utc};
use firststep_availability::Interval;
use firststep_protocol::visitor_fields::inert;
use firststep_protocol::BookingStatus;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::idempotency::finish_key;
use super::outbox::{enqueue, enqueue_carrying, Action, Mail};
use super::{instant, Store, StoredResponse};
use crate::domain::{BookingId, IdempotencyKey, TokenHash};

/// Who booked, as they told the practice (all personal data: never logged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visitor {
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    /// Their IANA zone, to write times back to them in it.
    pub time_zone: Option<String>,
    pub note: Option<String>,
    /// Their language tag, for their emails.
    pub locale: Option<String>,
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
    pub visitor: Visitor,
    pub manage_token_hash: TokenHash,
    /// The token, sealed for the visitor's first email (`crate::sealing`),
    /// held only until that email is sent; `None` when no email will be.
    pub first_mail_payload: Option<String>,
    /// The booking's own video room name, for a room per booking.
    pub room_token: Option<String>,
    /// The token sealed for the reminders' manage links, kept while the
    /// booking is live and ahead; `None` when no reminder will be sent.
    pub reminder_payload: Option<String>,
}

/// Whether [`Store::book`] stored the booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookOutcome {
    Booked,
    /// The slot is no longer offered (taken meanwhile, or never open).
    SlotUnavailable,
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
    pub visitor: Visitor,
    pub manage_token_hash: TokenHash,
    /// The calendar entry's tag, once placed.
    pub calendar_etag: Option<String>,
    /// The booking's own video room name, for a room per booking.
    pub room_token: Option<String>,
}

const RECORD: &str =
    "SELECT id, service, start_at, end_at, status, expires_at, client_name, client_email,
    client_phone, client_time_zone, note, locale, manage_token_hash, calendar_etag, room_token FROM bookings";

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
        // Rows stored by versions before the visitor-field rules may hold
        // control or bidi characters: made inert for every reader. Not the
        // address: changed, it could be someone else's (as stored, the mailer
        // refuses it and the outbox sets its email aside).
        visitor: Visitor {
            name: inert(&row.get::<_, String>(6)?),
            email: row.get(7)?,
            phone: row.get::<_, Option<String>>(8)?.as_deref().map(inert),
            time_zone: row.get(9)?,
            note: row.get::<_, Option<String>>(10)?.as_deref().map(inert),
            locale: row.get(11)?,
        },
        manage_token_hash: TokenHash(hash.try_into().unwrap_or([0; 32])),
        calendar_etag: row.get(13)?,
        room_token: row.get(14)?,
    })
}

/// Cancels the booking if it is live (pending or confirmed) and queues the
/// release of its calendar hold; whether it was live. Who is told is the
/// caller's choice.
pub(super) fn cancel_live(
    connection: &Connection,
    id: &str,
    now: DateTime<Utc>,
) -> rusqlite::Result<bool> {
    let cancelled = connection.execute(
        "UPDATE bookings SET status = 'cancelled', expires_at = NULL, closed_at = ?2
         WHERE id = ?1 AND status IN ('pending', 'confirmed')",
        params![id, now.timestamp()],
    )?;
    if cancelled > 0 {
        enqueue(connection, id, Action::Release, now)?;
    }
    Ok(cancelled > 0)
}

/// Pending requests past their expiry free their slot; the calendar hold is
/// released and the visitor told.
pub(super) fn expire_lapsed_requests(
    connection: &Connection,
    now: DateTime<Utc>,
) -> rusqlite::Result<usize> {
    let lapsed: Vec<String> = connection
        .prepare_cached("SELECT id FROM bookings WHERE status = 'pending' AND expires_at <= ?1")?
        .query_map([now.timestamp()], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for id in &lapsed {
        connection.execute(
            "UPDATE bookings SET status = 'expired', expires_at = NULL, closed_at = ?2 WHERE id = ?1",
            params![id, now.timestamp()],
        )?;
        enqueue(connection, id, Action::Release, now)?;
        enqueue(connection, id, Action::Send(Mail::VisitorExpired), now)?;
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

impl Store {
    /// Live bookings (pending and confirmed) that overlap `range`, of any service.
    pub fn live_bookings(
        &self,
        range: Interval,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Vec<Interval>> {
        self.read(|c| live_bookings(c, range, now))
            .context("reading live bookings")
    }

    /// Stores `booking` and the key's response in one transaction, if
    /// `is_offered` — asked with the live bookings in `around` (the span that
    /// bears on the slot), inside the write lock — still says the slot is
    /// bookable. Nothing is half-written.
    pub fn book(
        &self,
        booking: &NewBooking,
        around: Interval,
        key: &IdempotencyKey,
        response: &StoredResponse,
        is_offered: impl FnOnce(&[Interval]) -> bool,
    ) -> anyhow::Result<BookOutcome> {
        self.write(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            expire_lapsed_requests(&tx, booking.created_at)?;
            if !is_offered(&live_bookings(&tx, around, booking.created_at)?) {
                return Ok(BookOutcome::SlotUnavailable);
            }
            let inserted = tx.execute(
                "INSERT INTO bookings (id, service, start_at, end_at, status, created_at, expires_at,
                    client_name, client_email, client_phone, client_time_zone, note, manage_token_hash, locale,
                    room_token, confirmed_at, reminder_token)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
                params![
                    booking.id.as_str(),
                    booking.service,
                    booking.slot.start.timestamp(),
                    booking.slot.end.timestamp(),
                    booking.status.as_str(),
                    booking.created_at.timestamp(),
                    booking.expires_at.map(|t| t.timestamp()),
                    booking.visitor.name,
                    booking.visitor.email,
                    booking.visitor.phone,
                    booking.visitor.time_zone,
                    booking.visitor.note,
                    booking.manage_token_hash.0.as_slice(),
                    booking.visitor.locale,
                    booking.room_token,
                    (booking.status == BookingStatus::Confirmed).then_some(booking.created_at.timestamp()),
                    booking.reminder_payload,
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
            enqueue(&tx, booking.id.as_str(), Action::Place, booking.created_at)?;
            let (to_practice, to_visitor) = match booking.status {
                BookingStatus::Confirmed => (Mail::PracticeBooked, Mail::VisitorConfirmed),
                _ => (Mail::PracticeRequest, Mail::VisitorReceived),
            };
            enqueue(&tx, booking.id.as_str(), Action::Send(to_practice), booking.created_at)?;
            // The visitor's first email carries their manage link: the token
            // waits here, sealed, and only here, until it is sent.
            enqueue_carrying(
                &tx,
                booking.id.as_str(),
                Action::Send(to_visitor),
                booking.created_at,
                booking.first_mail_payload.as_deref(),
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
            if cancel_live(&tx, id.as_str(), now)? {
                enqueue(&tx, id.as_str(), Action::Send(Mail::PracticeCancelled), now)?;
            }
            let found = booking(&tx, id.as_str(), now)?;
            tx.commit()?;
            Ok(found)
        })
        .context("cancelling a booking")
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
                    Action::Confirm,
                    Mail::VisitorConfirmed,
                ),
                Answer::Decline => (
                    BookingStatus::Declined,
                    Action::Release,
                    Mail::VisitorDeclined,
                ),
            };
            // A confirmed booking's reminders count from now (`reminders.rs`).
            tx.execute(
                "UPDATE bookings SET status = ?2, expires_at = NULL, closed_at = ?3, confirmed_at = ?4
                 WHERE id = ?1",
                params![
                    id,
                    new_status.as_str(),
                    (!new_status.holds_slot()).then_some(now.timestamp()),
                    (new_status == BookingStatus::Confirmed).then_some(now.timestamp()),
                ],
            )?;
            enqueue(&tx, id, calendar, now)?;
            enqueue(&tx, id, Action::Send(mail), now)?;
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
}
