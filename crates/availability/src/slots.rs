//! The engine's one entry point: [`bookable_slots`].

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Timelike, Utc};

use crate::hours::OpeningRange;
use crate::rules::Rules;
use crate::timeline::Timeline;
use crate::wall_clock::{instant_at, local_date, Repeated};

/// A half-open span of time, `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Interval {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Interval {
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        Self { start, end }
    }

    /// `[start - by, end + by)`, or `None` past the range of dates.
    pub fn widened(self, by: Duration) -> Option<Self> {
        Some(Self::new(
            self.start.checked_sub_signed(by)?,
            self.end.checked_add_signed(by)?,
        ))
    }

    fn seconds(self) -> (i64, i64) {
        (self.start.timestamp(), self.end.timestamp())
    }
}

/// Time that cannot be offered. Both kinds block slots (with the buffers);
/// only `bookings` count towards the daily cap.
#[derive(Debug, Clone, Copy, Default)]
pub struct BusyTime<'a> {
    /// Busy time from the practice's calendars, in any order.
    pub calendar: &'a [Interval],
    /// Live bookings and holds made through First Step, in any order.
    pub bookings: &'a [Interval],
}

/// What is asked: slots of `duration_minutes` starting in `window`, as seen at `now`.
#[derive(Debug, Clone, Copy)]
pub struct Query {
    pub window: Interval,
    pub duration_minutes: u32,
    pub now: DateTime<Utc>,
}

/// Every bookable slot whose start lies in the query's window: inside opening
/// hours (overrides first), clear of busy time and its buffers, after the
/// minimum notice, within the horizon, on days under their cap. Ascending and
/// unique, whatever the DST transitions in between.
pub fn bookable_slots(rules: &Rules, busy: BusyTime<'_>, query: Query) -> Vec<Interval> {
    let duration = i64::from(query.duration_minutes.max(1)) * 60;
    let step = i64::from(rules.step_minutes.get()) * 60;
    // The rules' spans may reach past the range of dates: such a bound is no bound.
    let later = |by: Duration| {
        query
            .now
            .checked_add_signed(by)
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    };
    let earliest = query.window.start.max(later(Duration::minutes(
        rules.minimum_notice_minutes.into(),
    )));
    let latest = query
        .window
        .end
        .min(later(Duration::days(rules.horizon_days.into())));
    if earliest >= latest {
        return Vec::new();
    }
    let (earliest, latest) = (earliest.timestamp(), latest.timestamp());

    let buffer = |minutes: u32| i64::from(minutes) * 60;
    let mut blocked = Timeline::new(
        busy.calendar
            .iter()
            .chain(busy.bookings)
            .map(|i| i.seconds()),
        buffer(rules.buffer_before_minutes),
        buffer(rules.buffer_after_minutes),
    );
    let capped_days = rules
        .daily_cap
        .map(|cap| DailyCount::new(rules, busy.bookings, cap));

    // Candidate starts, day by day, range by range.
    let mut starts = Vec::new();
    let first_day = local_date(rules.zone, at(earliest));
    let last_day = local_date(rules.zone, at(latest));
    for day in first_day.iter_days().take_while(|day| *day <= last_day) {
        if capped_days
            .as_ref()
            .is_some_and(|counts| counts.is_full(day))
        {
            continue;
        }
        for range in rules.hours_on(day).ranges() {
            let open =
                instant_at(rules.zone, day, range.start_minute(), Repeated::Earliest).timestamp();
            let close =
                instant_at(rules.zone, day, range.end_minute(), Repeated::Latest).timestamp();
            // A range crossed by a DST change is not one stretch of real time:
            // keep only the starts whose slot reads inside it on the wall clock.
            let crossed = close - open != i64::from(range.end_minute() - range.start_minute()) * 60;
            let mut start = open;
            while start + duration <= close && start < latest {
                if start >= earliest
                    && (!crossed || reads_inside(rules, day, range, start, duration))
                {
                    starts.push(start);
                }
                start += step;
            }
        }
    }
    // Around a fall-back change, ranges of one day can interleave in real time.
    starts.sort_unstable();
    starts.dedup();
    starts
        .into_iter()
        .filter(|start| !blocked.overlaps(*start, start + duration))
        .map(|start| Interval::new(at(start), at(start + duration)))
        .collect()
}

/// Whether the slot's first and last second both read, on the practice's
/// clock, as times of `day` inside `range`.
fn reads_inside(
    rules: &Rules,
    day: NaiveDate,
    range: &OpeningRange,
    start: i64,
    duration: i64,
) -> bool {
    [start, start + duration - 1].into_iter().all(|second| {
        let local = at(second).with_timezone(&rules.zone);
        let minute = (local.hour() * 60 + local.minute()) as u16;
        local.date_naive() == day && range.start_minute() <= minute && minute < range.end_minute()
    })
}

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).expect("slot within chrono's range")
}

/// Bookings per local day, for the daily cap.
struct DailyCount {
    cap: u32,
    per_day: HashMap<NaiveDate, u32>,
}

impl DailyCount {
    fn new(rules: &Rules, bookings: &[Interval], cap: u32) -> Self {
        let mut per_day = HashMap::new();
        for booking in bookings {
            *per_day
                .entry(local_date(rules.zone, booking.start))
                .or_insert(0) += 1;
        }
        Self { cap, per_day }
    }

    fn is_full(&self, day: NaiveDate) -> bool {
        self.per_day.get(&day).copied().unwrap_or(0) >= self.cap
    }
}
