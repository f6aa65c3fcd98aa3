//! A round every minute that keeps the store within its promises: personal
//! fields of bookings over for `privacy.retention_days` are erased, outbox
//! items delivered that long ago deleted, idempotency records older than 24
//! hours deleted, and a warning logged when an outbox item has waited for
//! more than an hour (a calendar or mail server that keeps failing).

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};

use crate::clock::Clock;
use crate::store::{Store, Sweep};

/// An outbox item waiting longer than this is worth an operator's look.
const STUCK_AFTER_SECONDS: i64 = 3600;

/// What one round did and saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Round {
    pub sweep: Sweep,
    /// The outbox kinds (`calendar`, `mail`) whose oldest item waited too long.
    pub stuck: Vec<&'static str>,
}

/// One round as of `now`.
pub async fn round(
    store: &Store,
    retention: Duration,
    now: DateTime<Utc>,
) -> anyhow::Result<Round> {
    let sweep = store
        .call(move |s| s.sweep_personal_data(now, retention))
        .await?;
    if sweep.erased > 0 {
        tracing::info!(
            bookings = sweep.erased,
            "personal data past its retention erased"
        );
    }
    if sweep.deliveries_deleted > 0 {
        tracing::info!(
            items = sweep.deliveries_deleted,
            "outbox items delivered before the retention period deleted"
        );
    }
    let figures = store.call(move |s| s.figures(now)).await?;
    let mut stuck = Vec::new();
    for queue in figures.queues {
        if queue.oldest_age_seconds > STUCK_AFTER_SECONDS {
            tracing::warn!(
                kind = queue.kind,
                oldest_age_s = queue.oldest_age_seconds,
                depth = queue.depth,
                "an outbox item has waited for more than an hour; is the server reachable?"
            );
            stuck.push(queue.kind);
        }
    }
    Ok(Round { sweep, stuck })
}

/// Runs a round every `every`, and when `clock` jumps, until the process ends.
pub fn spawn(
    store: Store,
    retention_days: u32,
    every: StdDuration,
    mut clock: Clock,
) -> tokio::task::JoinHandle<()> {
    let retention = Duration::days(retention_days.into());
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        loop {
            crate::background::next_tick(&mut ticks, &mut clock).await;
            let (store, now) = (store.clone(), clock.now());
            let done = crate::background::round("housekeeping", async move {
                round(&store, retention, now).await
            });
            if let Some(Err(error)) = done.await {
                tracing::error!(error = format!("{error:#}"), "housekeeping round");
            }
        }
    })
}
