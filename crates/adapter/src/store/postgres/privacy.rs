//! Visitors' data over time in PostgreSQL: the SQLite store's rules
//! (`../privacy.rs`) — retention, a visitor's export and erasure, tokens
//! left in clear sealed.

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use postgres::Transaction;
use serde_json::{json, Value};

use super::bookings::{cancel_live, expire_lapsed_requests};
use super::idempotency::delete_expired;
use super::Postgres;
use crate::sealing::{is_sealed_payload, seal_payload, SealingKey};
use crate::store::instant;
use crate::store::privacy::{Erasure, Sweep, DELIVERIES_DELETED_PER_ROUND};

/// Blanks a booking's personal fields, its manage token's hash and sealed
/// copy, and its video room (as the SQLite store's `ERASE_PERSONAL_FIELDS`).
const ERASE_PERSONAL_FIELDS: &str = "UPDATE bookings SET client_name = '', client_email = '',
        client_phone = NULL, client_time_zone = NULL, note = NULL, locale = NULL,
        manage_token_hash = decode(repeat('00', 32), 'hex'), reminder_token = NULL,
        room_token = NULL, erased_at = $2
     WHERE id = $1";

/// Which bookings are a visitor's: the whole address, ASCII letters in any case.
const OF_VISITOR: &str = "practice = $2 AND erased_at IS NULL AND lower(client_email) = lower($1)";

/// Erases one booking's personal data and what the outbox still holds of
/// it: emails not yet sent and sealed tokens. How many emails were dropped.
fn erase_booking(
    tx: &mut Transaction<'_>,
    id: &str,
    now: DateTime<Utc>,
) -> Result<usize, postgres::Error> {
    let dropped = tx.execute(
        "DELETE FROM outbox WHERE booking_id = $1 AND done_at IS NULL AND action LIKE 'mail:%'",
        &[&id],
    )?;
    tx.execute(
        "UPDATE outbox SET payload = NULL WHERE booking_id = $1",
        &[&id],
    )?;
    tx.execute(ERASE_PERSONAL_FIELDS, &[&id, &now.timestamp()])?;
    Ok(usize::try_from(dropped).unwrap_or(usize::MAX))
}

