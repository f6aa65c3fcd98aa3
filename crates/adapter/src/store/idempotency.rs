//! Idempotency keys: the same key and body get the first answer again.

use anyhow::Context;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::Store;
use crate::domain::IdempotencyKey;

/// A first request older than this is taken to have died with its process,
/// and the key may be claimed again.
const ABANDONED_AFTER_SECONDS: i64 = 60;

/// A response kept for an idempotency key, replayed byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub location: Option<String>,
    pub body: Vec<u8>,
}

/// What an idempotency key says about a new request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyClaim {
    /// First use: this request runs, and must finish or release the key.
    Claimed,
    /// Same key, same body, already answered: send this again.
    Replay(StoredResponse),
    /// Same key, same body, the first request is still running.
    InProgress,
    /// Same key, another body.
    Reused,
}

pub(super) fn finish_key(
    connection: &Connection,
    key: &IdempotencyKey,
    response: &StoredResponse,
) -> rusqlite::Result<usize> {
    connection.execute(
        "UPDATE idempotency_keys SET response_status = ?2, response_location = ?3, response_body = ?4 WHERE key = ?1",
        params![key.as_str(), response.status, response.location, response.body],
    )
}

impl Store {
    /// Looks an idempotency key up and claims it when it is new (or abandoned).
    pub fn claim_key(
        &self,
        key: &IdempotencyKey,
        request_hash: &[u8],
        now: DateTime<Utc>,
    ) -> anyhow::Result<KeyClaim> {
        self.write(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let existing = tx
                .query_row(
                    "SELECT request_hash, started_at, response_status, response_location, response_body
                     FROM idempotency_keys WHERE key = ?1",
                    [key.as_str()],
                    |row| {
                        Ok((
                            row.get::<_, Vec<u8>>(0)?,
                            row.get::<_, i64>(1)?,
                            row.get::<_, Option<u16>>(2)?,
                            row.get::<_, Option<String>>(3)?,
                            row.get::<_, Option<Vec<u8>>>(4)?,
                        ))
                    },
                )
                .optional()?;
            let claim = match existing {
                None => {
                    tx.execute(
                        "INSERT INTO idempotency_keys (key, request_hash, started_at) VALUES (?1, ?2, ?3)",
                        params![key.as_str(), request_hash, now.timestamp()],
                    )?;
                    KeyClaim::Claimed
                }
                Some((hash, _, _, _, _)) if hash != request_hash => KeyClaim::Reused,
                Some((_, _, Some(status), location, body)) => {
                    KeyClaim::Replay(StoredResponse { status, location, body: body.unwrap_or_default() })
                }
                Some((_, started_at, None, _, _)) if now.timestamp() - started_at > ABANDONED_AFTER_SECONDS => {
                    tx.execute(
                        "UPDATE idempotency_keys SET started_at = ?2 WHERE key = ?1",
                        params![key.as_str(), now.timestamp()],
                    )?;
                    KeyClaim::Claimed
                }
                Some(_) => KeyClaim::InProgress,
            };
            tx.commit()?;
            Ok(claim)
        })
        .context("claiming an idempotency key")
    }

    /// Keeps the final response of a claimed key, for replays.
    pub fn finish_key(
        &self,
        key: &IdempotencyKey,
        response: &StoredResponse,
    ) -> anyhow::Result<()> {
        self.write(|c| finish_key(c, key, response).map(drop))
            .context("storing an idempotent response")
    }

    /// Forgets a claimed key whose request failed for a passing reason, so a retry runs anew.
    pub fn release_key(&self, key: &IdempotencyKey) -> anyhow::Result<()> {
        self.write(|c| {
            c.execute(
                "DELETE FROM idempotency_keys WHERE key = ?1 AND response_status IS NULL",
                [key.as_str()],
            )
        })
        .map(drop)
        .context("releasing an idempotency key")
    }
}
