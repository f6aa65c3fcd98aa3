//! `POST /v1/bookings/{id}/reschedule` and the manage page's "change the
//! time": a move is atomic (the new slot taken before the old one is let
//! go, or nothing changes), once per key, within `change_until_hours`; the
//! practice's old links stop working and the new ones work.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use firststep_adapter::config::Settings;
use firststep_adapter::store::Answer;
use firststep_protocol::{BookingCreated, BookingMode, BookingStatus, ErrorCode};
use serde_json::json;

use crate::google_standin::GoogleStandIn;
use crate::helpers::{
    booking_body, eventually, iso, new_key, problem, spawn_app, spawn_app_with, spawn_on, TestApp,
    CONFIG,
};
use crate::lifecycle::{link, mail_config, request, spawn_with_mail, to};
use crate::microsoft_standin::MicrosoftStandIn;
use crate::oauth_calendars::spawn_connected;
use crate::radicale::{caldav_config, Radicale, PASSWORD};
use crate::smtp_server::SmtpServer;

/// The visitor moves `created` to `start` with `key`.
async fn reschedule(
    app: &TestApp,
    created: &BookingCreated,
    key: &str,
    start: DateTime<Utc>,
) -> reqwest::Response {
    reschedule_as(app, &created.booking.id, &created.manage_token, key, start).await
}

async fn reschedule_as(
    app: &TestApp,
    id: &str,
    token: &str,
    key: &str,
    start: DateTime<Utc>,
) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/v1/bookings/{id}/reschedule")))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(&json!({ "start": iso(start) }))
        .send()
        .await
        .unwrap()
}

