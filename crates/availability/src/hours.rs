//! Opening hours in the practice's wall-clock time.

use std::fmt;

/// Minutes in a day; `24:00` is allowed as the end of a range.
const DAY_MINUTES: u16 = 24 * 60;

/// One stretch of opening hours on a day, `[start, end)` in minutes after
/// local midnight. Parsed from `"09:00-12:30"`; always non-empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OpeningRange {
    start_minute: u16,
    end_minute: u16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoursError {
    /// Not of the form `HH:MM-HH:MM`.
    Malformed(String),
    /// A time that is not on a 24-hour clock (`25:00`, `09:61`).
    InvalidTime(String),
    /// The range ends before or when it starts (`09:00-08:00`).
    EndsBeforeStart(String),
    /// Two ranges of one day overlap.
    Overlap(String, String),
}

impl fmt::Display for HoursError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(text) => write!(f, "\"{text}\" is not a range like \"09:00-17:00\""),
            Self::InvalidTime(text) => {
                write!(f, "\"{text}\" is not a time between 00:00 and 24:00")
            }
            Self::EndsBeforeStart(text) => write!(f, "\"{text}\" ends before it starts"),
            Self::Overlap(a, b) => write!(f, "\"{a}\" and \"{b}\" overlap"),
        }
    }
}

impl std::error::Error for HoursError {}

impl OpeningRange {
    pub fn parse(text: &str) -> Result<Self, HoursError> {
        let (start, end) = text
            .split_once('-')
            .ok_or_else(|| HoursError::Malformed(text.to_owned()))?;
        let start_minute = parse_clock(start.trim())?;
        let end_minute = parse_clock(end.trim())?;
        if start_minute >= end_minute || start_minute == DAY_MINUTES {
            return Err(HoursError::EndsBeforeStart(text.to_owned()));
        }
        Ok(Self {
            start_minute,
            end_minute,
        })
    }

    /// Minutes after local midnight at which the range opens.
    pub fn start_minute(self) -> u16 {
        self.start_minute
    }

    /// Minutes after local midnight at which the range closes (up to 1440).
    pub fn end_minute(self) -> u16 {
        self.end_minute
    }
}

impl fmt::Display for OpeningRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let clock = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
        write!(f, "{}-{}", clock(self.start_minute), clock(self.end_minute))
    }
}

fn parse_clock(text: &str) -> Result<u16, HoursError> {
    let invalid = || HoursError::InvalidTime(text.to_owned());
    let (hours, minutes) = text.split_once(':').ok_or_else(invalid)?;
    let two_digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !two_digits(hours) || !two_digits(minutes) {
        return Err(invalid());
    }
    let (hours, minutes): (u16, u16) = (
        hours.parse().map_err(|_| invalid())?,
        minutes.parse().map_err(|_| invalid())?,
    );
    let total = hours * 60 + minutes;
    if minutes >= 60 || total > DAY_MINUTES {
        return Err(invalid());
    }
    Ok(total)
}

/// A day's opening ranges: sorted and non-overlapping by construction.
/// Empty means closed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayHours(Vec<OpeningRange>);

impl DayHours {
    pub fn closed() -> Self {
        Self(Vec::new())
    }

    pub fn new(mut ranges: Vec<OpeningRange>) -> Result<Self, HoursError> {
        ranges.sort();
        for pair in ranges.windows(2) {
            if pair[0].end_minute > pair[1].start_minute {
                return Err(HoursError::Overlap(
                    pair[0].to_string(),
                    pair[1].to_string(),
                ));
            }
        }
        Ok(Self(ranges))
    }

    pub fn ranges(&self) -> &[OpeningRange] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ranges_up_to_midnight() {
        let range = OpeningRange::parse("09:00-24:00").unwrap();
        assert_eq!((range.start_minute(), range.end_minute()), (540, 1440));
        assert_eq!(range.to_string(), "09:00-24:00");
        assert_eq!(
            OpeningRange::parse(" 08:15 - 12:45 ").unwrap().to_string(),
            "08:15-12:45"
        );
    }

    #[test]
    fn refuses_backwards_empty_and_malformed_ranges() {
        assert_eq!(
            OpeningRange::parse("09:00-08:00"),
            Err(HoursError::EndsBeforeStart("09:00-08:00".into()))
        );
        assert!(matches!(
            OpeningRange::parse("09:00-09:00"),
            Err(HoursError::EndsBeforeStart(_))
        ));
        assert!(matches!(
            OpeningRange::parse("0900-1000"),
            Err(HoursError::InvalidTime(_))
        ));
        assert!(matches!(
            OpeningRange::parse("09:00"),
            Err(HoursError::Malformed(_))
        ));
        assert!(matches!(
            OpeningRange::parse("09:00-24:01"),
            Err(HoursError::InvalidTime(_))
        ));
        assert!(matches!(
            OpeningRange::parse("9:00-10:00"),
            Err(HoursError::InvalidTime(_))
        ));
        assert!(matches!(
            OpeningRange::parse("09:60-10:00"),
            Err(HoursError::InvalidTime(_))
        ));
        assert!(matches!(
            OpeningRange::parse("24:00-24:00"),
            Err(HoursError::EndsBeforeStart(_))
        ));
    }

    #[test]
    fn day_hours_sort_and_refuse_overlaps() {
        let parse = |s| OpeningRange::parse(s).unwrap();
        let day = DayHours::new(vec![parse("13:00-17:00"), parse("09:00-13:00")]).unwrap();
        assert_eq!(day.ranges(), &[parse("09:00-13:00"), parse("13:00-17:00")]);
        assert_eq!(
            DayHours::new(vec![parse("09:00-12:00"), parse("11:30-14:00")]),
            Err(HoursError::Overlap(
                "09:00-12:00".into(),
                "11:30-14:00".into()
            ))
        );
    }
}
