//! What the practice offers right now: the engine's rules applied to one
//! service, with the calendar's busy time and the store's live bookings.

use chrono::{DateTime, Utc};
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

/// Whether exactly this slot (start and length) is offered.
pub fn is_offered(
    practice: &PracticeSettings,
    service: &Service,
    slot_start: DateTime<Utc>,
    busy: BusyTime<'_>,
    now: DateTime<Utc>,
) -> bool {
    let window = Interval::new(slot_start, slot_start + chrono::Duration::seconds(1));
    open_slots(practice, service, busy, window, now)
        .first()
        .is_some_and(|slot| slot.start == slot_start)
}