/// Books the instant 50-minute service at `start`.
async fn book_intake(app: &TestApp, start: DateTime<Utc>) -> BookingCreated {
    let mut body = booking_body(start);
    body["service"] = json!("intake");
    let response = app.post_booking(&new_key(), &body).await;
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

/// Open slots of `service` for two days, from two days on: far enough out
/// to be changed (24 hours before by default).
async fn later_slots(app: &TestApp, service: &str) -> Vec<DateTime<Utc>> {
    app.open_slots_from(service, app.now() + Duration::days(2))
        .await
}

/// A free start of `service` about `ahead` from now.
async fn free_in(app: &TestApp, service: &str, ahead: Duration) -> DateTime<Utc> {
    let from = app.now() + ahead;
    *app.open_slots_from(service, from)
        .await
        .iter()
        .find(|s| **s > from)
        .expect("a free slot")
}

#[tokio::test]
async fn a_move_answers_as_creation_does_and_replays_once_per_key() {
    let app = spawn_app().await;
    let slots = later_slots(&app, "free-consultation").await;
    let (old, new) = (slots[40], slots[60]);
    let created = app.book(old).await;
    let key = new_key();

    let response = reschedule(&app, &created, &key, new).await;

    assert_eq!(response.status(), 200);
    let location = format!("/v1/bookings/{}", created.booking.id);
    assert_eq!(response.headers()["location"], location.as_str());
    let first = response.bytes().await.unwrap();
    let moved: BookingCreated = serde_json::from_slice(&first).unwrap();
    assert_eq!(
        moved.booking.id, created.booking.id,
        "the id (and the manage link) stays"
    );
    assert_eq!(moved.manage_token, created.manage_token);
    assert_eq!(
        (moved.booking.start, moved.booking.status),
        (new, BookingStatus::Pending)
    );
    assert_eq!(
        moved.booking.end - moved.booking.start,
        Duration::minutes(15)
    );
    assert!(moved.booking.expires_at.is_some_and(|t| t <= new));
    assert_eq!(app.view(&created).await.start, new);
    let open = later_slots(&app, "free-consultation").await;
    assert!(
        open.contains(&old) && !open.contains(&new),
        "the old slot is offered again"
    );

    let replay = reschedule(&app, &created, &key, new).await;
    assert_eq!(replay.status(), 200);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(replay.bytes().await.unwrap(), first, "byte for byte");

    let other_body = reschedule(&app, &created, &key, slots[70]).await;
    assert_eq!(
        problem(other_body, 422).await.code,
        ErrorCode::IdempotencyKeyReused
    );
    let other = app.book(slots[80]).await;
    let other_booking = reschedule(&app, &other, &key, new).await;
    assert_eq!(
        problem(other_booking, 422).await.code,
        ErrorCode::IdempotencyKeyReused,
        "a key stands for one move of one booking"
    );

    let stranger = reschedule_as(&app, &created.booking.id, "guess", &new_key(), old).await;
    assert_eq!(problem(stranger, 404).await.code, ErrorCode::NotFound);
    let no_key = app
        .client
        .post(app.url(&format!("{location}/reschedule")))
        .bearer_auth(&created.manage_token)
        .json(&json!({ "start": iso(old) }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(no_key, 400).await.code,
        ErrorCode::MissingIdempotencyKey
    );
    assert_eq!(
        app.view(&created).await.start,
        new,
        "refusals change nothing"
    );
}

#[tokio::test]
async fn a_slot_taken_meanwhile_leaves_the_booking_untouched() {
    let app = spawn_app().await;
    let slots = later_slots(&app, "free-consultation").await;
    let mine = app.book(slots[40]).await;
    let theirs = app.book(slots[60]).await;
    let before = app.view(&mine).await;

    let response = reschedule(&app, &mine, &new_key(), slots[60]).await;

    assert_eq!(
        problem(response, 409).await.code,
        ErrorCode::SlotUnavailable
    );
    assert_eq!(
        app.view(&mine).await,
        before,
        "the old booking stays as it was"
    );
    assert_eq!(app.view(&theirs).await.start, slots[60]);
    assert!(!later_slots(&app, "free-consultation")
        .await
        .contains(&slots[40]));
    let not_open = app.now() - Duration::hours(1);
    let past = reschedule(&app, &mine, &new_key(), not_open).await;
    assert_eq!(problem(past, 409).await.code, ErrorCode::SlotUnavailable);
}

#[tokio::test]
async fn the_booking_s_own_old_slot_does_not_block_a_move_next_to_it() {
    let config = CONFIG.replace(
        "minimum_notice_minutes = 0",
        "minimum_notice_minutes = 0\nbuffer_before_minutes = 15\nbuffer_after_minutes = 15",
    );
    let app = spawn_app_with(&config).await;
    let start = free_in(&app, "free-consultation", Duration::days(2)).await;
    let created = app.book(start).await;
    let next = start + Duration::minutes(15);
    assert!(
        !app.open_slots_from("free-consultation", start - Duration::hours(1))
            .await
            .contains(&next),
        "the buffer keeps others out of the next slot"
    );

    let response = reschedule(&app, &created, &new_key(), next).await;

    assert_eq!(response.status(), 200);
    assert_eq!(app.view(&created).await.start, next);
}

#[tokio::test]
async fn of_twenty_concurrent_moves_of_two_bookings_to_one_slot_one_booking_gets_it() {
    let app = Arc::new(spawn_app().await);
    let slots = later_slots(&app, "free-consultation").await;
    let first = app.book(slots[10]).await;
    let second = app.book(slots[20]).await;
    let target = slots[30];

    let tries = (0..20).map(|i| {
        let app = app.clone();
        let who = if i % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        tokio::spawn(async move {
            let status = reschedule(&app, &who, &new_key(), target).await.status();
            (who.booking.id, status.as_u16())
        })
    });
    let results: Vec<(String, u16)> = futures::future::join_all(tries)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();

    let winners: std::collections::BTreeSet<&str> = results
        .iter()
        .filter(|(_, status)| *status == 200)
        .map(|(id, _)| id.as_str())
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    assert!(
        results.iter().all(|(_, s)| *s == 200 || *s == 409),
        "{results:?}"
    );
    let (won, lost) = if winners.contains(first.booking.id.as_str()) {
        (&first, &second)
    } else {
        (&second, &first)
    };
    assert_eq!(app.view(won).await.start, target);
    assert_eq!(
        app.view(lost).await.start,
        lost.booking.start,
        "the loser stays where it was"
    );
}

#[tokio::test]
async fn a_confirmed_booking_stays_confirmed_only_where_the_practice_allows_it() {
    // The instant service moves freely by default (its `mode`)...
    let app = spawn_app().await;
    let intake = later_slots(&app, "intake").await;
    let created = book_intake(&app, intake[20]).await;
    let response = reschedule(&app, &created, &new_key(), intake[40]).await;
    let moved: BookingCreated = response.json().await.unwrap();
    assert_eq!(moved.booking.status, BookingStatus::Confirmed);
    assert_eq!(moved.booking.expires_at, None);

    // ... and waits for the practice again with `reschedule = "request"`.
    let config = CONFIG.replace(
        "mode = \"instant\"",
        "mode = \"instant\"\nreschedule = \"request\"",
    );
    let app = spawn_app_with(&config).await;
    let intake = later_slots(&app, "intake").await;
    let created = book_intake(&app, intake[20]).await;
    let response = reschedule(&app, &created, &new_key(), intake[40]).await;
    let moved: BookingCreated = response.json().await.unwrap();
    assert_eq!(moved.booking.status, BookingStatus::Pending);
    assert!(moved.booking.expires_at.is_some_and(|t| t <= intake[40]));
}

#[tokio::test]
async fn a_booking_no_longer_live_cannot_be_moved() {
    let app = spawn_app().await;
    let slots = later_slots(&app, "free-consultation").await;
    let created = app.book(slots[10]).await;
    app.cancel(&created).await;

    let response = reschedule(&app, &created, &new_key(), slots[20]).await;

    assert_eq!(problem(response, 409).await.code, ErrorCode::BookingClosed);
    assert_eq!(app.view(&created).await.status, BookingStatus::Cancelled);
    assert!(later_slots(&app, "free-consultation")
        .await
        .contains(&slots[20]));
}

#[tokio::test]
async fn after_change_until_hours_the_visitor_is_sent_to_the_practice_but_may_still_cancel() {
    let app = spawn_app().await;
    let start = free_in(&app, "intake", Duration::hours(30)).await;
    let created = book_intake(&app, start).await;
    let elsewhere = free_in(&app, "intake", Duration::hours(40)).await;
    let manage = format!(
        "/manage/{}?token={}",
        created.booking.id, created.manage_token
    );
    assert!(app
        .get(&manage)
        .await
        .text()
        .await
        .unwrap()
        .contains("Change the time"));

    // 24 hours before the start (the default), changes end.
    app.advance_past(start - Duration::hours(24));
    let response = reschedule(&app, &created, &new_key(), elsewhere).await;

    assert_eq!(
        problem(response, 409).await.code,
        ErrorCode::ChangeWindowClosed
    );
    assert_eq!(app.view(&created).await.start, start);
    let page = app.get(&manage).await.text().await.unwrap();
    assert!(
        page.contains("please contact Test Practice directly") && !page.contains("Change the time"),
        "{page}"
    );
    let times = app
        .get(&format!(
            "/manage/{}/times?token={}",
            created.booking.id, created.manage_token
        ))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        times.contains("please contact Test Practice directly")
            && !times.contains("type=\"radio\""),
        "{times}"
    );
    app.cancel(&created).await;
    assert_eq!(app.view(&created).await.status, BookingStatus::Cancelled);
}

#[tokio::test]
async fn the_manage_page_moves_a_booking_without_script() {
    let app = spawn_app().await;
    let slots = later_slots(&app, "free-consultation").await;
    let created = app.book(slots[10]).await;
    let token = created.manage_token.as_str();
    let times_path = format!("/manage/{}/times", created.booking.id);

    let page = app.get(&format!("{times_path}?token={token}")).await;
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("default-src 'none'"));
    let html = page.text().await.unwrap();
    assert!(!html.contains("<script"), "{html}");
    // Sam gave Berlin as their zone: the times are written there, and say so.
    assert!(html.contains("Times are shown in Europe/Berlin."), "{html}");
    let chosen = slots[30];
    let radio = format!("name=\"start\" required value=\"{}\"", iso(chosen));
    assert!(html.contains(&radio), "{html}");
    assert!(
        !html.contains(&format!("value=\"{}\"", iso(slots[10]))),
        "the booking's own time is not offered"
    );
    let key = html
        .split("name=\"key\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a hidden key")
        .to_owned();
    assert_eq!(
        app.get(&format!("{times_path}?token=guess")).await.status(),
        404
    );

    // The form as a browser sends it: the token, the page's key, the time chosen.
    let post = |token: &str, key: &str, start: DateTime<Utc>| {
        let form = [("token", token), ("key", key), ("start", &iso(start))];
        let sent = app.client.post(app.url(&times_path)).form(&form).send();
        async move { sent.await.unwrap() }
    };
    let done = post(token, &key, chosen).await;

    assert_eq!(done.status(), 200);
    let html = done.text().await.unwrap();
    assert!(html.contains("Your booking was moved."), "{html}");
    assert_eq!(app.view(&created).await.start, chosen);
    // A second press of the same form moves nothing again.
    assert_eq!(post(token, &key, chosen).await.status(), 200);
    assert_eq!(app.view(&created).await.start, chosen);
    // A time taken meanwhile: told, and the booking stays.
    let taken = app.book(slots[50]).await;
    let refused = post(token, &new_key(), taken.booking.start).await;
    let html = refused.text().await.unwrap();
    assert!(html.contains("your booking was not changed"), "{html}");
    assert_eq!(app.view(&created).await.start, chosen);
    assert_eq!(post("guess", &new_key(), slots[60]).await.status(), 404);
}

