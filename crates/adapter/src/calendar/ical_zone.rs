//! The time zones that iCalendar text names (TZID), as clocks: an IANA name
//! as it is; a Windows name, as Outlook and Exchange write them
//! (`Eastern Standard Time`), through CLDR's windowsZones table (its
//! world-wide "001" rows, from the `windows-timezones` crate); otherwise the
//! text's own VTIMEZONE of that name, followed by its offsets and yearly
//! rules. A name that is none of these is unknown: the caller reads its times
//! in the practice's zone and counts the event.
//!
//! The mapping comes before the text's own definition: an Exchange VTIMEZONE
//! carries today's rule only, the IANA zone the whole history.
//!
//! VTIMEZONEs come from outside: one that cannot be followed (an offset past
//! a day, a rule in another form than the yearly "n-th weekday of a month" or
//! "day of a month" that calendar programs write, more than [`MAX_ONSETS`]
//! onsets) is left out, so its name is unknown. Arithmetic is checked.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Utc, Weekday};
use chrono_tz::Tz;
use windows_timezones::WindowsTimezone;

use super::ical_read::{end_of_day, local, parse_wall, Property, Unreadable};

/// A VTIMEZONE with more observances and RDATE values than this is left out:
/// each time read in it looks at all of them.
pub(crate) const MAX_ONSETS: usize = 32;

/// The zones one text can name: those it defines, and the practice's for
/// times without a zone or in an unknown one.
pub(crate) struct Zones {
    defined: HashMap<String, DefinedZone>,
    pub(crate) practice: Tz,
}

/// A clock to read wall times by.
#[derive(Clone, Copy)]
pub(crate) enum Zone<'a> {
    /// An IANA zone, named so or through the Windows name of it.
    Named(Tz),
    /// The text's own VTIMEZONE.
    Defined(&'a DefinedZone),
}

impl Zones {
    pub(crate) fn new(practice: Tz) -> Self {
        Self {
            defined: HashMap::new(),
            practice,
        }
    }

    /// Adds the zone defined by a VTIMEZONE's lines (its STANDARD and DAYLIGHT
    /// lines included). The first definition of a name counts; one that
    /// cannot be followed is left out.
    pub(crate) fn define(&mut self, vtimezone: &[Property]) {
        let Some(tzid) = vtimezone.iter().find(|p| p.name == "TZID") else {
            return;
        };
        if self.defined.contains_key(&tzid.value) {
            return;
        }
        if let Some(zone) = DefinedZone::parse(vtimezone) {
            self.defined.insert(tzid.value.clone(), zone);
        }
    }

    /// The zone a TZID names; `None` when it is unknown.
    pub(crate) fn resolve(&self, tzid: &str) -> Option<Zone<'_>> {
        tzid.parse::<Tz>()
            .ok()
            .or_else(|| windows_zone(tzid))
            .map(Zone::Named)
            .or_else(|| self.defined.get(tzid).map(Zone::Defined))
    }

    /// The zone of a time with this TZID parameter: the practice's when it
    /// has none or an unknown one.
    pub(crate) fn of(&self, tzid: Option<&str>) -> Zone<'_> {
        tzid.and_then(|id| self.resolve(id))
            .unwrap_or(Zone::Named(self.practice))
    }
}

/// The IANA zone CLDR gives a Windows zone name world-wide.
fn windows_zone(name: &str) -> Option<Tz> {
    name.parse::<WindowsTimezone>().ok().map(Tz::from)
}

impl Zone<'_> {
    /// The instant of a wall time: in a gap (the hour skipped when clocks go
    /// forward) the hour after; when the clocks go back, the first of the two.
    pub(crate) fn to_utc(self, wall: NaiveDateTime) -> Result<DateTime<Utc>, Unreadable> {
        match self {
            Zone::Named(tz) => local(tz, wall),
            Zone::Defined(zone) => zone.to_utc(wall).map(|u| u.and_utc()).ok_or(Unreadable),
        }
    }

    /// The wall time at an instant.
    pub(crate) fn wall(self, at: DateTime<Utc>) -> Option<NaiveDateTime> {
        match self {
            Zone::Named(tz) => Some(at.with_timezone(&tz).naive_local()),
            Zone::Defined(zone) => zone.wall(at.naive_utc()),
        }
    }
}

