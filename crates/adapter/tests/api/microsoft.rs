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
use firststep_adapter::calendar::{Calendar, CalendarError};
use firststep_adapter::config::Settings;
use firststep_adapter::store::Answer;
use firststep_adapter::Application;
use serde_json::{json, Value};

use crate::helpers::{check_config, eventually, spawn_on, tomorrow_at};
use crate::microsoft_standin::{Failure, MicrosoftStandIn, CLIENT_ID, SECOND_CALENDAR};
use crate::oauth_calendars::{self, spawn_connected, ServiceStandIn};

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

    let app = spawn_connected(&graph).await;
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
    let app = spawn_connected(&graph).await;
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

    let store = app.open_store();
    store
        .run(|s| s.answer(&id, Answer::Confirm, Utc::now()))
        .unwrap();
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

    let (_app, token_file) =
        oauth_calendars::tokens_are_renewed_before_they_lapse_and_after_a_401(&graph).await;

    // Each refresh answered with a new refresh token (the stand-in rotates them).
    let stored: Value = serde_json::from_slice(&std::fs::read(&token_file).unwrap()).unwrap();
    assert_eq!(
        stored["refresh_token"].as_str(),
        graph.latest_refresh_token().as_deref(),
        "the refresh token Microsoft rotated in is the one kept"
    );
}

#[tokio::test]
async fn against_the_stand_in_a_revoked_refresh_token_stops_check_config_and_serve_with_the_advice()
{
    oauth_calendars::a_revoked_refresh_token_stops_check_config_and_serve_with_the_advice(
        &MicrosoftStandIn::start().await,
        &[],
    )
    .await;
}

#[tokio::test]
async fn against_the_stand_in_healthz_fails_while_the_token_is_revoked_and_bookings_are_still_taken(
) {
    oauth_calendars::healthz_fails_while_the_token_is_revoked_and_bookings_are_still_taken(
        &MicrosoftStandIn::start().await,
    )
    .await;
}

#[tokio::test]
async fn check_config_without_a_token_file_says_to_run_connect_microsoft() {
    oauth_calendars::check_config_without_a_token_file_says_to_run_connect(
        &MicrosoftStandIn::start().await,
    )
    .await;
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
    let hold = oauth_calendars::hold("bk_AAAAthrottled01", tomorrow_at(9, 0));

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
    let mut hold = oauth_calendars::hold("bk_AAAAeditedbyus", tomorrow_at(9, 0));
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
    oauth_calendars::down_a_while_then_back_gets_every_booking_once_also_across_a_restart(
        &MicrosoftStandIn::start().await,
    )
    .await;
}

#[tokio::test]
async fn against_the_stand_in_graph_down_at_start_is_a_warning_and_serve_starts() {
    oauth_calendars::down_at_start_is_a_warning_and_serve_starts(&MicrosoftStandIn::start().await)
        .await;
}

#[tokio::test]
async fn against_the_stand_in_a_foreign_event_in_the_slot_after_placing_withdraws_the_hold() {
    oauth_calendars::a_foreign_event_in_the_slot_after_placing_withdraws_the_hold(
        &MicrosoftStandIn::start().await,
    )
    .await;
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

/// The command's exit and the lines it printed last: read to the end of
/// both streams (their readers may still be sending when it exits).
async fn finished(
    mut child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
) -> (std::process::ExitStatus, Vec<String>) {
    tokio::task::spawn_blocking(move || (child.wait().unwrap(), lines.iter().collect()))
        .await
        .unwrap()
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
    std::fs::write(
        &file,
        oauth_calendars::config_for(&graph, folder.path(), None),
    )
    .unwrap();
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

    let (status, rest) = finished(child, lines).await;
    seen.extend(rest);
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
    std::fs::write(
        &file,
        oauth_calendars::config_for(&graph, folder.path(), None),
    )
    .unwrap();
    let (child, lines) = connect(&file);
    let mut seen = Vec::new();
    let code = printed_code(&lines, &mut seen).await;

    graph.answer_sign_in(&code, false);

    let (status, rest) = finished(child, lines).await;
    seen.extend(rest);
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
async fn against_the_stand_in_a_calendar_not_there_or_not_allowed_stops_the_start_with_what_to_check(
) {
    let graph = MicrosoftStandIn::start().await;
    let folder = tempfile::tempdir().unwrap();
    let connected =
        oauth_calendars::config_for(&graph, folder.path(), Some(&graph.issue_refresh_token()));
    let refused = |config: String| {
        let settings = Settings::from_toml(&config, folder.path()).unwrap();
        async move {
            let error = Application::build(settings)
                .await
                .err()
                .expect("the start is refused");
            format!("{error:#}")
        }
    };

    let unknown = refused(format!("{connected}calendar_id = \"AAMkNoSuchCalendar\"\n")).await;
    assert!(
        unknown.contains("404 Not Found ErrorItemNotFound"),
        "{unknown}"
    );
    assert!(unknown.contains("calendar_id"), "{unknown}");

    graph.deny_access();
    let denied = refused(connected).await;
    assert!(denied.contains("403 ErrorAccessDenied"), "{denied}");
    assert!(denied.contains("Calendars.ReadWrite"), "{denied}");
}

impl ServiceStandIn for MicrosoftStandIn {
    const SERVICE: &'static str = "microsoft";

    fn calendar_table(&self, folder: &std::path::Path, refresh_token: Option<&str>) -> String {
        MicrosoftStandIn::calendar_table(self, folder, refresh_token)
    }

    fn issue_refresh_token(&self) -> String {
        MicrosoftStandIn::issue_refresh_token(self)
    }

    fn revoke_refresh_tokens(&self) {
        MicrosoftStandIn::revoke_refresh_tokens(self)
    }

    fn advance(&self, seconds: i64) {
        MicrosoftStandIn::advance(self, seconds)
    }

    fn set_token_lifetime(&self, seconds: i64) {
        MicrosoftStandIn::set_token_lifetime(self, seconds)
    }

    fn set_down(&self, down: bool) {
        MicrosoftStandIn::set_down(self, down)
    }

    fn lose_next_answer(&self) {
        self.fail_next(Failure::AnswerLost)
    }

    fn add_appointment(&self, start: DateTime<Utc>, minutes: i64) -> String {
        self.add_event(timed(start, minutes))
    }

    /// Graph deletes an event outright: there is one while it lives.
    fn booking_is_live(&self, booking_id: &str) -> bool {
        self.booking_event(booking_id).is_some()
    }

    fn live_events(&self) -> Vec<String> {
        MicrosoftStandIn::event_ids(self)
    }

    fn grants(&self) -> Vec<String> {
        MicrosoftStandIn::grants(self)
    }

    fn unauthorized(&self) -> usize {
        MicrosoftStandIn::unauthorized(self)
    }
}
