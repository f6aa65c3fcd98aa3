//! Reminders: an email to the visitor `h` hours before a confirmed booking
//! starts, for each `h` of `reminders.hours_before`. Each outbox round
//! queues the reminders whose moment has come, recording each in the same
//! transaction, so no round, race or restart queues one twice; the outbox
//! then delivers it once, and drops it if the booking closed or began
//! meanwhile (`crate::outbox`).
//!
//! Who gets one: a booking confirmed at or before the moment `start − h` (an
//! instant booking from when it was made, a request from when the practice
//! confirmed it). A booking made or confirmed later than `h` hours before
//! its start gets none for `h`: its confirmation has just told the visitor.
//! A pending request gets none: its visitor is waiting for the practice.
//! When several moments of one booking passed unseen (the adapter was
//! down), only the one nearest the start is sent; the others are recorded
//! as passed over.

use anyhow::Context;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, TransactionBehavior};

use super::outbox::{enqueue_carrying, Action, Mail};
use super::Sqlite;

/// Forgets the sealed manage tokens no reminder will need any more: of
/// bookings closed, or begun.
fn forget_spent_tokens(
    connection: &Connection,
    practice: &str,
    now: DateTime<Utc>,
) -> rusqlite::Result<usize> {
    connection.execute(
        "UPDATE bookings SET reminder_token = NULL
         WHERE practice = ?2 AND reminder_token IS NOT NULL
           AND (status NOT IN ('pending', 'confirmed') OR start_at <= ?1)",
        params![now.timestamp(), practice],
    )
}

/// Queues the reminders due at `now`; returns how many were queued.
fn queue_due(
    connection: &Connection,
    practice: &str,
    hours_before: &[u32],
    now: DateTime<Utc>,
) -> rusqlite::Result<usize> {
    let Some(furthest) = hours_before.iter().max() else {
        return Ok(0);
    };
    let hours = serde_json::to_string(hours_before).unwrap_or_default();
    // Nearest the start first: that one is sent, the rest passed over.
    let due: Vec<(String, u32, i64, Option<String>)> = connection
        .prepare_cached(
            "SELECT b.id, h.value, b.start_at, b.reminder_token
             FROM bookings AS b JOIN json_each(?2) AS h
             WHERE b.practice = ?4 AND b.status = 'confirmed'
               AND b.start_at > ?1 AND b.start_at <= ?1 + ?3
               AND b.start_at - h.value * 3600 <= ?1
               AND COALESCE(b.confirmed_at, b.created_at) <= b.start_at - h.value * 3600
               AND NOT EXISTS (SELECT 1 FROM reminders AS r WHERE r.booking_id = b.id
                   AND r.hours_before = h.value AND r.start_at = b.start_at)
             ORDER BY b.id, h.value",
        )?
        .query_map(
            params![
                now.timestamp(),
                hours,
                i64::from(*furthest) * 3600,
                practice
            ],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
        )?
        .collect::<rusqlite::Result<_>>()?;
    let mut queued = 0;
    let mut previous: Option<&str> = None;
    for (id, hours_before, start_at, token) in &due {
        connection.execute(
            "INSERT INTO reminders (booking_id, hours_before, start_at, queued_at, practice)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, hours_before, start_at, now.timestamp(), practice],
        )?;
        if previous != Some(id.as_str()) {
            let reminder = Action::Send(Mail::VisitorReminder);
            enqueue_carrying(connection, id, reminder, now, token.as_deref())?;
            queued += 1;
        }
        previous = Some(id.as_str());
    }
    Ok(queued)
}

impl Sqlite {
    /// Queues the reminders due at `now` for `hours_before` (none when it is
    /// empty) and forgets the sealed tokens no reminder will need; returns
    /// how many reminders were queued.
    pub fn queue_due_reminders(
        &self,
        practice: &str,
        hours_before: &[u32],
        now: DateTime<Utc>,
    ) -> anyhow::Result<usize> {
        self.write(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            forget_spent_tokens(&tx, practice, now)?;
            let queued = queue_due(&tx, practice, hours_before, now)?;
            tx.commit()?;
            Ok(queued)
        })
        .context("queueing reminders")
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use firststep_availability::Interval;
    use firststep_protocol::BookingStatus;

    use super::*;
    use crate::domain::{BookingId, IdempotencyKey, ManageToken};
    use crate::store::{Answer, NewBooking, StoredResponse, Visitor};

    fn store() -> (tempfile::TempDir, Sqlite) {
        let folder = tempfile::tempdir().unwrap();
        let store = Sqlite::open(&folder.path().join("store.sqlite3")).unwrap();
        (folder, store)
    }

    fn at(hours: i64) -> DateTime<Utc> {
        "2026-12-01T12:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::hours(hours)
    }

    /// Books a slot starting at hour 0, made at hour `made`, as `status`.
    fn book(store: &Sqlite, made: i64, status: BookingStatus) -> String {
        let id = BookingId::generate();
        let booking = NewBooking {
            id: id.clone(),
            service: "intro".into(),
            slot: Interval::new(at(0), at(1)),
            status,
            created_at: at(made),
            expires_at: (status == BookingStatus::Pending).then(|| at(0)),
            visitor: Visitor {
                name: "Sam".into(),
                email: "sam@example.org".into(),
                phone: None,
                time_zone: None,
                note: None,
                locale: None,
            },
            manage_token_hash: ManageToken::generate().hash(),
            first_mail_payload: Some("sealed:v1:first".into()),
            reminder_payload: Some("sealed:v1:reminder".into()),
            room_token: None,
            candidates: Vec::new(),
            week: Interval::new(at(-24), at(24)),
            clear_after: Duration::zero(),
        };
        let key = IdempotencyKey::parse(id.as_str()).unwrap();
        let response = StoredResponse {
            status: 201,
            location: None,
            body: Vec::new(),
        };
        store
            .book("", &booking, booking.slot, &key, |_| response, |_, _| true)
            .unwrap();
        id.as_str().to_owned()
    }

