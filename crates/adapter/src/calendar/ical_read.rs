//! Busy time read out of iCalendar (RFC 5545) text: the VEVENTs that make a
//! person unavailable, as intervals in a range. Recurring events (RRULE,
//! RDATE, EXDATE) are expanded here, and moved or changed occurrences
//! (RECURRENCE-ID) replace the ones they stand for. (CalDAV servers expand on
//! their side; ICS feeds do not.) Times are read in the zone their TZID
//! names: an IANA zone, a Windows one, or the text's own VTIMEZONE
//! (`ical_zone`); in an unknown zone, in the practice's, and counted.
//!
//! The text comes from outside: an event that cannot be read (a bad date or
//! duration, a sum past the range of dates, a recurrence that cannot be
//! expanded within the bounds below) is skipped and counted, never fatal.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use firststep_availability::Interval;

use super::ical_zone::{DefinedZone, Zone, Zones};

/// One event that makes the practice busy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusyEvent {
    /// Shared by all occurrences of a recurring event.
    pub uid: Arc<str>,
    pub interval: Interval,
}

/// What one calendar text says about busy time.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BusyRead {
    /// The busy events overlapping the range asked for.
    pub events: Vec<BusyEvent>,
    /// Events that could not be read and were left out.
    pub skipped: usize,
    /// Events read in the practice's zone because a TZID of theirs names no
    /// zone known here (neither IANA nor Windows, and no VTIMEZONE that can
    /// be followed): they may be hours off.
    pub unknown_zones: usize,
}

/// The last count of something odd in one source's reads, so that the
/// operator hears of it once when it changes, not at every refresh.
#[derive(Default)]
pub(crate) struct LastCount(AtomicUsize);

impl LastCount {
    /// `Some(now)` when `now` is not zero and differs from the last count.
    pub(crate) fn changed(&self, now: usize) -> Option<usize> {
        (self.0.swap(now, Ordering::Relaxed) != now && now > 0).then_some(now)
    }
}

/// A recurring event yields at most this many occurrences in the range…
const MAX_OCCURRENCES: usize = 10_000;
/// …from at most this many occurrences since its start (daily since 1500).
const MAX_RULE_STEPS: usize = 200_000;
/// One text yields at most this many busy events.
const MAX_EVENTS: usize = 100_000;
/// Expanding the recurrences of one text takes at most this long; recurring
/// events left when it is spent are skipped. (A rule that never matches, like
/// February 30th, makes the rrule crate search 100,000 periods before it
/// gives up, so counting occurrences alone does not bound the time.)
pub const MAX_EXPANSION_TIME: StdDuration = StdDuration::from_secs(2);

/// An event that cannot be read: skipped and counted.
#[derive(Debug)]
pub(crate) struct Unreadable;

/// The busy events of `text` that overlap `range`. Transparent and cancelled
/// events are free time; dates without times (all-day events) and floating
/// times are read in `zone`, the practice's.
///
/// CPU-bound (up to [`MAX_EXPANSION_TIME`]): async callers run it on a blocking thread.
pub fn busy_events(text: &str, zone: Tz, range: Interval) -> BusyRead {
    busy_events_until(text, zone, range, Instant::now() + MAX_EXPANSION_TIME)
}

/// [`busy_events`], expanding recurrences until `deadline` (one deadline for
/// many texts of one answer).
pub fn busy_events_until(text: &str, zone: Tz, range: Interval, deadline: Instant) -> BusyRead {
    let mut vevents: Vec<Vec<Property>> = Vec::new();
    let mut zones = Zones::new(zone);
    // The component being read (VEVENT or VTIMEZONE) and its lines so far.
    let mut current: Option<(String, Vec<Property>)> = None;
    for line in unfold(text) {
        let Some(property) = Property::parse(&line) else {
            continue;
        };
        match (property.name.as_str(), property.value.as_str()) {
            ("BEGIN", kind @ ("VEVENT" | "VTIMEZONE")) => {
                current = Some((kind.to_owned(), Vec::new()))
            }
            ("END", kind) if current.as_ref().is_some_and(|(open, _)| open == kind) => {
                if let Some((_, props)) = current.take() {
                    match kind {
                        "VEVENT" => vevents.push(props),
                        _ => zones.define(&props),
                    }
                }
            }
            _ => {
                if let Some((_, props)) = current.as_mut() {
                    props.push(property);
                }
            }
        }
    }
    // Occurrences that an override (RECURRENCE-ID) stands in for.
    let replaced: HashSet<(&str, DateTime<Utc>)> = vevents
        .iter()
        .filter_map(|props| {
            let uid = find(props, "UID")?.value.as_str();
            Some((uid, instant(find(props, "RECURRENCE-ID")?, &zones).ok()?.0))
        })
        .collect();
    let mut read = BusyRead::default();
    for props in &vevents {
        let room = MAX_EVENTS.saturating_sub(read.events.len());
        match event_in_range(props, &zones, range, &replaced, room, deadline) {
            Ok(events) => {
                read.events.extend(events);
                let unknown = |id: &str| zones.resolve(id).is_none();
                if props.iter().filter_map(|p| p.param("TZID")).any(unknown) {
                    read.unknown_zones += 1;
                }
            }
            Err(Unreadable) => read.skipped += 1,
        }
    }
    read
}

