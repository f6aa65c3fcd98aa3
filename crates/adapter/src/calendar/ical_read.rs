//! Busy time read out of iCalendar (RFC 5545) text: the VEVENTs that make a
//! person unavailable, as intervals in a range. Recurring events (RRULE,
//! RDATE, EXDATE) are expanded here, and moved or changed occurrences
//! (RECURRENCE-ID) replace the ones they stand for. (CalDAV servers expand on
//! their side; ICS feeds do not.)

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use firststep_availability::Interval;

/// One event that makes the practice busy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusyEvent {
    pub uid: String,
    pub interval: Interval,
}

/// Recurrences are expanded at most this many times per event.
const MAX_OCCURRENCES: u16 = 5000;

/// The busy events of `text` that overlap `range`. Transparent and cancelled
/// events are free time; dates without times (all-day events) and floating
/// times are read in `zone`, the practice's. Events that cannot be read are
/// skipped.
pub fn busy_events(text: &str, zone: Tz, range: Interval) -> Vec<BusyEvent> {
    let mut vevents: Vec<Vec<Property>> = Vec::new();
    let mut current: Option<Vec<Property>> = None;
    for line in unfold(text) {
        let Some(property) = Property::parse(&line) else {
            continue;
        };
        match (property.name.as_str(), property.value.as_str()) {
            ("BEGIN", "VEVENT") => current = Some(Vec::new()),
            ("END", "VEVENT") => vevents.extend(current.take()),
            _ => {
                if let Some(props) = current.as_mut() {
                    props.push(property);
                }
            }
        }
    }
    // Occurrences that an override (RECURRENCE-ID) stands in for.
    let replaced: Vec<(String, DateTime<Utc>)> = vevents
        .iter()
        .filter_map(|props| {
            let uid = find(props, "UID")?.value.clone();
            Some((uid, instant(find(props, "RECURRENCE-ID")?, zone)?.0))
        })
        .collect();
    let mut events = Vec::new();
    for props in &vevents {
        let Some(event) = busy_event(props, zone) else {
            continue;
        };
        let recurs = find(props, "RRULE").is_some() || find(props, "RDATE").is_some();
        if !recurs {
            events.push(event);
            continue;
        }
        let length = event.interval.end - event.interval.start;
        for start in occurrences(props, range.start - length, range.end) {
            if !replaced
                .iter()
                .any(|(uid, at)| *uid == event.uid && *at == start)
            {
                events.push(BusyEvent {
                    uid: event.uid.clone(),
                    interval: Interval::new(start, start + length),
                });
            }
        }
    }
    events.retain(|e| e.interval.start < range.end && e.interval.end > range.start);
    events
}

fn find<'a>(props: &'a [Property], name: &str) -> Option<&'a Property> {
    props.iter().find(|p| p.name == name)
}

