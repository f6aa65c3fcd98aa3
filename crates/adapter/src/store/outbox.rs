//! The outbox: what is owed after each change, delivered by `crate::outbox`.

use anyhow::Context;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::Store;

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
    /// When it was owed, so an item failing for a week can be given up.
    pub created_at: DateTime<Utc>,
}

/// An outbox row set aside because it could never succeed, for the
/// operator (`requests list`). No personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetAside {
    pub booking_id: String,
    pub action: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub set_aside_at: DateTime<Utc>,
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

pub(super) fn enqueue(
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

impl Store {
    /// Writes owed to the calendar whose time has come, oldest first.
    pub fn due_deliveries(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> anyhow::Result<Vec<Delivery>> {
        self.read(|c| {
            let mut statement = c.prepare_cached(
                "SELECT id, booking_id, action, attempts, payload, created_at FROM outbox
                 WHERE done_at IS NULL AND set_aside_at IS NULL AND next_attempt_at <= ?1
                 ORDER BY id LIMIT ?2",
            )?;
            let rows = statement.query_map(params![now.timestamp(), limit as i64], |row| {
                Ok(Delivery {
                    id: row.get(0)?,
                    booking_id: row.get(1)?,
                    action: row.get(2)?,
                    attempts: row.get(3)?,
                    payload: row.get(4)?,
                    created_at: super::instant(row.get(5)?),
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

    /// Sets a delivery aside for good, keeping the reason (no personal
    /// data); what it carried for the visitor (a manage token) goes.
    pub fn set_aside(
        &self,
        delivery: &Delivery,
        reason: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        self.write(|c| {
            c.execute(
                "UPDATE outbox SET attempts = attempts + 1, set_aside_at = ?2, last_error = ?3,
                 payload = NULL WHERE id = ?1",
                params![delivery.id, now.timestamp(), reason],
            )
        })
        .map(drop)
        .context("setting a delivery aside")
    }

    /// Deliveries set aside, oldest first.
    pub fn set_aside_deliveries(&self) -> anyhow::Result<Vec<SetAside>> {
        self.read(|c| {
            let mut statement = c.prepare_cached(
                "SELECT booking_id, action, attempts, last_error, set_aside_at FROM outbox
                 WHERE set_aside_at IS NOT NULL ORDER BY set_aside_at, id",
            )?;
            let rows = statement.query_map([], |row| {
                Ok(SetAside {
                    booking_id: row.get(0)?,
                    action: row.get(1)?,
                    attempts: row.get(2)?,
                    last_error: row.get(3)?,
                    set_aside_at: super::instant(row.get(4)?),
                })
            })?;
            rows.collect()
        })
        .context("reading the outbox")
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