/// The busy occurrences of one VEVENT in `range`, at most `room` of them.
fn event_in_range(
    props: &[Property],
    zones: &Zones,
    range: Interval,
    replaced: &HashSet<(&str, DateTime<Utc>)>,
    room: usize,
    deadline: Instant,
) -> Result<Vec<BusyEvent>, Unreadable> {
    let Some(event) = busy_event(props, zones)? else {
        return Ok(Vec::new());
    };
    let overlaps = |i: Interval| i.start < range.end && i.end > range.start;
    let recurs = find(props, "RRULE").is_some() || find(props, "RDATE").is_some();
    let intervals = if recurs {
        let length = event.interval.end - event.interval.start;
        let from = range
            .start
            .checked_sub_signed(length)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let mut intervals = Vec::new();
        for start in occurrences(props, zones, from, range.end, deadline)? {
            if replaced.contains(&(&*event.uid, start)) {
                continue;
            }
            let end = start.checked_add_signed(length).ok_or(Unreadable)?;
            intervals.push(Interval::new(start, end));
        }
        intervals
    } else {
        vec![event.interval]
    };
    let intervals: Vec<Interval> = intervals.into_iter().filter(|i| overlaps(*i)).collect();
    if intervals.len() > room {
        return Err(Unreadable);
    }
    Ok(intervals
        .into_iter()
        .map(|interval| BusyEvent {
            uid: event.uid.clone(),
            interval,
        })
        .collect())
}

fn find<'a>(props: &'a [Property], name: &str) -> Option<&'a Property> {
    props.iter().find(|p| p.name == name)
}

/// The starts of a recurring event in `[from, to]`, by its own DTSTART,
/// RRULE, RDATE and EXDATE lines, within the bounds above. Rules repeating
/// more often than daily are refused: no calendar application makes them,
/// and the rrule crate steps through every hour (or second) since their start.
fn occurrences(
    props: &[Property],
    zones: &Zones,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    deadline: Instant,
) -> Result<Vec<DateTime<Utc>>, Unreadable> {
    let sub_daily = props.iter().filter(|p| p.name == "RRULE").any(|p| {
        p.value
            .to_ascii_uppercase()
            .split(';')
            .any(|part| matches!(part, "FREQ=SECONDLY" | "FREQ=MINUTELY" | "FREQ=HOURLY"))
    });
    if sub_daily || Instant::now() > deadline {
        return Err(Unreadable);
    }
    // An event starting in a zone the text defines is counted in its wall
    // clock, which the rrule crate cannot know: see `rule_line`.
    let frame = match find(props, "DTSTART").map(|p| zones.of(p.param("TZID"))) {
        Some(Zone::Defined(zone)) => Some(zone),
        _ => None,
    };
    let rule_lines = props
        .iter()
        .filter(|p| matches!(p.name.as_str(), "DTSTART" | "RRULE" | "RDATE" | "EXDATE"))
        .map(|p| rule_line(p, zones, frame))
        .collect::<Result<Vec<String>, Unreadable>>()?;
    let set = rule_lines
        .join("\n")
        .parse::<rrule::RRuleSet>()
        .map_err(|_| Unreadable)?
        // The crate's own guard against rules that never yield.
        .limit();
    let mut starts = Vec::new();
    let mut steps = 0;
    for start in &set {
        steps += 1;
        if steps > MAX_RULE_STEPS || Instant::now() > deadline {
            return Err(Unreadable);
        }
        let start = match frame {
            None => start.with_timezone(&Utc),
            Some(zone) => Zone::Defined(zone).to_utc(start.naive_utc())?,
        };
        if start > to {
            return Ok(starts);
        }
        if start >= from {
            if starts.len() == MAX_OCCURRENCES {
                return Err(Unreadable);
            }
            starts.push(start);
        }
    }
    Ok(starts)
}

/// A DTSTART, RRULE, RDATE or EXDATE line as the rrule crate can read it:
/// the crate knows IANA names only, unquoted. A time in a Windows zone (or
/// an unknown one, read in the practice's) is given in its IANA zone; a time
/// in a zone the text defines, in UTC. When the event starts in such a zone
/// (`frame`), the crate counts in that zone's wall clock instead, written as
/// if it were UTC, and the caller turns each occurrence back into an instant.
fn rule_line(
    prop: &Property,
    zones: &Zones,
    frame: Option<&DefinedZone>,
) -> Result<String, Unreadable> {
    let name = prop.name.as_str();
    if let Some(frame) = frame {
        let wall = |at: DateTime<Utc>| Zone::Defined(frame).wall(at).ok_or(Unreadable);
        return match name {
            "DTSTART" => Ok(format!("DTSTART:{}", utc(parse_wall(&prop.value)?))),
            "RRULE" => {
                let parts = prop
                    .value
                    .split(';')
                    .map(|part| match part.split_once('=') {
                        Some((key, until)) if key.eq_ignore_ascii_case("UNTIL") => {
                            let at = match until.strip_suffix('Z') {
                                Some(until) => wall(parse_wall(until)?.and_utc())?,
                                None => parse_wall(until).or_else(|_| end_of_day(until))?,
                            };
                            Ok(format!("UNTIL={}", utc(at)))
                        }
                        _ => Ok(part.to_owned()),
                    });
                Ok(format!(
                    "RRULE:{}",
                    parts.collect::<Result<Vec<_>, _>>()?.join(";")
                ))
            }
            _ => values_line(prop, zones, wall),
        };
    }
    match prop.param("TZID").map(|id| zones.of(Some(id))) {
        Some(Zone::Named(tz)) => Ok(format!("{name};TZID={}:{}", tz.name(), prop.value)),
        Some(Zone::Defined(_)) => values_line(prop, zones, |at| Ok(at.naive_utc())),
        // A rule, or times in UTC: as they are.
        None if name == "RRULE" || prop.value.ends_with(['Z', 'z']) => Ok(prop.raw.clone()),
        // Floating times and dates are the practice's wall clock, as for
        // single events (the crate would read them in the server's own zone).
        None => {
            let Zone::Named(practice) = zones.of(None) else {
                return Err(Unreadable);
            };
            let times = prop.value.split(',').map(|value| match value.len() {
                8 => format!("{value}T000000"),
                _ => value.to_owned(),
            });
            Ok(format!(
                "{name};TZID={}:{}",
                practice.name(),
                times.collect::<Vec<_>>().join(",")
            ))
        }
    }
}

