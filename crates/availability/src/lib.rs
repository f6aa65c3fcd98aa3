//! The availability engine: a practice's opening rules and busy time in,
//! bookable slot starts out. Pure functions: no I/O and no clock (`now` is a
//! parameter), so every rule, DST transition included, is tested directly.
//!
//! # Layout
//! - [`hours`]: opening hours as parsed values: [`OpeningRange`] (`09:00-17:00`
//!   in the practice's wall-clock time) and [`DayHours`] (a day's sorted,
//!   non-overlapping ranges).
//! - [`rules`]: [`Rules`], everything a practice decides: weekly hours, date
//!   overrides, buffers, notice, horizon, daily cap, step.
//! - `wall_clock`: wall-clock time → instants, with DST gaps and overlaps
//!   resolved on purpose.
//! - `timeline`: busy time merged into a sorted timeline walked once.
//! - [`slots`]: [`bookable_slots`], the one entry point.

pub mod hours;
pub mod rules;
pub mod slots;
mod timeline;
mod wall_clock;

pub use hours::{DayHours, HoursError, OpeningRange};
pub use rules::Rules;
pub use slots::{bookable_slots, BusyTime, Interval, Query};
