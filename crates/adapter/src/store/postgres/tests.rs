//! The PostgreSQL store against a real, throw-away PostgreSQL
//! (`tests/support/postgres.rs`): several `Postgres` handles on one
//! database stand for several replicas, threads started together for
//! requests arriving at once.

use std::sync::Barrier;

use chrono::{DateTime, Duration, Utc};
use firststep_availability::Interval;
use firststep_protocol::BookingStatus;

use super::outbox::LEASE;
use super::schema::MIGRATIONS;
use super::Postgres;
use crate::domain::{BookingId, IdempotencyKey, ManageToken};
use crate::store::test_cluster::fresh_database;
use crate::store::{
    Answer, Answered, BookOutcome, KeyClaim, NewBooking, Reschedule, RescheduleOutcome,
    StoredResponse, Visitor,
};

pub(in crate::store) fn at(minutes: i64) -> DateTime<Utc> {
    "2026-12-07T09:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::minutes(minutes)
}

/// `replicas` stores on one fresh database, opened one after the other.
fn replicas(count: usize) -> Vec<Postgres> {
    let url = fresh_database();
    (0..count).map(|_| Postgres::open(&url).unwrap()).collect()
}

/// A 50-minute request starting `start` minutes after 09:00, kept clear
/// `clear_after` minutes after its end.
pub(in crate::store) fn booking(start: i64, clear_after: i64) -> NewBooking {
    NewBooking {
        id: BookingId::generate(),
        service: "intake".into(),
        slot: Interval::new(at(start), at(start + 50)),
        status: BookingStatus::Pending,
        created_at: at(-24 * 60),
        expires_at: Some(at(-60)),
        visitor: Visitor {
            name: "Sam".into(),
            email: "sam@example.org".into(),
            phone: None,
            time_zone: None,
            note: None,
            locale: None,
        },
        manage_token_hash: ManageToken::generate().hash(),
        first_mail_payload: Some("sealed:v1:first".into()),
        room_token: None,
        candidates: Vec::new(),
        week: Interval::new(at(-7 * 24 * 60), at(7 * 24 * 60)),
        reminder_payload: None,
        clear_after: Duration::minutes(clear_after),
    }
}

fn answer() -> StoredResponse {
    StoredResponse {
        status: 201,
        location: None,
        body: b"booked".to_vec(),
    }
}

/// Books each of `bookings` at once, spread over `stores`, each checked by
/// `is_offered` (given its slot and the live bookings around it); how many
/// were stored.
fn book_at_once(
    stores: &[Postgres],
    bookings: Vec<NewBooking>,
    is_offered: impl Fn(Interval, &[Interval]) -> bool + Sync,
) -> usize {
    let start = Barrier::new(bookings.len());
    std::thread::scope(|scope| {
        let runs: Vec<_> = bookings
            .into_iter()
            .enumerate()
            .map(|(i, booking)| {
                let (store, start, is_offered) = (&stores[i % stores.len()], &start, &is_offered);
                scope.spawn(move || {
                    let key = IdempotencyKey::parse(booking.id.as_str()).unwrap();
                    store
                        .claim_key("", &key, b"body", booking.created_at)
                        .unwrap();
                    let around = booking.slot.widened(Duration::hours(26)).unwrap();
                    start.wait();
                    store
                        .book(
                            "",
                            &booking,
                            around,
                            &key,
                            |_| answer(),
                            |_, live| is_offered(booking.slot, live),
                        )
                        .unwrap()
                })
            })
            .collect();
        runs.into_iter()
            .map(|run| run.join().unwrap())
            .filter(|outcome| matches!(outcome, BookOutcome::Booked(_)))
            .count()
    })
}

fn count(store: &Postgres, sql: &str) -> i64 {
    store.with(|c| c.query_one(sql, &[])).unwrap().get(0)
}

