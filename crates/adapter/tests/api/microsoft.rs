//! The Microsoft 365 / Outlook backend, run against the Microsoft stand-in
//! (`microsoft_standin.rs`, a local imitation of the identity platform's
//! and Graph's documented endpoints started by each test on 127.0.0.1):
//! busy time, the life of a booking's event, tokens, throttling, outages,
//! `connect microsoft` (device code), and client credentials.

use std::io::BufRead;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Duration as Span, Utc};
use firststep_adapter::calendar::microsoft::{token_url, MicrosoftCalendar, MicrosoftOptions};
use firststep_adapter::calendar::oauth::Grant;
use firststep_adapter::calendar::{Calendar, CalendarEntry, CalendarError};
use firststep_adapter::config::Settings;
use firststep_adapter::store::{Answer, Store};
use firststep_adapter::Application;
use firststep_availability::Interval;
use serde_json::{json, Value};

use crate::helpers::{
    booking_body, check_config, eventually, new_key, spawn_on, tomorrow_at, TestApp,
};
use crate::microsoft_standin::{Failure, MicrosoftStandIn, CLIENT_ID, SECOND_CALENDAR};

/// An event as Outlook keeps it: times in UTC (`dateTimeTimeZone`).
fn timed(start: DateTime<Utc>, minutes: i64) -> Value {
    let time = |t: DateTime<Utc>| json!({"dateTime": t.format("%Y-%m-%dT%H:%M:%S").to_string(), "timeZone": "UTC"});
    json!({
        "subject": "Private appointment",
        "start": time(start),
        "end": time(start + Span::minutes(minutes)),
    })
}

fn with(mut event: Value, extra: Value) -> Value {
    event
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    event
}

/// The tests' practice on the stand-in's calendar, as the practice's own account.
fn microsoft_config(
    graph: &MicrosoftStandIn,
    folder: &std::path::Path,
    refresh_token: Option<&str>,
) -> String {
    format!(
        "{}\n{}",
        crate::helpers::CONFIG,
        graph.calendar_table(folder, refresh_token)
    )
}

/// An adapter on the stand-in, connected as the practice's own account.
async fn spawn_with_microsoft(graph: &MicrosoftStandIn) -> TestApp {
    let folder = Arc::new(tempfile::tempdir().unwrap());
    let config = microsoft_config(graph, folder.path(), Some(&graph.issue_refresh_token()));
    spawn_on(&config, folder).await
}

fn show_as(graph: &MicrosoftStandIn, booking: &str) -> Option<String> {
    graph
        .booking_event(booking)
        .and_then(|e| e["showAs"].as_str().map(str::to_owned))
}

#[tokio::test]
async fn against_the_stand_in_other_events_hide_slots_unless_free_or_cancelled() {
    let graph = MicrosoftStandIn::start().await;
    // Two events a page: busy time is read along @odata.nextLink.
    graph.set_page_size(2);
    let ten = tomorrow_at(10, 0);
    graph.add_event(timed(ten, 60));
    graph.add_event(with(
        timed(tomorrow_at(13, 0), 30),
        json!({"recurrence": {
            "pattern": {"type": "daily", "interval": 1},
            "range": {"type": "numbered", "numberOfOccurrences": 3, "startDate": tomorrow_at(13, 0).date_naive().to_string()},
        }}),
    ));
    graph.add_event(with(
        timed(tomorrow_at(14, 0), 30),
        json!({"showAs": "tentative"}),
    ));
    graph.add_event(with(
        timed(tomorrow_at(15, 0), 30),
        json!({"showAs": "oof"}),
    ));
    graph.add_event(with(
        timed(tomorrow_at(16, 0), 30),
        json!({"showAs": "workingElsewhere"}),
    ));
    graph.add_event(with(
        timed(tomorrow_at(17, 0), 30),
        json!({"showAs": "free"}),
    ));
    graph.add_event(with(
        timed(tomorrow_at(18, 0), 30),
        json!({"isCancelled": true}),
    ));
    let away = (Utc::now() + Span::days(3)).date_naive();
    let midnight = |day: chrono::NaiveDate| day.and_hms_opt(0, 0, 0).unwrap().and_utc();
    graph.add_event(with(
        timed(midnight(away), 24 * 60),
        json!({"subject": "Away", "isAllDay": true}),
    ));

    let app = spawn_with_microsoft(&graph).await;
    let open = app.open_slots("free-consultation").await;

    for busy in [
        ten,
        ten + Span::minutes(45),
        tomorrow_at(13, 0),
        tomorrow_at(13, 15) + Span::days(1),
        tomorrow_at(13, 0) + Span::days(2),
        tomorrow_at(14, 0),
        tomorrow_at(15, 0),
        tomorrow_at(16, 15),
    ] {
        assert!(
            !open.contains(&busy),
            "{busy} is busy in the calendar but offered"
        );
    }
    for free in [
        tomorrow_at(11, 0),
        tomorrow_at(13, 30),
        tomorrow_at(17, 0),
        tomorrow_at(18, 0),
    ] {
        assert!(open.contains(&free), "{free} is free but not offered");
    }
    let path = format!(
        "/v1/slots?service=free-consultation&from={}&to={}",
        crate::helpers::iso(midnight(away)),
        crate::helpers::iso(midnight(away) + Span::hours(23))
    );
    let list: firststep_protocol::SlotList = app.get(&path).await.json().await.unwrap();
    assert!(
        list.slots.is_empty(),
        "the all-day event blocks its whole day"
    );
    let pages = graph
        .requests()
        .iter()
        .filter(|r| r.1 == "calendarView")
        .count();
    assert!(
        pages >= 5,
        "busy time was read page by page ({pages} requests)"
    );
}

