//! Times as the visitor reads them, formatted by the browser's `Intl` (so no
//! time-zone database ships in the wasm), and slots grouped into the
//! visitor's own days.

use std::cell::RefCell;

use chrono::{DateTime, NaiveDate, Utc};
use firststep_protocol::Slot;
use js_sys::{Array, Date, Intl::DateTimeFormat, Object, Reflect};
use wasm_bindgen::JsValue;

use crate::state::Day;

/// Groups ascending slots into days by `date_of` (the visitor's local date).
pub fn group_by_day(slots: Vec<Slot>, date_of: impl Fn(DateTime<Utc>) -> NaiveDate) -> Vec<Day> {
    let mut days: Vec<Day> = Vec::new();
    for slot in slots {
        let date = date_of(slot.start);
        match days.last_mut() {
            Some(day) if day.date == date => day.slots.push(slot),
            _ => days.push(Day {
                date,
                slots: vec![slot],
            }),
        }
    }
    days
}

/// Formatters for one locale and the visitor's zone, made once: making one
/// costs far more than using it, and a page of times uses hundreds.
pub struct LocalClock {
    locale: String,
    visitor_zone: String,
    parts: DateTimeFormat,
    day: DateTimeFormat,
    short_day: DateTimeFormat,
    time: DateTimeFormat,
    zone_name: DateTimeFormat,
    /// The clock of the last other zone asked for (the practice's).
    other_time: RefCell<Option<(String, DateTimeFormat)>>,
}

impl LocalClock {
    /// The browser's own zone, with texts in `locale`.
    pub fn in_browser_zone(locale: &str) -> Self {
        let zone = Reflect::get(
            &DateTimeFormat::new(&Array::new(), &Object::new()).resolved_options(),
            &"timeZone".into(),
        )
        .ok()
        .and_then(|z| z.as_string())
        .unwrap_or_else(|| "UTC".into());
        Self::new(locale, &zone)
    }

    pub fn new(locale: &str, visitor_zone: &str) -> Self {
        let make = |options: &[(&str, &str)]| formatter(locale, visitor_zone, options);
        Self {
            locale: locale.to_owned(),
            visitor_zone: visitor_zone.to_owned(),
            parts: formatter(
                "en-US",
                visitor_zone,
                &[
                    ("year", "numeric"),
                    ("month", "numeric"),
                    ("day", "numeric"),
                ],
            ),
            day: make(&[("weekday", "long"), ("month", "long"), ("day", "numeric")]),
            short_day: make(&[("weekday", "short"), ("month", "short"), ("day", "numeric")]),
            time: make(&[("hour", "numeric"), ("minute", "2-digit")]),
            zone_name: make(&[("timeZoneName", "long")]),
            other_time: RefCell::new(None),
        }
    }

    pub fn visitor_zone(&self) -> &str {
        &self.visitor_zone
    }

    /// The visitor's local date at `instant`.
    pub fn date_of(&self, instant: DateTime<Utc>) -> NaiveDate {
        let parts = self.parts.format_to_parts(&date(instant));
        let mut found = [0i64; 3];
        for part in parts.iter() {
            let kind = Reflect::get(&part, &"type".into())
                .ok()
                .and_then(|v| v.as_string());
            let value = Reflect::get(&part, &"value".into())
                .ok()
                .and_then(|v| v.as_string());
            let index = match kind.as_deref() {
                Some("year") => 0,
                Some("month") => 1,
                Some("day") => 2,
                _ => continue,
            };
            found[index] = value.and_then(|v| v.parse().ok()).unwrap_or_default();
        }
        NaiveDate::from_ymd_opt(found[0] as i32, found[1] as u32, found[2] as u32)
            .unwrap_or_default()
    }

    /// "Tuesday, December 1".
    pub fn day(&self, instant: DateTime<Utc>) -> String {
        format(&self.day, instant)
    }

    /// "Tue, Dec 1".
    pub fn short_day(&self, instant: DateTime<Utc>) -> String {
        format(&self.short_day, instant)
    }

    /// "9:00 AM" in the visitor's zone.
    pub fn time(&self, instant: DateTime<Utc>) -> String {
        format(&self.time, instant)
    }

    /// "3:00 PM" in another zone (the practice's).
    pub fn time_in(&self, instant: DateTime<Utc>, zone: &str) -> String {
        let mut other = self.other_time.borrow_mut();
        if other.as_ref().is_none_or(|(made_for, _)| made_for != zone) {
            let clock = formatter(
                &self.locale,
                zone,
                &[("hour", "numeric"), ("minute", "2-digit")],
            );
            *other = Some((zone.to_owned(), clock));
        }
        let (_, clock) = other.as_ref().expect("made above");
        format(clock, instant)
    }

    /// The visitor's zone in words, as it reads at `instant`
    /// ("Central European Standard Time").
    pub fn zone_name(&self, instant: DateTime<Utc>) -> String {
        self.zone_name
            .format_to_parts(&date(instant))
            .iter()
            .find(|part| {
                Reflect::get(part, &"type".into())
                    .ok()
                    .and_then(|v| v.as_string())
                    .as_deref()
                    == Some("timeZoneName")
            })
            .and_then(|part| Reflect::get(&part, &"value".into()).ok())
            .and_then(|v| v.as_string())
            .unwrap_or_else(|| self.visitor_zone.clone())
    }
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

fn date(instant: DateTime<Utc>) -> Date {
    Date::new(&JsValue::from_f64(instant.timestamp_millis() as f64))
}

fn format(formatter: &DateTimeFormat, instant: DateTime<Utc>) -> String {
    formatter
        .format()
        .call1(&JsValue::NULL, &date(instant))
        .ok()
        .and_then(|text| text.as_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn slot(start: &str) -> Slot {
        let start: DateTime<Utc> = start.parse().unwrap();
        Slot {
            start,
            end: start + Duration::minutes(15),
        }
    }

    #[test]
    fn slots_fall_into_the_visitors_days_not_utc_days() {
        // A visitor at UTC-5: 03:00Z is still the evening before.
        let visitor_date = |t: DateTime<Utc>| (t - Duration::hours(5)).date_naive();
        let days = group_by_day(
            vec![
                slot("2026-12-01T03:00:00Z"),
                slot("2026-12-01T14:00:00Z"),
                slot("2026-12-02T14:00:00Z"),
            ],
            visitor_date,
        );
        let summary: Vec<(String, usize)> = days
            .iter()
            .map(|d| (d.date.to_string(), d.slots.len()))
            .collect();
        assert_eq!(
            summary,
            [
                ("2026-11-30".to_owned(), 1),
                ("2026-12-01".to_owned(), 1),
                ("2026-12-02".to_owned(), 1)
            ]
        );
    }
}