/// A row (as `to_jsonb` gives it) in the SQLite store's export form: times
/// (`…_at`) as RFC 3339, bytes as hex.
fn exported(row: Value) -> Value {
    let Value::Object(columns) = row else {
        return row;
    };
    let columns = columns.into_iter().map(|(name, value)| {
        let value = match value {
            Value::Number(n) if name.ends_with("_at") => n.as_i64().map_or(Value::Number(n), |t| {
                json!(instant(t).to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            }),
            Value::String(text) => match text.strip_prefix("\\x") {
                Some(hex) if name == "manage_token_hash" || name == "key_hash" => json!(hex),
                _ => Value::String(text),
            },
            other => other,
        };
        (name, value)
    });
    Value::Object(columns.collect())
}

impl Postgres {
    /// As the SQLite store's [`crate::store::Store::sweep_personal_data`].
    pub(crate) fn sweep_personal_data(
        &self,
        practice: &str,
        now: DateTime<Utc>,
        retention: Duration,
    ) -> anyhow::Result<Sweep> {
        let cutoff = now.timestamp().saturating_sub(retention.num_seconds());
        self.with(|c| {
            let mut tx = c.transaction()?;
            let over: Vec<String> = tx
                .query(
                    "SELECT id FROM bookings WHERE practice = $2 AND erased_at IS NULL AND (
                        (status IN ('declined', 'cancelled', 'expired') AND COALESCE(closed_at, end_at) <= $1)
                        OR (status = 'confirmed' AND end_at <= $1))",
                    &[&cutoff, &practice],
                )?
                .iter()
                .map(|row| row.get(0))
                .collect();
            for id in &over {
                erase_booking(&mut tx, id, now)?;
            }
            let deliveries_deleted = tx.execute(
                "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox
                     WHERE practice = $2 AND done_at IS NOT NULL AND done_at <= $1 LIMIT $3)",
                &[&cutoff, &practice, &DELIVERIES_DELETED_PER_ROUND],
            )?;
            let keys_deleted = delete_expired(&mut tx, now)?;
            tx.commit()?;
            Ok(Sweep {
                erased: over.len(),
                keys_deleted: usize::try_from(keys_deleted).unwrap_or(usize::MAX),
                deliveries_deleted: usize::try_from(deliveries_deleted).unwrap_or(usize::MAX),
            })
        })
        .context("erasing personal data past its retention")
    }

    /// Everything stored about the visitor with this email address, in the
    /// SQLite store's form.
    pub(crate) fn visitor_export(&self, practice: &str, email: &str) -> anyhow::Result<Value> {
        let email = email.trim().to_owned();
        let rows = |sql: String| -> anyhow::Result<Vec<Value>> {
            let texts = self.with(|c| c.query(&sql, &[&email, &practice]))?;
            texts
                .iter()
                .map(|row| Ok(exported(serde_json::from_str(row.get(0))?)))
                .collect()
        };
        let bookings = rows(format!(
            "SELECT to_jsonb(b)::text FROM bookings AS b WHERE {OF_VISITOR} ORDER BY start_at"
        ))
        .context("reading a visitor's bookings")?;
        let outbox = rows(format!(
            "SELECT (to_jsonb(o) - 'leased_until')::text FROM outbox AS o
             WHERE practice = $2 AND booking_id IN (SELECT id FROM bookings WHERE {OF_VISITOR})
             ORDER BY id"
        ))
        .context("reading a visitor's outbox items")?;
        Ok(json!({ "email": email, "bookings": bookings, "outbox": outbox }))
    }

    /// As the SQLite store's [`crate::store::Store::erase_visitor`].
    pub(crate) fn erase_visitor(
        &self,
        practice: &str,
        email: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Erasure> {
        let email = email.trim();
        self.with(|c| {
            let mut tx = c.transaction()?;
            // A request past its expiry is closed first, as everywhere.
            expire_lapsed_requests(&mut tx, now)?;
            let theirs: Vec<(String, bool)> = tx
                .query(
                    &format!(
                        "SELECT id, status IN ('pending', 'confirmed') AND end_at > $3
                         FROM bookings WHERE {OF_VISITOR} FOR UPDATE"
                    ),
                    &[&email, &practice, &now.timestamp()],
                )?
                .iter()
                .map(|row| (row.get(0), row.get(1)))
                .collect();
            let mut erasure = Erasure::default();
            for (id, live) in &theirs {
                if *live && cancel_live(&mut tx, practice, id, now)? {
                    erasure.cancelled += 1;
                }
                erasure.mails_dropped += erase_booking(&mut tx, id, now)?;
                erasure.bookings += 1;
            }
            tx.commit()?;
            Ok(erasure)
        })
        .context("erasing a visitor's data")
    }

    /// Seals manage tokens left in clear in the outbox (none a PostgreSQL
    /// store made; kept so data copied from an older store is sealed too).
    pub(crate) fn seal_clear_payloads(
        &self,
        practice: &str,
        key: Option<&SealingKey>,
    ) -> anyhow::Result<usize> {
        self.with(|c| {
            let mut tx = c.transaction()?;
            let clear: Vec<(i64, String, String)> = tx
                .query(
                    "SELECT id, booking_id, payload FROM outbox
                     WHERE practice = $1 AND payload IS NOT NULL FOR UPDATE",
                    &[&practice],
                )?
                .iter()
                .map(|row| (row.get(0), row.get(1), row.get(2)))
                .filter(|(_, _, payload): &(i64, String, String)| !is_sealed_payload(payload))
                .collect();
            for (id, booking_id, token) in &clear {
                let sealed = key.map(|key| seal_payload(key, booking_id, token));
                tx.execute(
                    "UPDATE outbox SET payload = $2 WHERE id = $1",
                    &[id, &sealed],
                )?;
            }
            tx.commit()?;
            Ok(clear.len())
        })
        .context("sealing manage tokens kept in clear")
    }
}