#[tokio::test]
async fn against_the_stand_in_a_request_appears_tentative_and_private_is_confirmed_then_removed() {
    let graph = MicrosoftStandIn::start().await;
    let app = spawn_with_microsoft(&graph).await;
    let slot = app.a_free_slot().await;

    let created = app.book(slot).await;

    let id = created.booking.id.clone();
    eventually("the tentative event", 10, || async {
        show_as(&graph, &id).as_deref() == Some("tentative")
    })
    .await;
    let event = graph.booking_event(&id).unwrap();
    assert_eq!(event["subject"], "Consultation request");
    assert_eq!(event["sensitivity"], "private");
    assert_eq!(event["transactionId"], id.as_str());
    assert_eq!(
        event["start"],
        json!({"dateTime": slot.format("%Y-%m-%dT%H:%M:%S").to_string(), "timeZone": "UTC"})
    );
    let text = event.to_string();
    for private in ["Sam", "Lee", "sam@example.org"] {
        assert!(
            !text.contains(private),
            "the calendar event holds {private}: {text}"
        );
    }
    let placed_etag = event["@odata.etag"].as_str().unwrap().to_owned();

    let store = Store::open(&app.store).unwrap();
    store.answer(&id, Answer::Confirm, Utc::now()).unwrap();
    eventually("the event shown busy", 15, || async {
        show_as(&graph, &id).as_deref() == Some("busy")
    })
    .await;
    let confirm = graph
        .requests()
        .into_iter()
        .find(|r| r.1 == "events.update")
        .unwrap();
    assert_eq!(
        confirm.2.as_deref(),
        Some(placed_etag.as_str()),
        "confirmed with If-Match on the stored etag"
    );

    app.cancel(&created).await;
    eventually("the event removed", 10, || async {
        graph.booking_event(&id).is_none()
    })
    .await;
    assert_eq!(graph.event_count(), 0);
    assert_eq!(
        graph
            .requests()
            .iter()
            .filter(|r| r.1 == "events.create")
            .count(),
        1,
        "one event ever, never a second"
    );
}

#[tokio::test]
async fn against_the_stand_in_an_access_token_is_renewed_before_it_lapses_and_after_a_401_and_the_rotated_refresh_token_is_kept(
) {
    let graph = MicrosoftStandIn::start().await;
    // Tokens that live 61 s: with a minute's margin, each is renewed after a second.
    graph.set_token_lifetime(61);
    let folder = Arc::new(tempfile::tempdir().unwrap());
    let first_refresh = graph.issue_refresh_token();
    let config = microsoft_config(&graph, folder.path(), Some(&first_refresh));
    let token_file = folder.path().join("calendar-token.json");
    let app = spawn_on(&config, folder).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let first = app.book(app.a_free_slot().await).await;
    eventually("the first event", 10, || async {
        graph.booking_event(&first.booking.id).is_some()
    })
    .await;
    assert!(
        graph.grants().len() >= 2,
        "a token was renewed: {:?}",
        graph.grants()
    );
    assert_eq!(
        graph.unauthorized(),
        0,
        "renewed before it lapsed, never refused"
    );
    let stored: Value = serde_json::from_slice(&std::fs::read(&token_file).unwrap()).unwrap();
    assert_ne!(stored["refresh_token"], first_refresh.as_str());
    assert_eq!(
        stored["refresh_token"].as_str(),
        graph.latest_refresh_token().as_deref(),
        "the refresh token Microsoft rotated in is the one kept"
    );

    // Now the tokens lapse unannounced (the stand-in's clock jumps an hour).
    graph.set_token_lifetime(3600);
    graph.advance(3600);
    let slots = app.open_slots("free-consultation").await;
    let second = app.book(slots[30]).await;
    eventually("the second event", 10, || async {
        graph.booking_event(&second.booking.id).is_some()
    })
    .await;
    assert!(graph.unauthorized() >= 1, "the lapsed token was refused");
    let store = Store::open(&app.store).unwrap();
    assert_eq!(
        store.calendar_state(&second.booking.id).unwrap().as_deref(),
        Some("placed"),
        "the 401 was answered by a new token and the write went through"
    );
}

