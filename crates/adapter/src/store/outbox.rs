//! The outbox: what is owed after each change, delivered by `crate::outbox`.

use anyhow::Context;
use chrono::{DateTime, Utc};
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSqlOutput, ValueRef};
use rusqlite::{params, Connection, OptionalExtension, ToSql, TransactionBehavior};

use super::Sqlite;

/// A write owed to the practice's calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: i64,
    pub booking_id: String,
    pub action: Action,
    pub attempts: u32,
    /// What the action needs that the booking row does not hold.
    pub payload: Option<String>,
    /// When it was owed, so an item failing for a week can be given up.
    pub created_at: DateTime<Utc>,
    /// Whose it is: delivered with that practice's settings.
    pub practice: String,
}

/// An outbox row set aside because it could never succeed, for the
/// operator (`requests list`). No personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetAside {
    pub booking_id: String,
    /// As the `action` column holds it (a row may come from a newer version).
    pub action: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub set_aside_at: DateTime<Utc>,
}

/// What an outbox row owes: a write to the practice's calendar, or an email.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Put the booking into the calendar (a hold, or a confirmed event).
    Place,
    /// Turn the placed hold into a confirmed event.
    Confirm,
    /// Take the booking's entry out of the calendar.
    Release,
    /// Rewrite the placed entry at the booking's new time (and status).
    Move,
    Send(Mail),
}

impl Action {
    pub const ALL: [Action; 16] = [
        Action::Place,
        Action::Confirm,
        Action::Release,
        Action::Move,
        Action::Send(Mail::PracticeRequest),
        Action::Send(Mail::PracticeBooked),
        Action::Send(Mail::PracticeCancelled),
        Action::Send(Mail::VisitorReceived),
        Action::Send(Mail::VisitorConfirmed),
        Action::Send(Mail::VisitorDeclined),
        Action::Send(Mail::VisitorExpired),
        Action::Send(Mail::VisitorReminder),
        Action::Send(Mail::PracticeMoved),
        Action::Send(Mail::PracticeMovedRequest),
        Action::Send(Mail::VisitorMoved),
        Action::Send(Mail::VisitorMovedRequest),
    ];

    /// As the `action` column holds it.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Place => "place",
            Action::Confirm => "confirm",
            Action::Release => "release",
            Action::Move => "move",
            Action::Send(mail) => mail.action(),
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == text)
    }

    /// The email this action sends, if it is one.
    pub fn mail(self) -> Option<Mail> {
        match self {
            Action::Send(mail) => Some(mail),
            _ => None,
        }
    }
}

impl ToSql for Action {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for Action {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        Action::parse(value.as_str()?).ok_or(FromSqlError::InvalidType)
    }
}

/// The actions this version delivers, as a JSON array for `json_each`: a row
/// written by a newer version waits for it rather than failing here.
fn known_actions() -> String {
    let names: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
    serde_json::to_string(&names).unwrap_or_default()
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
    /// To the visitor: their confirmed booking is near (`reminders.hours_before`).
    VisitorReminder,
    /// To the practice: a confirmed booking moved ("moved from … to …").
    PracticeMoved,
    /// To the practice: a request moved (or a booking moved back to a
    /// request), with fresh links to confirm or decline.
    PracticeMovedRequest,
    /// To the visitor: their booking moved, still confirmed, with a calendar file.
    VisitorMoved,
    /// To the visitor: their request now asks for the new time.
    VisitorMovedRequest,
}

impl Mail {
    pub const ALL: [Mail; 12] = [
        Mail::PracticeRequest,
        Mail::PracticeBooked,
        Mail::PracticeCancelled,
        Mail::VisitorReceived,
        Mail::VisitorConfirmed,
        Mail::VisitorDeclined,
        Mail::VisitorExpired,
        Mail::VisitorReminder,
        Mail::PracticeMoved,
        Mail::PracticeMovedRequest,
        Mail::VisitorMoved,
        Mail::VisitorMovedRequest,
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
            Mail::VisitorReminder => "visitor_reminder",
            Mail::PracticeMoved => "practice_moved",
            Mail::PracticeMovedRequest => "practice_moved_request",
            Mail::VisitorMoved => "visitor_moved",
            Mail::VisitorMovedRequest => "visitor_moved_request",
        }
    }

    /// Its value in the outbox's `action` column.
    fn action(self) -> &'static str {
        match self {
            Mail::PracticeRequest => "mail:practice_request",
            Mail::PracticeBooked => "mail:practice_booked",
            Mail::PracticeCancelled => "mail:practice_cancelled",
            Mail::VisitorReceived => "mail:visitor_received",
            Mail::VisitorConfirmed => "mail:visitor_confirmed",
            Mail::VisitorDeclined => "mail:visitor_declined",
            Mail::VisitorExpired => "mail:visitor_expired",
            Mail::VisitorReminder => "mail:visitor_reminder",
            Mail::PracticeMoved => "mail:practice_moved",
            Mail::PracticeMovedRequest => "mail:practice_moved_request",
            Mail::VisitorMoved => "mail:visitor_moved",
            Mail::VisitorMovedRequest => "mail:visitor_moved_request",
        }
    }
}

