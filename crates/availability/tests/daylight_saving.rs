//! DST on purpose: no phantom slots in spring-forward gaps, no duplicates in
//! fall-back overlaps, odd offsets kept on the quarter hour.
mod common;

use chrono::{NaiveTime, Timelike};
use chrono_tz::{America::New_York, Asia::Kathmandu, Australia::Lord_Howe, Europe::London, Tz};
use common::*;
use firststep_availability::{BusyTime, Interval};

const NO_BUSY: BusyTime<'static> = BusyTime {
    calendar: &[],
    bookings: &[],
};

fn local_times(zone: Tz, found: &[Interval]) -> Vec<String> {
    found
        .iter()
        .map(|s| s.start.with_timezone(&zone).format("%H:%M%:z").to_string())
        .collect()
}

fn assert_sorted_and_unique(found: &[Interval]) {
    assert!(
        found.windows(2).all(|w| w[0].start < w[1].start),
        "not strictly ascending: {found:?}"
    );
}

#[test]
fn new_york_spring_forward_has_no_slots_in_the_missing_hour() {
    // 2026-03-08: 02:00 EST jumps to 03:00 EDT.
    let rules = every_day(New_York, &["01:00-04:00"]);
    let found = slots(
        &rules,
        NO_BUSY,
        "2026-03-08T05:00:00Z",
        "2026-03-09T04:00:00Z",
    );
    assert_eq!(
        local_times(New_York, &found),
        [
            "01:00-05:00",
            "01:15-05:00",
            "01:30-05:00",
            "01:45-05:00",
            "03:00-04:00",
            "03:15-04:00",
            "03:30-04:00",
            "03:45-04:00"
        ]
    );
}

#[test]
fn new_york_fall_back_offers_the_repeated_hour_once_per_real_hour() {
    // 2026-11-01: 02:00 EDT falls back to 01:00 EST; 00:00-03:00 is four real hours.
    let rules = every_day(New_York, &["00:00-03:00"]);
    let found = slots(
        &rules,
        NO_BUSY,
        "2026-11-01T04:00:00Z",
        "2026-11-02T05:00:00Z",
    );
    assert_eq!(found.len(), 16);
    assert_sorted_and_unique(&found);
    assert_eq!(found.first().unwrap().start, at("2026-11-01T04:00:00Z"));
    assert_eq!(found.last().unwrap().end, at("2026-11-01T08:00:00Z"));
}

#[test]
fn ranges_meeting_inside_the_repeated_hour_produce_no_duplicates() {
    let rules = every_day(New_York, &["00:00-01:30", "01:30-03:00"]);
    let found = slots(
        &rules,
        NO_BUSY,
        "2026-11-01T04:00:00Z",
        "2026-11-02T05:00:00Z",
    );
    assert_eq!(found.len(), 16);
    assert_sorted_and_unique(&found);
}

#[test]
fn london_spring_forward() {
    // 2026-03-29: 01:00 GMT jumps to 02:00 BST; 00:30-02:30 is one real hour.
    let rules = every_day(London, &["00:30-02:30"]);
    let found = slots(
        &rules,
        NO_BUSY,
        "2026-03-29T00:00:00Z",
        "2026-03-29T23:00:00Z",
    );
    assert_eq!(
        starts(&found),
        [
            "2026-03-29T00:30Z",
            "2026-03-29T00:45Z",
            "2026-03-29T01:00Z",
            "2026-03-29T01:15Z"
        ]
    );
}

#[test]
fn london_fall_back() {
    // 2026-10-25: 02:00 BST falls back to 01:00 GMT. The clock reads 00:45-01:30
    // from 00:45 to 01:30 BST and again from 01:00 to 01:30 GMT: 75 minutes.
    let rules = every_day(London, &["00:45-01:30"]);
    let found = slots(
        &rules,
        NO_BUSY,
        "2026-10-24T23:00:00Z",
        "2026-10-26T00:00:00Z",
    );
    assert_eq!(
        local_times(London, &found),
        [
            "00:45+01:00",
            "01:00+01:00",
            "01:15+01:00",
            "01:00+00:00",
            "01:15+00:00"
        ]
    );
}

#[test]
fn a_range_ending_inside_the_repeated_hour_offers_nothing_the_clock_reads_outside_it() {
    // 2026-11-01 in New York: 00:30-01:15 on the wall clock, read twice after 01:00.
    let rules = every_day(New_York, &["00:30-01:15"]);
    let found = slots(
        &rules,
        NO_BUSY,
        "2026-11-01T04:00:00Z",
        "2026-11-02T04:00:00Z",
    );
    assert_eq!(
        local_times(New_York, &found),
        ["00:30-04:00", "00:45-04:00", "01:00-04:00", "01:00-05:00"]
    );
}

#[test]
fn lord_howe_half_hour_spring_forward() {
    // 2026-10-04: 02:00 +10:30 jumps to 02:30 +11.
    let rules = every_day(Lord_Howe, &["01:00-03:00"]);
    let found = slots(
        &rules,
        NO_BUSY,
        "2026-10-03T13:00:00Z",
        "2026-10-04T12:00:00Z",
    );
    assert_eq!(
        local_times(Lord_Howe, &found),
        [
            "01:00+10:30",
            "01:15+10:30",
            "01:30+10:30",
            "01:45+10:30",
            "02:30+11:00",
            "02:45+11:00"
        ]
    );
}

#[test]
fn lord_howe_half_hour_fall_back() {
    // 2026-04-05: 02:00 +11 falls back to 01:30 +10:30; 01:00-03:00 is 2h30 real.
    let rules = every_day(Lord_Howe, &["01:00-03:00"]);
    let found = slots(
        &rules,
        NO_BUSY,
        "2026-04-04T13:00:00Z",
        "2026-04-05T12:00:00Z",
    );
    assert_eq!(found.len(), 10);
    assert_sorted_and_unique(&found);
    let repeated = found
        .iter()
        .filter(|s| {
            s.start.with_timezone(&Lord_Howe).time() == NaiveTime::from_hms_opt(1, 30, 0).unwrap()
        })
        .count();
    assert_eq!(
        repeated, 2,
        "01:30 happens twice and is offered twice, at different instants"
    );
}

#[test]
fn kathmandu_quarter_hour_offset_keeps_local_quarter_hours() {
    // Asia/Kathmandu is UTC+05:45 all year.
    let rules = every_day(Kathmandu, &["09:00-10:00"]);
    let found = slots(
        &rules,
        NO_BUSY,
        "2026-12-07T00:00:00Z",
        "2026-12-08T00:00:00Z",
    );
    assert_eq!(
        starts(&found),
        [
            "2026-12-07T03:15Z",
            "2026-12-07T03:30Z",
            "2026-12-07T03:45Z",
            "2026-12-07T04:00Z"
        ]
    );
    assert!(found
        .iter()
        .all(|s| s.start.with_timezone(&Kathmandu).minute() % 15 == 0));
}
