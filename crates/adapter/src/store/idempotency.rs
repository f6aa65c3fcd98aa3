//! Idempotency keys: the same key and body get the first answer again, for
//! [`KEPT_FOR`]; after that the key is forgotten and a request with it is new.
//!
//! The store keeps no key and no answer in clear: a record is found by a
//! hash of its key, and the answer (which holds the visitor's manage token)
//! is sealed with a key derived from the `Idempotency-Key` itself, so only
//! the client that holds it can have the answer again.

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use sha2::{Digest, Sha256};

use super::privacy::truncate_log;
use super::Sqlite;
use crate::domain::IdempotencyKey;
use crate::sealing::SealingKey;

/// A first request older than this is taken to have died with its process,
/// and the key may be claimed again.
const ABANDONED_AFTER_SECONDS: i64 = 60;

/// How long a key's answer is kept for replays (as payment APIs do).
pub const KEPT_FOR: Duration = Duration::hours(24);

/// A response kept for an idempotency key, replayed byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    /// The path in the practice (`/v1/bookings/{id}`), answered under its
    /// address (`AppState::address`).
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

/// The record's name in the store: the key's SHA-256, in its own domain.
pub(super) fn key_hash(key: &IdempotencyKey) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(b"firststep idempotency-key v1\0");
    hash.update(key.as_str().as_bytes());
    hash.finalize().into()
}

/// The key that seals the key's answer, known only to whoever holds the key.
fn replay_key(key: &IdempotencyKey) -> SealingKey {
    SealingKey::derive(key.as_str().as_bytes(), "firststep idempotent replay v1")
}

/// The record's name and the response sealed for the key's holder.
pub(super) fn sealed_response(
    key: &IdempotencyKey,
    response: &StoredResponse,
) -> ([u8; 32], Vec<u8>) {
    let hash = key_hash(key);
    let sealed = replay_key(key).seal(&response.body, &hash);
    (hash, sealed)
}

/// A key's record as found.
pub(super) struct Found {
    pub request_hash: Vec<u8>,
    pub started_at: i64,
    pub status: Option<u16>,
    pub location: Option<String>,
    pub sealed: Option<Vec<u8>>,
}

/// What a claim makes of the record found for its key.
pub(super) enum Verdict {
    /// No record: the request is first; claim the key.
    New,
    /// The first request died with its process: claim the key again.
    Abandoned,
    /// Nothing to write: this is the answer.
    Settled(Sealed),
}

pub(super) fn judge(found: Option<Found>, request_hash: &[u8], now: DateTime<Utc>) -> Verdict {
    match found {
        None => Verdict::New,
        Some(found) if found.request_hash != request_hash => Verdict::Settled(Sealed::Reused),
        Some(Found {
            status: Some(status),
            location,
            sealed,
            ..
        }) => Verdict::Settled(Sealed::Replay(status, location, sealed.unwrap_or_default())),
        Some(found)
            if now.timestamp().saturating_sub(found.started_at) > ABANDONED_AFTER_SECONDS =>
        {
            Verdict::Abandoned
        }
        Some(_) => Verdict::Settled(Sealed::InProgress),
    }
}

/// The claim as the caller sees it, the answer opened with the key.
pub(super) fn opened(key: &IdempotencyKey, claim: Sealed) -> anyhow::Result<KeyClaim> {
    Ok(match claim {
        Sealed::Claimed => KeyClaim::Claimed,
        Sealed::InProgress => KeyClaim::InProgress,
        Sealed::Reused => KeyClaim::Reused,
        Sealed::Replay(status, location, sealed) => KeyClaim::Replay(StoredResponse {
            status,
            location,
            body: replay_key(key)
                .open(&sealed, &key_hash(key))
                .context("opening a stored answer: it does not match its key")?,
        }),
    })
}

pub(super) fn finish_key(
    connection: &Connection,
    practice: &str,
    key: &IdempotencyKey,
    response: &StoredResponse,
) -> rusqlite::Result<usize> {
    let (hash, sealed) = sealed_response(key, response);
    connection.execute(
        "UPDATE idempotency_records SET response_status = ?2, response_location = ?3, response_sealed = ?4
         WHERE practice = ?5 AND key_hash = ?1",
        params![hash.as_slice(), response.status, response.location, sealed, practice],
    )
}

/// Deletes the records of keys first used [`KEPT_FOR`] ago or more.
pub(super) fn delete_expired(
    connection: &Connection,
    now: DateTime<Utc>,
) -> rusqlite::Result<usize> {
    let cutoff = now.timestamp().saturating_sub(KEPT_FOR.num_seconds());
    connection.execute(
        "DELETE FROM idempotency_records WHERE started_at <= ?1",
        [cutoff],
    )
}