#[test]
fn a_throw_away_postgres_gives_each_test_a_database_of_its_own() {
    let (first, second) = (fresh_database(), fresh_database());
    assert_ne!(first, second);
    let connect = |url: &str| postgres::Client::connect(url, postgres::NoTls).unwrap();
    connect(&first)
        .batch_execute("CREATE TABLE only_here (x int)")
        .unwrap();
    let seen: i64 = connect(&second)
        .query_one(
            "SELECT COUNT(*) FROM pg_tables WHERE tablename = 'only_here'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(seen, 0, "the second database is empty");
}

#[test]
fn replicas_starting_together_run_the_migrations_once() {
    let url = fresh_database();
    let start = Barrier::new(3);
    let opened: Vec<_> = std::thread::scope(|scope| {
        let runs: Vec<_> = (0..3)
            .map(|_| {
                scope.spawn(|| {
                    start.wait();
                    Postgres::open(&url)
                })
            })
            .collect();
        runs.into_iter().map(|run| run.join().unwrap()).collect()
    });
    let stores: Vec<Postgres> = opened.into_iter().map(Result::unwrap).collect();
    assert_eq!(
        count(&stores[0], "SELECT version::bigint FROM schema_version"),
        MIGRATIONS.len() as i64
    );
    assert_eq!(count(&stores[0], "SELECT COUNT(*) FROM schema_version"), 1);
    // And a later start finds nothing to do.
    Postgres::open(&url).unwrap();
    stores[2].check_writable().unwrap();
}

#[test]
fn one_slot_raced_over_three_replicas_is_booked_once() {
    let stores = replicas(3);
    let tries = (0..30).map(|_| booking(0, 0)).collect();
    let booked = book_at_once(&stores, tries, |_, live| live.is_empty());
    assert_eq!(booked, 1);
    assert_eq!(count(&stores[1], "SELECT COUNT(*) FROM bookings"), 1);
    // Each stored booking queued its calendar write and two emails; the losers nothing.
    assert_eq!(count(&stores[2], "SELECT COUNT(*) FROM outbox"), 3);
}

/// The load: a thousand attempts at once, spread over three
/// replicas, for twenty slots of one day.
#[test]
fn a_thousand_attempts_over_three_replicas_for_twenty_slots_book_each_once() {
    let stores = replicas(3);
    let tries = (0..1000).map(|i| booking((i % 20) * 60, 0)).collect();
    let free = |slot: Interval, live: &[Interval]| {
        !live
            .iter()
            .any(|b| b.start < slot.end && slot.start < b.end)
    };
    assert_eq!(book_at_once(&stores, tries, free), 20);
    assert_eq!(count(&stores[0], "SELECT COUNT(*) FROM bookings"), 20);
    assert_eq!(count(&stores[1], "SELECT COUNT(*) FROM outbox"), 60);
}

#[test]
fn the_database_refuses_overlaps_and_buffers_even_when_the_checks_let_them_through() {
    let stores = replicas(2);
    // A check that sees nothing: only the exclusion constraint stands.
    let first = book_at_once(&stores, vec![booking(0, 10)], |_, _| true);
    assert_eq!(first, 1);
    let overlapping = book_at_once(&stores, vec![booking(30, 0)], |_, _| true);
    assert_eq!(overlapping, 0, "09:30 overlaps 09:00-09:50");
    let in_the_buffer = book_at_once(&stores, vec![booking(55, 0)], |_, _| true);
    assert_eq!(
        in_the_buffer, 0,
        "09:55 is within the 10 minutes kept clear after 09:50"
    );
    let before = book_at_once(&stores, vec![booking(-55, 10)], |_, _| true);
    assert_eq!(
        before, 0,
        "08:05-08:55 keeps clear until 09:05, and 09:00 was booked"
    );
    let clear = book_at_once(&stores, vec![booking(60, 0), booking(-70, 0)], |_, _| true);
    assert_eq!(clear, 2, "09:50 + 10 min and 07:50-08:40 are clear");
    assert_eq!(count(&stores[0], "SELECT COUNT(*) FROM bookings"), 3);
}

#[test]
fn a_daily_cap_holds_when_its_last_places_are_raced() {
    let stores = replicas(3);
    // Twenty different slots of one day, at once; the practice takes three a day.
    let tries = (0..20).map(|i| booking(i * 60, 0)).collect();
    let booked = book_at_once(&stores, tries, |_, live| live.len() < 3);
    assert_eq!(booked, 3);
}

#[test]
fn a_key_raced_across_replicas_is_claimed_once_and_then_replayed() {
    let stores = replicas(3);
    let key = IdempotencyKey::parse("raced-key-0123456789").unwrap();
    let start = Barrier::new(12);
    let claims: Vec<KeyClaim> = std::thread::scope(|scope| {
        let runs: Vec<_> = (0..12)
            .map(|i| {
                let (store, key, start) = (&stores[i % 3], &key, &start);
                scope.spawn(move || {
                    start.wait();
                    store.claim_key("", key, b"same body", at(0)).unwrap()
                })
            })
            .collect();
        runs.into_iter().map(|run| run.join().unwrap()).collect()
    });
    let claimed = claims.iter().filter(|c| **c == KeyClaim::Claimed).count();
    let waiting = claims
        .iter()
        .filter(|c| **c == KeyClaim::InProgress)
        .count();
    assert_eq!((claimed, waiting), (1, 11), "{claims:?}");

    stores[0].finish_key("", &key, &answer()).unwrap();
    assert_eq!(
        stores[2].claim_key("", &key, b"same body", at(1)).unwrap(),
        KeyClaim::Replay(answer())
    );
    assert_eq!(
        stores[1]
            .claim_key("", &key, b"another body", at(1))
            .unwrap(),
        KeyClaim::Reused
    );
}

#[test]
fn outbox_items_are_taken_by_one_replica_and_by_another_after_its_lease() {
    let stores = replicas(2);
    let tries = (0..4).map(|i| booking(i * 60, 0)).collect();
    assert_eq!(book_at_once(&stores, tries, |_, _| true), 4);
    let now = at(0);

    // Both replicas take at once: twelve items, each taken by one of them.
    let start = Barrier::new(2);
    let taken: Vec<Vec<i64>> = std::thread::scope(|scope| {
        let runs: Vec<_> = stores
            .iter()
            .map(|store| {
                let start = &start;
                scope.spawn(move || {
                    start.wait();
                    let due = store.due_deliveries(now, 7, &[String::new()]).unwrap();
                    due.iter().map(|d| d.id).collect::<Vec<_>>()
                })
            })
            .collect();
        runs.into_iter().map(|run| run.join().unwrap()).collect()
    });
    let mut all: Vec<i64> = taken.concat();
    all.sort_unstable();
    all.dedup();
    assert_eq!(
        all.len(),
        taken[0].len() + taken[1].len(),
        "none taken twice"
    );
    assert_eq!(all.len(), 12, "{taken:?}");

    // The first replica delivers what it took; the second dies holding its items.
    let first = stores[0].due_deliveries(now, 50, &[String::new()]).unwrap();
    assert!(first.is_empty(), "all are held");
    let held_by_first: Vec<_> = taken[0].clone();
    let records = |ids: &[i64]| -> Vec<crate::store::Delivery> {
        ids.iter()
            .map(|&id| crate::store::Delivery {
                id,
                booking_id: String::new(),
                action: crate::store::Action::Place,
                attempts: 0,
                payload: None,
                created_at: now,
                practice: String::new(),
            })
            .collect()
    };
    for delivery in records(&held_by_first) {
        stores[0].delivered(&delivery, None, None, now).unwrap();
    }
    let just_before = now + LEASE - Duration::seconds(1);
    assert!(stores[0]
        .due_deliveries(just_before, 50, &[String::new()])
        .unwrap()
        .is_empty());
    let after_lease = now + LEASE;
    let retaken: Vec<i64> = stores[0]
        .due_deliveries(after_lease, 50, &[String::new()])
        .unwrap()
        .iter()
        .map(|d| d.id)
        .collect();
    let mut dead: Vec<i64> = taken[1].clone();
    dead.sort_unstable();
    assert_eq!(retaken, dead, "the dead replica's items, and only those");
}

#[test]
fn a_booking_lives_its_life_across_replicas() {
    let stores = replicas(2);
    let request = booking(0, 0);
    let id = request.id.clone();
    assert_eq!(book_at_once(&stores, vec![request], |_, _| true), 1);
    let now = at(-23 * 60);

    let read = stores[1].booking("", id.as_str(), now).unwrap().unwrap();
    assert_eq!(read.status, BookingStatus::Pending);
    assert_eq!(read.slot, Interval::new(at(0), at(50)));
    assert_eq!(read.visitor.name, "Sam");
    assert_eq!(stores[0].pending_requests("", now).unwrap().len(), 1);
    let day = Interval::new(at(-60), at(23 * 60));
    assert_eq!(stores[1].feed_bookings("", day, now).unwrap().len(), 1);

    // The practice answers twice at once, from both replicas: one answer counts.
    let start = Barrier::new(2);
    let answers: Vec<Answered> = std::thread::scope(|scope| {
        let runs: Vec<_> = stores
            .iter()
            .map(|store| {
                let (start, id) = (&start, &id);
                scope.spawn(move || {
                    start.wait();
                    store
                        .answer_as_of("", id.as_str(), Some(0), Answer::Confirm, now)
                        .unwrap()
                })
            })
            .collect();
        runs.into_iter().map(|run| run.join().unwrap()).collect()
    });
    assert!(
        answers.contains(&Answered::Done(BookingStatus::Confirmed)),
        "{answers:?}"
    );
    assert!(
        answers.contains(&Answered::AlreadyClosed(BookingStatus::Confirmed)),
        "{answers:?}"
    );

    // Moved an hour later, it stays confirmed and its version moves on.
    let key = IdempotencyKey::parse("move-key-0123456789").unwrap();
    stores[0].claim_key("", &key, b"move", now).unwrap();
    let change = Reschedule {
        id: id.clone(),
        slot: Interval::new(at(60), at(110)),
        around: Interval::new(at(60), at(110))
            .widened(Duration::hours(26))
            .unwrap(),
        now,
        change_until: Duration::hours(1),
        confirmed_stays: true,
        request_expires_at: now + Duration::hours(48),
    };
    let RescheduleOutcome::Moved(after) = stores[1]
        .reschedule("", &change, &key, |_| answer(), |_, live| live.is_empty())
        .unwrap()
    else {
        panic!("not moved");
    };
    assert_eq!(
        (after.status, after.version, after.moved_from),
        (BookingStatus::Confirmed, 1, Some(at(0)))
    );
    // A link made for version 0 changes nothing now.
    assert_eq!(
        stores[0]
            .answer_as_of("", id.as_str(), Some(0), Answer::Decline, now)
            .unwrap(),
        Answered::AlreadyClosed(BookingStatus::Confirmed)
    );
    // Its old time is free again; its new one is not.
    assert_eq!(book_at_once(&stores, vec![booking(0, 0)], |_, _| true), 1);
    assert_eq!(book_at_once(&stores, vec![booking(70, 0)], |_, _| true), 0);

    let cancelled = stores[0].cancel("", &id, now).unwrap().unwrap();
    assert_eq!(cancelled.status, BookingStatus::Cancelled);
    // Booked, confirmed, moved, cancelled: what the outbox owes, in order.
    let owed: Vec<String> = stores[0]
        .with(|c| {
            c.query(
                "SELECT action FROM outbox WHERE booking_id = $1 ORDER BY id",
                &[&id.as_str()],
            )
        })
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(
        owed,
        [
            "place",
            "mail:practice_request",
            "mail:visitor_received",
            "confirm",
            "mail:visitor_confirmed",
            "move",
            "mail:practice_moved",
            "mail:visitor_moved",
            "release",
            "mail:practice_cancelled"
        ]
    );
}

#[test]
fn an_unanswered_request_lapses_and_frees_its_slot() {
    let stores = replicas(1);
    let request = booking(0, 0);
    let id = request.id.clone();
    assert_eq!(book_at_once(&stores, vec![request], |_, _| true), 1);
    // It lapses an hour before its start (`booking`'s `expires_at`).
    let read = stores[0]
        .booking("", id.as_str(), at(-60))
        .unwrap()
        .unwrap();
    assert_eq!(
        read.status,
        BookingStatus::Expired,
        "read as expired at once"
    );
    assert_eq!(stores[0].expire_lapsed(at(-60)).unwrap(), 1);
    assert_eq!(stores[0].expire_lapsed(at(-60)).unwrap(), 0);
    assert!(stores[0].pending_requests("", at(-60)).unwrap().is_empty());
    assert_eq!(book_at_once(&stores, vec![booking(0, 0)], |_, _| true), 1);
}

#[test]
fn items_let_go_by_a_stopping_replica_are_taken_again_at_once() {
    let stores = replicas(2);
    assert_eq!(book_at_once(&stores, vec![booking(0, 0)], |_, _| true), 1);
    let taken = stores[0]
        .due_deliveries(at(0), 50, &[String::new()])
        .unwrap();
    assert_eq!(taken.len(), 3);
    assert!(stores[1]
        .due_deliveries(at(0), 50, &[String::new()])
        .unwrap()
        .is_empty());
    // The first was tried; the others were not when it stopped.
    stores[0].let_go(&taken[1..]).unwrap();
    let again: Vec<i64> = stores[1]
        .due_deliveries(at(0), 50, &[String::new()])
        .unwrap()
        .iter()
        .map(|d| d.id)
        .collect();
    let left: Vec<i64> = taken[1..].iter().map(|d| d.id).collect();
    assert_eq!(again, left);
}

#[test]
fn each_connection_waits_for_a_lock_and_runs_a_statement_no_longer_than_its_bounds() {
    let store = &replicas(1)[0];
    let shown = store
        .with(|c| {
            let row = c.query_one(
                "SELECT current_setting('lock_timeout'), current_setting('statement_timeout')",
                &[],
            )?;
            Ok((row.get::<_, String>(0), row.get::<_, String>(1)))
        })
        .unwrap();
    assert_eq!(shown, ("5s".to_owned(), "15s".to_owned()));
}

/// A server that takes the connection but never says a word (a stuck
/// database, a wrong port) fails the store within `connect_timeout`: the
/// client's own bound covers only the socket's opening.
#[test]
fn a_server_that_never_answers_fails_the_connection_within_its_timeout() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let url =
        format!("postgres://firststep:a-password@127.0.0.1:{port}/bookings?connect_timeout=1");
    let began = std::time::Instant::now();

    let error = Postgres::open(&url)
        .err()
        .expect("no store without a server");

    assert!(
        began.elapsed() < std::time::Duration::from_secs(3),
        "{:?}",
        began.elapsed()
    );
    let said = format!("{error:#}");
    assert!(said.contains("did not answer within 1s"), "{said}");
    assert!(!said.contains("a-password"), "{said}");
}

