//! One year of 15-minute slots (New York, weekdays 08:00-18:00 and Saturday
//! mornings) against 0, 1,000 and 10,000 busy intervals.
//! Run: `cargo bench -p firststep-availability`.

use chrono::{DateTime, Duration, Utc};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use firststep_availability::{
    bookable_slots, BusyTime, DayHours, Interval, OpeningRange, Query, Rules,
};

fn rules() -> Rules {
    let day = |ranges: &[&str]| {
        DayHours::new(
            ranges
                .iter()
                .map(|r| OpeningRange::parse(r).unwrap())
                .collect(),
        )
        .unwrap()
    };
    let mut rules = Rules::closed(chrono_tz::America::New_York);
    for weekday in 0..5 {
        rules.weekly[weekday] = day(&["08:00-12:00", "13:00-18:00"]);
    }
    rules.weekly[5] = day(&["09:00-12:00"]);
    rules.horizon_days = 400;
    rules
}

/// `count` busy intervals of 15 to 90 minutes spread evenly over the year.
fn busy(start: DateTime<Utc>, count: i64) -> Vec<Interval> {
    let spacing = Duration::days(365) / count.max(1) as i32;
    (0..count)
        .map(|i| {
            let from = start + spacing * i as i32;
            Interval::new(from, from + Duration::minutes(15 + (i * 37) % 76))
        })
        .collect()
}

fn year_of_slots(c: &mut Criterion) {
    let rules = rules();
    let start: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
    let query = Query {
        window: Interval::new(start, start + Duration::days(365)),
        duration_minutes: 15,
        now: start,
    };
    let mut group = c.benchmark_group("year_of_slots");
    for count in [0, 1_000, 10_000] {
        let calendar = busy(start, count);
        let slots = bookable_slots(
            &rules,
            BusyTime {
                calendar: &calendar,
                bookings: &[],
            },
            query,
        )
        .len();
        println!("{count} busy intervals: {slots} slots in the year");
        group.bench_with_input(
            BenchmarkId::from_parameter(count),
            &calendar,
            |b, calendar| {
                b.iter(|| {
                    bookable_slots(
                        &rules,
                        BusyTime {
                            calendar,
                            bookings: &[],
                        },
                        query,
                    )
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, year_of_slots);
criterion_main!(benches);