#[tokio::test]
async fn the_practice_is_told_old_links_stop_working_and_the_new_ones_work() {
    let smtp = SmtpServer::start().await;
    let app = spawn_with_mail(&smtp).await;
    let created = request(&app, Some("es")).await;
    let mails = smtp.wait_for(2, 10).await;
    let first = to(&mails, "therapist@test.example.org")[0].body.clone();
    let old_confirm = link(&app, &first, "/requests/");
    let new_start = free_in(&app, "free-consultation", Duration::days(2)).await;

    let response = reschedule(&app, &created, &new_key(), new_start).await;
    assert_eq!(response.status(), 200);

    let mails = smtp.wait_for(4, 10).await;
    let practice = to(&mails, "therapist@test.example.org");
    let moved = practice
        .iter()
        .find(|m| m.subject.starts_with("Request moved"))
        .expect("the practice is told");
    let time = |t: DateTime<Utc>| t.format("%A, %B %-d, %Y at %-I:%M %p (UTC)").to_string();
    assert!(
        moved
            .body
            .contains(&format!("from {}", time(created.booking.start)))
            && moved.body.contains(&format!("to   {}", time(new_start))),
        "{}",
        moved.body
    );
    let visitor = to(&mails, "sam@example.org");
    let told = visitor
        .iter()
        .find(|m| m.subject.starts_with("Su solicitud es ahora"))
        .expect("the visitor is told, in their language");
    assert!(told.body.contains("Europe/Berlin"), "{}", told.body);

    // The link about the old time: refused, with a clear page, and nothing changes.
    let pressed = app.client.post(&old_confirm).send().await.unwrap();
    assert_eq!(pressed.status(), 410);
    assert!(pressed
        .text()
        .await
        .unwrap()
        .contains("The visitor moved this request"));
    assert_eq!(app.view(&created).await.status, BookingStatus::Pending);

    let new_confirm = link(&app, &moved.body, "/requests/");
    assert!(new_confirm.contains("/confirm?") && new_confirm.contains("&v=1&"));
    let pressed = app.client.post(&new_confirm).send().await.unwrap();
    assert_eq!(pressed.status(), 200);
    let now = app.view(&created).await;
    assert_eq!(
        (now.status, now.start),
        (BookingStatus::Confirmed, new_start)
    );
}