/// A connect the caller stopped waiting for keeps its place in the pool
/// until its thread ends: requests to a server that never answers open no
/// more than the pool's connections, the rest wait for a place and fail.
#[test]
fn requests_to_a_silent_server_open_no_more_connections_than_the_pool_holds() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let config = format!("postgres://firststep@127.0.0.1:{port}/bookings?connect_timeout=1")
        .parse()
        .unwrap();
    let store = Postgres::pool(config);

    let failures: Vec<String> = std::thread::scope(|scope| {
        let asking: Vec<_> = (0..2 * super::CONNECTIONS)
            .map(|_| scope.spawn(|| format!("{:#}", store.with(|_| Ok(())).unwrap_err())))
            .collect();
        asking.into_iter().map(|one| one.join().unwrap()).collect()
    });

    silent.set_nonblocking(true).unwrap();
    let opened = std::iter::from_fn(|| silent.accept().ok()).count();
    assert_eq!(opened, super::CONNECTIONS);
    let unanswered = failures
        .iter()
        .filter(|said| said.contains("did not answer within 1s"))
        .count();
    let waited = failures
        .iter()
        .filter(|said| said.contains("stayed busy"))
        .count();
    assert_eq!(
        (unanswered, waited),
        (super::CONNECTIONS, super::CONNECTIONS),
        "{failures:#?}"
    );
}

