//! Slots grouped into the visitor's own days, and a day's into its morning,
//! afternoon and evening. Pure: the visitor's date and time at an instant come
//! from the caller (the browser's `Date`, or a test's zone).

use chrono::{DateTime, NaiveDate, Utc};
use firststep_protocol::Slot;

/// Slots of one day in the visitor's own time zone.
#[derive(Debug, Clone, PartialEq)]
pub struct Day {
    /// The visitor's local date.
    pub date: NaiveDate,
    pub slots: Vec<Slot>,
}

/// Groups ascending slots into the visitor's days. `local` gives the
/// visitor's date and the seconds since their midnight at an instant; asking
/// it crosses into JS seven times, so it is asked again only near the next
/// midnight, not for every slot.
pub fn group_by_day(
    slots: Vec<Slot>,
    local: impl Fn(DateTime<Utc>) -> (NaiveDate, u32),
) -> Vec<Day> {
    let mut days: Vec<Day> = Vec::new();
    // Until when the last date asked for surely lasts.
    let mut same_day_until = None;
    for slot in slots {
        match (days.last_mut(), same_day_until) {
            (Some(day), Some(until)) if slot.start < until => day.slots.push(slot),
            (last, _) => {
                let (date, seconds) = local(slot.start);
                same_day_until = later_by(slot.start, surely_same_day(seconds));
                match last {
                    Some(day) if day.date == date => day.slots.push(slot),
                    _ => days.push(Day {
                        date,
                        slots: vec![slot],
                    }),
                }
            }
        }
    }
    days
}

/// How long after a moment `seconds` past local midnight the date surely
/// stays the same: up to the next midnight at today's offset, less 3 hours,
/// more than a zone's clock moves at a change (DST is 1 hour, Lord Howe's
/// 30 minutes; 2 hours is the most seen).
fn surely_same_day(seconds: u32) -> i64 {
    (86_400 - i64::from(seconds) - 3 * 3_600) * 1_000
}

const MS_PER_DAY: i64 = 86_400_000;

/// `instant` moved by `millis` (back when negative); `None` past chrono's
/// range. On the milliseconds, which the widget has from the browser
/// anyway: chrono's own date arithmetic cost a kilobyte of download.
fn later_by(instant: DateTime<Utc>, millis: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(instant.timestamp_millis().checked_add(millis)?)
}

/// `instant` moved by `days` (back when negative), held at the end of
/// chrono's range instead of panicking past it.
pub fn days_after(instant: DateTime<Utc>, days: i64) -> DateTime<Utc> {
    let end = if days < 0 {
        DateTime::<Utc>::MIN_UTC
    } else {
        DateTime::<Utc>::MAX_UTC
    };
    later_by(instant, days.saturating_mul(MS_PER_DAY)).unwrap_or(end)
}

/// A part of the visitor's day, by their own clock: a long day's times are
/// shown in these groups, four small buttons to a row, so that a 13-hour
/// day fits one phone screen, not three.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartOfDay {
    /// Before 12:00.
    Morning,
    /// 12:00 to 17:00.
    Afternoon,
    /// From 17:00.
    Evening,
}

impl PartOfDay {
    const ALL: [Self; 3] = [Self::Morning, Self::Afternoon, Self::Evening];

    /// The part a time `seconds` past local midnight falls in.
    fn at(seconds: u32) -> Self {
        match seconds / 3_600 {
            0..12 => Self::Morning,
            12..17 => Self::Afternoon,
            _ => Self::Evening,
        }
    }
}

