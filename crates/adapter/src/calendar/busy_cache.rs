//! The calendar's busy time over the booking horizon, refreshed in the
//! background: slot requests read the last good copy and never wait on a
//! remote server; a calendar that is down keeps its last copy in force.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use firststep_availability::Interval;

use super::{Calendar, CalendarError};
use crate::clock::Clock;

pub struct BusyCache {
    calendar: Arc<dyn Calendar>,
    /// How far ahead to read: the practice's horizon and a day.
    horizon: Duration,
    current: RwLock<Arc<Vec<Interval>>>,
    /// Unix time of the last successful refresh, 0 before the first (for `/metrics`).
    refreshed_at: AtomicI64,
    /// What the last refresh found wrong with the configuration (a revoked
    /// token, a calendar no longer shared), for `/healthz`; cleared by a
    /// good refresh. A calendar that is merely down is not kept here.
    misconfigured: RwLock<Option<String>>,
}

impl BusyCache {
    pub fn new(calendar: Arc<dyn Calendar>, horizon_days: u32) -> Self {
        Self {
            calendar,
            horizon: Duration::days(i64::from(horizon_days) + 1),
            current: RwLock::new(Arc::new(Vec::new())),
            refreshed_at: AtomicI64::new(0),
            misconfigured: RwLock::new(None),
        }
    }

    /// The last good copy.
    pub fn current(&self) -> Arc<Vec<Interval>> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Reads busy time afresh; on failure the last good copy stays.
    pub async fn refresh(&self, now: DateTime<Utc>) -> Result<usize, CalendarError> {
        // A horizon past the range of dates reads as far as there are dates.
        let range = Interval::new(
            now.checked_sub_signed(Duration::days(1))
                .unwrap_or(DateTime::<Utc>::MIN_UTC),
            now.checked_add_signed(self.horizon)
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        );
        let busy = match self.calendar.busy(range).await {
            Ok(busy) => busy,
            Err(error) => {
                if let CalendarError::Misconfigured(problem) = &error {
                    *self
                        .misconfigured
                        .write()
                        .unwrap_or_else(|p| p.into_inner()) = Some(problem.clone());
                }
                return Err(error);
            }
        };
        *self
            .misconfigured
            .write()
            .unwrap_or_else(|p| p.into_inner()) = None;
        let count = busy.len();
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(busy);
        self.refreshed_at.store(now.timestamp(), Ordering::Relaxed);
        Ok(count)
    }

    /// The calendar's configuration problem, if the last refresh met one.
    pub fn misconfigured(&self) -> Option<String> {
        self.misconfigured
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// When busy time was last read successfully.
    pub fn last_refreshed(&self) -> Option<DateTime<Utc>> {
        match self.refreshed_at.load(Ordering::Relaxed) {
            0 => None,
            at => DateTime::from_timestamp(at, 0),
        }
    }

    /// Refreshes every `every`, and when `clock` jumps, until the process
    /// ends. The first refresh is one period after the start, which has just
    /// read busy time itself: an immediate second read could land late and
    /// replace the copy a caller has just reasoned about.
    pub fn spawn_refresher(
        self: Arc<Self>,
        every: StdDuration,
        mut clock: Clock,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            loop {
                // A jump of the clock moves the window to read.
                tokio::select! {
                    _ = ticks.tick() => {}
                    _ = clock.jumped() => {}
                }
                let (cache, now) = (self.clone(), clock.now());
                let refreshed = crate::background::round("busy-time refresh", async move {
                    cache.refresh(now).await
                });
                match refreshed.await {
                    None | Some(Ok(_)) => {}
                    Some(Err(error @ CalendarError::Misconfigured(_))) => tracing::error!(
                        %error,
                        "the calendar refuses the adapter; bookings are kept and delivered once this is fixed"
                    ),
                    Some(Err(error)) => {
                        tracing::warn!(%error, "reading busy time failed; keeping the last good copy")
                    }
                }
            }
        })
    }
}
