//! Times as the visitor reads them, formatted by the browser's `Intl`: no
//! time-zone database ships in the wasm.

use std::cell::{OnceCell, RefCell};

use chrono::{DateTime, NaiveDate, Utc};
use js_sys::{Array, Date, Intl::DateTimeFormat, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

/// Formatters for one locale and the visitor's zone, made once: making one
/// costs far more than using it, and a page of times uses hundreds. They are
/// made by `prepare` (or on first use), not with the clock: the first one
/// loads the browser's date and time data (30–75 ms here), which had better
/// happen while the widget's first requests are on their way than before
/// they leave, or in the render that shows their answers.
///
/// The zone's name is read once per UTC offset: every time button names it,
/// and each reading is a `formatToParts` of a dozen parts, each a call into
/// JS and a string copied back.
pub struct LocalClock {
    locale: String,
    formats: OnceCell<Formats>,
    /// The clock of the last other zone asked for (the practice's); `None`
    /// for a zone this browser does not know.
    other_time: RefCell<Option<(String, Option<DateTimeFormat>)>>,
    /// The zone's names so far, by UTC offset (a window has one or two).
    zone_names: RefCell<Vec<(f64, String)>>,
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
            zone_names: RefCell::new(Vec::new()),
        }
    }

    fn formats(&self) -> &Formats {
        self.formats.get_or_init(|| {
            let zone = browser_zone();
            // The browser's own zone is one it knows: only a locale it
            // refuses could fail, and `formatter` falls back from that.
            let make = |options: &[(&str, &str)]| {
                formatter(&self.locale, &zone, options)
                    .unwrap_or_else(|| DateTimeFormat::new(&Array::new(), &Object::new()))
            };
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
    /// visitor's, and reading it needs no `Intl` formatter. One call into JS
    /// (the offset) rather than six getters: the page's slots all come here.
    pub fn local_date_and_time(&self, instant: DateTime<Utc>) -> (NaiveDate, u32) {
        wall_clock(local_millis(instant).0)
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

    /// "3:00 PM" in another zone (the practice's); `None` when this browser
    /// does not know the zone (a newer one than its data, or a typo).
    pub fn time_in(&self, instant: DateTime<Utc>, zone: &str) -> Option<String> {
        let mut other = self.other_time.borrow_mut();
        let clock = match &*other {
            Some((made_for, clock)) if made_for == zone => clock.clone(),
            _ => {
                let clock = formatter(&self.locale, zone, CLOCK_TIME);
                *other = Some((zone.to_owned(), clock.clone()));
                clock
            }
        };
        Some(format(&clock?, instant))
    }

    /// The visitor's zone in words, as it reads at `instant`
    /// ("Central European Standard Time").
    pub fn zone_name(&self, instant: DateTime<Utc>) -> String {
        let (_, offset, date) = local_millis(instant);
        let mut names = self.zone_names.borrow_mut();
        if let Some((_, name)) = names.iter().find(|(made_for, _)| *made_for == offset) {
            return name.clone();
        }
        let formats = self.formats();
        let name = formats
            .zone_name
            .format_to_parts(&date)
            .iter()
            .find(|part| text_of(part, "type").as_deref() == Some("timeZoneName"))
            .and_then(|part| text_of(&part, "value"))
            .unwrap_or_else(|| formats.visitor_zone.clone());
        names.push((offset, name.clone()));
        name
    }
}

// In integers: wasm has no instruction for a float's remainder, and the
// software one costs a kilobyte of download.
const MS_PER_DAY: i64 = 86_400_000;
/// Days from 0001-01-01 (day 1 of chrono's count) to 1970-01-01.
const DAYS_BEFORE_1970: i64 = 719_163;

/// The visitor's wall clock at `instant` as milliseconds since 1970-01-01
/// 00:00 on that clock, the zone's offset from UTC then (minutes, as
/// `getTimezoneOffset` gives it: positive west of Greenwich), and the `Date`.
fn local_millis(instant: DateTime<Utc>) -> (i64, f64, Date) {
    let date = js_date(instant);
    let offset = date.get_timezone_offset();
    let millis = instant.timestamp_millis() - (offset * 60_000.0) as i64;
    (millis, offset, date)
}

/// The date and the seconds since its midnight of a wall clock reading
/// `millis` since 1970-01-01 00:00.
fn wall_clock(millis: i64) -> (NaiveDate, u32) {
    let date = i32::try_from(millis.div_euclid(MS_PER_DAY) + DAYS_BEFORE_1970)
        .ok()
        .and_then(NaiveDate::from_num_days_from_ce_opt);
    let seconds = millis.rem_euclid(MS_PER_DAY) / 1_000;
    // The epoch's date as a constant: `NaiveDate::default()` is the same
    // day, made from its year, month and day at run time by code (and
    // calendar tables) that cost some 0.4 KB of download.
    const EPOCH: NaiveDate = DateTime::UNIX_EPOCH.naive_utc().date();
    (date.unwrap_or(EPOCH), seconds as u32)
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

/// A formatter in `zone`, in `locale` or, where `Intl` refuses the tag
/// (`en_US`), the browser's own; `None` for a zone it does not know. Made
/// through `Reflect::construct`, which catches what `Intl` throws (js-sys's
/// `DateTimeFormat::new` lets that exception through the wasm).
fn formatter(locale: &str, zone: &str, options: &[(&str, &str)]) -> Option<DateTimeFormat> {
    let settings = Object::new();
    for (key, value) in options.iter().chain(&[("timeZone", zone)]) {
        let _ = Reflect::set(
            &settings,
            &JsValue::from_str(key),
            &JsValue::from_str(value),
        );
    }
    let intl = Reflect::get(&js_sys::global(), &"Intl".into()).ok()?;
    let make = Reflect::get(&intl, &"DateTimeFormat".into()).ok()?;
    let make: &js_sys::Function = make.dyn_ref()?;
    [Array::of1(&JsValue::from_str(locale)), Array::new()]
        .iter()
        .find_map(|locales| Reflect::construct(make, &Array::of2(locales, &settings)).ok())
        .map(JsCast::unchecked_into)
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

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn wall_clock_reads_date_and_seconds_since_midnight() {
        let date = |text: &str| text.parse::<NaiveDate>().unwrap();
        assert_eq!(wall_clock(0), (date("1970-01-01"), 0));
        assert_eq!(wall_clock(-1_000), (date("1969-12-31"), 86_399));
        // 2026-12-01T14:15:00Z read five hours behind (New York): 09:15.
        let instant: DateTime<Utc> = "2026-12-01T14:15:00Z".parse().unwrap();
        let millis = instant.timestamp_millis() - 300 * 60_000;
        assert_eq!(
            wall_clock(millis),
            (date("2026-12-01"), 9 * 3_600 + 15 * 60)
        );
        // Out of chrono's range: a default, not a panic.
        assert_eq!(wall_clock(i64::MAX).0, NaiveDate::default());
    }
}