/// `20261201T100000Z`: a time given to the rrule crate as UTC.
fn utc(time: NaiveDateTime) -> String {
    time.format("%Y%m%dT%H%M%SZ").to_string()
}

/// An RDATE or EXDATE line with each of its times as an instant, written by
/// `clock` as UTC.
fn values_line(
    prop: &Property,
    zones: &Zones,
    clock: impl Fn(DateTime<Utc>) -> Result<NaiveDateTime, Unreadable>,
) -> Result<String, Unreadable> {
    let values = prop
        .value
        .split(',')
        .map(|value| {
            let (at, _) = value_instant(value, prop.param("VALUE"), prop.param("TZID"), zones)?;
            Ok(utc(clock(at)?))
        })
        .collect::<Result<Vec<String>, Unreadable>>()?;
    Ok(format!("{}:{}", prop.name, values.join(",")))
}

/// Content lines with folding undone (a line starting with a space or tab
/// continues the one before).
fn unfold(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for raw in text.split('\n') {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        match (raw.strip_prefix([' ', '\t']), lines.last_mut()) {
            (Some(rest), Some(last)) => last.push_str(rest),
            _ => lines.push(raw.to_owned()),
        }
    }
    lines
}

#[derive(Debug, Clone)]
pub(crate) struct Property {
    /// The whole unfolded line, for the recurrence parser.
    raw: String,
    pub(crate) name: String,
    params: Vec<(String, String)>,
    pub(crate) value: String,
}

impl Property {
    pub(crate) fn parse(line: &str) -> Option<Self> {
        // The value starts after the first colon outside a quoted parameter.
        let mut quoted = false;
        let split = line.char_indices().find(|(_, c)| {
            if *c == '"' {
                quoted = !quoted;
            }
            *c == ':' && !quoted
        })?;
        let (head, value) = (&line[..split.0], &line[split.0 + 1..]);
        let mut parts = head.split(';');
        let name = parts.next()?.trim().to_ascii_uppercase();
        let params = parts
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.to_ascii_uppercase(), v.trim_matches('"').to_owned()))
            .collect();
        Some(Self {
            raw: line.to_owned(),
            name,
            params,
            value: value.trim().to_owned(),
        })
    }

    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The event's first occurrence; `None` when it is free time (transparent,
/// cancelled, or without length).
fn busy_event(props: &[Property], zones: &Zones) -> Result<Option<BusyEvent>, Unreadable> {
    let get = |name: &str| props.iter().find(|p| p.name == name);
    let value = |name: &str| get(name).map(|p| p.value.to_ascii_uppercase());
    if value("TRANSP").as_deref() == Some("TRANSPARENT")
        || value("STATUS").as_deref() == Some("CANCELLED")
    {
        return Ok(None);
    }
    let (start, all_day) = instant(get("DTSTART").ok_or(Unreadable)?, zones)?;
    let end = match (get("DTEND"), get("DURATION")) {
        (Some(end), _) => instant(end, zones)?.0,
        (None, Some(duration)) => start
            .checked_add_signed(parse_duration(&duration.value).ok_or(Unreadable)?)
            .ok_or(Unreadable)?,
        // RFC 5545: a date-only start without end lasts one day; a date-time, no time.
        (None, None) if all_day => start
            .checked_add_signed(Duration::days(1))
            .ok_or(Unreadable)?,
        (None, None) => start,
    };
    if end < start {
        return Err(Unreadable);
    }
    let uid: Arc<str> = get("UID").map_or("", |p| p.value.as_str()).into();
    Ok((end > start).then(|| BusyEvent {
        uid,
        interval: Interval::new(start, end),
    }))
}

/// A DTSTART/DTEND value as an instant, and whether it was a date only.
fn instant(prop: &Property, zones: &Zones) -> Result<(DateTime<Utc>, bool), Unreadable> {
    value_instant(&prop.value, prop.param("VALUE"), prop.param("TZID"), zones)
}

/// One date or date-time value, with its property's VALUE and TZID
/// parameters, as an instant, and whether it was a date only. A date starts
/// at midnight in the practice's zone.
fn value_instant(
    text: &str,
    value_type: Option<&str>,
    tzid: Option<&str>,
    zones: &Zones,
) -> Result<(DateTime<Utc>, bool), Unreadable> {
    if value_type == Some("DATE") || text.len() == 8 {
        let midnight = parse_date(text)?.and_hms_opt(0, 0, 0).ok_or(Unreadable)?;
        return Ok((local(zones.practice, midnight)?, true));
    }
    if let Some(utc) = text.strip_suffix('Z') {
        return Ok((parse_wall(utc)?.and_utc(), false));
    }
    Ok((zones.of(tzid).to_utc(parse_wall(text)?)?, false))
}

/// `20261201T100000`: a date and time, in no zone yet.
pub(crate) fn parse_wall(text: &str) -> Result<NaiveDateTime, Unreadable> {
    NaiveDateTime::parse_from_str(text, "%Y%m%dT%H%M%S").map_err(|_| Unreadable)
}

