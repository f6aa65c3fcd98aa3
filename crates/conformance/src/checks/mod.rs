//! The checks, as data, in the order they run: those that only read first,
//! then refusals, idempotency and bookings, then CORS and the rate limit
//! (which leaves the kit's address limited for a while), and last the rules
//! every answer of the run must have kept (no cookie, `nosniff`).

mod bookings;
mod edge;
mod idempotency;
mod reading;
mod refusals;
mod reschedule;

use futures::future::BoxFuture;

use crate::context::Context;
use crate::verdict::Verdict;

/// One rule of the protocol, checked against the server.
pub struct Check {
    /// Stable and unique, like `slots.cache_control`: what `--json` and the tests name.
    pub id: &'static str,
    /// The heading of `docs/protocol.md` the rule comes from.
    pub section: &'static str,
    /// What is checked, in a few words.
    pub title: &'static str,
    /// Whether it books (and then cancels); run only with `--allow-writes`.
    pub writes: bool,
    pub run: for<'a> fn(&'a Context) -> BoxFuture<'a, Verdict>,
}

macro_rules! check {
    ($id:literal, $section:literal, $title:literal, writes: $writes:literal, $function:path) => {
        Check {
            id: $id,
            section: $section,
            title: $title,
            writes: $writes,
            run: |context| Box::pin($function(context)),
        }
    };
}

