//! The outbox in PostgreSQL, worked by every replica: each takes its items
//! with `FOR UPDATE SKIP LOCKED` and holds them for a lease, so no two
//! replicas deliver one item at once, and the items of a replica that died
//! mid-delivery are taken by another once the lease is over.

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use postgres::GenericClient;

use super::Postgres;
use crate::store::instant;
use crate::store::outbox::{Action, Delivery, SetAside};

/// How long a replica holds the items it took: longer than one round of
/// deliveries takes (each calendar or SMTP call is bounded well within it).
pub(super) const LEASE: Duration = Duration::minutes(5);

/// Queues `action` for the booking, with what it needs that the booking
/// row does not hold (a sealed manage token), cleared once delivered.
pub(super) fn enqueue(
    client: &mut impl GenericClient,
    booking_id: &str,
    action: Action,
    now: DateTime<Utc>,
    payload: Option<&str>,
) -> Result<u64, postgres::Error> {
    client.execute(
        // The item is its booking's practice's.
        "INSERT INTO outbox (practice, booking_id, action, next_attempt_at, created_at, payload)
         SELECT practice, $1, $2, $3, $3, $4 FROM bookings WHERE id = $1",
        &[&booking_id, &action.as_str(), &now.timestamp(), &payload],
    )
}

impl Postgres {
    /// Takes the items whose time has come, oldest first, that no other
    /// replica holds, and holds them for [`LEASE`]. Rows written by a newer
    /// version, with an action this one does not know, are left to it.
    pub(crate) fn due_deliveries(
        &self,
        now: DateTime<Utc>,
        limit: usize,
        practices: &[String],
    ) -> anyhow::Result<Vec<Delivery>> {
        let known: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
        let until = now.checked_add_signed(LEASE).unwrap_or(now).timestamp();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .with(|c| {
                c.query(
                    "UPDATE outbox SET leased_until = $4 WHERE id IN (
                         SELECT id FROM outbox
                         WHERE done_at IS NULL AND set_aside_at IS NULL AND next_attempt_at <= $1
                           AND (leased_until IS NULL OR leased_until <= $1)
                           AND action = ANY ($3) AND practice = ANY ($5)
                         ORDER BY id LIMIT $2
                         FOR UPDATE SKIP LOCKED)
                     RETURNING id, booking_id, action, attempts, payload, created_at, practice",
                    &[&now.timestamp(), &limit, &known, &until, &practices],
                )
            })
            .context("taking due items from the outbox")?;
        let mut taken: Vec<Delivery> = rows
            .iter()
            .filter_map(|row| {
                Some(Delivery {
                    id: row.get(0),
                    booking_id: row.get(1),
                    action: Action::parse(row.get(2))?,
                    attempts: u32::try_from(row.get::<_, i32>(3)).unwrap_or(0),
                    payload: row.get(4),
                    created_at: instant(row.get(5)),
                    practice: row.get(6),
                })
            })
            .collect();
        // RETURNING keeps no order: oldest first, as promised.
        taken.sort_by_key(|delivery| delivery.id);
        Ok(taken)
    }

    /// Lets go of items taken but not tried (the process is stopping), for
    /// the next start or another replica at once rather than after the lease.
    pub(crate) fn let_go(&self, deliveries: &[Delivery]) -> anyhow::Result<()> {
        let ids: Vec<i64> = deliveries.iter().map(|d| d.id).collect();
        self.with(|c| {
            c.execute(
                "UPDATE outbox SET leased_until = NULL WHERE id = ANY ($1)",
                &[&ids],
            )
        })
        .map(drop)
        .context("letting outbox items go")
    }

    /// Marks a delivery done (its lease let go) and records where the
    /// booking now stands in the calendar (`state`, for calendar writes).
    pub(crate) fn delivered(
        &self,
        delivery: &Delivery,
        state: Option<&str>,
        etag: Option<&str>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        self.with(|c| {
            let mut tx = c.transaction()?;
            tx.execute(
                "UPDATE outbox SET done_at = $2, attempts = attempts + 1, payload = NULL,
                    leased_until = NULL WHERE id = $1",
                &[&delivery.id, &now.timestamp()],
            )?;
            if let Some(state) = state {
                tx.execute(
                    "UPDATE bookings SET calendar_state = $2, calendar_etag = $3 WHERE id = $1",
                    &[&delivery.booking_id, &state, &etag],
                )?;
            }
            tx.commit()
        })
        .context("recording a delivery")
    }

    /// Puts a failed delivery off until `retry_at` (its lease let go),
    /// keeping the reason (no personal data).
    pub(crate) fn delivery_failed(
        &self,
        delivery: &Delivery,
        reason: &str,
        retry_at: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        self.with(|c| {
            c.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $2, last_error = $3,
                    leased_until = NULL WHERE id = $1",
                &[&delivery.id, &retry_at.timestamp(), &reason],
            )
        })
        .map(drop)
        .context("postponing a delivery")
    }

    /// Sets a delivery aside for good, keeping the reason (no personal
    /// data); what it carried for the visitor (a manage token) goes.
    pub(crate) fn set_aside(
        &self,
        delivery: &Delivery,
        reason: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        self.with(|c| {
            c.execute(
                "UPDATE outbox SET attempts = attempts + 1, set_aside_at = $2, last_error = $3,
                    payload = NULL, leased_until = NULL WHERE id = $1",
                &[&delivery.id, &now.timestamp(), &reason],
            )
        })
        .map(drop)
        .context("setting a delivery aside")
    }

    /// Deliveries set aside, oldest first.
    pub(crate) fn set_aside_deliveries(&self, practice: &str) -> anyhow::Result<Vec<SetAside>> {
        let rows = self
            .with(|c| {
                c.query(
                    "SELECT booking_id, action, attempts, last_error, set_aside_at FROM outbox
                     WHERE practice = $1 AND set_aside_at IS NOT NULL ORDER BY set_aside_at, id",
                    &[&practice],
                )
            })
            .context("reading the outbox")?;
        Ok(rows
            .iter()
            .map(|row| SetAside {
                booking_id: row.get(0),
                action: row.get(1),
                attempts: u32::try_from(row.get::<_, i32>(2)).unwrap_or(0),
                last_error: row.get(3),
                set_aside_at: instant(row.get(4)),
            })
            .collect())
    }

    /// The booking's calendar state (for tests and operators).
    pub(crate) fn calendar_state(
        &self,
        practice: &str,
        booking_id: &str,
    ) -> anyhow::Result<Option<String>> {
        self.with(|c| {
            c.query_opt(
                "SELECT calendar_state FROM bookings WHERE id = $1 AND practice = $2",
                &[&booking_id, &practice],
            )
        })
        .map(|row| row.map(|row| row.get(0)))
        .context("reading a calendar state")
    }
}
