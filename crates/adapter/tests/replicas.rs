//! Several adapter replicas — real `firststep-adapter serve` processes — on
//! one PostgreSQL database (the test binary's throw-away cluster), mailing
//! through one aiosmtpd: what the database must hold for all of them at once
//! (no double booking, one answer per Idempotency-Key, the outbox worked once
//! and taken over from a replica killed mid-delivery).
//!
//! The outbox lease (5 minutes) is not waited out: it lives in the database
//! (`outbox.leased_until`), so the test moves it to now with SQL, as the
//! passing of time would, and the live replicas' next round takes the items.

#[allow(dead_code)] // kill() is for these tests; terminate() for graceful_stop's
#[path = "support/adapter_process.rs"]
mod adapter_process;
// The API suite's helpers, of which these tests use a few.
#[allow(dead_code, unused_imports, unused_macros)]
#[path = "api/helpers.rs"]
mod helpers;
#[path = "support/postgres.rs"]
mod postgres_cluster;
#[allow(dead_code)]
#[path = "api/smtp_server.rs"]
mod smtp_server;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::Value;

use adapter_process::Adapter;
use helpers::{booking_body, iso, new_key, with_mail, CONFIG};
use smtp_server::SmtpServer;

/// Bookable statuses: a booking in one of them holds its slot.
const LIVE: &str = "status IN ('pending', 'confirmed')";

/// Replicas of the test practice on one fresh database, mailing through `smtp`.
struct Replicas {
    adapters: Vec<Adapter>,
    database: String,
    smtp: SmtpServer,
    _folder: tempfile::TempDir,
}

impl Replicas {
    /// Starts `count` replicas at once (their migrations race, as in a rollout).
    fn start(smtp: SmtpServer, count: usize) -> Self {
        let folder = tempfile::tempdir().unwrap();
        let config = folder.path().join("practice.toml");
        std::fs::write(&config, with_mail(CONFIG, smtp.port)).unwrap();
        let database = postgres_cluster::fresh_database();
        let adapters = std::thread::scope(|scope| {
            let starting: Vec<_> = (0..count)
                .map(|_| scope.spawn(|| Adapter::start(&config, &database, folder.path())))
                .collect();
            starting
                .into_iter()
                .map(|s| s.join().expect("a replica starts"))
                .collect()
        });
        Self {
            adapters,
            database,
            smtp,
            _folder: folder,
        }
    }

