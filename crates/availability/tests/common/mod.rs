//! Shared builders for the engine's tests.
#![allow(dead_code)]

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use firststep_availability::{
    bookable_slots, BusyTime, DayHours, Interval, OpeningRange, Query, Rules,
};

pub fn at(text: &str) -> DateTime<Utc> {
    text.parse().expect("RFC 3339 instant")
}

pub fn span(start: &str, end: &str) -> Interval {
    Interval::new(at(start), at(end))
}

pub fn hours(ranges: &[&str]) -> DayHours {
    DayHours::new(
        ranges
            .iter()
            .map(|r| OpeningRange::parse(r).unwrap())
            .collect(),
    )
    .unwrap()
}

/// Open the same hours every day of the week.
pub fn every_day(zone: Tz, ranges: &[&str]) -> Rules {
    let mut rules = Rules::closed(zone);
    rules.weekly = std::array::from_fn(|_| hours(ranges));
    rules.horizon_days = 3650;
    rules
}

/// 15-minute slots in `[from, to)`, asked long before (so notice never bites).
pub fn slots(rules: &Rules, busy: BusyTime<'_>, from: &str, to: &str) -> Vec<Interval> {
    let window = span(from, to);
    let now = window.start - chrono::Duration::days(1);
    bookable_slots(
        rules,
        busy,
        Query {
            window,
            duration_minutes: 15,
            now,
        },
    )
}

/// The slots' starts as RFC 3339 text, for readable assertions.
pub fn starts(slots: &[Interval]) -> Vec<String> {
    slots
        .iter()
        .map(|s| s.start.format("%Y-%m-%dT%H:%MZ").to_string())
        .collect()
}
