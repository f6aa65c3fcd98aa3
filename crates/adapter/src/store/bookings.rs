//! Bookings and their life: stored, answered, expired, cancelled, read.

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use firststep_availability::Interval;
use firststep_protocol::visitor_fields::inert;
use firststep_protocol::BookingStatus;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::idempotency::finish_key;
use super::outbox::{enqueue, enqueue_carrying, Action, Mail};
use super::{instant, Sqlite, StoredResponse};
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
    /// Whom it may be with, in the practice's order: the clinician the
    /// visitor chose, or each one offering the service ("first available");
    /// empty in a practice without clinicians.
    pub candidates: Vec<String>,
    /// The week of its start (Monday to Sunday in the practice's zone): a
    /// first-available booking goes to the candidate with the fewest live
    /// bookings starting in it.
    pub week: Interval,
    /// How long after its end no other booking of the clinician may start
    /// in any order of booking: the shorter of the practice's buffers (the
    /// PostgreSQL store's constraint holds it; SQLite's single writer
    /// checks each booking against the ones before it).
    pub clear_after: Duration,
    /// The token sealed for the reminders' manage links, kept while the
    /// booking is live and ahead; `None` when no reminder will be sent.
    pub reminder_payload: Option<String>,
}

/// Whether [`Store::book`] stored the booking.
#[derive(Debug, Clone)]
pub enum BookOutcome {
    /// Stored, with the key's response (naming whom it is with).
    Booked(StoredResponse),
    /// The slot is no longer offered (taken meanwhile, or never open).
    SlotUnavailable,
}

/// A visitor's move of their booking to another slot.
#[derive(Debug, Clone)]
pub struct Reschedule {
    pub id: BookingId,
    pub slot: Interval,
    /// The span whose bookings bear on `slot` (buffers, the daily cap).
    pub around: Interval,
    pub now: DateTime<Utc>,
    /// No change once the booking starts within this long (`services.change_until_hours`).
    pub change_until: Duration,
    /// A confirmed booking stays confirmed (`services.reschedule = "instant"`);
    /// otherwise it becomes a request again.
    pub confirmed_stays: bool,
    /// When the request this move leaves (if it leaves one) lapses unanswered.
    pub request_expires_at: DateTime<Utc>,
}

/// Whether a booking starting at `start` may still be moved by its visitor
/// at `now`: until `change_until` before it starts.
pub fn may_change(start: DateTime<Utc>, change_until: Duration, now: DateTime<Utc>) -> bool {
    start
        .checked_sub_signed(change_until)
        .is_some_and(|last_chance| now < last_chance)
}

/// What [`Store::reschedule`] did.
#[derive(Debug, Clone)]
pub enum RescheduleOutcome {
    /// Moved (or already at that time), as it now stands.
    Moved(Box<BookingRecord>),
    NotFound,
    /// No longer live: declined, cancelled or expired.
    Closed,
    /// It starts too soon to be changed; the booking is untouched.
    WindowClosed,
    /// The new slot is not offered (taken meanwhile); the booking is untouched.
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
    /// The visitor moved it since the answer's link was made.
    Moved,
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
    /// How many times the visitor moved it: the practice's links are signed
    /// for one version.
    pub version: u32,
    /// Where the latest move took it from.
    pub moved_from: Option<DateTime<Utc>>,
    /// The clinician's id, in a group practice.
    pub clinician: Option<String>,
}

/// A booking's columns, in the order of [`StoredBooking`]'s fields.
pub(super) const RECORD: &str =
    "SELECT id, service, start_at, end_at, status, expires_at, client_name, client_email,
    client_phone, client_time_zone, note, locale, manage_token_hash, calendar_etag, room_token,
    version, moved_from, clinician FROM bookings";