/// The starts of a recurring event between `from` and `to`, by its own
/// DTSTART, RRULE, RDATE and EXDATE lines.
fn occurrences(props: &[Property], from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let rule_lines: Vec<&str> = props
        .iter()
        .filter(|p| matches!(p.name.as_str(), "DTSTART" | "RRULE" | "RDATE" | "EXDATE"))
        .map(|p| p.raw.as_str())
        .collect();
    let Ok(set) = rule_lines.join("\n").parse::<rrule::RRuleSet>() else {
        return Vec::new();
    };
    let utc = |t: DateTime<Utc>| t.with_timezone(&rrule::Tz::UTC);
    set.after(utc(from))
        .before(utc(to))
        .all(MAX_OCCURRENCES)
        .dates
        .into_iter()
        .map(|t| t.with_timezone(&Utc))
        .collect()
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
struct Property {
    /// The whole unfolded line, for the recurrence parser.
    raw: String,
    name: String,
    params: Vec<(String, String)>,
    value: String,
}

impl Property {
    fn parse(line: &str) -> Option<Self> {
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

    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn busy_event(props: &[Property], zone: Tz) -> Option<BusyEvent> {
    let get = |name: &str| props.iter().find(|p| p.name == name);
    let value = |name: &str| get(name).map(|p| p.value.to_ascii_uppercase());
    if value("TRANSP").as_deref() == Some("TRANSPARENT")
        || value("STATUS").as_deref() == Some("CANCELLED")
    {
        return None;
    }
    let start_prop = get("DTSTART")?;
    let (start, all_day) = instant(start_prop, zone)?;
    let end = match (get("DTEND"), get("DURATION")) {
        (Some(end), _) => instant(end, zone)?.0,
        (None, Some(duration)) => start + parse_duration(&duration.value)?,
        // RFC 5545: a date-only start without end lasts one day; a date-time, no time.
        (None, None) if all_day => start + Duration::days(1),
        (None, None) => start,
    };
    let uid = get("UID").map(|p| p.value.clone()).unwrap_or_default();
    (end > start).then(|| BusyEvent {
        uid,
        interval: Interval::new(start, end),
    })
}

/// A DTSTART/DTEND value as an instant, and whether it was a date only.
fn instant(prop: &Property, zone: Tz) -> Option<(DateTime<Utc>, bool)> {
    let text = prop.value.as_str();
    if prop.param("VALUE") == Some("DATE") || text.len() == 8 {
        let date = NaiveDate::parse_from_str(text, "%Y%m%d").ok()?;
        return Some((local(zone, date.and_hms_opt(0, 0, 0)?)?, true));
    }
    if let Some(utc) = text.strip_suffix('Z') {
        let naive = NaiveDateTime::parse_from_str(utc, "%Y%m%dT%H%M%S").ok()?;
        return Some((naive.and_utc(), false));
    }
    let naive = NaiveDateTime::parse_from_str(text, "%Y%m%dT%H%M%S").ok()?;
    let in_zone = prop
        .param("TZID")
        .and_then(|id| id.parse::<Tz>().ok())
        .unwrap_or(zone);
    Some((local(in_zone, naive)?, false))
}

fn local(zone: Tz, naive: NaiveDateTime) -> Option<DateTime<Utc>> {
    zone.from_local_datetime(&naive)
        .earliest()
        // In a DST gap the wall time does not exist: take the hour after.
        .or_else(|| {
            zone.from_local_datetime(&(naive + Duration::hours(1)))
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
}

/// An RFC 5545 duration: `P1D`, `PT1H30M`, `P2W`, `-PT15M` (refused).
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
                total += match (unit, in_time) {
                    ('W', false) => Duration::weeks(n),
                    ('D', false) => Duration::days(n),
                    ('H', true) => Duration::hours(n),
                    ('M', true) => Duration::minutes(n),
                    ('S', true) => Duration::seconds(n),
                    _ => return None,
                };
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
             RRULE:FREQ=WEEKLY;COUNT=4\r\nEXDATE;TZID=America/New_York:20270309T100000\r\n",
            // The third occurrence moved to the afternoon.
            "UID:weekly\r\nRECURRENCE-ID;TZID=America/New_York:20270316T100000\r\n\
             DTSTART;TZID=America/New_York:20270316T150000\r\nDTEND;TZID=America/New_York:20270316T160000\r\n",
        ]);
        let range = Interval::new(at("2027-03-01T00:00:00Z"), at("2027-04-01T00:00:00Z"));
        let mut starts: Vec<DateTime<Utc>> = busy_events(&text, New_York, range)
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
            .iter()
            .map(|e| e.interval.start)
            .collect();
        assert_eq!(
            starts,
            [at("2027-06-10T09:00:00Z"), at("2027-06-11T09:00:00Z")]
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
        let events = busy_events(&text, New_York, wide());
        let found: Vec<(&str, Interval)> = events
            .iter()
            .map(|e| (e.uid.as_str(), e.interval))
            .collect();
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
        let uids: Vec<String> = busy_events(&text, New_York, wide())
            .into_iter()
            .map(|e| e.uid)
            .collect();
        assert_eq!(uids, ["busy"]);
    }

    #[test]
    fn folded_lines_and_quoted_parameters_are_read() {
        let text = "BEGIN:VEVENT\r\nUID:lo\r\n ng\r\nDTSTART;X-NOTE=\"a:b\";TZID=America/New_York:20261201T\r\n 100000\r\nDTEND:20261201T160000Z\r\nEND:VEVENT\r\n";
        let events = busy_events(text, chrono_tz::UTC, wide());
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].uid, "long");
        assert_eq!(events[0].interval.start, at("2026-12-01T15:00:00Z"));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("PT1H30M"), Some(Duration::minutes(90)));
        assert_eq!(parse_duration("P1DT2H"), Some(Duration::hours(26)));
        assert_eq!(parse_duration("P2W"), Some(Duration::weeks(2)));
        assert_eq!(parse_duration("PT"), Some(Duration::zero()));
        assert_eq!(parse_duration("1H"), None);
        assert_eq!(parse_duration("PT5"), None);
    }
}