fn parse_date(text: &str) -> Result<NaiveDate, Unreadable> {
    NaiveDate::parse_from_str(text, "%Y%m%d").map_err(|_| Unreadable)
}

/// `20261201` as an UNTIL: the last second of that date.
pub(crate) fn end_of_day(text: &str) -> Result<NaiveDateTime, Unreadable> {
    parse_date(text)?.and_hms_opt(23, 59, 59).ok_or(Unreadable)
}

pub(crate) fn local(zone: Tz, naive: NaiveDateTime) -> Result<DateTime<Utc>, Unreadable> {
    let at = |naive: NaiveDateTime| zone.from_local_datetime(&naive).earliest();
    at(naive)
        // In a DST gap the wall time does not exist: take the hour after.
        .or_else(|| at(naive.checked_add_signed(Duration::hours(1))?))
        .map(|t| t.with_timezone(&Utc))
        .ok_or(Unreadable)
}

/// An RFC 5545 duration: `P1D`, `PT1H30M`, `P2W`, `-PT15M` (refused).
/// `None` for anything else, or a length past what a duration can hold.
fn parse_duration(text: &str) -> Option<Duration> {
    let body = text.strip_prefix('+').unwrap_or(text).strip_prefix('P')?;
    let mut total = Duration::zero();
    let mut number = String::new();
    let mut in_time = false;
    for c in body.chars() {
        match c {
            'T' => in_time = true,
            '0'..='9' => number.push(c),
            unit => {
                let n: i64 = std::mem::take(&mut number).parse().ok()?;
                let part = match (unit, in_time) {
                    ('W', false) => Duration::try_weeks(n),
                    ('D', false) => Duration::try_days(n),
                    ('H', true) => Duration::try_hours(n),
                    ('M', true) => Duration::try_minutes(n),
                    ('S', true) => Duration::try_seconds(n),
                    _ => None,
                }?;
                total = total.checked_add(&part)?;
            }
        }
    }
    number.is_empty().then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::America::New_York;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn wide() -> Interval {
        Interval::new(at("2026-01-01T00:00:00Z"), at("2028-01-01T00:00:00Z"))
    }

    #[test]
    fn recurring_events_are_expanded_with_exceptions_and_moved_occurrences() {
        let text = calendar(&[
            // Weekly on Tuesdays at 10:00 New York time, across the DST change in March.
            "UID:weekly\r\nDTSTART;TZID=America/New_York:20270302T100000\r\nDTEND;TZID=America/New_York:20270302T110000\r\n\
             RRULE:FREQ=WEEKLY;COUNT=4\r\nEXDATE;TZID=\"America/New_York\":20270309T100000\r\n",
            // The third occurrence moved to the afternoon.
            "UID:weekly\r\nRECURRENCE-ID;TZID=America/New_York:20270316T100000\r\n\
             DTSTART;TZID=America/New_York:20270316T150000\r\nDTEND;TZID=America/New_York:20270316T160000\r\n",
        ]);
        let range = Interval::new(at("2027-03-01T00:00:00Z"), at("2027-04-01T00:00:00Z"));
        let mut starts: Vec<DateTime<Utc>> = busy_events(&text, New_York, range)
            .events
            .iter()
            .map(|e| e.interval.start)
            .collect();
        starts.sort();
        assert_eq!(
            starts,
            [
                at("2027-03-02T15:00:00Z"), // 10:00 EST
                at("2027-03-16T19:00:00Z"), // moved to 15:00 EDT
                at("2027-03-23T14:00:00Z"), // 10:00 EDT
            ]
        );
    }

    #[test]
    fn only_events_in_the_range_are_returned() {
        let text = calendar(&["UID:daily\r\nDTSTART:20270101T090000Z\r\nDTEND:20270101T100000Z\r\nRRULE:FREQ=DAILY\r\n"]);
        let range = Interval::new(at("2027-06-10T09:30:00Z"), at("2027-06-12T00:00:00Z"));
        let starts: Vec<DateTime<Utc>> = busy_events(&text, New_York, range)
            .events
            .iter()
            .map(|e| e.interval.start)
            .collect();
        assert_eq!(
            starts,
            [at("2027-06-10T09:00:00Z"), at("2027-06-11T09:00:00Z")]
        );
    }

    /// Floating times and dates in a rule are the practice's wall clock, as
    /// in single events, whatever zone the server runs in; across a switch
    /// to summer time too.
    #[test]
    fn a_recurring_event_in_floating_time_follows_the_practices_clock() {
        let text = calendar(&[
            "UID:weekly\r\nDTSTART:20270301T090000\r\nDTEND:20270301T100000\r\nRRULE:FREQ=WEEKLY;COUNT=3\r\nEXDATE:20270308T090000\r\n",
            "UID:days\r\nDTSTART;VALUE=DATE:20270320\r\nRRULE:FREQ=DAILY;COUNT=2\r\n",
        ]);
        let read = busy_events(&text, New_York, wide());
        assert_eq!((read.skipped, read.unknown_zones), (0, 0));
        let found: Vec<(&str, DateTime<Utc>, DateTime<Utc>)> = read
            .events
            .iter()
            .map(|e| (&*e.uid, e.interval.start, e.interval.end))
            .collect();
        assert_eq!(
            found,
            [
                // 9:00 EST, then (after 14 March) 9:00 EDT; the 8th excluded.
                (
                    "weekly",
                    at("2027-03-01T14:00:00Z"),
                    at("2027-03-01T15:00:00Z")
                ),
                (
                    "weekly",
                    at("2027-03-15T13:00:00Z"),
                    at("2027-03-15T14:00:00Z")
                ),
                (
                    "days",
                    at("2027-03-20T04:00:00Z"),
                    at("2027-03-21T04:00:00Z")
                ),
                (
                    "days",
                    at("2027-03-21T04:00:00Z"),
                    at("2027-03-22T04:00:00Z")
                ),
            ]
        );
    }

    fn calendar(events: &[&str]) -> String {
        let body: String = events
            .iter()
            .map(|e| format!("BEGIN:VEVENT\r\n{e}END:VEVENT\r\n"))
            .collect();
        format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n{body}END:VCALENDAR\r\n")
    }

    #[test]
    fn reads_utc_zoned_floating_and_all_day_events() {
        let text = calendar(&[
            "UID:a\r\nDTSTART:20261201T150000Z\r\nDTEND:20261201T160000Z\r\n",
            "UID:b\r\nDTSTART;TZID=Europe/Berlin:20261201T100000\r\nDURATION:PT1H30M\r\n",
            "UID:c\r\nDTSTART:20261201T090000\r\nDTEND:20261201T093000\r\n",
            "UID:d\r\nDTSTART;VALUE=DATE:20261224\r\n",
        ]);
        let read = busy_events(&text, New_York, wide());
        assert_eq!(read.skipped, 0);
        let found: Vec<(&str, Interval)> =
            read.events.iter().map(|e| (&*e.uid, e.interval)).collect();
        assert_eq!(
            found,
            [
                (
                    "a",
                    Interval::new(at("2026-12-01T15:00:00Z"), at("2026-12-01T16:00:00Z"))
                ),
                (
                    "b",
                    Interval::new(at("2026-12-01T09:00:00Z"), at("2026-12-01T10:30:00Z"))
                ),
                (
                    "c",
                    Interval::new(at("2026-12-01T14:00:00Z"), at("2026-12-01T14:30:00Z"))
                ),
                (
                    "d",
                    Interval::new(at("2026-12-24T05:00:00Z"), at("2026-12-25T05:00:00Z"))
                ),
            ]
        );
    }

    #[test]
    fn transparent_and_cancelled_events_are_free_time() {
        let text = calendar(&[
            "UID:free\r\nTRANSP:TRANSPARENT\r\nDTSTART:20261201T150000Z\r\nDTEND:20261201T160000Z\r\n",
            "UID:off\r\nSTATUS:CANCELLED\r\nDTSTART:20261201T150000Z\r\nDTEND:20261201T160000Z\r\n",
            "UID:busy\r\nSTATUS:TENTATIVE\r\nDTSTART:20261201T150000Z\r\nDTEND:20261201T160000Z\r\n",
        ]);
        let read = busy_events(&text, New_York, wide());
        let uids: Vec<&str> = read.events.iter().map(|e| &*e.uid).collect();
        assert_eq!(uids, ["busy"]);
        assert_eq!(read.skipped, 0, "free time is not a broken event");
    }

    #[test]
    fn folded_lines_and_quoted_parameters_are_read() {
        let text = "BEGIN:VEVENT\r\nUID:lo\r\n ng\r\nDTSTART;X-NOTE=\"a:b\";TZID=America/New_York:20261201T\r\n 100000\r\nDTEND:20261201T160000Z\r\nEND:VEVENT\r\n";
        let events = busy_events(text, chrono_tz::UTC, wide()).events;
        assert_eq!(events.len(), 1);
        assert_eq!(&*events[0].uid, "long");
        assert_eq!(events[0].interval.start, at("2026-12-01T15:00:00Z"));
    }

    /// Each of these stopped the adapter, or would have: a panic in date
    /// arithmetic. Now each is one skipped event, and the good one is read.
    #[test]
    fn hostile_events_are_skipped_and_counted() {
        let good = "UID:good\r\nDTSTART:20261201T150000Z\r\nDTEND:20261201T160000Z\r\n";
        let hostile = [
            "UID:weeks\r\nDTSTART:20261201T150000Z\r\nDURATION:P99999999999W\r\n",
            "UID:seconds\r\nDTSTART:20261201T150000Z\r\nDURATION:PT9223372036854775807S\r\n",
            "UID:sum\r\nDTSTART:20261201T150000Z\r\nDURATION:P100000000DT1H\r\n",
            "UID:garbage\r\nDTSTART:20261201T150000Z\r\nDURATION:P1X\r\n",
            "UID:far\r\nDTSTART:+2621421231T000000Z\r\nDURATION:P2D\r\n",
            "UID:month\r\nDTSTART:20261301T150000Z\r\nDTEND:20261301T160000Z\r\n",
            "UID:backwards\r\nDTSTART:20261201T160000Z\r\nDTEND:20261201T150000Z\r\n",
            "UID:nostart\r\nDTEND:20261201T160000Z\r\n",
            "UID:rule\r\nDTSTART:20261201T150000Z\r\nDTEND:20261201T160000Z\r\nRRULE:FREQ=SOMETIMES\r\n",
            "UID:far-rule\r\nDTSTART:+2621421231T000000Z\r\nDURATION:P1D\r\nRRULE:FREQ=YEARLY\r\n",
        ];
        let mut events = vec![good];
        events.extend(hostile);
        let range = Interval::new(at("2026-01-01T00:00:00Z"), DateTime::<Utc>::MAX_UTC);

        let read = busy_events(&calendar(&events), New_York, range);

        let uids: Vec<&str> = read.events.iter().map(|e| &*e.uid).collect();
        assert_eq!(uids, ["good"]);
        assert_eq!(read.skipped, hostile.len());
    }

    #[test]
    fn recurrences_are_expanded_within_bounds() {
        let daily = |uid: &str, since: &str| {
            format!("UID:{uid}\r\nDTSTART:{since}T090000Z\r\nDURATION:PT1H\r\nRRULE:FREQ=DAILY\r\n")
        };
        let thirty_years = Interval::new(at("2026-01-01T00:00:00Z"), at("2056-01-01T00:00:00Z"));
        let read = busy_events(
            &calendar(&[&daily("often", "20260101")]),
            New_York,
            thirty_years,
        );
        assert_eq!(
            (read.events.len(), read.skipped),
            (0, 1),
            "over {MAX_OCCURRENCES} in range"
        );

        let long_ago = daily("old", "14000101");
        let read = busy_events(&calendar(&[&long_ago]), New_York, wide());
        assert_eq!(
            (read.events.len(), read.skipped),
            (0, 1),
            "over {MAX_RULE_STEPS} steps"
        );

        let hourly =
            "UID:hourly\r\nDTSTART:20261201T090000Z\r\nDURATION:PT1M\r\nRRULE:FREQ=HOURLY\r\n";
        let read = busy_events(&calendar(&[hourly]), New_York, wide());
        assert_eq!(
            (read.events.len(), read.skipped),
            (0, 1),
            "more often than daily"
        );

        // Within the bounds: daily since 1600, read in a week. The steps are
        // what is bounded here, not time: a debug build on a loaded machine
        // may take longer than the production deadline for them.
        let week = Interval::new(at("2026-12-01T00:00:00Z"), at("2026-12-08T00:00:00Z"));
        let patient = Instant::now() + StdDuration::from_secs(120);
        let read = busy_events_until(
            &calendar(&[&daily("kept", "16000101")]),
            New_York,
            week,
            patient,
        );
        assert_eq!((read.events.len(), read.skipped), (7, 0));
    }

    #[test]
    fn a_spent_expansion_time_skips_recurring_events_only() {
        let text = calendar(&[
            "UID:once\r\nDTSTART:20261201T150000Z\r\nDTEND:20261201T160000Z\r\n",
            "UID:daily\r\nDTSTART:20261201T090000Z\r\nDURATION:PT1H\r\nRRULE:FREQ=DAILY;COUNT=3\r\n",
        ]);
        let spent = Instant::now() - StdDuration::from_millis(1);

        let read = busy_events_until(&text, New_York, wide(), spent);

        let uids: Vec<&str> = read.events.iter().map(|e| &*e.uid).collect();
        assert_eq!((uids, read.skipped), (vec!["once"], 1));
        assert_eq!(busy_events(&text, New_York, wide()).events.len(), 4);
    }

    #[test]
    fn one_text_yields_at_most_max_events() {
        // Eleven events of 9,862 days each: the eleventh does not fit.
        let range = Interval::new(at("2026-01-01T00:00:00Z"), at("2053-01-01T00:00:00Z"));
        let events: Vec<String> = (0..11)
            .map(|i| format!("UID:{i}\r\nDTSTART:20260101T0{i:01}0000Z\r\nDURATION:PT1M\r\nRRULE:FREQ=DAILY\r\n").replace("T010", "T10"))
            .collect();
        let events: Vec<&str> = events.iter().map(String::as_str).collect();

        let read = busy_events(&calendar(&events), chrono_tz::UTC, range);

        assert_eq!(read.events.len(), 10 * 9862);
        assert_eq!(read.skipped, 1);
        assert!(read.events.len() <= MAX_EVENTS);
    }

    fn zoned_calendar(vtimezones: &str, events: &[&str]) -> String {
        calendar(events).replacen(
            "VERSION:2.0\r\n",
            &format!("VERSION:2.0\r\n{vtimezones}"),
            1,
        )
    }

    fn starts(read: &BusyRead) -> Vec<(&str, DateTime<Utc>)> {
        let mut starts: Vec<(&str, DateTime<Utc>)> = read
            .events
            .iter()
            .map(|e| (&*e.uid, e.interval.start))
            .collect();
        starts.sort();
        starts
    }

    /// Outlook names its zones the Windows way, with or without quotes; the
    /// practice here is in Tokyo, where they used to be read.
    #[test]
    fn windows_zone_names_are_read_in_their_iana_zones() {
        let text = calendar(&[
            "UID:a-eastern\r\nDTSTART;TZID=Eastern Standard Time:20270302T100000\r\nDTEND;TZID=Eastern Standard Time:20270302T110000\r\n",
            "UID:b-eastern-summer\r\nDTSTART;TZID=\"Eastern Standard Time\":20270702T100000\r\nDTEND;TZID=\"Eastern Standard Time\":20270702T110000\r\n",
            "UID:c-berlin\r\nDTSTART;TZID=W. Europe Standard Time:20270302T100000\r\nDURATION:PT1H\r\n",
            "UID:d-berlin-summer\r\nDTSTART;TZID=\"W. Europe Standard Time\":20270702T100000\r\nDURATION:PT1H\r\n",
            "UID:e-london\r\nDTSTART;TZID=GMT Standard Time:20270302T100000\r\nDURATION:PT1H\r\n",
            "UID:f-london-summer\r\nDTSTART;TZID=GMT Standard Time:20270702T100000\r\nDURATION:PT1H\r\n",
        ]);

        let read = busy_events(&text, chrono_tz::Asia::Tokyo, wide());

        assert_eq!(
            starts(&read),
            [
                ("a-eastern", at("2027-03-02T15:00:00Z")),
                ("b-eastern-summer", at("2027-07-02T14:00:00Z")),
                ("c-berlin", at("2027-03-02T09:00:00Z")),
                ("d-berlin-summer", at("2027-07-02T08:00:00Z")),
                ("e-london", at("2027-03-02T10:00:00Z")),
                ("f-london-summer", at("2027-07-02T09:00:00Z")),
            ]
        );
        assert_eq!(read.events[0].interval.end, at("2027-03-02T16:00:00Z"));
        assert_eq!((read.skipped, read.unknown_zones), (0, 0));
    }

    /// A weekly meeting as Exchange publishes it: its zone defined beside
    /// it, an exception, an occurrence moved, across the switch to summer time.
    #[test]
    fn recurring_events_in_a_windows_zone_follow_its_clock() {
        use crate::calendar::ical_zone::tests::EXCHANGE_EASTERN;
        let text = zoned_calendar(
            EXCHANGE_EASTERN,
            &[
                "UID:weekly\r\nRRULE:FREQ=WEEKLY;UNTIL=20270330T140000Z;INTERVAL=1;BYDAY=TU;WKST=SU\r\n\
                 EXDATE;TZID=Eastern Standard Time:20270309T100000\r\n\
                 DTSTART;TZID=Eastern Standard Time:20270302T100000\r\nDTEND;TZID=Eastern Standard Time:20270302T110000\r\n",
                "UID:weekly\r\nRECURRENCE-ID;TZID=Eastern Standard Time:20270323T100000\r\n\
                 DTSTART;TZID=Eastern Standard Time:20270323T150000\r\nDTEND;TZID=Eastern Standard Time:20270323T160000\r\n",
            ],
        );

        let read = busy_events(&text, chrono_tz::UTC, wide());

        let starts: Vec<DateTime<Utc>> = starts(&read).into_iter().map(|(_, s)| s).collect();
        assert_eq!(
            starts,
            [
                at("2027-03-02T15:00:00Z"), // 10:00 EST
                at("2027-03-16T14:00:00Z"), // 10:00 EDT
                at("2027-03-23T19:00:00Z"), // moved to 15:00 EDT
                at("2027-03-30T14:00:00Z"), // the last, by UNTIL
            ]
        );
        assert_eq!((read.skipped, read.unknown_zones), (0, 0));
    }

    /// A zone only the text defines, on both sides of its switches to and
    /// from summer time (the last Sundays of March and October 2027).
    #[test]
    fn a_zone_the_text_defines_is_followed_on_both_sides_of_its_switches() {
        use crate::calendar::ical_zone::tests::CUSTOM_CENTRAL_EUROPE;
        let tz = "TZID=Customized Time Zone";
        let once = |uid: &str, day: &str| {
            format!("UID:{uid}\r\nDTSTART;{tz}:{day}T090000\r\nDTEND;{tz}:{day}T100000\r\n")
        };
        let daily = format!(
            "UID:daily\r\nDTSTART;{tz}:20271029T120000\r\nDURATION:PT1H\r\n\
             RRULE:FREQ=DAILY;UNTIL=20271101T110000Z\r\nEXDATE;{tz}:20271030T120000\r\n"
        );
        let events = [
            once("a-before-spring", "20270327"),
            once("b-after-spring", "20270329"),
            once("c-before-autumn", "20271030"),
            once("d-after-autumn", "20271101"),
            daily,
        ];
        let events: Vec<&str> = events.iter().map(String::as_str).collect();

        let read = busy_events(
            &zoned_calendar(CUSTOM_CENTRAL_EUROPE, &events),
            chrono_tz::America::New_York,
            wide(),
        );

        assert_eq!(
            starts(&read),
            [
                ("a-before-spring", at("2027-03-27T08:00:00Z")),
                ("b-after-spring", at("2027-03-29T07:00:00Z")),
                ("c-before-autumn", at("2027-10-30T07:00:00Z")),
                ("d-after-autumn", at("2027-11-01T08:00:00Z")),
                ("daily", at("2027-10-29T10:00:00Z")),
                ("daily", at("2027-10-31T11:00:00Z")),
                ("daily", at("2027-11-01T11:00:00Z")),
            ]
        );
        assert_eq!((read.skipped, read.unknown_zones), (0, 0));
    }

    /// A zone known neither by name nor by a definition that can be
    /// followed: its times are read in the practice's zone, as before, and
    /// the event is counted so the operator hears of it.
    #[test]
    fn an_unknown_zone_is_read_in_the_practices_and_counted() {
        let unusable = "BEGIN:VTIMEZONE\r\nTZID:Monthly Time\r\nBEGIN:STANDARD\r\nDTSTART:16010101T000000\r\n\
             TZOFFSETFROM:+0300\r\nTZOFFSETTO:+0300\r\nRRULE:FREQ=MONTHLY\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n";
        let text = zoned_calendar(
            unusable,
            &[
                "UID:a-nowhere\r\nDTSTART;TZID=Nowhere Standard Time:20270302T100000\r\nDURATION:PT1H\r\n",
                "UID:b-monthly\r\nDTSTART;TZID=Monthly Time:20270302T100000\r\nDURATION:PT1H\r\n",
                "UID:c-weekly\r\nDTSTART;TZID=Nowhere Standard Time:20270302T100000\r\nDURATION:PT1H\r\nRRULE:FREQ=WEEKLY;COUNT=2\r\n",
                "UID:d-known\r\nDTSTART;TZID=America/New_York:20270302T100000\r\nDURATION:PT1H\r\n",
            ],
        );

        let read = busy_events(&text, chrono_tz::America::New_York, wide());

        assert_eq!(
            starts(&read),
            [
                ("a-nowhere", at("2027-03-02T15:00:00Z")),
                ("b-monthly", at("2027-03-02T15:00:00Z")),
                ("c-weekly", at("2027-03-02T15:00:00Z")),
                ("c-weekly", at("2027-03-09T15:00:00Z")),
                ("d-known", at("2027-03-02T15:00:00Z")),
            ]
        );
        assert_eq!((read.skipped, read.unknown_zones), (0, 3));
    }

    #[test]
    fn a_stray_end_line_does_not_drop_the_event_around_it() {
        let text = calendar(&[
            "UID:kept\r\nEND:VTIMEZONE\r\nDTSTART:20261201T150000Z\r\nDTEND:20261201T160000Z\r\n",
        ]);
        let read = busy_events(&text, New_York, wide());
        assert_eq!(starts(&read), [("kept", at("2026-12-01T15:00:00Z"))]);
    }

    #[test]
    fn a_count_is_heard_of_once_when_it_changes() {
        let last = LastCount::default();
        assert_eq!(last.changed(0), None);
        assert_eq!(last.changed(2), Some(2));
        assert_eq!(last.changed(2), None);
        assert_eq!(last.changed(3), Some(3));
        assert_eq!(last.changed(0), None);
        assert_eq!(last.changed(3), Some(3));
    }

    mod never_panics {
        use super::*;
        use proptest::prelude::*;

        fn quick() -> Instant {
            Instant::now() + StdDuration::from_millis(5)
        }

        /// Values that look like iCalendar's: dates, times, durations, rules.
        fn value() -> impl Strategy<Value = String> {
            prop_oneof![
                "[0-9+-]{0,7}[0-9]{8}(T[0-9]{6}Z?)?",
                "[+-]?P([0-9]{1,20}[WD])?(T([0-9]{1,20}[HMS]){0,3})?",
                "FREQ=(DAILY|WEEKLY|MONTHLY|YEARLY|HOURLY|SECONDLY)(;(COUNT|INTERVAL|BYMONTHDAY|BYMONTH|BYSETPOS|BYYEARDAY|BYWEEKNO)=-?[0-9]{1,6}){0,3}(;UNTIL=[0-9]{8}T[0-9]{6}Z)?",
                "[0-9]{8}T[0-9]{6}Z?(,[0-9]{8}T[0-9]{6}Z?){0,3}",
                any::<String>(),
            ]
        }

        fn property() -> impl Strategy<Value = String> {
            let name = prop_oneof![
                Just("DTSTART"),
                Just("DTEND"),
                Just("DURATION"),
                Just("RRULE"),
                Just("RDATE"),
                Just("EXDATE"),
                Just("RECURRENCE-ID"),
                Just("UID"),
                Just("TRANSP"),
                Just("STATUS"),
            ];
            let params = prop_oneof![
                Just(""),
                Just(";VALUE=DATE"),
                Just(";TZID=America/New_York"),
                Just(";TZID=Nowhere/Else"),
                Just(";TZID=\"a:b\""),
                Just(";TZID=Eastern Standard Time"),
                Just(";TZID=\"W. Europe Standard Time\""),
                Just(";TZID=Defined"),
            ];
            (name, params, value()).prop_map(|(n, p, v)| format!("{n}{p}:{v}\r\n"))
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn on_any_text(text in any::<String>()) {
                let read = busy_events_until(&text, New_York, wide(), quick());
                prop_assert!(read.events.is_empty());
            }

            /// Events in any zone, the one named `Defined` defined by the text in any way.
            #[test]
            fn on_events_with_any_values(
                events in prop::collection::vec(prop::collection::vec(property(), 0..8), 0..6),
                range_start in -9_000_000_000_000i64..9_000_000_000_000,
                range_days in 0i64..4000,
                defined in crate::calendar::ical_zone::tests::vtimezone("Defined"),
            ) {
                let events: Vec<String> = events.into_iter().map(|e| e.concat()).collect();
                let events: Vec<&str> = events.iter().map(String::as_str).collect();
                let text = zoned_calendar(&defined, &events);
                let Some(start) = DateTime::from_timestamp(range_start, 0) else {
                    return Ok(());
                };
                let end = start.checked_add_signed(Duration::days(range_days)).unwrap_or(DateTime::<Utc>::MAX_UTC);
                let range = Interval::new(start, end);
                let read = busy_events_until(&text, New_York, range, quick());
                prop_assert!(read.events.len() + read.skipped <= events.len() * MAX_OCCURRENCES);
                for event in &read.events {
                    prop_assert!(event.interval.start < event.interval.end);
                    prop_assert!(event.interval.start < range.end && event.interval.end > range.start);
                }
            }
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("PT1H30M"), Some(Duration::minutes(90)));
        assert_eq!(parse_duration("P1DT2H"), Some(Duration::hours(26)));
        assert_eq!(parse_duration("P2W"), Some(Duration::weeks(2)));
        assert_eq!(parse_duration("PT"), Some(Duration::zero()));
        assert_eq!(parse_duration("1H"), None);
        assert_eq!(parse_duration("PT5"), None);
        assert_eq!(parse_duration("P99999999999W"), None);
        assert_eq!(parse_duration("PT9223372036854775807S"), None);
        assert_eq!(parse_duration("P15250284452WT1000000000H"), None);
    }
}
