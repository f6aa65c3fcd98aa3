//! Visitors' data over time: personal fields of bookings that are over are
//! erased after the retention period, keeping what the practice counts
//! (service, time, status); a visitor's data can be exported and erased on
//! request; tokens older versions kept in clear are sealed.

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use rusqlite::types::ValueRef;
use rusqlite::{named_params, params, Connection, TransactionBehavior};
use serde_json::{json, Map, Value};

use super::bookings::{cancel_live, expire_lapsed_requests};
use super::idempotency::delete_expired;
use super::{instant, Sqlite};
use crate::sealing::{is_sealed_payload, seal_payload, SealingKey};

/// Blanks a booking's personal fields (the one list of them), its manage
/// token's hash and sealed copy, and its video room, so neither the practice
/// nor a manage link reaches them again.
const ERASE_PERSONAL_FIELDS: &str = "UPDATE bookings SET client_name = '', client_email = '',
        client_phone = NULL, client_time_zone = NULL, note = NULL, locale = NULL,
        manage_token_hash = zeroblob(32), reminder_token = NULL, room_token = NULL, erased_at = ?2
     WHERE id = ?1";

/// Which bookings are a visitor's (at one practice: `:practice`): the whole
/// address (`:email`) compared without regard to the case of ASCII letters
/// (`Sam@Example.org` is `sam@example.org`).
const OF_VISITOR: &str =
    "practice = :practice AND erased_at IS NULL AND lower(client_email) = lower(:email)";

/// At most this many delivered outbox items go per practice and round: a
/// store that never pruned (before this version) works its backlog down over
/// a few rounds, each short, rather than in one long transaction that holds
/// its writers (or passes PostgreSQL's statement limit and undoes the round's
/// erasures with it). A round a minute takes 14 million a day.
pub(super) const DELIVERIES_DELETED_PER_ROUND: i64 = 10_000;

/// What one retention round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sweep {
    /// Bookings whose personal fields were erased.
    pub erased: usize,
    /// Idempotency records past their 24 hours, deleted.
    pub keys_deleted: usize,
    /// Outbox items delivered more than the retention period ago, deleted:
    /// what was sent, and when, is kept as long as the bookings' details.
    pub deliveries_deleted: usize,
}

/// What erasing a visitor did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Erasure {
    /// Their bookings, now without personal fields.
    pub bookings: usize,
    /// Live bookings and requests cancelled, their calendar holds released
    /// through the outbox.
    pub cancelled: usize,
    /// Emails about them not yet sent, dropped.
    pub mails_dropped: usize,
}

/// Erases one booking's personal data and every trace of it the outbox still
/// holds: emails not yet sent (they would be about, or to, the visitor) and
/// sealed tokens.
fn erase_booking(tx: &Connection, id: &str, now: DateTime<Utc>) -> rusqlite::Result<usize> {
    let dropped = tx.execute(
        "DELETE FROM outbox WHERE booking_id = ?1 AND done_at IS NULL AND action LIKE 'mail:%'",
        [id],
    )?;
    tx.execute(
        "UPDATE outbox SET payload = NULL WHERE booking_id = ?1",
        [id],
    )?;
    tx.execute(ERASE_PERSONAL_FIELDS, params![id, now.timestamp()])?;
    Ok(dropped)
}

/// Moves the write-ahead log into the file and empties it, so erased text
/// does not linger in old log frames. Best effort: a busy reader may delay it.
pub(super) fn truncate_log(connection: &Connection) {
    let done = connection.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
    if let Err(error) = done {
        tracing::warn!(%error, "emptying the store's write-ahead log");
    }
}

