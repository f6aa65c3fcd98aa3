//! The embedded default: bookings live in the store, which is the calendar.
//! Nothing is written elsewhere; busy time comes from the store's bookings alone.

use firststep_availability::Interval;

use super::{Calendar, CalendarEntry, CalendarFuture, Placement};

pub struct LocalCalendar;

impl Calendar for LocalCalendar {
    fn check(&self) -> CalendarFuture<'_, ()> {
        Box::pin(async { Ok(()) })
    }

    fn busy(&self, _range: Interval) -> CalendarFuture<'_, Vec<Interval>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    fn place<'a>(&'a self, _entry: &'a CalendarEntry) -> CalendarFuture<'a, Placement> {
        Box::pin(async { Ok(Placement { etag: None }) })
    }

    fn confirm<'a>(
        &'a self,
        _entry: &'a CalendarEntry,
        placed: &'a Placement,
    ) -> CalendarFuture<'a, Placement> {
        Box::pin(async { Ok(placed.clone()) })
    }

    fn release<'a>(
        &'a self,
        _booking_id: &'a str,
        _placed: &'a Placement,
    ) -> CalendarFuture<'a, ()> {
        Box::pin(async { Ok(()) })
    }

    fn foreign_overlap<'a>(
        &'a self,
        _booking_id: &'a str,
        _slot: Interval,
    ) -> CalendarFuture<'a, bool> {
        Box::pin(async { Ok(false) })
    }
}