/// A VTIMEZONE: the offsets it observes and from when.
#[derive(Debug)]
pub(crate) struct DefinedZone {
    observances: Vec<Observance>,
    /// The offset before its first onset.
    before_first: Duration,
    /// Every offset it can be at, to try a wall time against.
    offsets: Vec<Duration>,
}

/// One STANDARD or DAYLIGHT part: from each onset on, the clock is `to`
/// ahead of UTC.
#[derive(Debug)]
struct Observance {
    /// The first onset, in the wall time before it.
    start: NaiveDateTime,
    from: Duration,
    to: Duration,
    yearly: Option<YearlyRule>,
    /// More onsets (RDATE), in the wall time before them.
    more: Vec<NaiveDateTime>,
}

/// `FREQ=YEARLY;BYMONTH=3;BYDAY=2SU` (or `-1SU`, or `BYMONTHDAY=21`), maybe
/// with an UNTIL: the forms calendar programs write in a VTIMEZONE.
#[derive(Debug)]
struct YearlyRule {
    month: u32,
    day: DayOfMonth,
    /// The last onset allowed, in UTC.
    until: Option<NaiveDateTime>,
}

#[derive(Debug)]
enum DayOfMonth {
    /// The n-th weekday of the month, counted from its end when negative.
    Weekday(i8, Weekday),
    Date(u32),
}

impl DefinedZone {
    fn parse(vtimezone: &[Property]) -> Option<Self> {
        let mut observances = Vec::new();
        let mut part: Option<Vec<&Property>> = None;
        for property in vtimezone {
            match (property.name.as_str(), property.value.as_str()) {
                ("BEGIN", "STANDARD" | "DAYLIGHT") => part = Some(Vec::new()),
                ("END", "STANDARD" | "DAYLIGHT") => {
                    observances.push(Observance::parse(&part.take()?)?)
                }
                _ => {
                    if let Some(part) = part.as_mut() {
                        part.push(property);
                    }
                }
            }
        }
        let onsets: usize = observances.iter().map(|o| 1 + o.more.len()).sum();
        if onsets > MAX_ONSETS {
            return None;
        }
        let before_first = observances.iter().min_by_key(|o| o.start)?.from;
        let mut offsets: Vec<Duration> = observances.iter().map(|o| o.to).collect();
        offsets.push(before_first);
        offsets.sort();
        offsets.dedup();
        Some(Self {
            observances,
            before_first,
            offsets,
        })
    }

    /// How far the clock is ahead of UTC at the instant `at` (in UTC).
    fn offset_at(&self, at: NaiveDateTime) -> Duration {
        self.observances
            .iter()
            .filter_map(|o| Some((o.last_onset(at)?, o.to)))
            .max_by_key(|(onset, _)| *onset)
            .map_or(self.before_first, |(_, to)| to)
    }

    fn wall(&self, at: NaiveDateTime) -> Option<NaiveDateTime> {
        at.checked_add_signed(self.offset_at(at))
    }

    fn to_utc(&self, wall: NaiveDateTime) -> Option<NaiveDateTime> {
        // The instants this wall time could be, kept where the zone is at that offset.
        let at = |wall: NaiveDateTime| {
            self.offsets
                .iter()
                .filter_map(|&offset| {
                    let at = wall.checked_sub_signed(offset)?;
                    (self.offset_at(at) == offset).then_some(at)
                })
                .min()
        };
        at(wall).or_else(|| at(wall.checked_add_signed(Duration::hours(1))?))
    }
}

impl Observance {
    fn parse(part: &[&Property]) -> Option<Self> {
        let get = |name: &str| part.iter().find(|p| p.name == name);
        let rules: Vec<&&Property> = part.iter().filter(|p| p.name == "RRULE").collect();
        let yearly = match rules.as_slice() {
            [] => None,
            [rule] => Some(YearlyRule::parse(&rule.value)?),
            _ => return None,
        };
        let mut more = Vec::new();
        for rdate in part.iter().filter(|p| p.name == "RDATE") {
            if rdate.param("VALUE").is_some_and(|v| v != "DATE-TIME") {
                return None;
            }
            for value in rdate.value.split(',') {
                more.push(wall_time(value)?);
                if more.len() > MAX_ONSETS {
                    return None;
                }
            }
        }
        Some(Self {
            start: wall_time(&get("DTSTART")?.value)?,
            from: offset(&get("TZOFFSETFROM")?.value)?,
            to: offset(&get("TZOFFSETTO")?.value)?,
            yearly,
            more,
        })
    }