#[tokio::test]
async fn against_the_stand_in_a_revoked_refresh_token_stops_check_config_and_serve_with_the_advice()
{
    let graph = MicrosoftStandIn::start().await;
    let folder = tempfile::tempdir().unwrap();
    let refresh = graph.issue_refresh_token();
    let config = microsoft_config(&graph, folder.path(), Some(&refresh));
    let file = folder.path().join("practice.toml");
    std::fs::write(&file, &config).unwrap();
    let output = tokio::task::spawn_blocking({
        let file = file.clone();
        move || check_config(&file)
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    graph.revoke_refresh_tokens();

    let output = tokio::task::spawn_blocking({
        let file = file.clone();
        move || check_config(&file)
    })
    .await
    .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("run firststep-adapter connect microsoft again"),
        "{stderr}"
    );
    let stored = std::fs::read_to_string(folder.path().join("calendar-token.json")).unwrap();
    for secret in [refresh.as_str(), &stored] {
        assert!(!stderr.contains(secret), "a secret was printed: {stderr}");
    }
    let settings = Settings::from_toml(&config, folder.path()).unwrap();
    let error = Application::build(settings)
        .await
        .err()
        .expect("the start is refused");
    assert!(
        format!("{error:#}").contains("connect microsoft again"),
        "{error:#}"
    );
}

#[tokio::test]
async fn against_the_stand_in_healthz_fails_while_the_token_is_revoked_and_bookings_are_still_taken(
) {
    let graph = MicrosoftStandIn::start().await;
    let app = spawn_with_microsoft(&graph).await;
    assert_eq!(app.get("/healthz").await.status(), 200);

    graph.revoke_refresh_tokens();
    graph.advance(3600);

    eventually("/healthz failing", 15, || async {
        app.get("/healthz").await.status() == 503
    })
    .await;
    let body = app.get("/healthz").await.text().await.unwrap();
    assert!(body.contains("calendar"), "{body}");
    let response = app
        .post_booking(&new_key(), &booking_body(app.a_free_slot().await))
        .await;
    assert_eq!(
        response.status(),
        201,
        "bookings are still taken into the outbox"
    );
    let created: firststep_protocol::BookingCreated = response.json().await.unwrap();
    let store = Store::open(&app.store).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        store
            .calendar_state(&created.booking.id)
            .unwrap()
            .as_deref(),
        Some("owed")
    );
}

fn entry(booking_id: &str, start: DateTime<Utc>) -> CalendarEntry {
    CalendarEntry {
        booking_id: booking_id.to_owned(),
        slot: Interval::new(start, start + Span::minutes(15)),
        title: "Consultation request".into(),
        description: "Booked through First Step.".into(),
        confirmed: false,
        stamp: Utc::now(),
    }
}

fn calendar_on(graph: &MicrosoftStandIn, folder: &std::path::Path) -> MicrosoftCalendar {
    let token_file = folder.join("calendar-token.json");
    std::fs::write(
        &token_file,
        json!({"refresh_token": graph.issue_refresh_token()}).to_string(),
    )
    .unwrap();
    let (graph_base, token_url) = (
        format!("{}/v1.0", graph.base),
        token_url(&graph.base, "common"),
    );
    MicrosoftCalendar::new(
        MicrosoftOptions {
            graph_base: &graph_base,
            token_url: &token_url,
            calendar_id: None,
            user: None,
            grant: Grant::RefreshToken {
                client_id: CLIENT_ID.into(),
                client_secret: None,
                token_file,
            },
        },
        chrono_tz::UTC,
    )
}

