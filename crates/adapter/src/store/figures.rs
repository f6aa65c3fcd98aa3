//! Counts an operator watches (`/metrics`), read from the store as they are now.

use anyhow::Context;
use chrono::{DateTime, Utc};
use rusqlite::params;

use super::Sqlite;

/// Outbox rows still to be delivered.
pub(super) const WAITING: &str = "done_at IS NULL AND set_aside_at IS NULL";
/// Outbox rows given up on, kept for the practice to look at.
pub(super) const SET_ASIDE: &str = "set_aside_at IS NOT NULL";

/// What the store holds now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Figures {
    /// Every booking status with its count (statuses with none included).
    pub bookings_by_status: Vec<(&'static str, i64)>,
    /// The outbox, by kind of delivery.
    pub queues: Vec<QueueFigures>,
}

/// One kind of outbox delivery: `calendar` or `mail`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueFigures {
    pub kind: &'static str,
    /// Items waiting for delivery.
    pub depth: i64,
    /// Seconds since the oldest waiting item was queued; 0 when none waits.
    pub oldest_age_seconds: i64,
    /// Items set aside after failing for good.
    pub set_aside: i64,
}

/// One kind's outbox counts as read: kind, waiting, oldest waiting's
/// creation, set aside.
pub(super) type QueueRow = (String, i64, Option<i64>, i64);

/// The figures from the counts either backend reads: bookings by status
/// shown, and [`QueueRow`]s.
pub(super) fn figures(counted: &[(String, i64)], rows: &[QueueRow], now: DateTime<Utc>) -> Figures {
    let count_of = |status: &str| {
        counted
            .iter()
            .find(|(s, _)| s == status)
            .map_or(0, |(_, n)| *n)
    };
    let bookings_by_status = STATUSES.iter().map(|s| (*s, count_of(s))).collect();
    let queues = KINDS
        .iter()
        .map(|kind| {
            let row = rows.iter().find(|r| r.0 == *kind);
            QueueFigures {
                kind,
                depth: row.map_or(0, |r| r.1),
                oldest_age_seconds: row
                    .and_then(|r| r.2)
                    .map_or(0, |oldest| now.timestamp().saturating_sub(oldest).max(0)),
                set_aside: row.map_or(0, |r| r.3),
            }
        })
        .collect();
    Figures {
        bookings_by_status,
        queues,
    }
}

const STATUSES: [&str; 5] = ["pending", "confirmed", "declined", "cancelled", "expired"];
const KINDS: [&str; 2] = ["calendar", "mail"];
pub(super) const KIND_OF_ACTION: &str =
    "CASE WHEN action LIKE 'mail:%' THEN 'mail' ELSE 'calendar' END";

impl Sqlite {
    /// The store's figures as of `now`. Pending requests past their expiry
    /// count as expired, as everywhere else.
    pub fn figures(&self, practice: &str, now: DateTime<Utc>) -> anyhow::Result<Figures> {
        self.read(|c| {
            let mut by_status = c.prepare_cached(
                "SELECT CASE WHEN status = 'pending' AND expires_at <= ?1 THEN 'expired' ELSE status END AS shown,
                        COUNT(*) FROM bookings WHERE practice = ?2 GROUP BY shown",
            )?;
            let counted: Vec<(String, i64)> = by_status
                .query_map(params![now.timestamp(), practice], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let mut queues = c.prepare_cached(&format!(
                "SELECT {KIND_OF_ACTION} AS kind,
                        COALESCE(SUM({WAITING}), 0), MIN(CASE WHEN {WAITING} THEN created_at END),
                        COALESCE(SUM({SET_ASIDE}), 0)
                 FROM outbox WHERE practice = ?1 AND ({WAITING} OR {SET_ASIDE}) GROUP BY kind"
            ))?;
            let rows: Vec<QueueRow> = queues
                .query_map([practice], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(figures(&counted, &rows, now))
        })
        .context("counting bookings and outbox items")
    }
}
