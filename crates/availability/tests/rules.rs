//! Every rule of the engine, one at a time.
mod common;

use chrono::{Datelike, Duration, NaiveDate};
use chrono_tz::America::New_York;
use common::*;
use firststep_availability::{bookable_slots, BusyTime, Query, Rules};

const NO_BUSY: BusyTime<'static> = BusyTime {
    calendar: &[],
    bookings: &[],
};

fn new_york_mornings() -> Rules {
    every_day(New_York, &["09:00-10:00"])
}

#[test]
fn opening_hours_become_slots_in_utc() {
    // 2026-12-07 is a Monday; New York is UTC-5 in December.
    let found = slots(
        &new_york_mornings(),
        NO_BUSY,
        "2026-12-07T00:00:00Z",
        "2026-12-08T00:00:00Z",
    );
    assert_eq!(
        starts(&found),
        [
            "2026-12-07T14:00Z",
            "2026-12-07T14:15Z",
            "2026-12-07T14:30Z",
            "2026-12-07T14:45Z"
        ]
    );
    assert!(found
        .iter()
        .all(|s| s.end - s.start == Duration::minutes(15)));
}

#[test]
fn weekdays_without_hours_are_closed() {
    let mut rules = Rules::closed(New_York);
    rules.weekly[0] = hours(&["09:00-09:30"]); // Mondays only
    let found = slots(
        &rules,
        NO_BUSY,
        "2026-12-01T00:00:00Z",
        "2026-12-15T00:00:00Z",
    );
    assert_eq!(found.len(), 4);
    assert!(found
        .iter()
        .all(|s| s.start.with_timezone(&New_York).weekday() == chrono::Weekday::Mon));
}

#[test]
fn several_ranges_a_day_and_a_step_longer_than_the_slot() {
    let mut rules = every_day(New_York, &["13:00-14:00", "09:00-10:00"]);
    rules.step_minutes = 30.try_into().unwrap();
    let found = slots(
        &rules,
        NO_BUSY,
        "2026-12-07T05:00:00Z",
        "2026-12-08T05:00:00Z",
    );
    assert_eq!(
        starts(&found),
        [
            "2026-12-07T14:00Z",
            "2026-12-07T14:30Z",
            "2026-12-07T18:00Z",
            "2026-12-07T18:30Z"
        ]
    );
}

#[test]
fn longer_services_must_fit_before_closing() {
    let rules = new_york_mornings();
    let window = span("2026-12-07T05:00:00Z", "2026-12-08T05:00:00Z");
    let query = Query {
        window,
        duration_minutes: 50,
        now: at("2026-12-01T00:00:00Z"),
    };
    assert_eq!(
        starts(&bookable_slots(&rules, NO_BUSY, query)),
        ["2026-12-07T14:00Z"]
    );
}

#[test]
fn busy_time_removes_exactly_the_slots_it_overlaps() {
    let calendar = [span("2026-12-07T14:10:00Z", "2026-12-07T14:20:00Z")];
    let busy = BusyTime {
        calendar: &calendar,
        bookings: &[],
    };
    let found = slots(
        &new_york_mornings(),
        busy,
        "2026-12-07T00:00:00Z",
        "2026-12-08T00:00:00Z",
    );
    assert_eq!(starts(&found), ["2026-12-07T14:30Z", "2026-12-07T14:45Z"]);
}

#[test]
fn busy_time_that_only_touches_a_slot_leaves_it_open() {
    let bookings = [span("2026-12-07T14:15:00Z", "2026-12-07T14:30:00Z")];
    let busy = BusyTime {
        calendar: &[],
        bookings: &bookings,
    };
    let found = slots(
        &new_york_mornings(),
        busy,
        "2026-12-07T00:00:00Z",
        "2026-12-08T00:00:00Z",
    );
    assert_eq!(
        starts(&found),
        [
            "2026-12-07T14:00Z",
            "2026-12-07T14:30Z",
            "2026-12-07T14:45Z"
        ]
    );
}

#[test]
fn overlapping_unsorted_and_multi_day_busy_time() {
    let calendar = [
        span("2026-12-09T14:40:00Z", "2026-12-09T15:00:00Z"),
        span("2026-12-07T12:00:00Z", "2026-12-09T14:05:00Z"), // spans two days
        span("2026-12-07T13:00:00Z", "2026-12-08T23:00:00Z"), // inside the one above
    ];
    let busy = BusyTime {
        calendar: &calendar,
        bookings: &[],
    };
    let found = slots(
        &new_york_mornings(),
        busy,
        "2026-12-07T00:00:00Z",
        "2026-12-10T00:00:00Z",
    );
    assert_eq!(starts(&found), ["2026-12-09T14:15Z"]);
}

