//! What the practice offers right now: the engine's rules applied to one
//! service, with the calendar's busy time and the store's live bookings.

use chrono::{DateTime, Duration, Utc};
use firststep_availability::{bookable_slots, BusyTime, Interval, Query};

use crate::config::{PracticeSettings, Service};

/// Bookable slots of `service` starting in `window`.
pub fn open_slots(
    practice: &PracticeSettings,
    service: &Service,
    busy: BusyTime<'_>,
    window: Interval,
    now: DateTime<Utc>,
) -> Vec<Interval> {
    let query = Query {
        window,
        duration_minutes: service.duration_minutes,
        now,
    };
    bookable_slots(&practice.rules, busy, query)
}

/// The span whose bookings can bear on slots in `window`: a day each side
/// covers every booking that a buffer or the daily cap can involve. `None`
/// when that reaches past the range of dates.
pub fn bearing_on(window: Interval) -> Option<Interval> {
    window.widened(Duration::hours(26))
}

/// Whether exactly this slot (start and length) is offered.
pub fn is_offered(
    practice: &PracticeSettings,
    service: &Service,
    slot_start: DateTime<Utc>,
    busy: BusyTime<'_>,
    now: DateTime<Utc>,
) -> bool {
    let Some(second_after) = slot_start.checked_add_signed(Duration::seconds(1)) else {
        return false;
    };
    open_slots(
        practice,
        service,
        busy,
        Interval::new(slot_start, second_after),
        now,
    )
    .first()
    .is_some_and(|slot| slot.start == slot_start)
}