#[tokio::test]
async fn a_confirmed_move_tells_both_sides_with_a_new_calendar_file() {
    let smtp = SmtpServer::start().await;
    let folder = Arc::new(tempfile::tempdir().unwrap());
    std::fs::write(folder.path().join("link-secret"), crate::lifecycle::SECRET).unwrap();
    let app = spawn_on(&mail_config(&smtp), folder).await;
    let start = free_in(&app, "intake", Duration::days(1)).await;
    let created = book_intake(&app, start).await;
    smtp.wait_for(2, 10).await;
    let new_start = free_in(&app, "intake", Duration::days(2)).await;

    assert_eq!(
        reschedule(&app, &created, &new_key(), new_start)
            .await
            .status(),
        200
    );

    let mails = smtp.wait_for(4, 10).await;
    let practice = to(&mails, "therapist@test.example.org");
    let moved = practice
        .iter()
        .find(|m| m.subject.starts_with("Booking moved"))
        .expect("the practice is told");
    assert!(moved.body.contains("It stays confirmed"), "{}", moved.body);
    assert!(!moved.body.contains("/requests/"), "nothing to answer");
    let visitor = to(&mails, "sam@example.org");
    let told = visitor
        .iter()
        .find(|m| m.subject.starts_with("Moved:"))
        .expect("the visitor is told");
    let ics = told.ics.as_deref().expect("a calendar file");
    let stamp = |t: DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    assert!(
        ics.contains(&format!("DTSTART:{}", stamp(new_start))),
        "{ics}"
    );
}

