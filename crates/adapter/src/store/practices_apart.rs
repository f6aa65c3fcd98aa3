//! Practices kept apart in one store, on each backend: a handle for one
//! practice can never read, answer, move, cancel, replay, export, erase or
//! count another's bookings and keys, and the same slot and key are each
//! practice's own.

use chrono::{DateTime, Duration, Utc};
use firststep_availability::Interval;
use firststep_protocol::BookingStatus;

use super::postgres::tests::{at as minutes, booking};
use super::test_cluster::fresh_database;
use super::{
    Answer, Answered, BookOutcome, KeyClaim, NewBooking, Reschedule, RescheduleOutcome, Store,
    StoreLocation, StoredResponse,
};
use crate::domain::IdempotencyKey;

/// `hours` after 09:00 on the tests' day.
fn at(hours: i64) -> DateTime<Utc> {
    minutes(hours * 60)
}

/// A request for 09:00 to 09:50, made a day before, lapsing at 08:00.
fn request() -> NewBooking {
    booking(0, 0)
}

fn response(body: &str) -> StoredResponse {
    StoredResponse {
        status: 201,
        location: None,
        body: body.as_bytes().to_vec(),
    }
}

/// Books `booking` with `key` at `store`, the slot offered when free.
fn book(store: &Store, booking: &NewBooking, key: &IdempotencyKey, body: &str) -> BookOutcome {
    assert_eq!(
        store
            .claim_key(key, b"request", booking.created_at)
            .unwrap(),
        KeyClaim::Claimed
    );
    store
        .book(
            booking,
            booking.slot.widened(Duration::hours(2)).unwrap(),
            key,
            |_| response(body),
            |_, live| live.is_empty(),
        )
        .unwrap()
}

fn bookings_counted(store: &Store, now: DateTime<Utc>) -> i64 {
    let figures = store.figures(now).unwrap();
    figures.bookings_by_status.iter().map(|(_, n)| n).sum()
}