/// A row as JSON, every column by its stored name: times (`…_at`) as RFC 3339,
/// bytes as hex.
fn row_json(row: &rusqlite::Row<'_>, names: &[String]) -> rusqlite::Result<Value> {
    let mut object = Map::new();
    for (i, name) in names.iter().enumerate() {
        let value = match row.get_ref(i)? {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(n) if name.ends_with("_at") => {
                json!(instant(n).to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            }
            ValueRef::Integer(n) => json!(n),
            ValueRef::Real(x) => json!(x),
            ValueRef::Text(text) => json!(String::from_utf8_lossy(text)),
            ValueRef::Blob(bytes) => {
                json!(bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
            }
        };
        object.insert(name.clone(), value);
    }
    Ok(Value::Object(object))
}

fn rows_json(
    connection: &Connection,
    sql: &str,
    practice: &str,
    email: &str,
) -> rusqlite::Result<Vec<Value>> {
    let mut statement = connection.prepare(sql)?;
    let names: Vec<String> = statement
        .column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    let rows = statement.query_map(
        named_params! { ":practice": practice, ":email": email },
        |row| row_json(row, &names),
    )?;
    rows.collect()
}

impl Sqlite {
    /// One retention round as of `now`: erases the personal fields of
    /// bookings over for `retention` or longer, deletes outbox items
    /// delivered that long ago (up to [`DELIVERIES_DELETED_PER_ROUND`]), and
    /// deletes expired idempotency records. A booking is over when it was declined, cancelled
    /// or expired (counted from then), or confirmed and past (from its end).
    pub fn sweep_personal_data(
        &self,
        practice: &str,
        now: DateTime<Utc>,
        retention: Duration,
    ) -> anyhow::Result<Sweep> {
        let cutoff = now.timestamp().saturating_sub(retention.num_seconds());
        self.write(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let over: Vec<String> = tx
                .prepare_cached(
                    "SELECT id FROM bookings WHERE practice = ?2 AND erased_at IS NULL AND (
                        (status IN ('declined', 'cancelled', 'expired') AND COALESCE(closed_at, end_at) <= ?1)
                        OR (status = 'confirmed' AND end_at <= ?1))",
                )?
                .query_map(params![cutoff, practice], |row| row.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            for id in &over {
                erase_booking(&tx, id, now)?;
            }
            let deliveries_deleted = tx.execute(
                "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox
                     WHERE practice = ?2 AND done_at IS NOT NULL AND done_at <= ?1 LIMIT ?3)",
                params![cutoff, practice, DELIVERIES_DELETED_PER_ROUND],
            )?;
            let keys_deleted = delete_expired(&tx, now)?;
            tx.commit()?;
            if !over.is_empty() {
                truncate_log(c);
            }
            Ok(Sweep {
                erased: over.len(),
                keys_deleted,
                deliveries_deleted,
            })
        })
        .context("erasing personal data past its retention")
    }

    /// Everything stored about the visitor with this email address: their
    /// bookings with every stored field, and the outbox items about them.
    pub fn visitor_export(&self, practice: &str, email: &str) -> anyhow::Result<Value> {
        let email = email.trim().to_owned();
        self.read(|c| {
            let bookings = rows_json(
                c,
                &format!("SELECT * FROM bookings WHERE {OF_VISITOR} ORDER BY start_at"),
                practice,
                &email,
            )?;
            let outbox = rows_json(
                c,
                &format!(
                    "SELECT * FROM outbox WHERE practice = :practice
                       AND booking_id IN (SELECT id FROM bookings WHERE {OF_VISITOR}) ORDER BY id"
                ),
                practice,
                &email,
            )?;
            Ok(json!({ "email": email, "bookings": bookings, "outbox": outbox }))
        })
        .context("reading a visitor's data")
    }

    /// Erases the visitor with this email address: their live bookings and
    /// requests are cancelled and their calendar holds released (through the
    /// outbox, delivered by the running adapter or at its next start), emails
    /// not yet sent are dropped, and every booking's personal fields erased.
    pub fn erase_visitor(
        &self,
        practice: &str,
        email: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Erasure> {
        let email = email.trim();
        self.write(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            // A request past its expiry is closed first, as everywhere: left
            // pending, it would be expired later and its visitor emailed at
            // an erased address.
            expire_lapsed_requests(&tx, now)?;
            let theirs: Vec<(String, bool)> = tx
                .prepare(&format!(
                    "SELECT id, status IN ('pending', 'confirmed') AND end_at > :now FROM bookings WHERE {OF_VISITOR}"
                ))?
                .query_map(
                    named_params! { ":practice": practice, ":email": email, ":now": now.timestamp() },
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )?
                .collect::<rusqlite::Result<_>>()?;
            let mut erasure = Erasure::default();
            for (id, live) in &theirs {
                if *live && cancel_live(&tx, practice, id, now)? {
                    erasure.cancelled += 1;
                }
                erasure.mails_dropped += erase_booking(&tx, id, now)?;
                erasure.bookings += 1;
            }
            tx.commit()?;
            truncate_log(c);
            Ok(erasure)
        })
        .context("erasing a visitor's data")
    }

    /// Seals manage tokens that an older version left in clear in the outbox
    /// (with `key`, the mail settings' payload key); without mail no email
    /// will carry them, and they are dropped. Returns how many were changed.
    pub fn seal_clear_payloads(
        &self,
        practice: &str,
        key: Option<&SealingKey>,
    ) -> anyhow::Result<usize> {
        self.write(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let clear: Vec<(i64, String, String)> = tx
                .prepare("SELECT id, booking_id, payload FROM outbox WHERE practice = ?1 AND payload IS NOT NULL")?
                .query_map([practice], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get::<_, String>(2)?))
                })?
                .filter(|row| {
                    row.as_ref()
                        .map_or(true, |(_, _, payload)| !is_sealed_payload(payload))
                })
                .collect::<rusqlite::Result<_>>()?;
            for (id, booking_id, token) in &clear {
                let sealed = key.map(|key| seal_payload(key, booking_id, token));
                tx.execute(
                    "UPDATE outbox SET payload = ?2 WHERE id = ?1",
                    params![id, sealed],
                )?;
            }
            tx.commit()?;
            if !clear.is_empty() {
                truncate_log(c);
            }
            Ok(clear.len())
        })
        .context("sealing manage tokens kept in clear")
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::store::Action;

    #[test]
    fn erasing_a_visitor_whose_request_lapsed_unnoticed_leaves_no_email_to_their_erased_address() {
        let folder = tempfile::tempdir().unwrap();
        let store = Sqlite::open(&folder.path().join("store.sqlite3")).unwrap();
        let now = instant(1_800_000_000);
        // A request whose expiry has passed, not yet seen by the outbox's round.
        store
            .write(|c| {
                c.execute(
                    "INSERT INTO bookings (id, service, start_at, end_at, status, expires_at, created_at,
                         client_name, client_email, manage_token_hash)
                     VALUES ('bk_AAAAAAAAAAAAAAAA', 'free', ?1, ?2, 'pending', ?3, ?4, 'Sam', 'sam@example.org', zeroblob(32))",
                    params![
                        now.timestamp() - 600,
                        now.timestamp() - 300,
                        now.timestamp() - 900,
                        now.timestamp() - 3600
                    ],
                )
            })
            .unwrap();

        let erasure = store.erase_visitor("", "Sam@Example.org", now).unwrap();
        assert_eq!(erasure.bookings, 1);

        // Nothing lapses later: the request is closed, its hold released, and
        // no email waits for an address that is gone.
        assert_eq!(store.expire_lapsed(now).unwrap(), 0);
        let (status, closed_at): (String, Option<i64>) = store
            .read(|c| {
                c.query_row("SELECT status, closed_at FROM bookings", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
            })
            .unwrap();
        assert_eq!(status, "expired");
        assert_eq!(closed_at, Some(now.timestamp()));
        let waiting: Vec<String> = store
            .read(|c| {
                c.prepare("SELECT action FROM outbox WHERE done_at IS NULL")?
                    .query_map([], |r| r.get(0))?
                    .collect()
            })
            .unwrap();
        assert_eq!(waiting, vec![Action::Release.as_str().to_owned()]);
    }

    #[test]
    fn a_backlog_of_delivered_items_goes_over_rounds_and_what_waits_or_was_set_aside_stays() {
        let folder = tempfile::tempdir().unwrap();
        let store = Sqlite::open(&folder.path().join("store.sqlite3")).unwrap();
        let now = instant(1_800_000_000);
        let (old, recent) = (now.timestamp() - 40 * 86_400, now.timestamp() - 86_400);
        let backlog = DELIVERIES_DELETED_PER_ROUND + 3;
        store
            .write(|c| {
                c.execute(
                    "INSERT INTO bookings (id, service, start_at, end_at, status, created_at,
                         client_name, client_email, manage_token_hash)
                     VALUES ('bk_AAAAAAAAAAAAAAAA', 'free', ?1, ?1, 'confirmed', ?1, 'Sam', 'sam@example.org', zeroblob(32))",
                    [now.timestamp() + 86_400],
                )?;
                let item = "INSERT INTO outbox (booking_id, action, next_attempt_at, created_at, done_at, set_aside_at)
                     VALUES ('bk_AAAAAAAAAAAAAAAA', ?1, ?2, ?2, ?3, ?4)";
                c.execute(
                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2)
                     INSERT INTO outbox (booking_id, action, next_attempt_at, created_at, done_at)
                     SELECT 'bk_AAAAAAAAAAAAAAAA', 'place', ?1, ?1, ?1 FROM n",
                    params![old, backlog],
                )?;
                c.execute(item, params!["delivered lately", old, recent, None::<i64>])?;
                c.execute(item, params!["waiting", old, None::<i64>, None::<i64>])?;
                c.execute(item, params!["set aside", old, None::<i64>, old])
            })
            .unwrap();
        backlog_goes_over_rounds(
            || {
                store
                    .sweep_personal_data("", now, Duration::days(30))
                    .unwrap()
                    .deliveries_deleted
            },
            || {
                store
                    .read(|c| {
                        c.prepare("SELECT action FROM outbox ORDER BY id")?
                            .query_map([], |r| r.get(0))?
                            .collect()
                    })
                    .unwrap()
            },
        );
    }

    /// On either store, filled with a backlog of 3 items more than
    /// `DELIVERIES_DELETED_PER_ROUND`, delivered 40 days ago, then one
    /// delivered lately, one waiting and one set aside: `sweep` (a round with
    /// a 30-day retention) deletes the backlog over two rounds, and `kept`
    /// (the actions left, in order) shows the other three untouched.
    pub(in crate::store) fn backlog_goes_over_rounds(
        sweep: impl Fn() -> usize,
        kept: impl Fn() -> Vec<String>,
    ) {
        assert_eq!(
            sweep(),
            usize::try_from(DELIVERIES_DELETED_PER_ROUND).unwrap()
        );
        assert_eq!(sweep(), 3);
        assert_eq!(sweep(), 0);
        assert_eq!(kept(), ["delivered lately", "waiting", "set aside"]);
    }
}
