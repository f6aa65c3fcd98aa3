//! What a practice decides about when it can be booked.

use std::collections::BTreeMap;
use std::num::NonZeroU32;

use chrono::{Datelike, NaiveDate};
use chrono_tz::Tz;

use crate::hours::DayHours;

/// A practice's booking rules. Hours are wall-clock times in `zone`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    /// The practice's IANA zone; opening hours follow its clock through DST.
    pub zone: Tz,
    /// Opening hours per weekday, Monday first.
    pub weekly: [DayHours; 7],
    /// Dates whose hours differ from the week's (an empty `DayHours` closes the day).
    pub overrides: BTreeMap<NaiveDate, DayHours>,
    /// Distance between offered starts, in minutes (15 by default).
    pub step_minutes: NonZeroU32,
    /// Free time kept before anything busy, in minutes.
    pub buffer_before_minutes: u32,
    /// Free time kept after anything busy, in minutes.
    pub buffer_after_minutes: u32,
    /// How far ahead of now the earliest slot must start, in minutes.
    pub minimum_notice_minutes: u32,
    /// How many days ahead slots are offered.
    pub horizon_days: u32,
    /// At most this many bookings on one local day; `None` for no cap.
    pub daily_cap: Option<u32>,
}

impl Rules {
    /// Closed every day, with the usual defaults: a 15-minute step, no buffers,
    /// no notice, a 60-day horizon, no cap.
    pub fn closed(zone: Tz) -> Self {
        Self {
            zone,
            weekly: Default::default(),
            overrides: BTreeMap::new(),
            step_minutes: NonZeroU32::new(15).expect("non-zero"),
            buffer_before_minutes: 0,
            buffer_after_minutes: 0,
            minimum_notice_minutes: 0,
            horizon_days: 60,
            daily_cap: None,
        }
    }

    /// The opening hours of one local date, overrides first.
    pub fn hours_on(&self, date: NaiveDate) -> &DayHours {
        self.overrides
            .get(&date)
            .unwrap_or(&self.weekly[date.weekday().num_days_from_monday() as usize])
    }
}