/// Moves records kept before keys were hashed and answers sealed (in the
/// table the migration renamed) into the sealed form, then drops them.
pub(super) fn seal_clear_records(connection: &mut Connection) -> rusqlite::Result<()> {
    let legacy: bool = connection.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'idempotency_keys_clear')",
        [],
        |row| row.get(0),
    )?;
    if !legacy {
        return Ok(());
    }
    let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let rows: Vec<(String, Option<Vec<u8>>)> = tx
        .prepare("SELECT key, response_body FROM idempotency_keys_clear")?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (raw, body) in rows {
        // Keys were parsed before they were stored; one that no longer parses cannot come again.
        let Ok(key) = IdempotencyKey::parse(&raw) else {
            continue;
        };
        let hash = key_hash(&key);
        let sealed = body.map(|body| replay_key(&key).seal(&body, &hash));
        tx.execute(
            "INSERT OR IGNORE INTO idempotency_records
                (key_hash, request_hash, started_at, response_status, response_location, response_sealed)
             SELECT ?2, request_hash, started_at, response_status, response_location, ?3
             FROM idempotency_keys_clear WHERE key = ?1",
            params![raw, hash.as_slice(), sealed],
        )?;
    }
    tx.execute("DROP TABLE idempotency_keys_clear", [])?;
    tx.commit()?;
    // The dropped pages are overwritten in the log only: until it is moved
    // into the file, the file would still hold the keys and answers in clear.
    truncate_log(connection);
    Ok(())
}

impl Sqlite {
    /// Looks an idempotency key up and claims it when it is new, abandoned,
    /// or older than [`KEPT_FOR`] (expired records are deleted on the way).
    pub fn claim_key(
        &self,
        practice: &str,
        key: &IdempotencyKey,
        request_hash: &[u8],
        now: DateTime<Utc>,
    ) -> anyhow::Result<KeyClaim> {
        let hash = key_hash(key);
        let claim = self
            .write(|c| {
                let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                delete_expired(&tx, now)?;
                let found = tx
                    .query_row(
                        "SELECT request_hash, started_at, response_status, response_location, response_sealed
                         FROM idempotency_records WHERE practice = ?2 AND key_hash = ?1",
                        params![hash.as_slice(), practice],
                        |row| {
                            Ok(Found {
                                request_hash: row.get(0)?,
                                started_at: row.get(1)?,
                                status: row.get(2)?,
                                location: row.get(3)?,
                                sealed: row.get(4)?,
                            })
                        },
                    )
                    .optional()?;
                let claim = match judge(found, request_hash, now) {
                    Verdict::New => {
                        tx.execute(
                            "INSERT INTO idempotency_records (key_hash, request_hash, started_at, practice) VALUES (?1, ?2, ?3, ?4)",
                            params![hash.as_slice(), request_hash, now.timestamp(), practice],
                        )?;
                        Sealed::Claimed
                    }
                    Verdict::Abandoned => {
                        tx.execute(
                            "UPDATE idempotency_records SET started_at = ?2 WHERE practice = ?3 AND key_hash = ?1",
                            params![hash.as_slice(), now.timestamp(), practice],
                        )?;
                        Sealed::Claimed
                    }
                    Verdict::Settled(claim) => claim,
                };
                tx.commit()?;
                Ok(claim)
            })
            .context("claiming an idempotency key")?;
        opened(key, claim)
    }

    /// Keeps the final response of a claimed key, for replays.
    pub fn finish_key(
        &self,
        practice: &str,
        key: &IdempotencyKey,
        response: &StoredResponse,
    ) -> anyhow::Result<()> {
        self.write(|c| finish_key(c, practice, key, response).map(drop))
            .context("storing an idempotent response")
    }

    /// Forgets a claimed key whose request failed for a passing reason, so a retry runs anew.
    pub fn release_key(&self, practice: &str, key: &IdempotencyKey) -> anyhow::Result<()> {
        self.write(|c| {
            c.execute(
                "DELETE FROM idempotency_records
                 WHERE practice = ?2 AND key_hash = ?1 AND response_status IS NULL",
                params![key_hash(key).as_slice(), practice],
            )
        })
        .map(drop)
        .context("releasing an idempotency key")
    }

    /// Deletes the records of keys first used [`KEPT_FOR`] ago or more.
    pub fn delete_expired_keys(&self, now: DateTime<Utc>) -> anyhow::Result<usize> {
        self.write(|c| delete_expired(c, now))
            .context("deleting expired idempotency keys")
    }
}

/// A claim as decided, before its answer is opened.
pub(super) enum Sealed {
    Claimed,
    Replay(u16, Option<String>, Vec<u8>),
    InProgress,
    Reused,
}
