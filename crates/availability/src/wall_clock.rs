//! Wall-clock times in the practice's zone → instants, with every DST case
//! decided here and nowhere else.

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// Which instant to take when a wall-clock time happens twice (fall back).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Repeated {
    /// Opening times take the first: the practice is open through both passes.
    Earliest,
    /// Closing times take the second, for the same reason.
    Latest,
}

/// The instant at which `minute` minutes after local midnight of `date` reads on
/// the practice's clock. A time skipped by a spring-forward gap resolves to the
/// end of the gap, so no slot is ever offered at a time that does not exist.
pub(crate) fn instant_at(
    zone: Tz,
    date: NaiveDate,
    minute: u16,
    repeated: Repeated,
) -> DateTime<Utc> {
    let wall =
        date.and_hms_opt(0, 0, 0).expect("midnight exists") + Duration::minutes(minute.into());
    resolve(zone, wall, repeated)
}

fn resolve(zone: Tz, wall: NaiveDateTime, repeated: Repeated) -> DateTime<Utc> {
    match zone.from_local_datetime(&wall) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(first, second) => match repeated {
            Repeated::Earliest => first.with_timezone(&Utc),
            Repeated::Latest => second.with_timezone(&Utc),
        },
        // In a gap: the first minute that exists is the gap's end. Gaps are at
        // most a day long (Samoa, 2011), so this walk is short and rare.
        LocalResult::None => resolve(zone, wall + Duration::minutes(1), repeated),
    }
}

/// The practice's local date at an instant.
pub(crate) fn local_date(zone: Tz, instant: DateTime<Utc>) -> NaiveDate {
    instant.with_timezone(&zone).date_naive()
}