/// Work that panics (here `row.get` on a NULL, as on an answer of another
/// type) loses its connection but gives its place back: more panics than
/// the pool has connections, and work still gets one at once.
#[test]
fn work_that_panics_gives_its_place_in_the_pool_back() {
    let store = &replicas(1)[0];
    for _ in 0..=super::CONNECTIONS {
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            store.with(|c| {
                let name: String = c.query_one("SELECT NULL::text", &[])?.get(0);
                Ok(name)
            })
        }));
        assert!(panicked.is_err(), "{panicked:?}");
    }

    let began = std::time::Instant::now();
    assert_eq!(count(store, "SELECT 1::bigint"), 1);
    assert!(
        began.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        began.elapsed()
    );
}

/// Work beyond the pool's connections waits for one, but not for ever.
#[test]
fn work_waits_for_a_pooled_connection_no_longer_than_its_bound() {
    let store = &replicas(1)[0];
    let holding = Barrier::new(super::CONNECTIONS + 1);
    let release = Barrier::new(super::CONNECTIONS + 1);
    std::thread::scope(|scope| {
        for _ in 0..super::CONNECTIONS {
            scope.spawn(|| {
                store
                    .with(|_| {
                        holding.wait();
                        release.wait();
                        Ok(())
                    })
                    .unwrap()
            });
        }
        holding.wait();
        let began = std::time::Instant::now();
        let error = store.with(|_| Ok(())).expect_err("no connection free");
        let waited = began.elapsed();
        assert!(
            waited >= super::POOL_WAIT && waited < super::POOL_WAIT * 2,
            "{waited:?}"
        );
        assert!(format!("{error}").contains("stayed busy"), "{error}");
        release.wait();
    });
    assert_eq!(count(store, "SELECT 1::bigint"), 1, "free again");
}

