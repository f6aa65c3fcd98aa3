//! `firststep-conformance`: checks a running server against First Step
//! protocol v1 (`docs/protocol.md`), black-box over HTTP, and says where it
//! differs: one line per check, with what was expected, what came, and the
//! section of the protocol the rule comes from.
//!
//! Checks are data ([`Check`]: an id, the protocol's section, whether it
//! writes, a run function), so the binary and the kit's own tests run the
//! same list, all of it or by id ([`run`]).
//!
//! # Layout
//! - `context`: the run's options and what checks share: the probe, the
//!   practice as the server describes it, free slots to book, booking bodies.
//! - `checks`: the list [`ALL`], in the order they run, by theme:
//!   reading (practice, slots, health), refusals (every documented error),
//!   idempotency, bookings (create, manage, cancel, calendar file,
//!   concurrency), edge (CORS, rate limit, cookies, `nosniff`).
//! - `http`: the one way requests are sent and answers read; notes what
//!   every answer must hold.
//! - `verdict`: pass, fail (expected vs got) or skip, and the shared
//!   expectations (problem+json, instants in UTC).
//! - `ical`: a small iCalendar reader for the booking's `calendar.ics`.
//! - `report`: the outcomes, as lines for a person or JSON for machines.

mod checks;
mod context;
mod http;
mod ical;
mod report;
mod verdict;

pub use checks::{Check, ALL};
pub use context::{Context, Options};
pub use report::{Outcome, Report, Result as CheckResult};
pub use verdict::{NotPassed, Verdict};

/// Runs the checks whose id is in `only` (every check when `None`), in the
/// order of [`ALL`], one after the other.
pub async fn run(options: Options, only: Option<&[&str]>) -> Result<Report, String> {
    let context = Context::new(options)?;
    let mut results = Vec::new();
    for check in ALL {
        if only.is_some_and(|ids| !ids.contains(&check.id)) {
            continue;
        }
        let outcome = if check.writes && !context.options.allow_writes {
            Outcome::from(Err(verdict::NotPassed::Skipped(
                "writes bookings: run with --allow-writes".into(),
            )))
        } else {
            Outcome::from((check.run)(&context).await)
        };
        results.push(CheckResult {
            id: check.id,
            section: check.section,
            title: check.title,
            outcome,
        });
    }
    Ok(Report {
        base: context.probe.base().to_owned(),
        results,
    })
}