pub(super) fn enqueue(
    connection: &Connection,
    booking_id: &str,
    action: Action,
    now: DateTime<Utc>,
) -> rusqlite::Result<usize> {
    enqueue_carrying(connection, booking_id, action, now, None)
}

/// [`enqueue`], with what the action needs that the booking row does not
/// hold (a sealed manage token), cleared once delivered.
pub(super) fn enqueue_carrying(
    connection: &Connection,
    booking_id: &str,
    action: Action,
    now: DateTime<Utc>,
    payload: Option<&str>,
) -> rusqlite::Result<usize> {
    connection.execute(
        // The item is its booking's practice's.
        "INSERT INTO outbox (practice, booking_id, action, next_attempt_at, created_at, payload)
         SELECT practice, ?1, ?2, ?3, ?3, ?4 FROM bookings WHERE id = ?1",
        params![booking_id, action, now.timestamp(), payload],
    )
}

impl Sqlite {
    /// Writes owed to the calendar whose time has come, oldest first.
    pub fn due_deliveries(
        &self,
        now: DateTime<Utc>,
        limit: usize,
        practices: &[String],
    ) -> anyhow::Result<Vec<Delivery>> {
        let practices = serde_json::to_string(practices).context("listing the practices")?;
        self.read(|c| {
            let mut statement = c.prepare_cached(
                "SELECT id, booking_id, action, attempts, payload, created_at, practice FROM outbox
                 WHERE done_at IS NULL AND set_aside_at IS NULL AND next_attempt_at <= ?1
                   AND action IN (SELECT value FROM json_each(?3))
                   AND practice IN (SELECT value FROM json_each(?4))
                 ORDER BY id LIMIT ?2",
            )?;
            let rows = statement.query_map(
                params![now.timestamp(), limit as i64, known_actions(), practices],
                |row| {
                    Ok(Delivery {
                        id: row.get(0)?,
                        booking_id: row.get(1)?,
                        action: row.get(2)?,
                        attempts: row.get(3)?,
                        payload: row.get(4)?,
                        created_at: super::instant(row.get(5)?),
                        practice: row.get(6)?,
                    })
                },
            )?;
            rows.collect()
        })
        .context("reading the outbox")
    }

    /// Nothing to let go: one process works a SQLite store's outbox, and
    /// reading due items takes none.
    pub fn let_go(&self, _deliveries: &[Delivery]) -> anyhow::Result<()> {
        Ok(())
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
    pub fn set_aside_deliveries(&self, practice: &str) -> anyhow::Result<Vec<SetAside>> {
        self.read(|c| {
            let mut statement = c.prepare_cached(
                "SELECT booking_id, action, attempts, last_error, set_aside_at FROM outbox
                 WHERE practice = ?1 AND set_aside_at IS NOT NULL ORDER BY set_aside_at, id",
            )?;
            let rows = statement.query_map([practice], |row| {
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
    pub fn calendar_state(
        &self,
        practice: &str,
        booking_id: &str,
    ) -> anyhow::Result<Option<String>> {
        self.read(|c| {
            c.query_row(
                "SELECT calendar_state FROM bookings WHERE id = ?1 AND practice = ?2",
                [booking_id, practice],
                |row| row.get(0),
            )
            .optional()
        })
        .context("reading a calendar state")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_reads_back_as_itself() {
        for action in Action::ALL {
            assert_eq!(Action::parse(action.as_str()), Some(action));
        }
        assert_eq!(Action::parse("mail:unheard_of"), None);
    }

    #[test]
    fn a_row_this_version_does_not_know_waits_and_blocks_nothing() {
        let folder = tempfile::tempdir().unwrap();
        let store = Sqlite::open(&folder.path().join("store.sqlite3")).unwrap();
        let now = Utc::now();
        store
            .write(|c| {
                c.execute_batch(
                    "INSERT INTO bookings (id, service, start_at, end_at, status, created_at,
                         client_name, client_email, manage_token_hash)
                     VALUES ('bk_1', 'intro', 0, 900, 'confirmed', 0, 'Sam', 'sam@example.org', x'00');",
                )?;
                // The unknown row comes first: without the filter it would
                // fill the batch of one, or fail to read.
                c.execute(
                    "INSERT INTO outbox (booking_id, action, next_attempt_at, created_at)
                     VALUES ('bk_1', 'mail:from_a_newer_version', ?1, ?1)",
                    [now.timestamp()],
                )?;
                enqueue(c, "bk_1", Action::Release, now)
            })
            .unwrap();

        let due = store.due_deliveries(now, 1, &[String::new()]).unwrap();

        assert_eq!(due.len(), 1);
        assert_eq!(due[0].action, Action::Release);
    }
}
