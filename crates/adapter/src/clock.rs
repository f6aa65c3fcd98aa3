//! Where the adapter's present comes from. Every piece that asks "what time
//! is it" (routes, the outbox and its expiry of requests, housekeeping, the
//! busy-time refresh, `/metrics`, the command line) reads a [`Clock`]; the
//! store, the slot engine and signed links take that `now` as an argument.
//!
//! In production the clock is the system's. Tests build the server with a
//! [`Clock::movable`] one and move it forward with its [`ClockHand`], so a
//! request can expire or a retry fall due without sleeping or editing the
//! store. A jump also wakes the background rounds (see [`Clock::jumped`]),
//! so what fell due is done at once rather than at the next period.

use chrono::{DateTime, Duration, Utc};
use tokio::sync::watch;

/// The present, as the adapter sees it. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// How far a movable clock has been moved past the system's; `None` for
    /// the system clock, which nothing can move.
    moved: Option<watch::Receiver<Duration>>,
}

/// Moves a [`Clock::movable`] clock (and every clone of it).
#[derive(Debug)]
pub struct ClockHand {
    moved: watch::Sender<Duration>,
}

impl Clock {
    /// The system's clock.
    pub fn system() -> Self {
        Self::default()
    }

    /// A clock that runs with the system's from now on, plus whatever its
    /// hand moves it by: for tests.
    pub fn movable() -> (Self, ClockHand) {
        let (moved, seen) = watch::channel(Duration::zero());
        (Self { moved: Some(seen) }, ClockHand { moved })
    }

    pub fn now(&self) -> DateTime<Utc> {
        // The one reading of the system clock for the adapter's own time.
        let system = Utc::now();
        match &self.moved {
            None => system,
            Some(moved) => {
                let by = *moved.borrow();
                // Moved past the range of dates: its end.
                let end = if by < Duration::zero() {
                    DateTime::<Utc>::MIN_UTC
                } else {
                    DateTime::<Utc>::MAX_UTC
                };
                system.checked_add_signed(by).unwrap_or(end)
            }
        }
    }

    /// Completes when the clock's hand moves it, after the last time this
    /// completed for this copy; never for the system clock. A round that
    /// waits for its period waits for this too, since work may have fallen
    /// due.
    pub async fn jumped(&mut self) {
        if let Some(moved) = &mut self.moved {
            if moved.changed().await.is_ok() {
                return;
            }
        }
        // The system clock, or a hand that is gone: it will not move.
        std::future::pending().await
    }
}

impl ClockHand {
    /// Moves the clock on by `by` (back, if negative).
    pub fn advance(&self, by: Duration) {
        self.moved.send_modify(|moved| *moved += by);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Files that may read the wall clock themselves, because a remote
    /// server checks what they send against its own clock.
    const REMOTE_CLOCKS: &[&str] = &["calendar/google.rs", "calendar/oauth.rs"];

    /// Where, outside the unit tests at the end of each file, the system
    /// time is read: `path:line` for each.
    fn wall_clock_reads(src: &std::path::Path) -> Vec<String> {
        let mut reads = Vec::new();
        let mut folders = vec![src.to_path_buf()];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(&folder).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    folders.push(path);
                    continue;
                }
                let relative = path.strip_prefix(src).unwrap().to_string_lossy();
                let source = std::fs::read_to_string(&path).unwrap();
                let code = source.split("#[cfg(test)]").next().unwrap_or_default();
                for (at, line) in code.lines().enumerate() {
                    if line.contains("Utc::now()") || line.contains("SystemTime::now()") {
                        reads.push(format!("{relative}:{}", at + 1));
                    }
                }
            }
        }
        reads.sort();
        reads
    }

    #[test]
    fn the_present_is_read_only_through_the_clock() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let elsewhere: Vec<String> = wall_clock_reads(&src)
            .into_iter()
            .filter(|read| !read.starts_with("clock.rs:"))
            .filter(|read| {
                !REMOTE_CLOCKS
                    .iter()
                    .any(|f| read.starts_with(&format!("{f}:")))
            })
            .collect();
        assert!(
            elsewhere.is_empty(),
            "read the time from the Clock instead: {elsewhere:?}"
        );
        assert_eq!(
            wall_clock_reads(&src)
                .iter()
                .filter(|read| read.starts_with("clock.rs:"))
                .count(),
            1,
            "the clock reads the system time in one place"
        );
    }

    #[test]
    fn the_system_clock_is_the_system_time() {
        let before = Utc::now();
        let now = Clock::system().now();
        assert!(before <= now && now <= Utc::now());
    }

    #[test]
    fn a_moved_clock_and_its_copies_are_ahead_by_what_the_hand_moved() {
        let (clock, hand) = Clock::movable();
        let copy = clock.clone();
        hand.advance(Duration::days(2));
        hand.advance(Duration::hours(1));
        let ahead = Duration::days(2) + Duration::hours(1);
        for clock in [clock, copy] {
            let before = Utc::now() + ahead;
            let now = clock.now();
            assert!(before <= now && now <= Utc::now() + ahead, "{now}");
        }
    }

    #[tokio::test]
    async fn a_jump_wakes_each_copy_once_and_the_system_clock_never() {
        let (clock, hand) = Clock::movable();
        let (mut first, mut second) = (clock.clone(), clock);
        let waiting = tokio::time::timeout(std::time::Duration::from_millis(20), first.jumped());
        assert!(waiting.await.is_err(), "no jump yet");

        hand.advance(Duration::minutes(5));
        first.jumped().await;
        second.jumped().await;
        let again = tokio::time::timeout(std::time::Duration::from_millis(20), first.jumped());
        assert!(again.await.is_err(), "one jump wakes once");

        drop(hand);
        let gone = tokio::time::timeout(std::time::Duration::from_millis(20), second.jumped());
        assert!(gone.await.is_err(), "a clock whose hand is gone stays put");
        let mut system = Clock::system();
        let system = tokio::time::timeout(std::time::Duration::from_millis(20), system.jumped());
        assert!(system.await.is_err());
    }
}
