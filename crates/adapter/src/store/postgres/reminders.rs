//! Reminders in PostgreSQL: the SQLite store's rules (`../reminders.rs`),
//! one replica at a time.

use anyhow::Context;
use chrono::{DateTime, Utc};

use super::outbox::enqueue;
use super::Postgres;
use crate::store::outbox::{Action, Mail};

/// The advisory lock a reminder round runs under: replicas take turns, and
/// the second finds the first's reminders recorded.
const REMINDER_LOCK: i64 = 0x4669_7273_7452_656d; // "FirstRem"

impl Postgres {
    /// As the SQLite store's [`crate::store::Store::queue_due_reminders`].
    pub(crate) fn queue_due_reminders(
        &self,
        practice: &str,
        hours_before: &[u32],
        now: DateTime<Utc>,
    ) -> anyhow::Result<usize> {
        let hours: Vec<i64> = hours_before.iter().map(|h| i64::from(*h)).collect();
        let furthest = hours.iter().max().copied().unwrap_or(0);
        self.with(|c| {
            let mut tx = c.transaction()?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&REMINDER_LOCK])?;
            // Tokens no reminder will need any more: of bookings closed, or begun.
            tx.execute(
                "UPDATE bookings SET reminder_token = NULL
                 WHERE practice = $2 AND reminder_token IS NOT NULL
                   AND (status NOT IN ('pending', 'confirmed') OR start_at <= $1)",
                &[&now.timestamp(), &practice],
            )?;
            // Nearest the start first: that one is sent, the rest passed over.
            let due = tx.query(
                "SELECT b.id, h.value, b.start_at, b.reminder_token
                 FROM bookings AS b CROSS JOIN unnest($2::bigint[]) AS h(value)
                 WHERE b.practice = $4 AND b.status = 'confirmed'
                   AND b.start_at > $1 AND b.start_at <= $1 + $3
                   AND b.start_at - h.value * 3600 <= $1
                   AND COALESCE(b.confirmed_at, b.created_at) <= b.start_at - h.value * 3600
                   AND NOT EXISTS (SELECT 1 FROM reminders AS r WHERE r.booking_id = b.id
                       AND r.hours_before = h.value AND r.start_at = b.start_at)
                 ORDER BY b.id, h.value",
                &[&now.timestamp(), &hours, &(furthest * 3600), &practice],
            )?;
            let mut queued = 0;
            let mut previous: Option<String> = None;
            for row in &due {
                let (id, hours_before, start_at): (String, i64, i64) =
                    (row.get(0), row.get(1), row.get(2));
                tx.execute(
                    "INSERT INTO reminders (booking_id, hours_before, start_at, queued_at, practice)
                     VALUES ($1, $2, $3, $4, $5)",
                    &[
                        &id,
                        &i32::try_from(hours_before).unwrap_or(i32::MAX),
                        &start_at,
                        &now.timestamp(),
                        &practice,
                    ],
                )?;
                if previous.as_deref() != Some(id.as_str()) {
                    let token: Option<&str> = row.get(3);
                    enqueue(
                        &mut tx,
                        &id,
                        Action::Send(Mail::VisitorReminder),
                        now,
                        token,
                    )?;
                    queued += 1;
                }
                previous = Some(id);
            }
            tx.commit()?;
            Ok(queued)
        })
        .context("queueing reminders")
    }
}