#[tokio::test]
async fn the_practice_feed_shows_the_new_time_only() {
    const TOKEN: &str = "a-long-random-feed-token-0123456789";
    let folder = Arc::new(tempfile::tempdir().unwrap());
    std::fs::write(folder.path().join("feed-token"), TOKEN).unwrap();
    let app = spawn_on(
        &format!("{CONFIG}\n[feed]\ntoken_file = \"feed-token\"\n"),
        folder,
    )
    .await;
    let slots = later_slots(&app, "free-consultation").await;
    let created = app.book(slots[10]).await;
    assert_eq!(
        reschedule(&app, &created, &new_key(), slots[30])
            .await
            .status(),
        200
    );

    let feed = app
        .get(&format!("/feeds/bookings.ics?token={TOKEN}"))
        .await
        .text()
        .await
        .unwrap();

    let stamp = |t: DateTime<Utc>| format!("DTSTART:{}", t.format("%Y%m%dT%H%M%SZ"));
    assert_eq!(feed.matches("BEGIN:VEVENT").count(), 1, "{feed}");
    assert!(
        feed.contains(&stamp(slots[30])) && !feed.contains(&stamp(slots[10])),
        "{feed}"
    );
}

#[test]
fn the_reschedule_keys_are_checked_at_their_lines() {
    let problems_of =
        |text: &str| Settings::from_toml(text, Path::new("/etc/firststep")).unwrap_err();
    let line_in =
        |text: &str, needle: &str| text.lines().position(|l| l.starts_with(needle)).unwrap() + 1;

    let text = CONFIG.replace(
        "mode = \"request\"",
        "mode = \"request\"\nchange_until_hours = 721",
    );
    let problems = problems_of(&text);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(
        (
            problems[0].line,
            problems[0].key.as_str(),
            problems[0].message.as_str()
        ),
        (
            line_in(&text, "change_until_hours"),
            "services[0].change_until_hours",
            "must be at most 720 hours (30 days)"
        )
    );

    let text = CONFIG.replace(
        "mode = \"instant\"",
        "mode = \"instant\"\nreschedule = \"sometimes\"",
    );
    let problems = problems_of(&text);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].line, line_in(&text, "reschedule"));
    assert!(problems[0].message.contains("sometimes"), "{problems:?}");

    let fine = CONFIG.replace(
        "mode = \"request\"",
        "mode = \"request\"\nchange_until_hours = 0\nreschedule = \"instant\"",
    );
    let settings = Settings::from_toml(&fine, Path::new("/etc/firststep")).unwrap();
    let service = &settings.practice.services[0];
    assert_eq!(
        (service.change_until_hours, service.reschedule),
        (0, BookingMode::Instant)
    );
    // Absent: 24 hours, and what the service's mode says.
    let defaults = Settings::from_toml(CONFIG, Path::new("/etc/firststep")).unwrap();
    let [request, instant] = &defaults.practice.services[..] else {
        panic!("two services")
    };
    assert_eq!(
        (request.change_until_hours, request.reschedule),
        (24, BookingMode::Request)
    );
    assert_eq!(
        (instant.change_until_hours, instant.reschedule),
        (24, BookingMode::Instant)
    );
}

