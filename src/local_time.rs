//! Times as the visitor reads them, formatted by the browser's `Intl` (so no
//! time-zone database ships in the wasm), and slots grouped into the
//! visitor's own days.

use std::cell::{OnceCell, RefCell};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use firststep_protocol::Slot;
use js_sys::{Array, Date, Intl::DateTimeFormat, Object, Reflect};
use wasm_bindgen::JsValue;

use crate::state::Day;

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

/// Formatters for one locale and the visitor's zone, made once: making one
/// costs far more than using it, and a page of times uses hundreds. They are
/// made by `prepare` (or on first use), not with the clock: the first one
/// loads the browser's date and time data (30–75 ms here), which had better
/// happen while the widget's first requests are on their way than before
/// they leave, or in the render that shows their answers.
pub struct LocalClock {
    locale: String,
    formats: OnceCell<Formats>,
    /// The clock of the last other zone asked for (the practice's).
    other_time: RefCell<Option<(String, DateTimeFormat)>>,
}

struct Formats {
    visitor_zone: String,
    day: DateTimeFormat,
    short_day: DateTimeFormat,
    time: DateTimeFormat,
    zone_name: DateTimeFormat,
}

impl LocalClock {
    /// The browser's own zone, with texts in `locale`.
    pub fn in_browser_zone(locale: &str) -> Self {
        Self {
            locale: locale.to_owned(),
            formats: OnceCell::new(),
            other_time: RefCell::new(None),
        }
    }

    fn formats(&self) -> &Formats {
        self.formats.get_or_init(|| {
            let zone = browser_zone();
            let make = |options: &[(&str, &str)]| formatter(&self.locale, &zone, options);
            Formats {
                day: make(&[("weekday", "long"), ("month", "long"), ("day", "numeric")]),
                short_day: make(&[("weekday", "short"), ("month", "short"), ("day", "numeric")]),
                time: make(CLOCK_TIME),
                zone_name: make(&[("timeZoneName", "long")]),
                visitor_zone: zone,
            }
        })
    }

    /// Makes the formatters now, if they are not made yet.
    pub fn prepare(&self) {
        self.formats();
    }

    pub fn visitor_zone(&self) -> &str {
        &self.formats().visitor_zone
    }

    /// The visitor's local date at `instant`, and the seconds since its
    /// midnight, by the JS `Date`'s own clock: the browser's zone is the
    /// visitor's, and reading it needs no `Intl` formatter.
    pub fn local_date_and_time(&self, instant: DateTime<Utc>) -> (NaiveDate, u32) {
        let local = js_date(instant);
        let date = NaiveDate::from_ymd_opt(
            local.get_full_year() as i32,
            local.get_month() + 1,
            local.get_date(),
        );
        let seconds = local.get_hours() * 3_600 + local.get_minutes() * 60 + local.get_seconds();
        (date.unwrap_or_default(), seconds)
    }

    /// "Tuesday, December 1".
    pub fn day(&self, instant: DateTime<Utc>) -> String {
        format(&self.formats().day, instant)
    }

    /// "Tue, Dec 1".
    pub fn short_day(&self, instant: DateTime<Utc>) -> String {
        format(&self.formats().short_day, instant)
    }

    /// "9:00 AM" in the visitor's zone.
    pub fn time(&self, instant: DateTime<Utc>) -> String {
        format(&self.formats().time, instant)
    }

    /// "3:00 PM" in another zone (the practice's).
    pub fn time_in(&self, instant: DateTime<Utc>, zone: &str) -> String {
        let mut other = self.other_time.borrow_mut();
        if other.as_ref().is_none_or(|(made_for, _)| made_for != zone) {
            let clock = formatter(&self.locale, zone, CLOCK_TIME);
            *other = Some((zone.to_owned(), clock));
        }
        let (_, clock) = other.as_ref().expect("made above");
        format(clock, instant)
    }

    /// The visitor's zone in words, as it reads at `instant`
    /// ("Central European Standard Time").
    pub fn zone_name(&self, instant: DateTime<Utc>) -> String {
        let formats = self.formats();
        formats
            .zone_name
            .format_to_parts(&js_date(instant))
            .iter()
            .find(|part| text_of(part, "type").as_deref() == Some("timeZoneName"))
            .and_then(|part| text_of(&part, "value"))
            .unwrap_or_else(|| formats.visitor_zone.clone())
    }
}

/// "9:00 AM", "15:00": hours and minutes as the locale writes them.
const CLOCK_TIME: &[(&str, &str)] = &[("hour", "numeric"), ("minute", "2-digit")];

/// The zone the browser runs in ("Europe/Berlin").
fn browser_zone() -> String {
    text_of(
        &DateTimeFormat::new(&Array::new(), &Object::new()).resolved_options(),
        "timeZone",
    )
    .unwrap_or_else(|| "UTC".into())
}

/// A string property of a JS object, if it is one.
fn text_of(object: &JsValue, key: &str) -> Option<String> {
    Reflect::get(object, &key.into()).ok()?.as_string()
}

fn formatter(locale: &str, zone: &str, options: &[(&str, &str)]) -> DateTimeFormat {
    let settings = Object::new();
    for (key, value) in options.iter().chain(&[("timeZone", zone)]) {
        let _ = Reflect::set(
            &settings,
            &JsValue::from_str(key),
            &JsValue::from_str(value),
        );
    }
    let locales = Array::of1(&JsValue::from_str(locale));
    DateTimeFormat::new(&locales, &settings)
}

/// The instant as a JS `Date`.
pub fn js_date(instant: DateTime<Utc>) -> Date {
    Date::new(&JsValue::from_f64(instant.timestamp_millis() as f64))
}

fn format(formatter: &DateTimeFormat, instant: DateTime<Utc>) -> String {
    formatter
        .format()
        .call1(&JsValue::NULL, &js_date(instant))
        .ok()
        .and_then(|text| text.as_string())
        .unwrap_or_default()
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