/// A day's slots by part of the day, in the parts' order, each in the slots'
/// order; parts with no slot are left out. `seconds_of_day` gives the seconds
/// since the visitor's midnight at an instant: each slot is placed by its
/// own, so a clock change within the day cannot misplace one.
pub fn by_part_of_day(
    slots: &[Slot],
    seconds_of_day: impl Fn(DateTime<Utc>) -> u32,
) -> Vec<(PartOfDay, Vec<Slot>)> {
    let mut parts = PartOfDay::ALL.map(|part| (part, Vec::new()));
    for slot in slots {
        // The parts are in the order of ALL.
        if let Some((_, part)) = parts.get_mut(PartOfDay::at(seconds_of_day(slot.start)) as usize) {
            part.push(*slot);
        }
    }
    parts
        .into_iter()
        .filter(|(_, slots)| !slots.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use chrono::Timelike;
    use std::cell::Cell;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn slot(start: DateTime<Utc>) -> Slot {
        Slot {
            start,
            end: start + Duration::minutes(15),
        }
    }

    /// A zone at `before` hours from UTC until `change`, at `after` from then on.
    fn zone(before: f64, change: &str, after: f64) -> impl Fn(DateTime<Utc>) -> (NaiveDate, u32) {
        let change = at(change);
        move |t| {
            let hours = if t < change { before } else { after };
            let local = (t + Duration::minutes((hours * 60.0) as i64)).naive_utc();
            (local.date(), local.num_seconds_from_midnight())
        }
    }

    /// Every quarter hour from `from`, `hours` long.
    fn quarter_hours(from: &str, hours: i64) -> Vec<Slot> {
        (0..hours * 4)
            .map(|i| slot(at(from) + Duration::minutes(15 * i)))
            .collect()
    }

    fn summary(days: &[Day]) -> Vec<(String, usize)> {
        days.iter()
            .map(|d| (d.date.to_string(), d.slots.len()))
            .collect()
    }

    #[test]
    fn days_after_moves_by_whole_days_and_holds_at_the_ends_of_the_range() {
        let start = at("2026-12-01T14:00:00Z");
        assert_eq!(days_after(start, 14), at("2026-12-15T14:00:00Z"));
        assert_eq!(days_after(start, -14), at("2026-11-17T14:00:00Z"));
        // Whole days of 24 hours, whatever the visitor's clock does meanwhile.
        assert_eq!(days_after(start, 48) - start, Duration::hours(48 * 24));
        assert_eq!(days_after(start, i64::MAX), DateTime::<Utc>::MAX_UTC);
        assert_eq!(days_after(start, i64::MIN), DateTime::<Utc>::MIN_UTC);
        assert_eq!(
            days_after(DateTime::<Utc>::MAX_UTC, 1),
            DateTime::<Utc>::MAX_UTC
        );
    }

    #[test]
    fn slots_fall_into_the_visitors_days_not_utc_days() {
        // A visitor at UTC-5: 03:00Z is still the evening before.
        let days = group_by_day(
            [
                "2026-12-01T03:00:00Z",
                "2026-12-01T14:00:00Z",
                "2026-12-02T14:00:00Z",
            ]
            .map(|t| slot(at(t)))
            .to_vec(),
            zone(-5.0, "2030-01-01T00:00:00Z", -5.0),
        );
        assert_eq!(
            summary(&days),
            [
                ("2026-11-30".to_owned(), 1),
                ("2026-12-01".to_owned(), 1),
                ("2026-12-02".to_owned(), 1)
            ]
        );
    }

    #[test]
    fn asks_the_browser_once_a_day_for_working_hours_not_once_a_slot() {
        // 09:00–17:00 in New York (UTC-5) on three days: 96 slots.
        let slots: Vec<Slot> = (0..3)
            .flat_map(|d| quarter_hours(&format!("2026-12-0{}T14:00:00Z", d + 1), 8))
            .collect();
        let asked = Cell::new(0);
        let new_york = zone(-5.0, "2030-01-01T00:00:00Z", -5.0);
        let days = group_by_day(slots, |t| {
            asked.set(asked.get() + 1);
            new_york(t)
        });
        assert_eq!(
            days.iter().map(|d| d.slots.len()).collect::<Vec<_>>(),
            [32; 3]
        );
        assert_eq!(asked.get(), 3);
    }

    #[test]
    fn offset_changes_near_midnight_put_every_slot_on_its_own_date() {
        // Round-the-clock slots across changes forward and back by 30 minutes,
        // 1 hour and 2 hours, landing close to local midnight: grouping must
        // agree with asking for every slot.
        let changes = [
            (-5.0, "2026-03-08T04:30:00Z", -4.0),
            (-4.0, "2026-11-01T04:00:00Z", -5.0),
            (10.5, "2026-04-04T13:30:00Z", 11.0),
            (1.0, "2026-03-29T22:00:00Z", 3.0),
            (3.0, "2026-03-29T21:00:00Z", 1.0),
        ];
        for (before, change, after) in changes {
            let local = zone(before, change, after);
            let from = (at(change) - Duration::days(2)).to_rfc3339();
            let slots = quarter_hours(&from, 96);
            let mut exact: Vec<Day> = Vec::new();
            for slot in &slots {
                let date = local(slot.start).0;
                match exact.last_mut() {
                    Some(day) if day.date == date => day.slots.push(*slot),
                    _ => exact.push(Day {
                        date,
                        slots: vec![*slot],
                    }),
                }
            }
            assert_eq!(group_by_day(slots, &local), exact, "{change}");
        }
    }

    /// The parts' sizes and the local hours:minutes of their slots, for a
    /// visitor at `hours` from UTC.
    fn parts(slots: &[Slot], hours: f64) -> Vec<(PartOfDay, Vec<String>)> {
        let local = zone(hours, "2030-01-01T00:00:00Z", hours);
        by_part_of_day(slots, |t| local(t).1)
            .into_iter()
            .map(|(part, slots)| {
                let times = slots
                    .iter()
                    .map(|s| {
                        let seconds = local(s.start).1;
                        format!("{:02}:{:02}", seconds / 3_600, seconds / 60 % 60)
                    })
                    .collect();
                (part, times)
            })
            .collect()
    }

    #[test]
    fn a_long_day_falls_into_morning_afternoon_and_evening_at_12_and_17() {
        // 08:00–21:00 in New York (UTC-5): 52 quarter hours.
        let day = quarter_hours("2026-12-01T13:00:00Z", 13);
        let found = parts(&day, -5.0);
        let sizes: Vec<(PartOfDay, usize)> = found.iter().map(|(p, s)| (*p, s.len())).collect();
        assert_eq!(
            sizes,
            [
                (PartOfDay::Morning, 16),
                (PartOfDay::Afternoon, 20),
                (PartOfDay::Evening, 16)
            ]
        );
        let edges = |i: usize| {
            let times = &found[i].1;
            (times[0].clone(), times[times.len() - 1].clone())
        };
        assert_eq!(edges(0), ("08:00".into(), "11:45".into()));
        assert_eq!(edges(1), ("12:00".into(), "16:45".into()));
        assert_eq!(edges(2), ("17:00".into(), "20:45".into()));
    }

    #[test]
    fn parts_are_the_visitors_own_and_empty_ones_are_left_out() {
        // 13:00–15:00 UTC: the afternoon in London, the morning in New York.
        let day = quarter_hours("2026-12-01T13:00:00Z", 2);
        let london = parts(&day, 0.0);
        assert_eq!(london.len(), 1);
        assert_eq!(london[0].0, PartOfDay::Afternoon);
        assert_eq!(london[0].1.len(), 8);
        let new_york = parts(&day, -5.0);
        assert_eq!(new_york.len(), 1);
        assert_eq!(new_york[0].0, PartOfDay::Morning);
        assert!(by_part_of_day(&[], |_| 0).is_empty());
    }

    #[test]
    fn each_slot_goes_by_its_own_clock_across_a_change() {
        // The clock goes back an hour at 16:00Z (at noon: an odd zone, but the
        // rule must hold): 15:45Z reads 11:45, and 16:00Z reads 11:00, not the
        // 12:00 that counting on from 11:45 would give.
        let local = zone(-4.0, "2026-12-01T16:00:00Z", -5.0);
        let day = [
            "2026-12-01T15:30:00Z",
            "2026-12-01T15:45:00Z",
            "2026-12-01T16:00:00Z",
        ]
        .map(|t| slot(at(t)));
        assert_eq!(
            by_part_of_day(&day, |t| local(t).1),
            [(PartOfDay::Morning, day.to_vec())]
        );
    }
}
