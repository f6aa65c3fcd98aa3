//! Bookings in PostgreSQL: stored under the day locks, with the exclusion
//! constraint as the last word on double booking.

use anyhow::Context;
use chrono::{DateTime, Utc};
use firststep_availability::Interval;
use firststep_protocol::BookingStatus;
use postgres::error::SqlState;
use postgres::{GenericClient, Transaction};

use super::outbox::enqueue;
use super::{lock_days, Postgres};
use crate::domain::{BookingId, IdempotencyKey};
use crate::store::bookings::{
    answered, assign, first_mails, move_refused, moved, Schedule, StoredBooking, RECORD,
};
use crate::store::outbox::{Action, Mail};
use crate::store::{
    instant, Answer, Answered, BookOutcome, BookingRecord, NewBooking, Reschedule,
    RescheduleOutcome, StoredResponse,
};

/// Live bookings overlapping `range`, but `except`; when `with` names a
/// clinician, only theirs and those with none (as the SQLite store's).
fn live_bookings(
    client: &mut impl GenericClient,
    practice: &str,
    range: Interval,
    now: DateTime<Utc>,
    except: Option<&str>,
    with: Option<&str>,
) -> Result<Vec<Interval>, postgres::Error> {
    let rows = client.query(
        "SELECT start_at, end_at FROM bookings
         WHERE practice = $6 AND start_at < $2 AND end_at > $1
           AND (status = 'confirmed' OR (status = 'pending' AND (expires_at IS NULL OR expires_at > $3)))
           AND id IS DISTINCT FROM $4
           AND ($5::text IS NULL OR clinician = $5 OR clinician IS NULL)
         ORDER BY start_at",
        &[&range.start.timestamp(), &range.end.timestamp(), &now.timestamp(), &except, &with, &practice],
    )?;
    Ok(rows
        .iter()
        .map(|row| Interval::new(instant(row.get(0)), instant(row.get(1))))
        .collect())
}

fn record(row: &postgres::Row, now: DateTime<Utc>) -> BookingRecord {
    StoredBooking {
        id: row.get(0),
        service: row.get(1),
        start_at: row.get(2),
        end_at: row.get(3),
        status: row.get(4),
        expires_at: row.get(5),
        name: row.get(6),
        email: row.get(7),
        phone: row.get(8),
        time_zone: row.get(9),
        note: row.get(10),
        locale: row.get(11),
        manage_token_hash: row.get(12),
        calendar_etag: row.get(13),
        room_token: row.get(14),
        version: u32::try_from(row.get::<_, i32>(15)).unwrap_or(0),
        moved_from: row.get(16),
        clinician: row.get(17),
    }
    .read_at(now)
}