fn practices_are_kept_apart(store: Store) {
    let (a, b) = (store.for_practice("alpha"), store.for_practice("beta"));
    let now = at(-20);
    let key = IdempotencyKey::parse("the-same-key-at-both").unwrap();
    let theirs = request();
    assert!(matches!(
        book(&a, &theirs, &key, "alpha's answer"),
        BookOutcome::Booked(_)
    ));
    let id = theirs.id.as_str();

    // Nothing of alpha's is seen from beta.
    assert!(b.booking(id, now).unwrap().is_none());
    assert!(b.pending_requests(now).unwrap().is_empty());
    assert!(b
        .feed_bookings(Interval::new(at(-24), at(24)), now)
        .unwrap()
        .is_empty());
    assert!(b
        .live_bookings(Interval::new(at(-24), at(24)), now, None, None)
        .unwrap()
        .is_empty());
    assert_eq!(b.calendar_state(id).unwrap(), None);
    assert_eq!(bookings_counted(&b, now), 0);
    assert_eq!(bookings_counted(&a, now), 1);
    let export = b.visitor_export("sam@example.org").unwrap();
    assert_eq!(
        export["bookings"].as_array().map(Vec::len),
        Some(0),
        "{export}"
    );
    assert_eq!(
        export["outbox"].as_array().map(Vec::len),
        Some(0),
        "{export}"
    );

    // Nor answered, moved, cancelled or erased from there.
    assert_eq!(
        b.answer(id, Answer::Confirm, now).unwrap(),
        Answered::NotFound
    );
    assert_eq!(
        b.answer_as_of(id, Some(0), Answer::Decline, now).unwrap(),
        Answered::NotFound
    );
    let move_key = IdempotencyKey::parse("beta-moves-alpha").unwrap();
    b.claim_key(&move_key, b"move", now).unwrap();
    let change = Reschedule {
        id: theirs.id.clone(),
        slot: Interval::new(at(2), at(3)),
        around: Interval::new(at(0), at(5)),
        now,
        change_until: Duration::hours(1),
        confirmed_stays: true,
        request_expires_at: at(1),
    };
    let moved = b.reschedule(&change, &move_key, |_| response("moved"), |_, _| true);
    assert!(matches!(moved.unwrap(), RescheduleOutcome::NotFound));
    assert!(b.cancel(&theirs.id, now).unwrap().is_none());
    assert_eq!(b.erase_visitor("sam@example.org", now).unwrap().bookings, 0);
    let still = a.booking(id, now).unwrap().unwrap();
    assert_eq!(still.status, BookingStatus::Pending);
    assert_eq!(still.slot.start, at(0));
    assert_eq!(still.visitor.name, "Sam");

    // The same key is beta's own: new there, never alpha's answer replayed.
    let ours = request();
    assert!(matches!(
        book(&b, &ours, &key, "beta's answer"),
        BookOutcome::Booked(_)
    ));
    let replayed = |store: &Store| match store.claim_key(&key, b"request", now).unwrap() {
        KeyClaim::Replay(answer) => answer.body,
        other => panic!("expected a replay, got {other:?}"),
    };
    assert_eq!(replayed(&a), b"alpha's answer");
    assert_eq!(replayed(&b), b"beta's answer");
    // And the same slot was free at beta: alpha's booking holds only alpha's time.
    assert_eq!(
        b.booking(ours.id.as_str(), now).unwrap().unwrap().slot,
        theirs.slot
    );

    // One outbox round sees the items of the practices it delivers for,
    // each marked with its own.
    let both = ["alpha".to_owned(), "beta".to_owned()];
    let due = store.due_deliveries(now, 100, &both).unwrap();
    for (practice, booking) in [("alpha", id), ("beta", ours.id.as_str())] {
        let mine: Vec<_> = due.iter().filter(|d| d.booking_id == booking).collect();
        assert_eq!(mine.len(), 3, "place and two emails of {booking}");
        assert!(mine.iter().all(|d| d.practice == practice), "{mine:?}");
    }
    store.let_go(&due).unwrap();
    // A round for beta alone (alpha not served by it) takes none of alpha's
    // items, nor do alpha's older ones take the places of beta's.
    let betas = store.due_deliveries(now, 3, &both[1..]).unwrap();
    assert_eq!(betas.len(), 3, "{betas:?}");
    assert!(betas.iter().all(|d| d.practice == "beta"), "{betas:?}");
    store.let_go(&betas).unwrap();

    // Alpha's answer reaches only alpha's booking.
    assert_eq!(
        a.answer(id, Answer::Confirm, now).unwrap(),
        Answered::Done(BookingStatus::Confirmed)
    );
    assert_eq!(
        b.booking(ours.id.as_str(), now).unwrap().unwrap().status,
        BookingStatus::Pending
    );
    // A reminder round of beta's queues none of alpha's.
    assert_eq!(b.queue_due_reminders(&[2], at(-2)).unwrap(), 0);
    assert_eq!(a.queue_due_reminders(&[2], at(-2)).unwrap(), 1);
    // Nor does beta's retention erase alpha's visitors; alpha's does.
    let long_after = at(24 * 400);
    assert_eq!(
        b.sweep_personal_data(long_after, Duration::days(1))
            .unwrap()
            .erased,
        0
    );
    assert_eq!(
        a.booking(id, long_after).unwrap().unwrap().visitor.name,
        "Sam"
    );
    assert_eq!(
        a.sweep_personal_data(long_after, Duration::days(1))
            .unwrap()
            .erased,
        1
    );
    assert_eq!(a.booking(id, long_after).unwrap().unwrap().visitor.name, "");
}

#[test]
fn practices_are_kept_apart_in_sqlite() {
    let folder = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(&folder.path().join("store.sqlite3")).unwrap();
    practices_are_kept_apart(store);
}

#[test]
fn practices_are_kept_apart_in_postgres() {
    let store = Store::open(&StoreLocation::Postgres(fresh_database())).unwrap();
    practices_are_kept_apart(store);
}