/// The practice's calendar shows the booking at its new time: one event,
/// the same one, moved (no second event, nothing left at the old time).
#[tokio::test]
async fn against_the_google_stand_in_the_event_moves_with_the_booking() {
    let google = GoogleStandIn::start().await;
    let app = spawn_connected(&google).await;
    let slots = later_slots(&app, "free-consultation").await;
    let created = app.book(slots[10]).await;
    let id = created.booking.id.clone();
    let start_of = |google: &GoogleStandIn| {
        google
            .booking_event(&id)
            .and_then(|e| e["start"]["dateTime"].as_str().map(str::to_owned))
    };
    eventually("the hold", 10, || async { start_of(&google).is_some() }).await;

    assert_eq!(
        reschedule(&app, &created, &new_key(), slots[30])
            .await
            .status(),
        200
    );
    eventually("the event moved", 10, || async {
        start_of(&google) == Some(iso(slots[30]))
    })
    .await;
    let event = google.booking_event(&id).unwrap();
    assert_eq!(event["status"], "tentative");
    assert_eq!(google.event_count(), 1, "one event ever, never a second");

    // Moved again after the practice deleted it: it comes back, at the new time.
    google.edit_event(
        event["id"].as_str().unwrap(),
        json!({"status": "cancelled"}),
    );
    assert_eq!(
        reschedule(&app, &created, &new_key(), slots[40])
            .await
            .status(),
        200
    );
    eventually("the event back at the new time", 10, || async {
        start_of(&google) == Some(iso(slots[40]))
            && google.booking_event(&id).unwrap()["status"] == "tentative"
    })
    .await;
}

#[tokio::test]
async fn against_the_microsoft_stand_in_the_event_moves_with_the_booking() {
    let graph = MicrosoftStandIn::start().await;
    let app = spawn_connected(&graph).await;
    let intake = later_slots(&app, "intake").await;
    let created = book_intake(&app, intake[10]).await;
    let id = created.booking.id.clone();
    let start_of = |graph: &MicrosoftStandIn| {
        graph
            .booking_event(&id)
            .and_then(|e| e["start"]["dateTime"].as_str().map(str::to_owned))
    };
    eventually("the event", 10, || async { start_of(&graph).is_some() }).await;
    let before = graph.event_ids();

    assert_eq!(
        reschedule(&app, &created, &new_key(), intake[30])
            .await
            .status(),
        200
    );

    let local = intake[30].format("%Y-%m-%dT%H:%M:%S").to_string();
    eventually("the event moved", 10, || async {
        start_of(&graph).is_some_and(|start| start.starts_with(&local))
    })
    .await;
    assert_eq!(graph.event_ids(), before, "the same event, patched");
    assert_eq!(graph.booking_event(&id).unwrap()["showAs"], "busy");
}

#[tokio::test]
async fn against_radicale_the_entry_moves_with_the_booking() {
    let radicale = Radicale::start().await;
    let folder = Arc::new(tempfile::tempdir().unwrap());
    let config = caldav_config(&radicale, folder.path(), PASSWORD);
    let app = spawn_on(&config, folder).await;
    let slots = later_slots(&app, "free-consultation").await;
    let created = app.book(slots[10]).await;
    let id = created.booking.id.clone();
    eventually("the entry", 10, || async {
        radicale.get_event(&id).await.is_some()
    })
    .await;

    assert_eq!(
        reschedule(&app, &created, &new_key(), slots[30])
            .await
            .status(),
        200
    );

    let stamp = |t: DateTime<Utc>| format!("DTSTART:{}", t.format("%Y%m%dT%H%M%SZ"));
    eventually("the entry moved", 10, || async {
        radicale
            .get_event(&id)
            .await
            .is_some_and(|e| e.contains(&stamp(slots[30])) && e.contains("STATUS:TENTATIVE"))
    })
    .await;
}

