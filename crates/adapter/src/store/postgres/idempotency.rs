//! Idempotency keys in PostgreSQL, shared by every replica: the same
//! rules and sealing as the SQLite store's (`../idempotency.rs`).

use anyhow::Context;
use chrono::{DateTime, Utc};
use postgres::{GenericClient, Transaction};

use super::Postgres;
use crate::domain::IdempotencyKey;
use crate::store::idempotency::{judge, key_hash, opened, sealed_response, Found, Sealed, Verdict};
use crate::store::{KeyClaim, StoredResponse, IDEMPOTENCY_KEPT_FOR};

pub(super) fn finish_key(
    client: &mut impl GenericClient,
    practice: &str,
    key: &IdempotencyKey,
    response: &StoredResponse,
) -> Result<u64, postgres::Error> {
    let (hash, sealed) = sealed_response(key, response);
    client.execute(
        "UPDATE idempotency_records SET response_status = $2, response_location = $3, response_sealed = $4
         WHERE practice = $5 AND key_hash = $1",
        &[&hash.as_slice(), &i32::from(response.status), &response.location, &sealed, &practice],
    )
}

/// Deletes the records of keys first used [`IDEMPOTENCY_KEPT_FOR`] ago or more.
pub(super) fn delete_expired(
    client: &mut impl GenericClient,
    now: DateTime<Utc>,
) -> Result<u64, postgres::Error> {
    let cutoff = now
        .timestamp()
        .saturating_sub(IDEMPOTENCY_KEPT_FOR.num_seconds());
    client.execute(
        "DELETE FROM idempotency_records WHERE started_at <= $1",
        &[&cutoff],
    )
}

/// Inserts the key's record unless one exists (another replica's, perhaps
/// a moment ago): whether this request claimed it.
fn insert(
    tx: &mut Transaction<'_>,
    practice: &str,
    hash: &[u8],
    request_hash: &[u8],
    now: DateTime<Utc>,
) -> Result<bool, postgres::Error> {
    let inserted = tx.execute(
        "INSERT INTO idempotency_records (key_hash, request_hash, started_at, practice)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (practice, key_hash) DO NOTHING",
        &[&hash, &request_hash, &now.timestamp(), &practice],
    )?;
    Ok(inserted == 1)
}

impl Postgres {
    /// As the SQLite store's [`crate::store::Store::claim_key`]. Two replicas
    /// claiming one key at once: the second insert waits for the first's
    /// commit and does nothing; that request then finds the key in progress.
    pub(crate) fn claim_key(
        &self,
        practice: &str,
        key: &IdempotencyKey,
        request_hash: &[u8],
        now: DateTime<Utc>,
    ) -> anyhow::Result<KeyClaim> {
        let hash = key_hash(key);
        let claim = self
            .with(|c| {
                let mut tx = c.transaction()?;
                delete_expired(&mut tx, now)?;
                if insert(&mut tx, practice, &hash, request_hash, now)? {
                    tx.commit()?;
                    return Ok(Sealed::Claimed);
                }
                let found = tx
                    .query_opt(
                        "SELECT request_hash, started_at, response_status, response_location, response_sealed
                         FROM idempotency_records WHERE practice = $2 AND key_hash = $1 FOR UPDATE",
                        &[&hash.as_slice(), &practice],
                    )?
                    .map(|row| Found {
                        request_hash: row.get(0),
                        started_at: row.get(1),
                        status: row.get::<_, Option<i32>>(2).and_then(|s| u16::try_from(s).ok()),
                        location: row.get(3),
                        sealed: row.get(4),
                    });
                let claim = match judge(found, request_hash, now) {
                    // Released meanwhile: first again, unless yet another request took it.
                    Verdict::New if insert(&mut tx, practice, &hash, request_hash, now)? => {
                        Sealed::Claimed
                    }
                    Verdict::New => Sealed::InProgress,
                    Verdict::Abandoned => {
                        tx.execute(
                            "UPDATE idempotency_records SET started_at = $2
                             WHERE practice = $3 AND key_hash = $1",
                            &[&hash.as_slice(), &now.timestamp(), &practice],
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
    pub(crate) fn finish_key(
        &self,
        practice: &str,
        key: &IdempotencyKey,
        response: &StoredResponse,
    ) -> anyhow::Result<()> {
        self.with(|c| finish_key(c, practice, key, response).map(drop))
            .context("storing an idempotent response")
    }

    /// Forgets a claimed key whose request failed for a passing reason.
    pub(crate) fn release_key(&self, practice: &str, key: &IdempotencyKey) -> anyhow::Result<()> {
        self.with(|c| {
            c.execute(
                "DELETE FROM idempotency_records
                 WHERE practice = $2 AND key_hash = $1 AND response_status IS NULL",
                &[&key_hash(key).as_slice(), &practice],
            )
        })
        .map(drop)
        .context("releasing an idempotency key")
    }

    /// Deletes the records of keys first used [`IDEMPOTENCY_KEPT_FOR`] ago or more.
    pub(crate) fn delete_expired_keys(&self, now: DateTime<Utc>) -> anyhow::Result<usize> {
        self.with(|c| delete_expired(c, now))
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
            .context("deleting expired idempotency keys")
    }
}
