//! Slots grouped into the visitor's own days. Pure: the visitor's date at an
//! instant comes from the caller (the browser's `Intl`, or a test's zone).

use chrono::{DateTime, Duration, NaiveDate, Utc};
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
                same_day_until = Some(slot.start + surely_same_day(seconds));
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
fn surely_same_day(seconds: u32) -> Duration {
    Duration::seconds(86_400 - i64::from(seconds) - 3 * 3_600)
}

#[cfg(test)]
mod tests {
    use super::*;
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
}
