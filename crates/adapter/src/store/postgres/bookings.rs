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
use crate::domain::IdempotencyKey;
use crate::store::bookings::{assign, Schedule};
use crate::store::outbox::{Action, Mail};
use crate::store::{instant, BookOutcome, NewBooking, StoredResponse};

/// Live bookings overlapping `range`, but `except`; when `with` names a
/// clinician, only theirs and those with none (as the SQLite store's).
fn live_bookings(
    client: &mut impl GenericClient,
    range: Interval,
    now: DateTime<Utc>,
    except: Option<&str>,
    with: Option<&str>,
) -> Result<Vec<Interval>, postgres::Error> {
    let rows = client.query(
        "SELECT start_at, end_at FROM bookings
         WHERE start_at < $2 AND end_at > $1
           AND (status = 'confirmed' OR (status = 'pending' AND (expires_at IS NULL OR expires_at > $3)))
           AND id IS DISTINCT FROM $4
           AND ($5::text IS NULL OR clinician = $5 OR clinician IS NULL)
         ORDER BY start_at",
        &[&range.start.timestamp(), &range.end.timestamp(), &now.timestamp(), &except, &with],
    )?;
    Ok(rows
        .iter()
        .map(|row| Interval::new(instant(row.get(0)), instant(row.get(1))))
        .collect())
}

/// Pending requests past their expiry free their slot; the calendar hold is
/// released and the visitor told.
fn expire_lapsed_requests(
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
    booking: &'a NewBooking,
    around: Interval,
}

impl Schedule for PostgresSchedule<'_, '_> {
    type Error = postgres::Error;
    fn live(&mut self, with: Option<&str>) -> Result<Vec<Interval>, postgres::Error> {
        let now = self.booking.created_at;
        live_bookings(self.tx, self.around, now, None, with)
    }
    fn load(&mut self, with: &str) -> Result<u32, postgres::Error> {
        let (week, now) = (self.booking.week, self.booking.created_at);
        let count: i64 = self
            .tx
            .query_one(
                "SELECT COUNT(*) FROM bookings
                 WHERE clinician = $1 AND start_at >= $2 AND start_at < $3
                   AND (status = 'confirmed' OR (status = 'pending' AND (expires_at IS NULL OR expires_at > $4)))",
                &[&with, &week.start.timestamp(), &week.end.timestamp(), &now.timestamp()],
            )?
            .get(0);
        Ok(u32::try_from(count).unwrap_or(u32::MAX))
    }
}

impl Postgres {
    /// As the SQLite store's [`crate::store::Store::live_bookings`].
    pub(crate) fn live_bookings(
        &self,
        range: Interval,
        now: DateTime<Utc>,
        except: Option<&str>,
        with: Option<&str>,
    ) -> anyhow::Result<Vec<Interval>> {
        self.with(|c| live_bookings(c, range, now, except, with))
            .context("reading live bookings")
    }

    /// As the SQLite store's [`crate::store::Store::book`]: the checks run
    /// under the locks of the days `around` touches, so a booking on a
    /// nearby time (buffers, the daily cap) made by another replica is seen
    /// or waits; the exclusion constraint refuses an overlap whatever
    /// happens. Nothing is half-written.
    pub(crate) fn book(
        &self,
        booking: &NewBooking,
        around: Interval,
        key: &IdempotencyKey,
        response: impl FnOnce(Option<&str>) -> StoredResponse,
        is_offered: impl Fn(Option<&str>, &[Interval]) -> bool,
    ) -> anyhow::Result<BookOutcome> {
        self.with(|c| {
            let mut tx = c.transaction()?;
            lock_days(&mut tx, around)?;
            expire_lapsed_requests(&mut tx, booking.created_at)?;
            let mut schedule = PostgresSchedule {
                tx: &mut tx,
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
                    manage_token_hash, locale, room_token, confirmed_at, reminder_token, clinician)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
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
            super::idempotency::finish_key(&mut tx, key, &response)?;
            let (id, at) = (booking.id.as_str(), booking.created_at);
            enqueue(&mut tx, id, Action::Place, at, None)?;
            let (to_practice, to_visitor) = match booking.status {
                BookingStatus::Confirmed => (Mail::PracticeBooked, Mail::VisitorConfirmed),
                _ => (Mail::PracticeRequest, Mail::VisitorReceived),
            };
            enqueue(&mut tx, id, Action::Send(to_practice), at, None)?;
            // The visitor's first email carries their manage link (sealed).
            let payload = booking.first_mail_payload.as_deref();
            enqueue(&mut tx, id, Action::Send(to_visitor), at, payload)?;
            tx.commit()?;
            Ok(BookOutcome::Booked(response))
        })
        .context("storing a booking")
    }
}
