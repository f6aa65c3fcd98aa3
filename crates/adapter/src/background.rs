//! The adapter's background rounds (busy-time refresh, outbox deliveries,
//! housekeeping) run for the life of the process: a panic in one round must
//! not end them for good, silently. Each round runs as a task of its own.

use std::future::Future;

use crate::clock::Clock;

/// Waits for the next of `ticks`, or for `clock` to jump (tests move it).
pub(crate) async fn next_tick(ticks: &mut tokio::time::Interval, clock: &mut Clock) {
    tokio::select! {
        _ = ticks.tick() => {}
        _ = clock.jumped() => {}
    }
}

/// Runs one round of `task`; a panic in it is logged and the round counts as
/// done with nothing to show (`None`), so the next round runs as usual.
pub(crate) async fn round<T: Send + 'static>(
    task: &'static str,
    work: impl Future<Output = T> + Send + 'static,
) -> Option<T> {
    match tokio::spawn(work).await {
        Ok(done) => Some(done),
        Err(error) => {
            tracing::error!(task, %error, "a background round failed; the next one runs as usual");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_round_that_panics_is_none_and_the_next_round_runs() {
        let failed = round("test", async {
            if std::hint::black_box(true) {
                panic!("a hostile value");
            }
            1
        })
        .await;
        assert_eq!(failed, None);
        assert_eq!(round("test", async { 2 }).await, Some(2));
    }
}
