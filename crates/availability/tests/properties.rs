//! Properties that hold for any rules and any busy time.
mod common;

use chrono::{DateTime, Duration, Timelike, Utc};
use chrono_tz::Tz;
use common::*;
use firststep_availability::{
    bookable_slots, BusyTime, DayHours, Interval, OpeningRange, Query, Rules,
};
use proptest::prelude::*;

const ZONES: [Tz; 5] = [
    chrono_tz::UTC,
    chrono_tz::America::New_York,
    chrono_tz::Europe::London,
    chrono_tz::Australia::Lord_Howe,
    chrono_tz::Asia::Kathmandu,
];

/// Up to three non-overlapping ranges on the quarter hour.
fn day_hours() -> impl Strategy<Value = DayHours> {
    proptest::collection::btree_set(0u16..=96, 0..=6).prop_map(|quarters| {
        let edges: Vec<u16> = quarters.into_iter().collect();
        let ranges = edges
            .chunks_exact(2)
            .map(|pair| {
                let clock = |q: u16| format!("{:02}:{:02}", q * 15 / 60, q * 15 % 60);
                OpeningRange::parse(&format!("{}-{}", clock(pair[0]), clock(pair[1]))).unwrap()
            })
            .collect();
        DayHours::new(ranges).unwrap()
    })
}

fn rules() -> impl Strategy<Value = Rules> {
    (
        0..ZONES.len(),
        proptest::array::uniform7(day_hours()),
        prop_oneof![Just(15u32), Just(30), Just(10)],
        0u32..30,
        0u32..30,
        proptest::option::of(1u32..5),
    )
        .prop_map(|(zone, weekly, step, before, after, cap)| {
            let mut rules = Rules::closed(ZONES[zone]);
            rules.weekly = weekly;
            rules.step_minutes = step.try_into().unwrap();
            rules.buffer_before_minutes = before;
            rules.buffer_after_minutes = after;
            rules.daily_cap = cap;
            rules
        })
}

/// A start in 2026 (DST transitions of every zone above included).
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    (0i64..365 * 24 * 4)
        .prop_map(|quarter| at("2026-01-01T00:00:00Z") + Duration::minutes(quarter * 15 + 7))
}

fn busy_intervals() -> impl Strategy<Value = Vec<Interval>> {
    proptest::collection::vec(
        (instant(), 1i64..(3 * 24 * 60))
            .prop_map(|(start, minutes)| Interval::new(start, start + Duration::minutes(minutes))),
        0..40,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn slots_are_sorted_unique_open_and_clear_of_busy_time(
        rules in rules(),
        calendar in busy_intervals(),
        bookings in busy_intervals(),
        from in instant(),
        days in 1i64..20,
    ) {
        let window = Interval::new(from, from + Duration::days(days));
        let query = Query { window, duration_minutes: 15, now: from - Duration::days(1) };
        let busy = BusyTime { calendar: &calendar, bookings: &bookings };
        let found = bookable_slots(&rules, busy, query);

        prop_assert!(found.windows(2).all(|w| w[0].start < w[1].start), "sorted and unique");
        let before = Duration::minutes(rules.buffer_before_minutes.into());
        let after = Duration::minutes(rules.buffer_after_minutes.into());
        for slot in &found {
            prop_assert!(window.start <= slot.start && slot.start < window.end);
            prop_assert_eq!(slot.end - slot.start, Duration::minutes(15));
            for b in calendar.iter().chain(&bookings) {
                prop_assert!(slot.end <= b.start - before || slot.start >= b.end + after,
                    "{:?} overlaps busy {:?}", slot, b);
            }
            // The slot's first and last second read, on the wall clock, inside
            // one opening range of the start's local day (DST changes included).
            let local = slot.start.with_timezone(&rules.zone);
            let last = (slot.end - Duration::seconds(1)).with_timezone(&rules.zone);
            let minute = |t: &chrono::DateTime<Tz>| (t.hour() * 60 + t.minute()) as u16;
            prop_assert!(rules.hours_on(local.date_naive()).ranges().iter()
                .any(|r| r.start_minute() <= minute(&local) && minute(&last) < r.end_minute()
                    && last.date_naive() == local.date_naive()),
                "{} to {} is outside opening hours", local, last);
        }
        if let Some(cap) = rules.daily_cap {
            for slot in &found {
                let day = slot.start.with_timezone(&rules.zone).date_naive();
                let booked = bookings.iter().filter(|b| b.start.with_timezone(&rules.zone).date_naive() == day).count();
                prop_assert!((booked as u32) < cap);
            }
        }
    }

    #[test]
    fn in_a_zone_without_dst_every_slot_lies_wholly_in_one_range(
        weekly in proptest::array::uniform7(day_hours()),
        from in instant(),
    ) {
        let mut rules = Rules::closed(chrono_tz::UTC);
        rules.weekly = weekly;
        let window = Interval::new(from, from + Duration::days(8));
        let found = bookable_slots(&rules, BusyTime::default(), Query { window, duration_minutes: 15, now: from });
        for slot in &found {
            let day = slot.start.date_naive();
            let midnight = day.and_hms_opt(0, 0, 0).unwrap().and_utc();
            let (start, end) = ((slot.start - midnight).num_minutes(), (slot.end - midnight).num_minutes());
            prop_assert!(rules.hours_on(day).ranges().iter()
                .any(|r| i64::from(r.start_minute()) <= start && end <= i64::from(r.end_minute())));
        }
        // And nothing is missed: every opening quarter hour in the window is offered.
        let expected: usize = (0..9).map(|d| {
            let day = from.date_naive() + Duration::days(d);
            let midnight = day.and_hms_opt(0, 0, 0).unwrap().and_utc();
            rules.hours_on(day).ranges().iter().map(|r| {
                (r.start_minute()..r.end_minute()).step_by(15)
                    .filter(|m| *m + 15 <= r.end_minute())
                    .map(|m| midnight + Duration::minutes(m.into()))
                    .filter(|s| window.start <= *s && *s < window.end)
                    .count()
            }).sum::<usize>()
        }).sum();
        prop_assert_eq!(found.len(), expected);
    }
}
