//! Counts for `/metrics` from PostgreSQL, assembled as the SQLite store's.

use anyhow::Context;
use chrono::{DateTime, Utc};

use super::Postgres;
use crate::store::figures::{figures, QueueRow, KIND_OF_ACTION, SET_ASIDE, WAITING};
use crate::store::Figures;

impl Postgres {
    /// The store's figures as of `now`; pending requests past their expiry count as expired.
    pub(crate) fn figures(&self, practice: &str, now: DateTime<Utc>) -> anyhow::Result<Figures> {
        self.with(|c| {
            let counted: Vec<(String, i64)> = c
                .query(
                    "SELECT CASE WHEN status = 'pending' AND expires_at <= $1 THEN 'expired' ELSE status END AS shown,
                            COUNT(*) FROM bookings WHERE practice = $2 GROUP BY shown",
                    &[&now.timestamp(), &practice],
                )?
                .iter()
                .map(|row| (row.get(0), row.get(1)))
                .collect();
            let rows: Vec<QueueRow> = c
                .query(
                    &format!(
                        "SELECT {KIND_OF_ACTION} AS kind,
                                COUNT(*) FILTER (WHERE {WAITING}),
                                MIN(created_at) FILTER (WHERE {WAITING}),
                                COUNT(*) FILTER (WHERE {SET_ASIDE})
                         FROM outbox WHERE practice = $1 AND ({WAITING} OR {SET_ASIDE})
                         GROUP BY kind"
                    ),
                    &[&practice],
                )?
                .iter()
                .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3)))
                .collect();
            Ok(figures(&counted, &rows, now))
        })
        .context("counting bookings and outbox items")
    }
}