/// A booking's row as either backend reads it ([`RECORD`]), before it is
/// read as of a time.
pub(super) struct StoredBooking {
    pub id: String,
    pub service: String,
    pub start_at: i64,
    pub end_at: i64,
    pub status: String,
    pub expires_at: Option<i64>,
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    pub time_zone: Option<String>,
    pub note: Option<String>,
    pub locale: Option<String>,
    pub manage_token_hash: Vec<u8>,
    pub calendar_etag: Option<String>,
    pub room_token: Option<String>,
    pub version: u32,
    pub moved_from: Option<i64>,
    pub clinician: Option<String>,
}

impl StoredBooking {
    /// The booking as of `now`: a pending request past its expiry reads as expired.
    pub(super) fn read_at(self, now: DateTime<Utc>) -> BookingRecord {
        let expires_at = self.expires_at.map(instant);
        let mut status = BookingStatus::parse(&self.status).unwrap_or(BookingStatus::Expired);
        if status == BookingStatus::Pending && expires_at.is_some_and(|t| t <= now) {
            status = BookingStatus::Expired;
        }
        BookingRecord {
            id: self.id,
            service: self.service,
            slot: Interval::new(instant(self.start_at), instant(self.end_at)),
            status,
            expires_at: expires_at.filter(|_| status == BookingStatus::Pending),
            // Rows stored by versions before the visitor-field rules may hold
            // control or bidi characters: made inert for every reader. Not the
            // address: changed, it could be someone else's (as stored, the mailer
            // refuses it and the outbox sets its email aside).
            visitor: Visitor {
                name: inert(&self.name),
                email: self.email,
                phone: self.phone.as_deref().map(inert),
                time_zone: self.time_zone,
                note: self.note.as_deref().map(inert),
                locale: self.locale,
            },
            manage_token_hash: TokenHash(self.manage_token_hash.try_into().unwrap_or([0; 32])),
            calendar_etag: self.calendar_etag,
            room_token: self.room_token,
            version: self.version,
            moved_from: self.moved_from.map(instant),
            clinician: self.clinician,
        }
    }
}

fn record(row: &rusqlite::Row<'_>, now: DateTime<Utc>) -> rusqlite::Result<BookingRecord> {
    let stored = StoredBooking {
        id: row.get(0)?,
        service: row.get(1)?,
        start_at: row.get(2)?,
        end_at: row.get(3)?,
        status: row.get(4)?,
        expires_at: row.get(5)?,
        name: row.get(6)?,
        email: row.get(7)?,
        phone: row.get(8)?,
        time_zone: row.get(9)?,
        note: row.get(10)?,
        locale: row.get(11)?,
        manage_token_hash: row.get(12)?,
        calendar_etag: row.get(13)?,
        room_token: row.get(14)?,
        version: row.get(15)?,
        moved_from: row.get(16)?,
        clinician: row.get(17)?,
    };
    Ok(stored.read_at(now))
}

/// Whom a new booking's emails go to: the practice's, then the visitor's.
pub(super) fn first_mails(status: BookingStatus) -> (Mail, Mail) {
    match status {
        BookingStatus::Confirmed => (Mail::PracticeBooked, Mail::VisitorConfirmed),
        _ => (Mail::PracticeRequest, Mail::VisitorReceived),
    }
}

/// Why the booking that is `before` cannot move as `change` asks, if it
/// cannot: no longer live, or too close to its start.
pub(super) fn move_refused(
    before: &BookingRecord,
    change: &Reschedule,
    now: DateTime<Utc>,
) -> Option<RescheduleOutcome> {
    if !before.status.holds_slot() {
        return Some(RescheduleOutcome::Closed);
    }
    (!may_change(before.slot.start, change.change_until, now))
        .then_some(RescheduleOutcome::WindowClosed)
}