#[test]
fn buffers_keep_time_free_around_busy_time() {
    let mut rules = new_york_mornings();
    rules.buffer_before_minutes = 10;
    rules.buffer_after_minutes = 5;
    let bookings = [span("2026-12-07T14:30:00Z", "2026-12-07T14:45:00Z")];
    let busy = BusyTime {
        calendar: &[],
        bookings: &bookings,
    };
    let found = slots(&rules, busy, "2026-12-07T00:00:00Z", "2026-12-08T00:00:00Z");
    // 14:15 ends at 14:30, inside the 10 minutes kept before; 14:45 starts
    // inside the 5 minutes kept after.
    assert_eq!(starts(&found), ["2026-12-07T14:00Z"]);
}

#[test]
fn minimum_notice_and_horizon_bound_the_offer() {
    let mut rules = every_day(New_York, &["09:00-17:00"]);
    rules.minimum_notice_minutes = 24 * 60;
    rules.horizon_days = 3;
    let now = at("2026-12-07T15:07:00Z");
    let window = span("2026-12-01T00:00:00Z", "2026-12-31T00:00:00Z");
    let found = bookable_slots(
        &rules,
        NO_BUSY,
        Query {
            window,
            duration_minutes: 15,
            now,
        },
    );
    assert_eq!(found.first().unwrap().start, at("2026-12-08T15:15:00Z"));
    assert!(found.last().unwrap().start < now + Duration::days(3));
    assert_eq!(found.last().unwrap().start, at("2026-12-10T15:00:00Z"));
}

/// A horizon reaching past the last date chrono knows is no bound, not an
/// overflow.
#[test]
fn a_horizon_past_the_range_of_dates_does_not_overflow() {
    let mut rules = new_york_mornings();
    rules.horizon_days = u32::MAX;
    let found = slots(
        &rules,
        NO_BUSY,
        "2026-12-07T00:00:00Z",
        "2026-12-08T00:00:00Z",
    );
    assert_eq!(found.len(), 4);
}

#[test]
fn slots_in_the_past_are_never_offered() {
    let rules = new_york_mornings();
    let window = span("2026-12-07T00:00:00Z", "2026-12-08T00:00:00Z");
    let now = at("2026-12-07T14:20:00Z");
    let found = bookable_slots(
        &rules,
        NO_BUSY,
        Query {
            window,
            duration_minutes: 15,
            now,
        },
    );
    assert_eq!(starts(&found), ["2026-12-07T14:30Z", "2026-12-07T14:45Z"]);
}

#[test]
fn the_window_is_half_open_on_starts() {
    let found = slots(
        &new_york_mornings(),
        NO_BUSY,
        "2026-12-07T14:15:00Z",
        "2026-12-07T14:45:00Z",
    );
    assert_eq!(starts(&found), ["2026-12-07T14:15Z", "2026-12-07T14:30Z"]);
}

#[test]
fn date_overrides_close_days_or_change_their_hours() {
    let mut rules = new_york_mornings();
    rules.overrides.insert(
        NaiveDate::from_ymd_opt(2026, 12, 24).unwrap(),
        hours(&["15:00-15:30"]),
    );
    rules
        .overrides
        .insert(NaiveDate::from_ymd_opt(2026, 12, 25).unwrap(), hours(&[]));
    let found = slots(
        &rules,
        NO_BUSY,
        "2026-12-24T05:00:00Z",
        "2026-12-27T05:00:00Z",
    );
    assert_eq!(
        starts(&found),
        [
            "2026-12-24T20:00Z",
            "2026-12-24T20:15Z",
            "2026-12-26T14:00Z",
            "2026-12-26T14:15Z",
            "2026-12-26T14:30Z",
            "2026-12-26T14:45Z"
        ]
    );
}

#[test]
fn a_day_at_its_cap_offers_nothing_and_calendar_time_does_not_count() {
    let mut rules = new_york_mornings();
    rules.daily_cap = Some(1);
    let bookings = [span("2026-12-07T14:00:00Z", "2026-12-07T14:15:00Z")];
    let calendar = [span("2026-12-08T14:00:00Z", "2026-12-08T14:15:00Z")];
    let busy = BusyTime {
        calendar: &calendar,
        bookings: &bookings,
    };
    let found = slots(&rules, busy, "2026-12-07T05:00:00Z", "2026-12-09T05:00:00Z");
    assert_eq!(
        starts(&found),
        [
            "2026-12-08T14:15Z",
            "2026-12-08T14:30Z",
            "2026-12-08T14:45Z"
        ]
    );
}

#[test]
fn an_empty_or_inverted_window_offers_nothing() {
    let rules = new_york_mornings();
    assert!(slots(
        &rules,
        NO_BUSY,
        "2026-12-07T14:00:00Z",
        "2026-12-07T14:00:00Z"
    )
    .is_empty());
    assert!(slots(
        &rules,
        NO_BUSY,
        "2026-12-08T14:00:00Z",
        "2026-12-07T14:00:00Z"
    )
    .is_empty());
}