    /// Its last onset at or before the instant `at`, both in UTC.
    fn last_onset(&self, at: NaiveDateTime) -> Option<NaiveDateTime> {
        let in_utc = |wall: NaiveDateTime| wall.checked_sub_signed(self.from);
        let first = in_utc(self.start)?;
        let onsets = std::iter::once(first)
            .chain(self.more.iter().filter_map(|&wall| in_utc(wall)))
            .chain(self.yearly.as_ref().and_then(|rule| {
                let limit = rule.until.map_or(at, |until| until.min(at));
                // Years back from the limit's (and the one after, for an onset
                // late on December 31st in a zone behind UTC), until one has an
                // onset by then: a rule for February 29th finds one in 8.
                let year = limit.year();
                (year.checked_sub(8)?..=year.checked_add(1)?)
                    .rev()
                    .filter_map(|year| in_utc(rule.onset_in(year, self.start)?))
                    .find(|&onset| onset <= limit)
            }));
        onsets.filter(|&onset| first <= onset && onset <= at).max()
    }
}

impl YearlyRule {
    fn parse(rule: &str) -> Option<Self> {
        let (mut yearly, mut month, mut weekday, mut date, mut until) =
            (false, None, None, None, None);
        for part in rule.to_ascii_uppercase().split(';') {
            let (key, value) = part.split_once('=')?;
            match key {
                "FREQ" => yearly = value == "YEARLY",
                "INTERVAL" if value == "1" => {}
                "WKST" => {}
                "BYMONTH" => month = value.parse().ok().filter(|m| (1..=12).contains(m)),
                "BYDAY" => weekday = Some(nth_weekday(value)?),
                "BYMONTHDAY" => date = value.parse().ok().filter(|d| (1..=31).contains(d)),
                "UNTIL" => until = Some(until_time(value)?),
                _ => return None,
            }
        }
        let day = match (weekday, date) {
            (Some((nth, weekday)), None) => DayOfMonth::Weekday(nth, weekday),
            (None, Some(date)) => DayOfMonth::Date(date),
            _ => return None,
        };
        yearly.then_some(Self {
            month: month?,
            day,
            until,
        })
    }

    /// The onset in `year`, at the time of day of the first, in the wall
    /// time before it; `None` when the year has no such day.
    fn onset_in(&self, year: i32, first: NaiveDateTime) -> Option<NaiveDateTime> {
        let date = match self.day {
            DayOfMonth::Date(day) => NaiveDate::from_ymd_opt(year, self.month, day)?,
            DayOfMonth::Weekday(nth, weekday) if nth > 0 => {
                let n = u8::try_from(nth).ok()?;
                NaiveDate::from_weekday_of_month_opt(year, self.month, weekday, n)
                    // Windows writes week 5 for "the last": so does Outlook.
                    .or_else(|| (nth == 5).then(|| last_weekday(year, self.month, weekday, 1))?)?
            }
            DayOfMonth::Weekday(nth, weekday) => {
                last_weekday(year, self.month, weekday, nth.unsigned_abs())?
            }
        };
        Some(date.and_time(first.time()))
    }
}