#[tokio::test]
async fn against_the_stand_in_throttling_and_server_errors_are_unreachable_retry_after_is_honoured_and_a_lost_answer_makes_no_second_event(
) {
    let graph = MicrosoftStandIn::start().await;
    let folder = tempfile::tempdir().unwrap();
    let calendar = calendar_on(&graph, folder.path());
    let hold = entry("bk_AAAAthrottled01", tomorrow_at(9, 0));

    graph.fail_next(Failure::TooManyRequests { retry_after: 2 });
    let first = calendar.place(&hold).await;
    assert!(
        matches!(first, Err(CalendarError::Unreachable(_))),
        "{first:?}"
    );
    let asked = graph.requests().len();
    let early = calendar.place(&hold).await;
    assert!(
        matches!(early, Err(CalendarError::Unreachable(_))),
        "{early:?}"
    );
    assert_eq!(
        graph.requests().len(),
        asked,
        "nothing is sent before Retry-After has passed"
    );

    tokio::time::sleep(Duration::from_millis(2100)).await;
    for failure in [Failure::Unavailable { retry_after: 0 }, Failure::Internal] {
        graph.fail_next(failure);
        let answer = calendar.place(&hold).await;
        assert!(
            matches!(answer, Err(CalendarError::Unreachable(_))),
            "{failure:?}: {answer:?}"
        );
    }
    assert_eq!(graph.event_count(), 0);
    // The create lands but its answer is lost: the retry carries the same
    // transactionId, and Graph gives back the event the first one made.
    graph.fail_next(Failure::AnswerLost);
    assert!(matches!(
        calendar.place(&hold).await,
        Err(CalendarError::Unreachable(_))
    ));
    let placed = calendar.place(&hold).await.expect("placed on the retry");
    assert_eq!(graph.event_count(), 1, "one event, however many attempts");
    assert_eq!(
        placed.etag.as_deref(),
        graph.booking_event(&hold.booking_id).unwrap()["@odata.etag"].as_str()
    );
}

#[tokio::test]
async fn against_the_stand_in_confirming_a_hold_the_practice_edited_keeps_their_edit_and_removing_twice_is_done(
) {
    let graph = MicrosoftStandIn::start().await;
    let folder = tempfile::tempdir().unwrap();
    let calendar = calendar_on(&graph, folder.path());
    let mut hold = entry("bk_AAAAeditedbyus", tomorrow_at(9, 0));
    let placed = calendar.place(&hold).await.unwrap();
    let event_id = graph.booking_event(&hold.booking_id).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    graph.edit_event(
        &event_id,
        json!({"subject": "Consultation request (call first)"}),
    );
    let edited_etag = graph.booking_event(&hold.booking_id).unwrap()["@odata.etag"]
        .as_str()
        .unwrap()
        .to_owned();

    hold.confirmed = true;
    let confirmed = calendar
        .confirm(&hold, &placed)
        .await
        .expect("confirmed despite the edit");

    let event = graph.booking_event(&hold.booking_id).unwrap();
    assert_eq!(event["showAs"], "busy");
    assert_eq!(
        event["subject"], "Consultation request (call first)",
        "the practice's edit stays"
    );
    assert_eq!(confirmed.etag.as_deref(), event["@odata.etag"].as_str());
    let updates: Vec<_> = graph
        .requests()
        .into_iter()
        .filter(|r| r.1 == "events.update")
        .collect();
    assert_eq!(updates.len(), 2, "{updates:?}");
    assert_eq!(updates[0].3, 412, "the stale etag was refused first");
    assert_eq!(
        updates[1].2.as_ref(),
        Some(&edited_etag),
        "then only showAs, on the practice's etag"
    );

    calendar
        .release(&hold.booking_id, &confirmed)
        .await
        .unwrap();
    assert_eq!(graph.event_count(), 0);
    calendar
        .release(&hold.booking_id, &confirmed)
        .await
        .expect("removing what is gone is done");
    // Confirming what the practice deleted is a conflict, not a new event.
    let gone = calendar.confirm(&hold, &confirmed).await;
    assert!(matches!(gone, Err(CalendarError::Conflict(_))), "{gone:?}");
    assert_eq!(graph.event_count(), 0);
}