fn booking(
    client: &mut impl GenericClient,
    practice: &str,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Option<BookingRecord>, postgres::Error> {
    let row = client.query_opt(
        &format!("{RECORD} WHERE id = $1 AND practice = $2"),
        &[&id, &practice],
    )?;
    Ok(row.map(|row| record(&row, now)))
}

/// Cancels the booking if it is live and queues the release of its
/// calendar hold; whether it was live.
pub(super) fn cancel_live(
    tx: &mut Transaction<'_>,
    practice: &str,
    id: &str,
    now: DateTime<Utc>,
) -> Result<bool, postgres::Error> {
    let cancelled = tx.execute(
        "UPDATE bookings SET status = 'cancelled', expires_at = NULL, closed_at = $2
         WHERE id = $1 AND practice = $3 AND status IN ('pending', 'confirmed')",
        &[&id, &now.timestamp(), &practice],
    )?;
    if cancelled > 0 {
        enqueue(tx, id, Action::Release, now, None)?;
    }
    Ok(cancelled > 0)
}

/// Pending requests past their expiry free their slot; the calendar hold is
/// released and the visitor told.
pub(super) fn expire_lapsed_requests(
    tx: &mut Transaction<'_>,
    now: DateTime<Utc>,
) -> Result<usize, postgres::Error> {
    let lapsed = tx.query(
        "UPDATE bookings SET status = 'expired', expires_at = NULL, closed_at = $1
         WHERE status = 'pending' AND expires_at <= $1 RETURNING id",
        &[&now.timestamp()],
    )?;
    for row in &lapsed {
        let id: &str = row.get(0);
        enqueue(tx, id, Action::Release, now, None)?;
        enqueue(tx, id, Action::Send(Mail::VisitorExpired), now, None)?;
    }
    Ok(lapsed.len())
}

/// The PostgreSQL store's answers to [`assign`], in its booking transaction.
struct PostgresSchedule<'a, 't> {
    tx: &'a mut Transaction<'t>,
    practice: &'a str,
    booking: &'a NewBooking,
    around: Interval,
}

impl Schedule for PostgresSchedule<'_, '_> {
    type Error = postgres::Error;
    fn live(&mut self, with: Option<&str>) -> Result<Vec<Interval>, postgres::Error> {
        let now = self.booking.created_at;
        live_bookings(self.tx, self.practice, self.around, now, None, with)
    }
    fn load(&mut self, with: &str) -> Result<u32, postgres::Error> {
        let (week, now) = (self.booking.week, self.booking.created_at);
        let count: i64 = self
            .tx
            .query_one(
                "SELECT COUNT(*) FROM bookings
                 WHERE practice = $5 AND clinician = $1 AND start_at >= $2 AND start_at < $3
                   AND (status = 'confirmed' OR (status = 'pending' AND (expires_at IS NULL OR expires_at > $4)))",
                &[&with, &week.start.timestamp(), &week.end.timestamp(), &now.timestamp(), &self.practice],
            )?
            .get(0);
        Ok(u32::try_from(count).unwrap_or(u32::MAX))
    }
}

impl Postgres {
    /// As the SQLite store's [`crate::store::Store::live_bookings`].
    pub(crate) fn live_bookings(
        &self,
        practice: &str,
        range: Interval,
        now: DateTime<Utc>,
        except: Option<&str>,
        with: Option<&str>,
    ) -> anyhow::Result<Vec<Interval>> {
        self.with(|c| live_bookings(c, practice, range, now, except, with))
            .context("reading live bookings")
    }

    /// As the SQLite store's [`crate::store::Store::book`]: the checks run
    /// under the locks of the days `around` touches, so a booking on a
    /// nearby time (buffers, the daily cap) made by another replica is seen
    /// or waits; the exclusion constraint refuses an overlap whatever
    /// happens. Nothing is half-written.
    pub(crate) fn book(
        &self,
        practice: &str,
        booking: &NewBooking,
        around: Interval,
        key: &IdempotencyKey,
        response: impl FnOnce(Option<&str>) -> StoredResponse,
        is_offered: impl Fn(Option<&str>, &[Interval]) -> bool,
    ) -> anyhow::Result<BookOutcome> {
        self.with(|c| {
            let mut tx = c.transaction()?;
            lock_days(&mut tx, practice, around)?;
            expire_lapsed_requests(&mut tx, booking.created_at)?;
            let mut schedule = PostgresSchedule {
                tx: &mut tx,
                practice,
                booking,
                around,
            };
            let Some(clinician) = assign(&mut schedule, booking, is_offered)? else {
                return Ok(BookOutcome::SlotUnavailable);
            };
            let visitor = &booking.visitor;
            let inserted = tx.execute(
                "INSERT INTO bookings (id, service, start_at, end_at, clear_after, status, created_at,
                    expires_at, client_name, client_email, client_phone, client_time_zone, note,
                    manage_token_hash, locale, room_token, confirmed_at, reminder_token, clinician,
                    practice)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)",
                &[
                    &booking.id.as_str(),
                    &booking.service,
                    &booking.slot.start.timestamp(),
                    &booking.slot.end.timestamp(),
                    &booking.clear_after.num_seconds().max(0),
                    &booking.status.as_str(),
                    &booking.created_at.timestamp(),
                    &booking.expires_at.map(|t| t.timestamp()),
                    &visitor.name,
                    &visitor.email,
                    &visitor.phone,
                    &visitor.time_zone,
                    &visitor.note,
                    &booking.manage_token_hash.0.as_slice(),
                    &visitor.locale,
                    &booking.room_token,
                    &(booking.status == BookingStatus::Confirmed)
                        .then_some(booking.created_at.timestamp()),
                    &booking.reminder_payload,
                    &clinician,
                    &practice,
                ],
            );
            match inserted {
                // The exclusion constraint is the last word on double booking.
                Err(e) if e.code() == Some(&SqlState::EXCLUSION_VIOLATION) => {
                    return Ok(BookOutcome::SlotUnavailable)
                }
                other => other?,
            };
            let response = response(clinician.as_deref());
            super::idempotency::finish_key(&mut tx, practice, key, &response)?;
            let (id, at) = (booking.id.as_str(), booking.created_at);
            enqueue(&mut tx, id, Action::Place, at, None)?;
            let (to_practice, to_visitor) = first_mails(booking.status);
            enqueue(&mut tx, id, Action::Send(to_practice), at, None)?;
            // The visitor's first email carries their manage link (sealed).
            let payload = booking.first_mail_payload.as_deref();
            enqueue(&mut tx, id, Action::Send(to_visitor), at, payload)?;
            tx.commit()?;
            Ok(BookOutcome::Booked(response))
        })
        .context("storing a booking")
    }

    /// As the SQLite store's [`crate::store::Store::reschedule`], under the
    /// locks of the days the new slot's span touches.
    pub(crate) fn reschedule(
        &self,
        practice: &str,
        change: &Reschedule,
        key: &IdempotencyKey,
        response: impl FnOnce(&BookingRecord) -> StoredResponse,
        is_offered: impl FnOnce(Option<&str>, &[Interval]) -> bool,
    ) -> anyhow::Result<RescheduleOutcome> {
        let (id, now) = (change.id.as_str(), change.now);
        self.with(|c| {
            let mut tx = c.transaction()?;
            lock_days(&mut tx, practice, change.around)?;
            expire_lapsed_requests(&mut tx, now)?;
            // Locked, so a move and an answer take turns.
            tx.execute(
                "SELECT 1 FROM bookings WHERE id = $1 AND practice = $2 FOR UPDATE",
                &[&id, &practice],
            )?;
            let Some(before) = booking(&mut tx, practice, id, now)? else {
                return Ok(RescheduleOutcome::NotFound);
            };
            if let Some(refused) = move_refused(&before, change, now) {
                return Ok(refused);
            }
            if before.slot.start == change.slot.start {
                // Already there: nothing moves, nobody is told.
                super::idempotency::finish_key(&mut tx, practice, key, &response(&before))?;
                tx.commit()?;
                return Ok(RescheduleOutcome::Moved(Box::new(before)));
            }
            let with = before.clinician.as_deref();
            let live = live_bookings(&mut tx, practice, change.around, now, Some(id), with)?;
            if !is_offered(with, &live) {
                return Ok(RescheduleOutcome::SlotUnavailable);
            }
            let (status, expires_at, to_practice, to_visitor) = moved(before.status, change);
            let moved = tx.execute(
                "UPDATE bookings SET start_at = $2, end_at = $3, status = $4, expires_at = $5,
                    version = version + 1, moved_from = start_at, confirmed_at = $6
                 WHERE id = $1 AND practice = $7 AND status IN ('pending', 'confirmed')",
                &[
                    &id,
                    &change.slot.start.timestamp(),
                    &change.slot.end.timestamp(),
                    &status.as_str(),
                    &expires_at.map(|t| t.timestamp()),
                    &(status == BookingStatus::Confirmed).then_some(now.timestamp()),
                    &practice,
                ],
            );
            match moved {
                // The exclusion constraint is the last word on double booking.
                Err(e) if e.code() == Some(&SqlState::EXCLUSION_VIOLATION) => {
                    return Ok(RescheduleOutcome::SlotUnavailable)
                }
                other => other?,
            };
            let Some(after) = booking(&mut tx, practice, id, now)? else {
                return Ok(RescheduleOutcome::NotFound);
            };
            super::idempotency::finish_key(&mut tx, practice, key, &response(&after))?;
            enqueue(&mut tx, id, Action::Move, now, None)?;
            enqueue(&mut tx, id, Action::Send(to_practice), now, None)?;
            enqueue(&mut tx, id, Action::Send(to_visitor), now, None)?;
            tx.commit()?;
            Ok(RescheduleOutcome::Moved(Box::new(after)))
        })
        .context("moving a booking")
    }

    /// One booking, with its status as of `now`.
    pub(crate) fn booking(
        &self,
        practice: &str,
        id: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<BookingRecord>> {
        self.with(|c| booking(c, practice, id, now))
            .context("reading a booking")
    }

    /// Cancels a live booking; a booking no longer live is left as it is.
    pub(crate) fn cancel(
        &self,
        practice: &str,
        id: &BookingId,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<BookingRecord>> {
        self.with(|c| {
            let mut tx = c.transaction()?;
            expire_lapsed_requests(&mut tx, now)?;
            if cancel_live(&mut tx, practice, id.as_str(), now)? {
                let told = Action::Send(Mail::PracticeCancelled);
                enqueue(&mut tx, id.as_str(), told, now, None)?;
            }
            let found = booking(&mut tx, practice, id.as_str(), now)?;
            tx.commit()?;
            Ok(found)
        })
        .context("cancelling a booking")
    }

    /// Live bookings starting in `range`, for the practice's feed.
    pub(crate) fn feed_bookings(
        &self,
        practice: &str,
        range: Interval,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Vec<BookingRecord>> {
        self.with(|c| {
            c.query(
                &format!(
                    "{RECORD} WHERE practice = $4 AND start_at >= $1 AND start_at < $2
                       AND (status = 'confirmed' OR (status = 'pending' AND (expires_at IS NULL OR expires_at > $3)))
                     ORDER BY start_at"
                ),
                &[&range.start.timestamp(), &range.end.timestamp(), &now.timestamp(), &practice],
            )
        })
        .map(|rows| rows.iter().map(|row| record(row, now)).collect())
        .context("reading bookings for the feed")
    }

    /// Confirms or declines a pending request.
    pub(crate) fn answer(
        &self,
        practice: &str,
        id: &str,
        answer: Answer,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Answered> {
        self.answer_as_of(practice, id, None, answer, now)
    }

    /// As the SQLite store's [`crate::store::Store::answer_as_of`].
    pub(crate) fn answer_as_of(
        &self,
        practice: &str,
        id: &str,
        version: Option<u32>,
        answer: Answer,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Answered> {
        self.with(|c| {
            let mut tx = c.transaction()?;
            expire_lapsed_requests(&mut tx, now)?;
            // Locked, so an answer and a move or another answer take turns.
            let found = tx.query_opt(
                "SELECT status, version FROM bookings WHERE id = $1 AND practice = $2 FOR UPDATE",
                &[&id, &practice],
            )?;
            let found = found.and_then(|row| {
                let status = BookingStatus::parse(row.get(0))?;
                Some((status, u32::try_from(row.get::<_, i32>(1)).ok()?))
            });
            let (new_status, calendar, mail) = match answered(found, version, answer) {
                Ok(change) => change,
                Err(unchanged) => return Ok(unchanged),
            };
            tx.execute(
                "UPDATE bookings SET status = $2, expires_at = NULL, closed_at = $3, confirmed_at = $4
                 WHERE id = $1 AND practice = $5",
                &[
                    &id,
                    &new_status.as_str(),
                    &(!new_status.holds_slot()).then_some(now.timestamp()),
                    &(new_status == BookingStatus::Confirmed).then_some(now.timestamp()),
                    &practice,
                ],
            )?;
            enqueue(&mut tx, id, calendar, now, None)?;
            enqueue(&mut tx, id, Action::Send(mail), now, None)?;
            tx.commit()?;
            Ok(Answered::Done(new_status))
        })
        .context("answering a request")
    }

    /// Expires every request past its time (releasing holds, telling visitors).
    pub(crate) fn expire_lapsed(&self, now: DateTime<Utc>) -> anyhow::Result<usize> {
        self.with(|c| {
            let mut tx = c.transaction()?;
            let expired = expire_lapsed_requests(&mut tx, now)?;
            tx.commit()?;
            Ok(expired)
        })
        .context("expiring lapsed requests")
    }

    /// Requests waiting for the practice's answer, soonest first.
    pub(crate) fn pending_requests(
        &self,
        practice: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Vec<BookingRecord>> {
        self.with(|c| {
            c.query(
                &format!(
                    "{RECORD} WHERE practice = $2 AND status = 'pending'
                       AND (expires_at IS NULL OR expires_at > $1)
                     ORDER BY start_at"
                ),
                &[&now.timestamp(), &practice],
            )
        })
        .map(|rows| rows.iter().map(|row| record(row, now)).collect())
        .context("reading pending requests")
    }
}