/// The n-th last `weekday` of a month (n from 1).
fn last_weekday(year: i32, month: u32, weekday: Weekday, n: u8) -> Option<NaiveDate> {
    let next_month = if month == 12 {
        NaiveDate::from_ymd_opt(year.checked_add(1)?, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(year, month.checked_add(1)?, 1)?
    };
    let last_day = next_month.pred_opt()?;
    let back = (last_day.weekday().num_days_from_monday() + 7 - weekday.num_days_from_monday()) % 7;
    let weeks = i64::from(n.checked_sub(1)?);
    let date = last_day.checked_sub_signed(Duration::days(i64::from(back) + 7 * weeks))?;
    (date.month() == month).then_some(date)
}

/// `2SU`, `-1SU`, `+1SU`: the n-th weekday, n in ±1..=5.
fn nth_weekday(value: &str) -> Option<(i8, Weekday)> {
    let split = value.len().checked_sub(2)?;
    let (nth, day) = (value.get(..split)?, value.get(split..)?);
    let weekday = match day {
        "MO" => Weekday::Mon,
        "TU" => Weekday::Tue,
        "WE" => Weekday::Wed,
        "TH" => Weekday::Thu,
        "FR" => Weekday::Fri,
        "SA" => Weekday::Sat,
        "SU" => Weekday::Sun,
        _ => return None,
    };
    let nth: i8 = nth.strip_prefix('+').unwrap_or(nth).parse().ok()?;
    ((1..=5).contains(&nth.unsigned_abs())).then_some((nth, weekday))
}

/// A VTIMEZONE's UNTIL: UTC as RFC 5545 asks (`…Z`); a date means its end.
fn until_time(value: &str) -> Option<NaiveDateTime> {
    match value.strip_suffix('Z') {
        Some(utc) => wall_time(utc),
        None => end_of_day(value).ok(),
    }
}

fn wall_time(value: &str) -> Option<NaiveDateTime> {
    parse_wall(value).ok()
}

/// `+0100`, `-0500`, `+053000`: an offset from UTC, less than a day.
fn offset(value: &str) -> Option<Duration> {
    let (sign, digits) = match value.as_bytes().first()? {
        b'+' => (1, value.get(1..)?),
        b'-' => (-1, value.get(1..)?),
        _ => return None,
    };
    if !matches!(digits.len(), 4 | 6) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let field = |at: usize| digits.get(at..at + 2)?.parse::<i64>().ok();
    let (hours, minutes) = (field(0)?, field(2)?);
    let seconds = if digits.len() == 6 { field(4)? } else { 0 };
    if hours > 23 || minutes > 59 || seconds > 59 {
        return None;
    }
    Some(Duration::seconds(
        sign * (hours * 3600 + minutes * 60 + seconds),
    ))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    /// The VTIMEZONE Exchange writes for `Eastern Standard Time`.
    pub(crate) const EXCHANGE_EASTERN: &str = "BEGIN:VTIMEZONE\r\nTZID:Eastern Standard Time\r\n\
        BEGIN:STANDARD\r\nDTSTART:16010101T020000\r\nTZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\n\
        RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=1SU;BYMONTH=11\r\nEND:STANDARD\r\n\
        BEGIN:DAYLIGHT\r\nDTSTART:16010101T020000\r\nTZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\n\
        RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=2SU;BYMONTH=3\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n";

    /// A zone by another name with the rules of central Europe (the last
    /// Sundays of March and October), as Outlook writes a custom zone.
    pub(crate) const CUSTOM_CENTRAL_EUROPE: &str =
        "BEGIN:VTIMEZONE\r\nTZID:Customized Time Zone\r\n\
        BEGIN:STANDARD\r\nDTSTART:16010101T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\n\
        RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10\r\nEND:STANDARD\r\n\
        BEGIN:DAYLIGHT\r\nDTSTART:16010101T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\n\
        RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n";

    /// Sydney's rules (daylight time across the new year), with week 5 for
    /// "the last" as Windows writes it, and a rule by day of the month.
    const SOUTHERN: &str = "BEGIN:VTIMEZONE\r\nTZID:Southern\r\n\
        BEGIN:STANDARD\r\nDTSTART:20080406T030000\r\nTZOFFSETFROM:+1100\r\nTZOFFSETTO:+1000\r\n\
        RRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=4\r\nEND:STANDARD\r\n\
        BEGIN:DAYLIGHT\r\nDTSTART:20081005T020000\r\nTZOFFSETFROM:+1000\r\nTZOFFSETTO:+1100\r\n\
        RRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=10\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n";

    fn zones(texts: &[&str]) -> Zones {
        let mut zones = Zones::new(chrono_tz::UTC);
        for text in texts {
            let lines: Vec<Property> = text.split("\r\n").filter_map(Property::parse).collect();
            zones.define(&lines);
        }
        zones
    }

    fn defined<'a>(zones: &'a Zones, tzid: &str) -> &'a DefinedZone {
        zones.defined.get(tzid).expect("the zone is defined")
    }

    fn wall(text: &str) -> NaiveDateTime {
        parse_wall(text).unwrap()
    }

    /// Every half hour over three years, each way, against the tz database.
    fn agrees_with(zone: &DefinedZone, tz: Tz, years: std::ops::Range<i32>) {
        let mut at = NaiveDate::from_ymd_opt(years.start, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        let end = NaiveDate::from_ymd_opt(years.end, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        while at < end {
            assert_eq!(
                zone.to_utc(at).map(|u| u.and_utc()),
                local(tz, at).ok().map(|u| u.with_timezone(&Utc)),
                "wall time {at}"
            );
            assert_eq!(
                zone.wall(at),
                Some(tz.from_utc_datetime(&at).naive_local()),
                "instant {at}"
            );
            at += Duration::minutes(30);
        }
    }

    #[test]
    fn exchange_definitions_agree_with_the_tz_database() {
        let zones = zones(&[EXCHANGE_EASTERN, CUSTOM_CENTRAL_EUROPE, SOUTHERN]);
        agrees_with(
            defined(&zones, "Eastern Standard Time"),
            chrono_tz::America::New_York,
            2026..2029,
        );
        agrees_with(
            defined(&zones, "Customized Time Zone"),
            chrono_tz::Europe::Berlin,
            2026..2029,
        );
        agrees_with(
            defined(&zones, "Southern"),
            chrono_tz::Australia::Sydney,
            2026..2029,
        );
    }

    #[test]
    fn the_hour_skipped_is_read_as_the_hour_after_and_a_repeated_hour_as_the_first() {
        let zones = zones(&[EXCHANGE_EASTERN]);
        let eastern = defined(&zones, "Eastern Standard Time");
        // 14 March 2027, 02:00 EST: clocks go to 03:00.
        assert_eq!(
            eastern.to_utc(wall("20270314T023000")),
            Some(wall("20270314T073000"))
        );
        // 7 November 2027, 02:00 EDT: clocks go back to 01:00.
        assert_eq!(
            eastern.to_utc(wall("20271107T013000")),
            Some(wall("20271107T053000"))
        );
        assert_eq!(
            eastern.wall(wall("20271107T063000")),
            Some(wall("20271107T013000"))
        );
    }

    #[test]
    fn rules_by_date_week_five_until_and_rdate_are_followed() {
        let zones = zones(&[
            // Iran's old rule form: fixed dates.
            "BEGIN:VTIMEZONE\r\nTZID:By date\r\n\
             BEGIN:DAYLIGHT\r\nDTSTART:20000321T000000\r\nTZOFFSETFROM:+0330\r\nTZOFFSETTO:+0430\r\n\
             RRULE:FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=21\r\nEND:DAYLIGHT\r\n\
             BEGIN:STANDARD\r\nDTSTART:20000921T000000\r\nTZOFFSETFROM:+0430\r\nTZOFFSETTO:+0330\r\n\
             RRULE:FREQ=YEARLY;BYMONTH=9;BYMONTHDAY=21\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n",
            // Week 5 of October 2027 does not exist: Windows means the last week.
            "BEGIN:VTIMEZONE\r\nTZID:Week five\r\n\
             BEGIN:STANDARD\r\nDTSTART:16010101T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\n\
             RRULE:FREQ=YEARLY;BYDAY=5SU;BYMONTH=10\r\nEND:STANDARD\r\n\
             BEGIN:DAYLIGHT\r\nDTSTART:16010101T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\n\
             RRULE:FREQ=YEARLY;BYDAY=5SU;BYMONTH=3\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n",
            // Daylight time ended for good in 2026; one more onset by RDATE.
            "BEGIN:VTIMEZONE\r\nTZID:Abolished\r\n\
             BEGIN:DAYLIGHT\r\nDTSTART:20200301T020000\r\nTZOFFSETFROM:-0300\r\nTZOFFSETTO:-0200\r\n\
             RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=1SU;UNTIL=20260301T050000Z\r\nEND:DAYLIGHT\r\n\
             BEGIN:STANDARD\r\nDTSTART:20201101T020000\r\nTZOFFSETFROM:-0200\r\nTZOFFSETTO:-0300\r\n\
             RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\r\nEND:STANDARD\r\n\
             BEGIN:DAYLIGHT\r\nDTSTART:20280601T000000\r\nTZOFFSETFROM:-0300\r\nTZOFFSETTO:-0100\r\n\
             RDATE:20280601T000000\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n",
        ]);
        let offset_at = |tzid: &str, at: &str| defined(&zones, tzid).offset_at(wall(at));
        let hours = Duration::hours;
        assert_eq!(
            offset_at("By date", "20270320T120000"),
            Duration::minutes(210)
        );
        assert_eq!(
            offset_at("By date", "20270321T120000"),
            Duration::minutes(270)
        );
        assert_eq!(
            offset_at("By date", "20270922T000000"),
            Duration::minutes(210)
        );
        // The last Sundays of 2027: 28 March and 31 October.
        assert_eq!(offset_at("Week five", "20270328T005959"), hours(1));
        assert_eq!(offset_at("Week five", "20270328T010000"), hours(2));
        assert_eq!(offset_at("Week five", "20271031T005959"), hours(2));
        assert_eq!(offset_at("Week five", "20271031T010000"), hours(1));
        // March 2026 had its daylight time, March 2027 does not; June 2028's RDATE does.
        assert_eq!(offset_at("Abolished", "20260401T000000"), hours(-2));
        assert_eq!(offset_at("Abolished", "20270401T000000"), hours(-3));
        assert_eq!(offset_at("Abolished", "20280701T000000"), hours(-1));
    }

    #[test]
    fn definitions_that_cannot_be_followed_are_left_out() {
        let part = |rule: &str, from: &str| {
            format!(
                "BEGIN:STANDARD\r\nDTSTART:16010101T030000\r\nTZOFFSETFROM:{from}\r\nTZOFFSETTO:+0100\r\n{rule}END:STANDARD\r\n"
            )
        };
        let zone = |tzid: &str, parts: &str| {
            format!("BEGIN:VTIMEZONE\r\nTZID:{tzid}\r\n{parts}END:VTIMEZONE\r\n")
        };
        let many_onsets = format!(
            "RDATE:{}\r\n",
            vec!["20270101T000000"; MAX_ONSETS].join(",")
        );
        let texts = [
            zone("Good", &part("RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r\n", "+0200")),
            zone("Monthly", &part("RRULE:FREQ=MONTHLY;BYDAY=-1SU\r\n", "+0200")),
            zone("Counted", &part("RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10;COUNT=3\r\n", "+0200")),
            zone("Every Sunday", &part("RRULE:FREQ=YEARLY;BYDAY=SU;BYMONTH=10\r\n", "+0200")),
            zone("Sixth", &part("RRULE:FREQ=YEARLY;BYDAY=6SU;BYMONTH=10\r\n", "+0200")),
            zone("Day off", &part("", "+2400")),
            zone("No sign", &part("", "0200")),
            zone("Two rules", &part("RRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=1\r\nRRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=2\r\n", "+0200")),
            zone("Many onsets", &part(&many_onsets, "+0200")),
            zone("Empty", ""),
        ];
        let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
        let zones = zones(&texts);
        let known: Vec<&str> = [
            "Good",
            "Monthly",
            "Counted",
            "Every Sunday",
            "Sixth",
            "Day off",
            "No sign",
            "Two rules",
            "Many onsets",
            "Empty",
        ]
        .into_iter()
        .filter(|tzid| zones.resolve(tzid).is_some())
        .collect();
        assert_eq!(known, ["Good"]);
    }

    #[test]
    fn names_resolve_iana_then_windows_then_the_texts_own() {
        // A definition under a Windows name is not needed: the mapping has the history.
        let bogus = EXCHANGE_EASTERN
            .replace("-0400", "+0900")
            .replace("-0500", "+0800");
        let zones = zones(&[&bogus, CUSTOM_CENTRAL_EUROPE]);
        let named = |tzid: &str| match zones.resolve(tzid) {
            Some(Zone::Named(tz)) => Some(tz),
            _ => None,
        };
        assert_eq!(named("Europe/Berlin"), Some(chrono_tz::Europe::Berlin));
        assert_eq!(
            named("W. Europe Standard Time"),
            Some(chrono_tz::Europe::Berlin)
        );
        assert_eq!(named("GMT Standard Time"), Some(chrono_tz::Europe::London));
        assert_eq!(
            named("Eastern Standard Time"),
            Some(chrono_tz::America::New_York)
        );
        assert!(matches!(
            zones.resolve("Customized Time Zone"),
            Some(Zone::Defined(_))
        ));
        assert!(zones.resolve("Nowhere Standard Time").is_none());
        assert!(matches!(
            zones.of(Some("Nowhere Standard Time")),
            Zone::Named(chrono_tz::UTC)
        ));
    }

    #[test]
    fn offsets() {
        assert_eq!(offset("+0100"), Some(Duration::hours(1)));
        assert_eq!(offset("-0330"), Some(Duration::minutes(-210)));
        assert_eq!(offset("+053045"), Some(Duration::seconds(19845)));
        assert_eq!(offset("-0000"), Some(Duration::zero()));
        for bad in [
            "0100", "+100", "+01000", "+2400", "+0160", "+01a0", "", "+", "+-100",
        ] {
            assert_eq!(offset(bad), None, "{bad}");
        }
    }

    /// A VTIMEZONE of parts with values like a real one's, and others.
    pub(crate) fn vtimezone(tzid: &'static str) -> impl Strategy<Value = String> {
        let start = prop_oneof![
            "(1[6-9]|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9])T([01][0-9]|2[0-3])[0-5][0-9]00",
            "[+-]?[0-9]{8,10}T[0-9]{6}Z?",
        ];
        let offset = prop_oneof!["[+-](0[0-9]|1[0-4])[0-5][0-9]", "[+-]?[0-9]{0,7}"];
        let rule = prop_oneof![
            "FREQ=YEARLY(;INTERVAL=1)?;BYMONTH=-?[0-9]{1,2};BYDAY=[+-]?[0-9](SU|MO|XX)(;UNTIL=[0-9]{8}(T[0-9]{6}Z)?)?",
            "FREQ=YEARLY;BYMONTH=[0-9]{1,2};BYMONTHDAY=[0-9]{1,2}",
            ".{0,30}",
        ];
        let rdate = "[0-9]{8}T[0-9]{6}(,[0-9]{8}T[0-9]{6}){0,40}";
        let part = (
            prop_oneof![Just("STANDARD"), Just("DAYLIGHT")],
            start,
            offset.clone(),
            offset,
            prop::option::of(rule),
            prop::option::of(rdate),
        )
            .prop_map(|(kind, start, from, to, rule, rdate)| {
                let rule = rule.map_or(String::new(), |r| format!("RRULE:{r}\r\n"));
                let rdate = rdate.map_or(String::new(), |r| format!("RDATE:{r}\r\n"));
                format!(
                    "BEGIN:{kind}\r\nDTSTART:{start}\r\nTZOFFSETFROM:{from}\r\nTZOFFSETTO:{to}\r\n{rule}{rdate}END:{kind}\r\n"
                )
            });
        prop::collection::vec(part, 0..4).prop_map(move |parts| {
            format!(
                "BEGIN:VTIMEZONE\r\nTZID:{tzid}\r\n{}END:VTIMEZONE\r\n",
                parts.concat()
            )
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// A wall time read in a defined zone reads back as itself (or, in a
        /// skipped hour, as the hour after), whatever the definition.
        #[test]
        fn wall_times_read_back(
            text in vtimezone("Z"),
            seconds in -9_000_000_000_000i64..9_000_000_000_000,
        ) {
            let zones = zones(&[&text]);
            let Some(zone) = zones.defined.get("Z") else {
                return Ok(());
            };
            let Some(wall) = DateTime::from_timestamp(seconds, 0).map(|t| t.naive_utc()) else {
                return Ok(());
            };
            if let Some(at) = zone.to_utc(wall) {
                let back = zone.wall(at);
                prop_assert!(
                    back == Some(wall) || back == wall.checked_add_signed(Duration::hours(1)),
                    "{wall} -> {at} -> {back:?}"
                );
            }
        }
    }
}