/// A confirmed video booking moved back to a request keeps its room but
/// hands it out again only once the practice confirms the new time.
#[tokio::test]
async fn a_video_room_is_withheld_while_a_moved_booking_waits_and_stays_the_same() {
    let config = CONFIG.replace(
        "[form]\n",
        "[[services]]\nid = \"by-video\"\ntitle = \"Video consultation\"\nmode = \"instant\"\n\
         reschedule = \"request\"\nlocation = \"video\"\n\
         video_url_template = \"https://meet.test/rc-{token}\"\n\n[form]\n",
    );
    let app = spawn_app_with(&config).await;
    let slots = later_slots(&app, "by-video").await;
    let mut body = booking_body(slots[10]);
    body["service"] = json!("by-video");
    let created: BookingCreated = app
        .post_booking(&new_key(), &body)
        .await
        .json()
        .await
        .unwrap();
    let room = created
        .booking
        .video_url
        .clone()
        .expect("a room once confirmed");

    let moved: BookingCreated = reschedule(&app, &created, &new_key(), slots[30])
        .await
        .json()
        .await
        .unwrap();

    assert_eq!(moved.booking.status, BookingStatus::Pending);
    assert_eq!(moved.booking.video_url, None, "not for a request");
    assert_eq!(app.view(&created).await.video_url, None);
    let store = app.open_store();
    store
        .run(|s| s.answer(&created.booking.id, Answer::Confirm, app.now()))
        .unwrap();
    assert_eq!(
        app.view(&created).await.video_url,
        Some(room),
        "the same room"
    );
}

/// The emails of a move in the other language of each side: a Spanish
/// practice, an English visitor's request and a Spanish visitor's booking.
#[tokio::test]
async fn a_spanish_practice_reads_its_moves_in_spanish_and_each_visitor_in_theirs() {
    let smtp = SmtpServer::start().await;
    let folder = Arc::new(tempfile::tempdir().unwrap());
    std::fs::write(folder.path().join("link-secret"), crate::lifecycle::SECRET).unwrap();
    let config = mail_config(&smtp).replace(
        "name = \"Test Practice\"",
        "name = \"Test Practice\"\nlocale = \"es\"",
    );
    let app = spawn_on(&config, folder).await;
    let slots = later_slots(&app, "free-consultation").await;
    let mut english = booking_body(slots[10]);
    english["locale"] = json!("en");
    let request: BookingCreated = app
        .post_booking(&new_key(), &english)
        .await
        .json()
        .await
        .unwrap();
    let intake = later_slots(&app, "intake").await;
    let mut spanish = booking_body(intake[20]);
    (spanish["service"], spanish["locale"]) = (json!("intake"), json!("es"));
    let booked: BookingCreated = app
        .post_booking(&new_key(), &spanish)
        .await
        .json()
        .await
        .unwrap();
    smtp.wait_for(4, 10).await;

    // The request to the end of the window, far from the booking's hours.
    let last = *slots.last().unwrap();
    assert_eq!(
        reschedule(&app, &request, &new_key(), last).await.status(),
        200
    );
    assert_eq!(
        reschedule(&app, &booked, &new_key(), intake[40])
            .await
            .status(),
        200
    );

    let mails = smtp.wait_for(8, 10).await;
    let subjects: Vec<&str> = mails[4..].iter().map(|m| m.subject.as_str()).collect();
    for expected in [
        "Solicitud cambiada: ",
        "Your request is now for ",
        "Reserva cambiada: ",
        "Cambiada: ",
    ] {
        assert!(
            subjects.iter().any(|s| s.starts_with(expected)),
            "{expected} in {subjects:?}"
        );
    }
    let practice = to(&mails, "therapist@test.example.org");
    let moved = practice
        .iter()
        .find(|m| m.subject.starts_with("Solicitud cambiada"))
        .unwrap();
    assert!(
        moved.body.contains("Confirmar el nuevo horario:"),
        "{}",
        moved.body
    );
    assert!(link(&app, &moved.body, "/requests/").contains("&v=1&"));
}