#[tokio::test]
async fn against_the_stand_in_graph_down_a_while_then_back_gets_every_booking_once_also_across_a_restart(
) {
    let graph = MicrosoftStandIn::start().await;
    let folder = Arc::new(tempfile::tempdir().unwrap());
    let config = microsoft_config(&graph, folder.path(), Some(&graph.issue_refresh_token()));
    let app = spawn_on(&config, folder).await;
    let slots = app.open_slots("free-consultation").await;
    graph.set_down(true);
    let before = app.book(slots[10]).await;
    let also = app.book(slots[20]).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let store = Store::open(&app.store).unwrap();
    assert_eq!(
        store.calendar_state(&before.booking.id).unwrap().as_deref(),
        Some("owed")
    );

    // Back, with one create's answer lost on the way: still exactly one event each.
    graph.set_down(false);
    graph.fail_next(Failure::AnswerLost);
    eventually("both events after the outage", 30, || async {
        graph.booking_event(&before.booking.id).is_some()
            && graph.booking_event(&also.booking.id).is_some()
    })
    .await;

    graph.set_down(true);
    let third = app.book(slots[30]).await;
    let folder = app.stop().await;
    graph.set_down(false);
    let restarted = spawn_on(&config, folder).await;
    eventually("delivery by the restarted adapter", 15, || async {
        graph.booking_event(&third.booking.id).is_some()
    })
    .await;
    let store = Store::open(&restarted.store).unwrap();
    eventually("all recorded as placed", 10, || async {
        [&before, &also, &third]
            .iter()
            .all(|b| store.calendar_state(&b.booking.id).unwrap().as_deref() == Some("placed"))
    })
    .await;
    assert_eq!(graph.event_count(), 3, "every booking landed exactly once");
}

#[tokio::test]
async fn against_the_stand_in_graph_down_at_start_is_a_warning_and_serve_starts() {
    let graph = MicrosoftStandIn::start().await;
    graph.set_down(true);

    let app = spawn_with_microsoft(&graph).await;

    let created = app.book(app.a_free_slot().await).await;
    graph.set_down(false);
    eventually("delivery once Graph answers", 15, || async {
        graph.booking_event(&created.booking.id).is_some()
    })
    .await;
}

#[tokio::test]
async fn against_the_stand_in_a_foreign_event_in_the_slot_after_placing_withdraws_the_hold() {
    let graph = MicrosoftStandIn::start().await;
    let app = spawn_with_microsoft(&graph).await;
    let slot = app.a_free_slot().await;
    // The practice books the same time elsewhere; the adapter's copy of busy time is older.
    let dentist = graph.add_event(timed(slot, 30));

    let created = app.book(slot).await;

    let store = Store::open(&app.store).unwrap();
    let id = created.booking.id.clone();
    eventually("the conflict noticed", 10, || async {
        store.calendar_state(&id).unwrap().as_deref() == Some("conflicted")
    })
    .await;
    assert!(graph.booking_event(&id).is_none(), "the hold was withdrawn");
    assert_eq!(graph.event_count(), 1);
    assert!(
        graph
            .requests()
            .iter()
            .any(|r| r.1 == "events.delete" && r.3 == 204),
        "the hold was deleted, {dentist} stays"
    );
}

/// `connect microsoft` as a process, its printed lines passed on as they come.
fn connect(file: &std::path::Path) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_firststep-adapter"))
        .args([
            "connect",
            "microsoft",
            "--config",
            &file.display().to_string(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (lines, received) = std::sync::mpsc::channel();
    for stream in [
        Box::new(stdout) as Box<dyn std::io::Read + Send>,
        Box::new(stderr),
    ] {
        let lines = lines.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stream)
                .lines()
                .map_while(Result::ok)
            {
                let _ = lines.send(line);
            }
        });
    }
    (child, received)
}

/// The user code `connect` printed (after "enter the code").
async fn printed_code(lines: &std::sync::mpsc::Receiver<String>, seen: &mut Vec<String>) -> String {
    loop {
        let line = lines
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("no code printed: {seen:?}"));
        seen.push(line.clone());
        if let Some(code) = line.trim().strip_prefix("Code: ") {
            return code.to_owned();
        }
    }
}