#[test]
fn a_backlog_of_delivered_items_goes_over_rounds_and_what_waits_or_was_set_aside_stays() {
    let store = replicas(1).remove(0);
    let now = at(0);
    let (old, recent) = (now.timestamp() - 40 * 86_400, now.timestamp() - 86_400);
    let backlog = crate::store::privacy::DELIVERIES_DELETED_PER_ROUND + 3;
    store
        .with(|c| {
            c.execute(
                "INSERT INTO bookings (id, service, start_at, end_at, status, created_at,
                     client_name, client_email, manage_token_hash)
                 VALUES ('bk_AAAAAAAAAAAAAAAA', 'intake', $1::bigint, $1::bigint + 900, 'confirmed', $1::bigint,
                     'Sam', 'sam@example.org', decode('00', 'hex'))",
                &[&(now.timestamp() + 86_400)],
            )?;
            let item = "INSERT INTO outbox (booking_id, action, next_attempt_at, created_at, done_at, set_aside_at)
                 VALUES ('bk_AAAAAAAAAAAAAAAA', $1, $2, $2, $3, $4)";
            c.execute(
                "INSERT INTO outbox (booking_id, action, next_attempt_at, created_at, done_at)
                 SELECT 'bk_AAAAAAAAAAAAAAAA', 'place', $1, $1, $1 FROM generate_series(1::bigint, $2::bigint)",
                &[&old, &backlog],
            )?;
            c.execute(item, &[&"delivered lately", &old, &Some(recent), &None::<i64>])?;
            c.execute(item, &[&"waiting", &old, &None::<i64>, &None::<i64>])?;
            c.execute(item, &[&"set aside", &old, &None::<i64>, &Some(old)])
        })
        .unwrap();
    crate::store::privacy::tests::backlog_goes_over_rounds(
        || {
            store
                .sweep_personal_data("", now, Duration::days(30))
                .unwrap()
                .deliveries_deleted
        },
        || {
            store
                .with(|c| c.query("SELECT action FROM outbox ORDER BY id", &[]))
                .unwrap()
                .iter()
                .map(|row| row.get(0))
                .collect()
        },
    );
}