/// What a move makes of a booking that was `before`: its status and when a
/// request it leaves lapses, and its emails (the practice's, the visitor's).
pub(super) fn moved(
    before: BookingStatus,
    change: &Reschedule,
) -> (BookingStatus, Option<DateTime<Utc>>, Mail, Mail) {
    match before {
        BookingStatus::Confirmed if change.confirmed_stays => (
            BookingStatus::Confirmed,
            None,
            Mail::PracticeMoved,
            Mail::VisitorMoved,
        ),
        _ => (
            BookingStatus::Pending,
            Some(change.request_expires_at),
            Mail::PracticeMovedRequest,
            Mail::VisitorMovedRequest,
        ),
    }
}

/// What answering a request `found` as (status, version) makes of it: its
/// new status, the calendar write and the visitor's email; or, when it
/// does not stand as a pending request at `version` (when given), why not.
pub(super) fn answered(
    found: Option<(BookingStatus, u32)>,
    version: Option<u32>,
    answer: Answer,
) -> Result<(BookingStatus, Action, Mail), Answered> {
    let Some((status, current)) = found else {
        return Err(Answered::NotFound);
    };
    if status != BookingStatus::Pending {
        return Err(Answered::AlreadyClosed(status));
    }
    if version.is_some_and(|v| v != current) {
        return Err(Answered::Moved);
    }
    Ok(match answer {
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
    })
}

/// Cancels the booking if it is live (pending or confirmed) and queues the
/// release of its calendar hold; whether it was live. Who is told is the
/// caller's choice.
pub(super) fn cancel_live(
    connection: &Connection,
    practice: &str,
    id: &str,
    now: DateTime<Utc>,
) -> rusqlite::Result<bool> {
    let cancelled = connection.execute(
        "UPDATE bookings SET status = 'cancelled', expires_at = NULL, closed_at = ?2
         WHERE id = ?1 AND practice = ?3 AND status IN ('pending', 'confirmed')",
        params![id, now.timestamp(), practice],
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

/// Live bookings overlapping `range`, but the booking `except` (one being
/// moved does not stand in its own way); when `with` names a clinician, only
/// theirs and those with no clinician (made before the practice listed
/// clinicians: they hold the whole practice's time).
fn live_bookings(
    connection: &Connection,
    practice: &str,
    range: Interval,
    now: DateTime<Utc>,
    except: Option<&str>,
    with: Option<&str>,
) -> rusqlite::Result<Vec<Interval>> {
    let mut statement = connection.prepare_cached(
        "SELECT start_at, end_at FROM bookings
         WHERE practice = ?6 AND start_at < ?2 AND end_at > ?1
           AND (status = 'confirmed' OR (status = 'pending' AND (expires_at IS NULL OR expires_at > ?3)))
           AND id IS NOT ?4
           AND (?5 IS NULL OR clinician = ?5 OR clinician IS NULL)
         ORDER BY start_at",
    )?;
    let rows = statement.query_map(
        params![
            range.start.timestamp(),
            range.end.timestamp(),
            now.timestamp(),
            except,
            with,
            practice
        ],
        |row| Ok(Interval::new(instant(row.get(0)?), instant(row.get(1)?))),
    )?;
    rows.collect()
}

fn booking(
    connection: &Connection,
    practice: &str,
    id: &str,
    now: DateTime<Utc>,
) -> rusqlite::Result<Option<BookingRecord>> {
    connection
        .query_row(
            &format!("{RECORD} WHERE id = ?1 AND practice = ?2"),
            [id, practice],
            |row| record(row, now),
        )
        .optional()
}

/// How many live bookings the clinician `with` has starting in `week`.
fn live_bookings_starting(
    connection: &Connection,
    practice: &str,
    with: &str,
    week: Interval,
    now: DateTime<Utc>,
) -> rusqlite::Result<u32> {
    connection
        .prepare_cached(
            "SELECT COUNT(*) FROM bookings
             WHERE practice = ?5 AND clinician = ?1 AND start_at >= ?2 AND start_at < ?3
               AND (status = 'confirmed' OR (status = 'pending' AND (expires_at IS NULL OR expires_at > ?4)))",
        )?
        .query_row(
            params![with, week.start.timestamp(), week.end.timestamp(), now.timestamp(), practice],
            |row| row.get(0),
        )
}

/// What [`assign`] asks of a backend, inside its booking transaction.
pub(super) trait Schedule {
    type Error;
    /// Live bookings in the span that bears on the slot: the clinician
    /// `with`'s (and those with none, [`live_bookings`]), or all.
    fn live(&mut self, with: Option<&str>) -> Result<Vec<Interval>, Self::Error>;
    /// How many live bookings the clinician `with` has starting in the booking's week.
    fn load(&mut self, with: &str) -> Result<u32, Self::Error>;
}

/// Whom `booking` goes to, asked inside the booking's transaction: of its
/// candidates free at its start (`is_offered` with their own live
/// bookings), the one with the fewest live bookings that week, ties to the
/// earlier in the practice's order. `Some(None)`: a practice without
/// clinicians, whose slot is free; `None`: nobody is free.
pub(super) fn assign<S: Schedule>(
    schedule: &mut S,
    booking: &NewBooking,
    is_offered: impl Fn(Option<&str>, &[Interval]) -> bool,
) -> Result<Option<Option<String>>, S::Error> {
    if booking.candidates.is_empty() {
        let free = is_offered(None, &schedule.live(None)?);
        return Ok(free.then_some(None));
    }
    let mut chosen: Option<(u32, &str)> = None;
    for candidate in &booking.candidates {
        if !is_offered(Some(candidate), &schedule.live(Some(candidate))?) {
            continue;
        }
        let load = schedule.load(candidate)?;
        if chosen.is_none_or(|(least, _)| load < least) {
            chosen = Some((load, candidate));
        }
    }
    Ok(chosen.map(|(_, id)| Some(id.to_owned())))
}

/// The SQLite store's answers to [`assign`], in its write transaction.
struct SqliteSchedule<'a> {
    connection: &'a Connection,
    practice: &'a str,
    booking: &'a NewBooking,
    around: Interval,
}

impl Schedule for SqliteSchedule<'_> {
    type Error = rusqlite::Error;
    fn live(&mut self, with: Option<&str>) -> rusqlite::Result<Vec<Interval>> {
        let now = self.booking.created_at;
        live_bookings(self.connection, self.practice, self.around, now, None, with)
    }
    fn load(&mut self, with: &str) -> rusqlite::Result<u32> {
        let (week, now) = (self.booking.week, self.booking.created_at);
        live_bookings_starting(self.connection, self.practice, with, week, now)
    }
}