// The printed lines are awaited blocking: the stand-in answers from another worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_microsoft_completes_against_the_stand_ins_device_code_endpoint_and_stores_the_token_0600(
) {
    use std::os::unix::fs::PermissionsExt;

    let graph = MicrosoftStandIn::start().await;
    // The first poll is told to slow down; then the sign-in is pending a while.
    graph.slow_down(1);
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("practice.toml");
    std::fs::write(&file, microsoft_config(&graph, folder.path(), None)).unwrap();
    let (mut child, lines) = connect(&file);
    let mut seen = Vec::new();
    let code = printed_code(&lines, &mut seen).await;
    assert!(
        seen.iter()
            .any(|l| l.contains(&format!("{}/devicelogin", graph.base))),
        "{seen:?}"
    );

    // The practice takes a while to sign in: the command keeps polling.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let polls = |graph: &MicrosoftStandIn| graph.grants().len();
    assert_eq!(polls(&graph), 0, "no token before the sign-in");
    assert!(
        child.try_wait().unwrap().is_none(),
        "still waiting: {seen:?}"
    );
    graph.answer_sign_in(&code, true);

    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    seen.extend(lines.try_iter());
    assert!(status.success(), "{seen:?}");
    assert!(seen.iter().any(|l| l.starts_with("Connected.")), "{seen:?}");
    let token_file = folder.path().join("calendar-token.json");
    let mode = std::fs::metadata(&token_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the token file is its owner's only");
    let stored: Value = serde_json::from_slice(&std::fs::read(&token_file).unwrap()).unwrap();
    assert!(graph.knows_refresh_token(stored["refresh_token"].as_str().unwrap()));
    assert_eq!(
        graph.grants(),
        ["urn:ietf:params:oauth:grant-type:device_code"]
    );

    let output = tokio::task::spawn_blocking(move || check_config(&file))
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

// The printed lines are awaited blocking: the stand-in answers from another worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_microsoft_says_so_when_the_sign_in_is_declined_and_writes_no_token() {
    let graph = MicrosoftStandIn::start().await;
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("practice.toml");
    std::fs::write(&file, microsoft_config(&graph, folder.path(), None)).unwrap();
    let (mut child, lines) = connect(&file);
    let mut seen = Vec::new();
    let code = printed_code(&lines, &mut seen).await;

    graph.answer_sign_in(&code, false);

    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    seen.extend(lines.try_iter());
    assert!(!status.success());
    assert!(seen.iter().any(|l| l.contains("declined")), "{seen:?}");
    assert!(!folder.path().join("calendar-token.json").exists());
}

#[tokio::test]
async fn against_the_stand_in_client_credentials_read_and_write_the_users_calendar() {
    let graph = MicrosoftStandIn::start().await;
    let ten = tomorrow_at(10, 0);
    graph.add_event_to(SECOND_CALENDAR, timed(ten, 60));
    // An event in the mailbox's other calendar does not count.
    graph.add_event(timed(tomorrow_at(11, 0), 60));
    let folder = Arc::new(tempfile::tempdir().unwrap());
    let config = format!(
        "{}\n{}calendar_id = \"{SECOND_CALENDAR}\"\n",
        crate::helpers::CONFIG,
        graph.app_calendar_table(folder.path())
    );

    let app = spawn_on(&config, folder).await;

    let open = app.open_slots("free-consultation").await;
    assert!(!open.contains(&ten), "busy time read");
    assert!(open.contains(&tomorrow_at(11, 0)));
    let created = app.book(app.a_free_slot().await).await;
    eventually("the event written", 10, || async {
        show_as(&graph, &created.booking.id).as_deref() == Some("tentative")
    })
    .await;
    assert_eq!(
        graph.booking_event(&created.booking.id).unwrap()["_calendar"],
        SECOND_CALENDAR
    );
    assert!(!graph.grants().is_empty());
    assert!(
        graph.grants().iter().all(|g| g == "client_credentials"),
        "{:?}",
        graph.grants()
    );
}

#[tokio::test]
async fn against_the_stand_in_a_calendar_that_is_not_there_stops_the_start_with_what_to_check() {
    let graph = MicrosoftStandIn::start().await;
    let folder = tempfile::tempdir().unwrap();
    let config = format!(
        "{}calendar_id = \"AAMkNoSuchCalendar\"\n",
        microsoft_config(&graph, folder.path(), Some(&graph.issue_refresh_token()))
    );
    let settings = Settings::from_toml(&config, folder.path()).unwrap();

    let error = Application::build(settings)
        .await
        .err()
        .expect("the start is refused");

    let text = format!("{error:#}");
    assert!(text.contains("404 Not Found ErrorItemNotFound"), "{text}");
    assert!(text.contains("calendar_id"), "{text}");
}