/// Each move writes to the calendar and emails both sides: the manage page
/// shares the API's limit, so a manage link cannot flood the practice.
#[tokio::test]
async fn the_manage_page_moves_within_the_apis_rate_limit() {
    let config = CONFIG.replace("bookings_per_minute = 100000", "bookings_per_minute = 2");
    let app = spawn_app_with(&config).await;
    let slots = later_slots(&app, "free-consultation").await;
    let created = app.book(slots[10]).await;
    let token = created.manage_token.as_str();
    let times_path = format!("/manage/{}/times", created.booking.id);
    let post = |start: DateTime<Utc>| {
        let key = new_key();
        let form = [
            ("token", token),
            ("key", key.as_str()),
            ("start", &iso(start)),
        ];
        let sent = app.client.post(app.url(&times_path)).form(&form).send();
        async move { sent.await.unwrap() }
    };
    assert_eq!(post(slots[20]).await.status(), 200);
    let refused = post(slots[30]).await;
    assert_eq!(refused.status(), 429);
    assert!(refused
        .text()
        .await
        .unwrap()
        .contains("your booking was not changed"));
    assert_eq!(app.view(&created).await.start, slots[20]);
}

/// A form pressed again after its first press was refused reads as that
/// refusal (here: a cancelled booking), not as a time taken meanwhile.
#[tokio::test]
async fn a_refused_move_pressed_again_says_the_same_refusal() {
    let app = spawn_app().await;
    let slots = later_slots(&app, "free-consultation").await;
    let created = app.book(slots[10]).await;
    app.cancel(&created).await;
    let token = created.manage_token.as_str();
    let times_path = format!("/manage/{}/times", created.booking.id);
    let key = new_key();
    let press = || {
        let form = [
            ("token", token),
            ("key", key.as_str()),
            ("start", &iso(slots[20])),
        ];
        let sent = app.client.post(app.url(&times_path)).form(&form).send();
        async move { sent.await.unwrap().text().await.unwrap() }
    };
    for html in [press().await, press().await] {
        assert!(html.contains("Your booking was not changed."), "{html}");
        assert!(!html.contains("just taken"), "{html}");
    }
}

/// The manage page speaks the language the booking was made in, from the
/// booking to its times and the move; before a booking is known (a wrong
/// link), the browser's.
#[tokio::test]
async fn the_manage_page_speaks_the_visitors_language() {
    let app = spawn_app().await;
    let slots = later_slots(&app, "free-consultation").await;
    let mut spanish = booking_body(slots[10]);
    spanish["locale"] = json!("es-MX");
    let created: BookingCreated = app
        .post_booking(&new_key(), &spanish)
        .await
        .json()
        .await
        .unwrap();
    let (id, token) = (&created.booking.id, &created.manage_token);

    let html = app
        .get(&format!("/manage/{id}?token={token}"))
        .await
        .text()
        .await
        .unwrap();
    for words in [
        "<html lang=\"es\">",
        "<h1>Su cita con Test Practice</h1>",
        "Estado: <strong>pendiente</strong>",
        ">Cambiar el horario</a>",
        "Cancelar esta cita</button>",
    ] {
        assert!(html.contains(words), "{words} in {html}");
    }
    let times_path = format!("/manage/{id}/times");
    let times = app
        .get(&format!("{times_path}?token={token}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(times.contains("<h1>Elija otro horario</h1>"), "{times}");
    assert!(
        times.contains("Los horarios se muestran en Europe/Berlin."),
        "{times}"
    );
    assert!(times.contains("Cambiar mi cita a este horario</button>"));
    let form = [
        ("token", token.as_str()),
        ("key", &new_key()),
        ("start", &iso(slots[30])),
    ];
    let moved = app
        .client
        .post(app.url(&times_path))
        .form(&form)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        moved.contains("Su cita se cambió. La consulta confirmará el nuevo horario"),
        "{moved}"
    );

    let wrong = app
        .client
        .get(app.url(&format!("/manage/{id}?token=guess")))
        .header("Accept-Language", "es-ES,es;q=0.9")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 404);
    assert!(wrong
        .text()
        .await
        .unwrap()
        .contains("<h1>Cita no encontrada</h1>"));
    // An English booking reads as before.
    let english = app.book(slots[50]).await;
    let html = app
        .get(&format!(
            "/manage/{}?token={}",
            english.booking.id, english.manage_token
        ))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("<html lang=\"en\">") && html.contains("Status: <strong>pending</strong>"),
        "{html}"
    );
}