impl Sqlite {
    /// Live bookings (pending and confirmed) that overlap `range`, of any
    /// service, but the booking `except` (the one a visitor is moving); only
    /// those bearing on the clinician `with`, when given ([`live_bookings`]).
    pub fn live_bookings(
        &self,
        practice: &str,
        range: Interval,
        now: DateTime<Utc>,
        except: Option<&str>,
        with: Option<&str>,
    ) -> anyhow::Result<Vec<Interval>> {
        self.read(|c| live_bookings(c, practice, range, now, except, with))
            .context("reading live bookings")
    }

    /// Stores `booking` and the key's response in one transaction, if
    /// `is_offered` — asked for a clinician (or the practice, `None`) with
    /// their live bookings in `around` (the span that bears on the slot),
    /// inside the write lock — still says the slot is bookable; a booking
    /// with several candidates goes to one of them ([`assign`]), and
    /// `response` is made for whom. Nothing is half-written.
    pub fn book(
        &self,
        practice: &str,
        booking: &NewBooking,
        around: Interval,
        key: &IdempotencyKey,
        response: impl FnOnce(Option<&str>) -> StoredResponse,
        is_offered: impl Fn(Option<&str>, &[Interval]) -> bool,
    ) -> anyhow::Result<BookOutcome> {
        self.write(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            expire_lapsed_requests(&tx, booking.created_at)?;
            let mut schedule = SqliteSchedule {
                connection: &tx,
                practice,
                booking,
                around,
            };
            let Some(clinician) = assign(&mut schedule, booking, is_offered)? else {
                return Ok(BookOutcome::SlotUnavailable);
            };
            let inserted = tx.execute(
                "INSERT INTO bookings (id, service, start_at, end_at, status, created_at, expires_at,
                    client_name, client_email, client_phone, client_time_zone, note, manage_token_hash, locale,
                    room_token, confirmed_at, reminder_token, clinician, practice)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
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
                    clinician,
                    practice,
                ],
            );
            match inserted {
                // The unique index is the last word on double booking.
                Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::ConstraintViolation => {
                    return Ok(BookOutcome::SlotUnavailable)
                }
                other => other?,
            };
            let response = response(clinician.as_deref());
            finish_key(&tx, practice, key, &response)?;
            enqueue(&tx, booking.id.as_str(), Action::Place, booking.created_at)?;
            let (to_practice, to_visitor) = first_mails(booking.status);
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
            Ok(BookOutcome::Booked(response))
        })
        .context("storing a booking")
    }

    /// Moves a live booking to `change.slot` in one transaction: the new
    /// slot is checked and taken before the old one is let go, so a move
    /// either happens whole (calendar move and emails queued, the key's
    /// response stored) or leaves the booking as it was. `response` is the
    /// key's answer for the moved booking. It stays with its clinician:
    /// `is_offered` is asked for them, with their own live bookings.
    pub fn reschedule(
        &self,
        practice: &str,
        change: &Reschedule,
        key: &IdempotencyKey,
        response: impl FnOnce(&BookingRecord) -> StoredResponse,
        is_offered: impl FnOnce(Option<&str>, &[Interval]) -> bool,
    ) -> anyhow::Result<RescheduleOutcome> {
        let (id, now) = (change.id.as_str(), change.now);
        self.write(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            expire_lapsed_requests(&tx, now)?;
            let Some(before) = booking(&tx, practice, id, now)? else {
                return Ok(RescheduleOutcome::NotFound);
            };
            if let Some(refused) = move_refused(&before, change, now) {
                return Ok(refused);
            }
            if before.slot.start == change.slot.start {
                // Already there: nothing moves, nobody is told.
                finish_key(&tx, practice, key, &response(&before))?;
                tx.commit()?;
                return Ok(RescheduleOutcome::Moved(Box::new(before)));
            }
            let with = before.clinician.as_deref();
            if !is_offered(
                with,
                &live_bookings(&tx, practice, change.around, now, Some(id), with)?,
            ) {
                return Ok(RescheduleOutcome::SlotUnavailable);
            }
            let (status, expires_at, to_practice, to_visitor) = moved(before.status, change);
            let moved = tx.execute(
                // Confirmed for the new time now (so no reminder whose moment
                // passed before the move); a request is, once the practice answers.
                "UPDATE bookings SET start_at = ?2, end_at = ?3, status = ?4, expires_at = ?5,
                    version = version + 1, moved_from = start_at, confirmed_at = ?6
                 WHERE id = ?1 AND practice = ?7 AND status IN ('pending', 'confirmed')",
                params![
                    id,
                    change.slot.start.timestamp(),
                    change.slot.end.timestamp(),
                    status.as_str(),
                    expires_at.map(|t| t.timestamp()),
                    (status == BookingStatus::Confirmed).then_some(now.timestamp()),
                    practice,
                ],
            );
            match moved {
                // The unique index is the last word on double booking.
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    return Ok(RescheduleOutcome::SlotUnavailable)
                }
                other => other?,
            };
            let Some(after) = booking(&tx, practice, id, now)? else {
                return Ok(RescheduleOutcome::NotFound);
            };
            finish_key(&tx, practice, key, &response(&after))?;
            enqueue(&tx, id, Action::Move, now)?;
            enqueue(&tx, id, Action::Send(to_practice), now)?;
            enqueue(&tx, id, Action::Send(to_visitor), now)?;
            tx.commit()?;
            Ok(RescheduleOutcome::Moved(Box::new(after)))
        })
        .context("moving a booking")
    }

    /// One booking, with its status as of `now`.
    pub fn booking(
        &self,
        practice: &str,
        id: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<BookingRecord>> {
        self.read(|c| booking(c, practice, id, now))
            .context("reading a booking")
    }

    /// Cancels a live booking; a booking no longer live is left as it is.
    pub fn cancel(
        &self,
        practice: &str,
        id: &BookingId,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<BookingRecord>> {
        self.write(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            expire_lapsed_requests(&tx, now)?;
            if cancel_live(&tx, practice, id.as_str(), now)? {
                enqueue(&tx, id.as_str(), Action::Send(Mail::PracticeCancelled), now)?;
            }
            let found = booking(&tx, practice, id.as_str(), now)?;
            tx.commit()?;
            Ok(found)
        })
        .context("cancelling a booking")
    }

    /// Live bookings (pending and confirmed) starting in `range`, for the practice's feed.
    pub fn feed_bookings(
        &self,
        practice: &str,
        range: Interval,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Vec<BookingRecord>> {
        self.read(|c| {
            let mut statement = c.prepare_cached(&format!(
                "{RECORD} WHERE practice = ?4 AND start_at >= ?1 AND start_at < ?2
                   AND (status = 'confirmed' OR (status = 'pending' AND (expires_at IS NULL OR expires_at > ?3)))
                 ORDER BY start_at"
            ))?;
            let rows = statement
                .query_map(params![range.start.timestamp(), range.end.timestamp(), now.timestamp(), practice], |row| record(row, now))?;
            rows.collect()
        })
        .context("reading bookings for the feed")
    }

    /// Confirms or declines a pending request, with its calendar write and
    /// the visitor's email, in one transaction. Anything else is left as it is.
    pub fn answer(
        &self,
        practice: &str,
        id: &str,
        answer: Answer,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Answered> {
        self.answer_as_of(practice, id, None, answer, now)
    }

    /// As [`Store::answer`], but only if the request still stands at
    /// `version` (when given): an answer to a time the visitor moved away
    /// from changes nothing.
    pub fn answer_as_of(
        &self,
        practice: &str,
        id: &str,
        version: Option<u32>,
        answer: Answer,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Answered> {
        self.write(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            expire_lapsed_requests(&tx, now)?;
            let found: Option<(String, u32)> = tx
                .query_row(
                    "SELECT status, version FROM bookings WHERE id = ?1 AND practice = ?2",
                    [id, practice],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()?;
            let found = found.and_then(|(s, v)| Some((BookingStatus::parse(&s)?, v)));
            let (new_status, calendar, mail) = match answered(found, version, answer) {
                Ok(change) => change,
                Err(unchanged) => return Ok(unchanged),
            };
            // A confirmed booking's reminders count from now (`reminders.rs`).
            tx.execute(
                "UPDATE bookings SET status = ?2, expires_at = NULL, closed_at = ?3, confirmed_at = ?4
                 WHERE id = ?1 AND practice = ?5",
                params![
                    id,
                    new_status.as_str(),
                    (!new_status.holds_slot()).then_some(now.timestamp()),
                    (new_status == BookingStatus::Confirmed).then_some(now.timestamp()),
                    practice,
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
    pub fn pending_requests(
        &self,
        practice: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Vec<BookingRecord>> {
        self.read(|c| {
            let mut statement = c.prepare(&format!(
                "{RECORD} WHERE practice = ?2 AND status = 'pending' AND (expires_at IS NULL OR expires_at > ?1) ORDER BY start_at"
            ))?;
            let rows = statement.query_map(params![now.timestamp(), practice], |row| record(row, now))?;
            rows.collect()
        })
        .context("reading pending requests")
    }
}