    /// The reminders waiting in the outbox: (booking, payload).
    fn queued(store: &Sqlite) -> Vec<(String, Option<String>)> {
        store
            .read(|c| {
                c.prepare("SELECT booking_id, payload FROM outbox WHERE action = ?1 ORDER BY id")?
                    .query_map([Action::Send(Mail::VisitorReminder)], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })?
                    .collect()
            })
            .unwrap()
    }

    fn reminder_token(store: &Sqlite, id: &str) -> Option<String> {
        store
            .read(|c| {
                c.query_row(
                    "SELECT reminder_token FROM bookings WHERE id = ?1",
                    [id],
                    |r| r.get(0),
                )
            })
            .unwrap()
    }

    #[test]
    fn each_reminder_is_queued_once_at_its_moment_with_the_sealed_token() {
        let (_folder, store) = store();
        let id = book(&store, -48, BookingStatus::Confirmed);
        let hours = [2, 24];

        let just_before = at(-24) - Duration::seconds(1);
        assert_eq!(
            store.queue_due_reminders("", &hours, just_before).unwrap(),
            0
        );
        assert_eq!(store.queue_due_reminders("", &hours, at(-24)).unwrap(), 1);
        assert_eq!(store.queue_due_reminders("", &hours, at(-24)).unwrap(), 0);
        assert_eq!(store.queue_due_reminders("", &hours, at(-3)).unwrap(), 0);
        assert_eq!(store.queue_due_reminders("", &hours, at(-2)).unwrap(), 1);
        assert_eq!(store.queue_due_reminders("", &hours, at(-1)).unwrap(), 0);

        let payload = Some("sealed:v1:reminder".to_owned());
        assert_eq!(
            queued(&store),
            [(id.clone(), payload.clone()), (id, payload)]
        );
    }

    #[test]
    fn a_booking_made_later_than_the_moment_gets_no_reminder_for_it() {
        let (_folder, store) = store();
        book(&store, -3, BookingStatus::Confirmed);
        for hour in [-3, -2, -1] {
            assert_eq!(store.queue_due_reminders("", &[24], at(hour)).unwrap(), 0);
        }
        assert_eq!(store.queue_due_reminders("", &[24, 2], at(-2)).unwrap(), 1);
    }

    #[test]
    fn a_request_is_reminded_only_of_moments_after_its_confirmation() {
        let (_folder, store) = store();
        let id = book(&store, -48, BookingStatus::Pending);
        assert_eq!(store.queue_due_reminders("", &[2, 24], at(-24)).unwrap(), 0);
        assert_eq!(
            store.answer("", &id, Answer::Confirm, at(-10)).unwrap(),
            crate::store::Answered::Done(BookingStatus::Confirmed)
        );
        assert_eq!(store.queue_due_reminders("", &[2, 24], at(-10)).unwrap(), 0);
        assert_eq!(store.queue_due_reminders("", &[2, 24], at(-2)).unwrap(), 1);
    }

    #[test]
    fn moments_passed_unseen_send_only_the_nearest() {
        let (_folder, store) = store();
        book(&store, -48, BookingStatus::Confirmed);
        assert_eq!(store.queue_due_reminders("", &[2, 24], at(-1)).unwrap(), 1);
        assert_eq!(store.queue_due_reminders("", &[2, 24], at(-1)).unwrap(), 0);
        assert_eq!(queued(&store).len(), 1);
    }

    #[test]
    fn closed_or_begun_bookings_get_none_and_their_tokens_are_forgotten() {
        let (_folder, store) = store();
        let cancelled = book(&store, -48, BookingStatus::Confirmed);
        store
            .cancel("", &BookingId::parse(&cancelled).unwrap(), at(-30))
            .unwrap();
        assert!(reminder_token(&store, &cancelled).is_some());
        assert_eq!(store.queue_due_reminders("", &[24], at(-24)).unwrap(), 0);
        assert_eq!(reminder_token(&store, &cancelled), None);

        // A booking that has begun: no reminder, and its token goes too.
        let (_other, store) = self::store();
        let begun = book(&store, -48, BookingStatus::Confirmed);
        assert_eq!(store.queue_due_reminders("", &[24], at(0)).unwrap(), 0);
        assert_eq!(reminder_token(&store, &begun), None);
        assert!(queued(&store).is_empty());
    }

    #[test]
    fn a_booking_moved_to_another_start_is_reminded_of_it() {
        let (_folder, store) = store();
        let id = book(&store, -48, BookingStatus::Confirmed);
        assert_eq!(store.queue_due_reminders("", &[24], at(-24)).unwrap(), 1);
        let later = Duration::hours(5).num_seconds();
        store
            .write(|c| {
                c.execute(
                    "UPDATE bookings SET start_at = start_at + ?2, end_at = end_at + ?2 WHERE id = ?1",
                    params![id, later],
                )
            })
            .unwrap();
        assert_eq!(store.queue_due_reminders("", &[24], at(-20)).unwrap(), 0);
        assert_eq!(store.queue_due_reminders("", &[24], at(-19)).unwrap(), 1);
    }

    #[test]
    fn no_hours_queue_nothing() {
        let (_folder, store) = store();
        book(&store, -48, BookingStatus::Confirmed);
        assert_eq!(store.queue_due_reminders("", &[], at(-1)).unwrap(), 0);
    }
}