    /// Runs `work` with a connection to the replicas' database, on a thread
    /// of its own (the blocking client cannot run on an async test's).
    fn sql<T: Send>(&self, work: impl FnOnce(&mut postgres::Client) -> T + Send) -> T {
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let mut client = postgres::Client::connect(&self.database, postgres::NoTls)
                        .expect("connecting to the replicas' database");
                    work(&mut client)
                })
                .join()
                .expect("database work panicked")
        })
    }

    fn count(&self, query: &str) -> i64 {
        self.sql(|c| c.query_one(query, &[]).unwrap().get(0))
    }

    /// `count` open slots of the consultation, each starting an hour or more
    /// after the one before ends: bookings of them can never overlap.
    async fn separate_slots(&self, count: usize) -> Vec<DateTime<Utc>> {
        let now = Utc::now();
        let path = format!(
            "/v1/slots?service=free-consultation&from={}&to={}",
            iso(now + chrono::Duration::hours(2)),
            iso(now + chrono::Duration::days(5))
        );
        let slots: Value = reqwest::get(self.adapters[0].url(&path))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut chosen: Vec<DateTime<Utc>> = Vec::new();
        let mut free_from = now;
        for slot in slots["slots"].as_array().unwrap() {
            let start: DateTime<Utc> = slot["start"].as_str().unwrap().parse().unwrap();
            let end: DateTime<Utc> = slot["end"].as_str().unwrap().parse().unwrap();
            if start >= free_from && chosen.len() < count {
                chosen.push(start);
                free_from = end + chrono::Duration::hours(1);
            }
        }
        assert_eq!(chosen.len(), count, "enough separate slots");
        chosen
    }

    /// Waits until every outbox item is delivered (none left, none set aside).
    async fn wait_outbox_empty(&self, seconds: u64) {
        let began = Instant::now();
        while self.count("SELECT count(*) FROM outbox WHERE done_at IS NULL") > 0 {
            assert!(
                began.elapsed() < Duration::from_secs(seconds),
                "outbox items left after {seconds} s: {}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Emails owed by the outbox (every action but the calendar's).
    fn mail_items(&self) -> i64 {
        self.count(
            "SELECT count(*) FROM outbox
             WHERE action NOT IN ('place', 'confirm', 'release', 'move')",
        )
    }

    fn logs(&self) -> String {
        self.adapters
            .iter()
            .map(|a| a.log())
            .collect::<Vec<_>>()
            .join("\n----\n")
    }
}

/// One `POST /v1/bookings`: its status and body, or `None` when no answer came.
async fn book(
    client: &reqwest::Client,
    adapter: &str,
    key: &str,
    body: &Value,
) -> Option<(u16, Value)> {
    let answer = client
        .post(format!("{adapter}/v1/bookings"))
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .ok()?;
    let status = answer.status().as_u16();
    Some((status, answer.json().await.unwrap_or(Value::Null)))
}

/// The emails received, by what tells them apart (recipient, subject, text):
/// how many times each came.
fn copies_of_each(smtp: &SmtpServer) -> HashMap<(String, String, String), usize> {
    let mut copies = HashMap::new();
    for email in smtp.received() {
        *copies
            .entry((email.to, email.subject, email.body))
            .or_insert(0) += 1;
    }
    copies
}

const ATTEMPTS: usize = 1_000;
const SLOTS: usize = 20;

/// Lets this process open 4,096 files (its hard limit allowing): a
/// thousand sockets at once may pass the usual soft limit of 1,024.
fn open_enough_files() {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    const ENOUGH: u64 = 4096;
    let limit = getrlimit(Resource::Nofile);
    if limit.current.is_some_and(|current| current < ENOUGH) {
        let raised = Rlimit {
            current: Some(limit.maximum.map_or(ENOUGH, |maximum| maximum.min(ENOUGH))),
            maximum: limit.maximum,
        };
        setrlimit(Resource::Nofile, raised).expect("raising the open files limit");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_attempts_over_three_replicas_for_twenty_slots_make_twenty_bookings_each_mailed_once(
) {
    open_enough_files();
    let replicas = Replicas::start(SmtpServer::start_recording().await, 3);
    let starts = replicas.separate_slots(SLOTS).await;

    // Act: every attempt held until all are ready, then sent at once, each
    // with its own key, attempt i for slot i mod 20 on replica i mod 3.
    let client = reqwest::Client::new();
    let go = Arc::new(tokio::sync::Barrier::new(ATTEMPTS));
    let attempts: Vec<_> = (0..ATTEMPTS)
        .map(|i| {
            let (client, go) = (client.clone(), go.clone());
            let adapter = replicas.adapters[i % replicas.adapters.len()].url("");
            let body = booking_body(starts[i % SLOTS]);
            tokio::spawn(async move {
                go.wait().await;
                book(&client, &adapter, &new_key(), &body).await
            })
        })
        .collect();
    let mut answers = Vec::new();
    for attempt in attempts {
        let answer = tokio::time::timeout(Duration::from_secs(120), attempt)
            .await
            .expect("every attempt answered within 120 s")
            .unwrap();
        answers.push(answer.expect("every attempt answered"));
    }

    // Assert: twenty created, one a slot; every other attempt told the slot is taken.
    let created: Vec<&Value> = answers
        .iter()
        .filter(|(status, _)| *status == 201)
        .map(|(_, body)| body)
        .collect();
    assert_eq!(created.len(), SLOTS, "201s");
    for (status, body) in answers.iter().filter(|(status, _)| *status != 201) {
        assert_eq!(
            (*status, body["code"].as_str()),
            (409, Some("slot_unavailable")),
            "{body}"
        );
    }
    let mut booked: Vec<String> = created
        .iter()
        .map(|b| b["start"].as_str().unwrap().to_owned())
        .collect();
    booked.sort();
    assert_eq!(booked, starts.iter().map(|s| iso(*s)).collect::<Vec<_>>());
    // The database holds those twenty and nothing else, none overlapping another.
    assert_eq!(replicas.count("SELECT count(*) FROM bookings"), 20);
    assert_eq!(
        replicas.count(&format!("SELECT count(*) FROM bookings WHERE {LIVE}")),
        20
    );
    assert_eq!(
        replicas.count(
            "SELECT count(*) FROM bookings a JOIN bookings b ON a.id < b.id
             AND int8range(a.start_at, a.end_at + a.clear_after)
              && int8range(b.start_at, b.end_at + b.clear_after)"
        ),
        0,
        "overlapping bookings"
    );

    // Every email owed went out, each exactly once, whichever replica sent it:
    // the visitor's "request received" and the practice's request, per booking.
    replicas.wait_outbox_empty(60).await;
    let mails = replicas.mail_items();
    assert_eq!(mails, 2 * SLOTS as i64);
    let received = replicas.smtp.wait_for(2 * SLOTS, 30).await;
    let copies = copies_of_each(&replicas.smtp);
    assert_eq!(received.len(), 2 * SLOTS, "emails received");
    assert_eq!(copies.len(), 2 * SLOTS, "distinct emails");
    assert!(copies.values().all(|&n| n == 1), "{copies:#?}");
}

/// Rounds of the race at most, each with a fresh key and slot, until the
/// two requests overlapped (the second came while the first ran).
const RACE_ROUNDS: usize = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_key_raced_across_two_replicas_makes_one_booking_and_one_request_in_progress() {
    let replicas = Replicas::start(SmtpServer::start_recording().await, 2);
    let starts = replicas.separate_slots(RACE_ROUNDS).await;
    let (first, second) = (replicas.adapters[0].url(""), replicas.adapters[1].url(""));
    // One client a replica, each with its connection open before the race.
    let (client_1, client_2) = (reqwest::Client::new(), reqwest::Client::new());
    for (client, adapter) in [(&client_1, &first), (&client_2, &second)] {
        let health = client.get(format!("{adapter}/healthz")).send().await;
        assert_eq!(health.unwrap().status(), 200);
    }

    let mut in_progress = 0;
    let mut replayed = 0;
    for start in starts {
        let (key, body) = (new_key(), booking_body(start));
        let (one, two) = tokio::join!(
            book(&client_1, &first, &key, &body),
            book(&client_2, &second, &key, &body)
        );
        let (one, two) = (one.expect("answered"), two.expect("answered"));
        let mut statuses = [one.0, two.0];
        statuses.sort();
        match statuses {
            // The second came after the first had finished: the same booking again.
            [201, 201] => {
                assert_eq!(one.1["id"], two.1["id"]);
                replayed += 1;
            }
            [201, 409] => {
                let refused = if one.0 == 409 { &one.1 } else { &two.1 };
                assert_eq!(refused["code"], "request_in_progress", "{refused}");
                in_progress += 1;
            }
            _ => panic!("{one:?} and {two:?}"),
        }
        let at = start.timestamp();
        let bookings: i64 = replicas.sql(|c| {
            c.query_one("SELECT count(*) FROM bookings WHERE start_at = $1", &[&at])
                .unwrap()
                .get(0)
        });
        assert_eq!(bookings, 1, "one booking for the key at {start}");
        if in_progress > 0 {
            break;
        }
    }
    eprintln!("{replayed} round(s) replayed before the overlap");
    assert_eq!(in_progress, 1, "no overlap in {RACE_ROUNDS} rounds");
}

/// Booking attempts in the load, each for its own slot, and how many at once.
const LOAD: usize = 45;
const AT_ONCE: usize = 6;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replica_killed_mid_delivery_loses_no_acknowledged_booking_and_its_mail_goes_out_after_its_lease(
) {
    // Every email waits at the SMTP server until the gate opens: each
    // replica that took outbox items is then mid-delivery, holding them.
    let mut replicas = Replicas::start(SmtpServer::start_gated().await, 3);
    let starts = replicas.separate_slots(LOAD).await;

    // Arrange: workers booking one slot after another, attempt i on replica i mod 3.
    let queue = Arc::new(Mutex::new(
        starts.into_iter().enumerate().collect::<Vec<_>>(),
    ));
    let answered = Arc::new(AtomicUsize::new(0));
    let urls: Vec<String> = replicas.adapters.iter().map(|a| a.url("")).collect();
    let client = reqwest::Client::new();
    let workers: Vec<_> = (0..AT_ONCE)
        .map(|_| {
            let (queue, answered, urls, client) = (
                queue.clone(),
                answered.clone(),
                urls.clone(),
                client.clone(),
            );
            tokio::spawn(async move {
                let mut outcomes = Vec::new();
                loop {
                    let Some((i, start)) = queue.lock().unwrap().pop() else {
                        return outcomes;
                    };
                    let replica = i % urls.len();
                    let answer =
                        book(&client, &urls[replica], &new_key(), &booking_body(start)).await;
                    answered.fetch_add(1, Ordering::SeqCst);
                    outcomes.push((replica, answer));
                }
            })
        })
        .collect();

    // Act: kill the third replica -9 once a third of the load is answered
    // and outbox items are held (its own bookings woke it to take some;
    // whether it did is checked below).
    let began = Instant::now();
    while answered.load(Ordering::SeqCst) < LOAD / 3
        || replicas.count("SELECT count(*) FROM outbox WHERE leased_until IS NOT NULL") == 0
    {
        assert!(
            began.elapsed() < Duration::from_secs(30),
            "the load is slow"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    replicas.adapters[2].kill();
    let mut outcomes = Vec::new();
    for worker in workers {
        outcomes.extend(worker.await.unwrap());
    }
    replicas.smtp.open_gate();

    // Assert: the live replicas answered every request 201; the killed one
    // 201 or nothing...
    let mut created = Vec::new();
    for (replica, outcome) in &outcomes {
        match outcome {
            Some((201, body)) => created.push(body["id"].as_str().unwrap().to_owned()),
            None if *replica == 2 => {}
            other => panic!("replica {replica}: {other:?}"),
        }
    }
    assert!(created.len() >= LOAD / 3, "{} created", created.len());
    // ...and every booking acknowledged is in the database.
    let kept: i64 = replicas.sql(|c| {
        c.query_one(
            &format!("SELECT count(*) FROM bookings WHERE id = ANY ($1) AND {LIVE}"),
            &[&created],
        )
        .unwrap()
        .get(0)
    });
    assert_eq!(kept, created.len() as i64, "acknowledged bookings kept");

    // The live replicas deliver all they can: every item left is held, and
    // nothing moves for longer than one outbox round (5 s) and a bit.
    let began = Instant::now();
    let mut quiet_since = Instant::now();
    let mut done = -1;
    while quiet_since.elapsed() < Duration::from_secs(7) {
        assert!(
            began.elapsed() < Duration::from_secs(60),
            "{}",
            replicas.logs()
        );
        let now_done = replicas.count("SELECT count(*) FROM outbox WHERE done_at IS NOT NULL");
        let waiting = replicas
            .count("SELECT count(*) FROM outbox WHERE done_at IS NULL AND leased_until IS NULL");
        if now_done != done || waiting > 0 {
            (done, quiet_since) = (now_done, Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let held = replicas.count("SELECT count(*) FROM outbox WHERE done_at IS NULL");
    assert!(held > 0, "the killed replica held no outbox item");

    // The lease runs out (moved to now in the database, as 5 minutes would):
    // the live replicas take the killed one's items at their next round.
    replicas.sql(|c| {
        c.execute(
            "UPDATE outbox SET leased_until = extract(epoch FROM now())::bigint
             WHERE done_at IS NULL",
            &[],
        )
        .unwrap()
    });
    replicas.wait_outbox_empty(30).await;

    // Every email owed (two a booking, acknowledged or not) reached the
    // server. Only the one the killed replica had sent, but not yet
    // recorded, may have come twice.
    let mails = replicas.mail_items();
    assert_eq!(mails, 2 * replicas.count("SELECT count(*) FROM bookings"));
    let copies = copies_of_each(&replicas.smtp);
    assert_eq!(copies.len() as i64, mails, "distinct emails");
    let twice = copies.values().filter(|&&n| n > 1).count();
    assert!(
        copies.values().all(|&n| n <= 2) && twice <= 1,
        "{copies:#?}"
    );
    eprintln!(
        "{} acknowledged, {held} outbox item(s) taken over after the kill, {twice} email(s) sent twice",
        created.len()
    );
}
