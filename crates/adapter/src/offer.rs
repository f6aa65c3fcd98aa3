//! What the practice offers right now: the engine's rules applied to one
//! service, with the calendar's busy time and the store's live bookings.

use chrono::{DateTime, Datelike, Duration, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use firststep_availability::{bookable_slots, BusyTime, Interval, Query, Rules};

use crate::config::Service;

/// Bookable slots of `service` starting in `window`, by `rules` (the
/// practice's, or a clinician's).
pub fn open_slots(
    rules: &Rules,
    service: &Service,
    busy: BusyTime<'_>,
    window: Interval,
    now: DateTime<Utc>,
) -> Vec<Interval> {
    let query = Query {
        window,
        duration_minutes: service.duration_minutes,
        now,
    };
    bookable_slots(rules, busy, query)
}

/// The span whose bookings can bear on slots in `window`: a day each side
/// covers every booking that a buffer or the daily cap can involve. `None`
/// when that reaches past the range of dates.
pub fn bearing_on(window: Interval) -> Option<Interval> {
    window.widened(Duration::hours(26))
}

/// Whether exactly this slot (start and length) is offered.
pub fn is_offered(
    rules: &Rules,
    service: &Service,
    slot_start: DateTime<Utc>,
    busy: BusyTime<'_>,
    now: DateTime<Utc>,
) -> bool {
    let Some(second_after) = slot_start.checked_add_signed(Duration::seconds(1)) else {
        return false;
    };
    open_slots(
        rules,
        service,
        busy,
        Interval::new(slot_start, second_after),
        now,
    )
    .first()
    .is_some_and(|slot| slot.start == slot_start)
}

/// The week `start` falls in, Monday to Sunday in `zone` (from the first
/// instant of its Monday to that of the next). `None` past the range of dates.
pub fn week_of(start: DateTime<Utc>, zone: Tz) -> Option<Interval> {
    let day = start.with_timezone(&zone).date_naive();
    let monday = day.checked_sub_days(chrono::Days::new(
        day.weekday().num_days_from_monday().into(),
    ))?;
    let next_monday = monday.checked_add_days(chrono::Days::new(7))?;
    // Midnight may not exist (a DST gap): the day begins at its first instant.
    let first_instant = |date: chrono::NaiveDate| {
        (0..24).find_map(|hour| {
            let time = NaiveTime::from_hms_opt(hour, 0, 0)?;
            zone.from_local_datetime(&date.and_time(time))
                .earliest()
                .map(|t| t.with_timezone(&Utc))
        })
    };
    Some(Interval::new(
        first_instant(monday)?,
        first_instant(next_monday)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn a_week_runs_monday_to_sunday_in_the_zone_across_a_clock_change() {
        let new_york: Tz = "America/New_York".parse().unwrap();
        // Sunday 1 November 2026 the clocks go back: that week is 169 hours long.
        let week = week_of(at("2026-10-30T15:00:00Z"), new_york).unwrap();
        assert_eq!(
            (week.start, week.end),
            (at("2026-10-26T04:00:00Z"), at("2026-11-02T05:00:00Z"))
        );
        // Sunday evening in New York is Monday in UTC: still the same week.
        assert_eq!(week_of(at("2026-11-02T03:00:00Z"), new_york), Some(week));
        assert_eq!(
            week_of(at("2026-11-02T05:00:00Z"), new_york).map(|w| w.start),
            Some(at("2026-11-02T05:00:00Z"))
        );
    }
}