pub static ALL: &[Check] = &[
    check!("health.ok", "GET /healthz", "GET /healthz answers 200 ok", writes: false, reading::health),
    check!("practice.shape", "GET /v1/practice", "the practice, its services, form and clinicians (if any), in the documented shape", writes: false, reading::practice_shape),
    check!("slots.shape", "GET /v1/slots", "slots of the service, ascending, inside [from, to), instants in UTC with Z, as long as the service", writes: false, reading::slots_shape),
    check!("slots.cache_control", "Clarifications and additions: GET /v1/slots", "slots are not cached for long (Cache-Control no-store, or max-age of a few seconds)", writes: false, reading::slots_cache_control),
    check!("slots.offsets", "Clarifications and additions: GET /v1/slots", "from and to in another offset give the same slots, answered in UTC", writes: false, reading::slots_offsets),
    check!("slots.range_too_large", "GET /v1/slots", "62 days are answered, more is 422 range_too_large", writes: false, reading::slots_range_too_large),
    check!("slots.invalid_range", "Clarifications and additions: Instants are read as RFC 3339 only", "from >= to, a missing or non-RFC 3339 instant is 422 invalid_range", writes: false, reading::slots_invalid_range),
    check!("slots.unknown_service", "GET /v1/slots", "an unknown service is 404 unknown_service; leaving it out works only for one service", writes: false, reading::slots_unknown_service),
    check!("slots.unknown_clinician", "Clarifications and additions: Group practices", "a clinician the practice lacks is 404 unknown_clinician; in a group practice each clinician's own slots say whose", writes: false, reading::slots_unknown_clinician),
    check!("errors.not_found", "Clarifications and additions: Every error under /v1 is problem+json", "an unknown path under /v1 is 404 not_found", writes: false, refusals::unknown_path),
    check!("errors.method_not_allowed", "Clarifications and additions: Every error under /v1 is problem+json", "another method is 405 method_not_allowed with Allow", writes: false, refusals::method_not_allowed),
    check!("errors.bad_request", "Clarifications and additions: Every error under /v1 is problem+json", "a path that is not UTF-8 once decoded is 400 bad_request", writes: false, refusals::bad_request),
    check!("bookings.missing_idempotency_key", "POST /v1/bookings", "no key, or not 1–255 visible ASCII, is 400 missing_idempotency_key; 255 characters are taken", writes: false, refusals::missing_idempotency_key),
    check!("bookings.malformed_json", "POST /v1/bookings", "a body that is not the booking request (unknown member, non-RFC 3339 start) is 400 malformed_json", writes: false, refusals::malformed_json),
    check!("bookings.payload_too_large", "POST /v1/bookings", "a body over 16 KiB is 413 payload_too_large", writes: false, refusals::payload_too_large),
    check!("bookings.unknown_service", "POST /v1/bookings", "an unknown service is 404 unknown_service", writes: false, refusals::unknown_service),
    check!("bookings.invalid_field", "Clarifications and additions: What the visitor's text may hold", "each bad field is 422 invalid_field naming it", writes: false, refusals::invalid_field),
    check!("bookings.form_rules", "Clarifications and additions: POST /v1/bookings field rules", "a required field left out, or a hidden one given, is 422 invalid_field naming it", writes: false, refusals::form_rules),
    check!("bookings.slot_unavailable", "POST /v1/bookings", "a past or far-away start is 409 slot_unavailable", writes: false, refusals::slot_unavailable),
    check!("idempotency.refusal_replayed", "Clarifications and additions: Idempotency", "a refusal is replayed for the same key and body, byte for byte, with Idempotent-Replayed: true", writes: false, idempotency::refusal_replayed),
    check!("idempotency.key_reused", "POST /v1/bookings", "the same key with another body is 422 idempotency_key_reused", writes: false, idempotency::key_reused),
    check!("bookings.create", "POST /v1/bookings", "an open slot is booked: 201, Location, the booking and its manage token; the slot is no longer offered", writes: true, bookings::create),
    check!("idempotency.created_replayed", "POST /v1/bookings", "a 201 is replayed for the same key and body, byte for byte, with Idempotent-Replayed: true", writes: true, idempotency::created_replayed),
    check!("idempotency.in_progress", "POST /v1/bookings", "the same request sent at once many times books once; the others are replays or 409 request_in_progress", writes: true, idempotency::in_progress),
    check!("bookings.one_per_slot", "POST /v1/bookings", "parallel requests for one slot: exactly one 201, the others 409 slot_unavailable", writes: true, bookings::one_per_slot),
    check!("bookings.show", "GET /v1/bookings/{id} — Bearer manage token", "the booking for its manage token, without it; a missing, wrong or query token is 404 not_found", writes: true, bookings::show),
    check!("bookings.cancel", "DELETE /v1/bookings/{id} — Bearer manage token", "DELETE cancels (200, cancelled), twice too; a wrong token is 404 and changes nothing", writes: true, bookings::cancel),
    check!("bookings.calendar_file", "GET /v1/bookings/{id}/calendar.ics?token=…", "a valid RFC 5545 file with the booking's event, status and UID, and no client details; a missing or wrong token is 404", writes: true, bookings::calendar_file),
    check!("reschedule.move", "Clarifications and additions: POST /v1/bookings/{id}/reschedule", "a booking moves to another open start: 200 as creation answers, the same id and token, the old slot offered again and the new one not; replayed per key", writes: true, reschedule::moves),
    check!("reschedule.refusals", "Clarifications and additions: POST /v1/bookings/{id}/reschedule", "a wrong token is 404, no key 400, an unknown member 400 malformed_json, a past start 409 slot_unavailable, each leaving the booking as it was; a cancelled booking is 409 booking_closed", writes: true, reschedule::refusals),
    check!("cors.allowed_origin", "Clarifications and additions: CORS", "the --origin gets Access-Control-Allow-Origin, the exposed and allowed headers, an hour's preflight cache", writes: false, edge::cors_allowed_origin),
    check!("cors.other_origin", "Conventions", "an origin not listed gets no Access-Control-Allow-Origin", writes: false, edge::cors_other_origin),
    check!("bookings.rate_limited", "POST /v1/bookings", "a flood of booking attempts is 429 rate_limited with Retry-After", writes: true, edge::rate_limited),
    check!("cors.preflight_not_limited", "Conventions", "preflights are answered while the visitor is rate-limited", writes: true, edge::preflight_not_limited),
    check!("headers.no_cookies", "Conventions", "no answer of the run set a cookie", writes: false, edge::no_cookies),
    check!("headers.nosniff", "Clarifications and additions: Every response carries X-Content-Type-Options: nosniff", "every answer of the run said X-Content-Type-Options: nosniff", writes: false, edge::nosniff),
];

#[cfg(test)]
mod tests {
    use super::ALL;

    #[test]
    fn ids_are_unique_and_sections_are_headings_of_the_protocol() {
        // Headings and bold items, read without their code quotes.
        let protocol = include_str!("../../../../docs/protocol.md").replace('`', "");
        for (index, check) in ALL.iter().enumerate() {
            assert!(
                ALL[..index].iter().all(|earlier| earlier.id != check.id),
                "{} twice",
                check.id
            );
            let heading = check
                .section
                .strip_prefix("Clarifications and additions: ")
                .unwrap_or(check.section);
            let heading = heading.split(" — ").next().unwrap_or(heading);
            assert!(
                protocol.contains(heading),
                "{}: section {:?} is not in docs/protocol.md",
                check.id,
                check.section
            );
        }
    }
}
