//! The Google Calendar backend, run against the Google stand-in
//! (`google_standin.rs`, a local imitation of Google's documented
//! endpoints started by each test on 127.0.0.1): busy time, the life of a
//! booking's event, tokens, rate limits, outages, `connect google`, and a
//! service account.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Duration as Span, Utc};
use firststep_adapter::calendar::google::{GoogleCalendar, GoogleOptions};
use firststep_adapter::calendar::oauth::Grant;
use firststep_adapter::calendar::{Calendar, CalendarEntry, CalendarError};
use firststep_adapter::config::{Secret, Settings};
use firststep_adapter::store::{Answer, Store};
use firststep_adapter::Application;
use firststep_availability::Interval;
use serde_json::json;

use crate::google_standin::{
    live_ids, Failure, GoogleStandIn, CALENDAR_ADDRESS, CLIENT_ID, CLIENT_SECRET,
};
use crate::helpers::{
    booking_body, check_config, eventually, new_key, spawn_on, tomorrow_at, TestApp,
};

fn timed(start: DateTime<Utc>, minutes: i64) -> serde_json::Value {
    json!({
        "summary": "Private appointment",
        "start": {"dateTime": start.to_rfc3339()},
        "end": {"dateTime": (start + Span::minutes(minutes)).to_rfc3339()},
    })
}

fn with(mut event: serde_json::Value, extra: serde_json::Value) -> serde_json::Value {
    event
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    event
}

/// The tests' practice on the stand-in's calendar, as the practice's own account.
fn google_config(
    google: &GoogleStandIn,
    folder: &std::path::Path,
    refresh_token: Option<&str>,
) -> String {
    format!(
        "{}\n{}",
        crate::helpers::CONFIG,
        google.calendar_table(folder, refresh_token)
    )
}

/// An adapter on the stand-in, connected as the practice's own account.
async fn spawn_with_google(google: &GoogleStandIn) -> TestApp {
    let folder = Arc::new(tempfile::tempdir().unwrap());
    let config = google_config(google, folder.path(), Some(&google.issue_refresh_token()));
    spawn_on(&config, folder).await
}

fn status_of(google: &GoogleStandIn, booking: &str) -> Option<String> {
    google
        .booking_event(booking)
        .and_then(|e| e["status"].as_str().map(str::to_owned))
}

#[tokio::test]
async fn against_the_stand_in_other_events_hide_slots_unless_free_cancelled_or_declined() {
    let google = GoogleStandIn::start().await;
    // Two events a page: busy time is read across pages.
    google.set_page_size(2);
    let ten = tomorrow_at(10, 0);
    google.add_event(timed(ten, 60));
    google.add_event(with(
        timed(tomorrow_at(13, 0), 30),
        json!({"recurrence": ["RRULE:FREQ=DAILY;COUNT=3"]}),
    ));
    google.add_event(with(
        timed(tomorrow_at(14, 0), 30),
        json!({"status": "tentative"}),
    ));
    google.add_event(with(
        timed(tomorrow_at(15, 0), 30),
        json!({"transparency": "transparent"}),
    ));
    google.add_event(with(
        timed(tomorrow_at(16, 0), 30),
        json!({"status": "cancelled"}),
    ));
    google.add_event(with(
        timed(tomorrow_at(17, 0), 30),
        json!({"attendees": [
            {"email": "colleague@practice.example", "organizer": true, "responseStatus": "accepted"},
            {"email": CALENDAR_ADDRESS, "self": true, "responseStatus": "declined"},
        ]}),
    ));
    let away = (Utc::now() + Span::days(3)).date_naive();
    google.add_event(json!({
        "summary": "Away",
        "start": {"date": away.to_string()},
        "end": {"date": away.succ_opt().unwrap().to_string()},
    }));

    let app = spawn_with_google(&google).await;
    let open = app.open_slots("free-consultation").await;

    for busy in [
        ten,
        ten + Span::minutes(45),
        tomorrow_at(13, 0),
        tomorrow_at(13, 15) + Span::days(1),
        tomorrow_at(14, 0),
    ] {
        assert!(
            !open.contains(&busy),
            "{busy} is busy in the calendar but offered"
        );
    }
    for free in [
        tomorrow_at(11, 0),
        tomorrow_at(13, 30),
        tomorrow_at(15, 0),
        tomorrow_at(16, 0),
        tomorrow_at(17, 0),
    ] {
        assert!(open.contains(&free), "{free} is free but not offered");
    }
    let day = |h| away.and_hms_opt(h, 0, 0).unwrap().and_utc();
    let path = format!(
        "/v1/slots?service=free-consultation&from={}&to={}",
        crate::helpers::iso(day(0).max(Utc::now())),
        crate::helpers::iso(day(23))
    );
    let list: firststep_protocol::SlotList = app.get(&path).await.json().await.unwrap();
    assert!(
        list.slots.is_empty(),
        "the all-day event blocks its whole day"
    );
    let pages = google
        .requests()
        .iter()
        .filter(|r| r.1 == "events.list")
        .count();
    assert!(
        pages >= 4,
        "busy time was read page by page ({pages} requests)"
    );
}

#[tokio::test]
async fn against_the_stand_in_a_request_appears_tentative_and_private_is_confirmed_then_removed() {
    let google = GoogleStandIn::start().await;
    let app = spawn_with_google(&google).await;
    let slot = app.a_free_slot().await;

    let created = app.book(slot).await;

    let id = created.booking.id.clone();
    eventually("the tentative event", 10, || async {
        status_of(&google, &id).as_deref() == Some("tentative")
    })
    .await;
    let event = google.booking_event(&id).unwrap();
    assert_eq!(event["summary"], "Consultation request");
    assert_eq!(event["start"]["dateTime"], crate::helpers::iso(slot));
    let text = event.to_string();
    for private in ["Sam", "Lee", "sam@example.org"] {
        assert!(
            !text.contains(private),
            "the calendar event holds {private}: {text}"
        );
    }
    let placed_etag = event["etag"].as_str().unwrap().to_owned();

    let store = Store::open(&app.store).unwrap();
    // As the practice's signed link or the `requests` command does; the
    // running adapter's next outbox round delivers it.
    store.answer(&id, Answer::Confirm, Utc::now()).unwrap();
    eventually("the confirmed event", 15, || async {
        status_of(&google, &id).as_deref() == Some("confirmed")
    })
    .await;
    let confirm = google
        .requests()
        .into_iter()
        .find(|r| r.1 == "events.patch")
        .unwrap();
    assert_eq!(
        confirm.2.as_deref(),
        Some(placed_etag.as_str()),
        "confirmed with If-Match on the stored etag"
    );

    let cancel = app
        .client
        .delete(app.url(&format!("/v1/bookings/{id}")))
        .bearer_auth(&created.manage_token)
        .send()
        .await
        .unwrap();
    assert_eq!(cancel.status(), 200);
    eventually("the event removed", 10, || async {
        status_of(&google, &id).as_deref() == Some("cancelled")
    })
    .await;
    assert_eq!(google.event_count(), 1, "one event ever, never a second");
}

#[tokio::test]
async fn against_the_stand_in_an_access_token_is_renewed_before_it_lapses_and_after_a_401() {
    let google = GoogleStandIn::start().await;
    // Tokens that live 61 s: with a minute's margin, each is renewed after a second.
    google.set_token_lifetime(61);
    let app = spawn_with_google(&google).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let first = app.book(app.a_free_slot().await).await;
    eventually("the first event", 10, || async {
        google.booking_event(&first.booking.id).is_some()
    })
    .await;
    assert!(
        google.grants().len() >= 2,
        "a token was renewed: {:?}",
        google.grants()
    );
    assert_eq!(
        google.unauthorized(),
        0,
        "renewed before it lapsed, never refused"
    );

    // Now the tokens lapse unannounced (the stand-in's clock jumps an hour).
    google.set_token_lifetime(3600);
    google.advance(3600);
    let slots = app.open_slots("free-consultation").await;
    let second = app.book(slots[30]).await;
    eventually("the second event", 10, || async {
        google.booking_event(&second.booking.id).is_some()
    })
    .await;
    assert!(google.unauthorized() >= 1, "the lapsed token was refused");
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
    let google = GoogleStandIn::start().await;
    let folder = tempfile::tempdir().unwrap();
    let refresh = google.issue_refresh_token();
    let config = google_config(&google, folder.path(), Some(&refresh));
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

    google.revoke_refresh_tokens();

    let output = tokio::task::spawn_blocking({
        let file = file.clone();
        move || check_config(&file)
    })
    .await
    .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("run firststep-adapter connect google again"),
        "{stderr}"
    );
    for secret in [refresh.as_str(), CLIENT_SECRET] {
        assert!(!stderr.contains(secret), "a secret was printed: {stderr}");
    }
    let settings = Settings::from_toml(&config, folder.path()).unwrap();
    let error = Application::build(settings)
        .await
        .err()
        .expect("the start is refused");
    assert!(
        format!("{error:#}").contains("connect google again"),
        "{error:#}"
    );
}

#[tokio::test]
async fn against_the_stand_in_healthz_fails_while_the_token_is_revoked_and_bookings_are_still_taken(
) {
    let google = GoogleStandIn::start().await;
    let app = spawn_with_google(&google).await;
    assert_eq!(app.get("/healthz").await.status(), 200);

    google.revoke_refresh_tokens();
    google.advance(3600);

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

fn calendar_on(google: &GoogleStandIn, folder: &std::path::Path) -> GoogleCalendar {
    let token_file = folder.join("calendar-token.json");
    std::fs::write(
        &token_file,
        json!({"refresh_token": google.issue_refresh_token()}).to_string(),
    )
    .unwrap();
    let (api_base, token_url) = (
        format!("{}/calendar/v3", google.base),
        format!("{}/token", google.base),
    );
    GoogleCalendar::new(
        GoogleOptions {
            api_base: &api_base,
            token_url: &token_url,
            calendar_id: "primary",
            grant: Grant::RefreshToken {
                client_id: CLIENT_ID.into(),
                client_secret: Some(Secret::new(CLIENT_SECRET)),
                token_file,
            },
        },
        chrono_tz::UTC,
    )
}

#[tokio::test]
async fn against_the_stand_in_rate_limits_and_server_errors_are_unreachable_and_retry_after_is_honoured(
) {
    let google = GoogleStandIn::start().await;
    let folder = tempfile::tempdir().unwrap();
    let calendar = calendar_on(&google, folder.path());
    let hold = entry("bk_rate_limited", tomorrow_at(9, 0));

    google.fail_next(Failure::TooManyRequests { retry_after: 2 });
    let first = calendar.place(&hold).await;
    assert!(
        matches!(first, Err(CalendarError::Unreachable(_))),
        "{first:?}"
    );
    let asked = google.requests().len();
    let early = calendar.place(&hold).await;
    assert!(
        matches!(early, Err(CalendarError::Unreachable(_))),
        "{early:?}"
    );
    assert_eq!(
        google.requests().len(),
        asked,
        "nothing is sent before Retry-After has passed"
    );

    tokio::time::sleep(Duration::from_millis(2100)).await;
    for failure in [Failure::UserRateLimit, Failure::Backend] {
        google.fail_next(failure);
        let answer = calendar.place(&hold).await;
        assert!(
            matches!(answer, Err(CalendarError::Unreachable(_))),
            "{failure:?}: {answer:?}"
        );
    }
    // The insert lands but its answer is lost: the retry meets 409 and takes the event as its own.
    google.fail_next(Failure::AnswerLost);
    assert!(matches!(
        calendar.place(&hold).await,
        Err(CalendarError::Unreachable(_))
    ));
    let placed = calendar.place(&hold).await.expect("placed on the retry");
    assert!(placed.etag.is_some());
    assert_eq!(google.event_count(), 1, "one event, however many attempts");
    assert_eq!(
        google
            .requests()
            .iter()
            .filter(|r| r.1 == "events.insert" && r.3 == 409)
            .count(),
        1
    );
}

#[tokio::test]
async fn against_the_stand_in_confirming_a_hold_the_practice_edited_keeps_their_edit_and_removing_twice_is_done(
) {
    let google = GoogleStandIn::start().await;
    let folder = tempfile::tempdir().unwrap();
    let calendar = calendar_on(&google, folder.path());
    let mut hold = entry("bk_edited_by_the_practice", tomorrow_at(9, 0));
    let placed = calendar.place(&hold).await.unwrap();
    let id = firststep_adapter::calendar::google::event_id(&hold.booking_id);
    google.edit_event(&id, json!({"summary": "Consultation request (call first)"}));
    let edited_etag = google.booking_event(&hold.booking_id).unwrap()["etag"]
        .as_str()
        .unwrap()
        .to_owned();

    hold.confirmed = true;
    let confirmed = calendar
        .confirm(&hold, &placed)
        .await
        .expect("confirmed despite the edit");

    let event = google.booking_event(&hold.booking_id).unwrap();
    assert_eq!(event["status"], "confirmed");
    assert_eq!(
        event["summary"], "Consultation request (call first)",
        "the practice's edit stays"
    );
    assert_eq!(confirmed.etag.as_deref(), event["etag"].as_str());
    let patches: Vec<_> = google
        .requests()
        .into_iter()
        .filter(|r| r.1 == "events.patch")
        .collect();
    assert_eq!(patches.len(), 2, "{patches:?}");
    assert_eq!(patches[0].3, 412, "the stale etag was refused first");
    assert_eq!(
        patches[1].2.as_ref(),
        Some(&edited_etag),
        "then only the status, on the practice's etag"
    );

    calendar
        .release(&hold.booking_id, &confirmed)
        .await
        .unwrap();
    calendar
        .release(&hold.booking_id, &confirmed)
        .await
        .expect("410 Gone counts as done");
    assert_eq!(google.requests().last().unwrap().3, 410);
    calendar
        .release("bk_never_placed", &confirmed)
        .await
        .expect("404 counts as done");
}

#[tokio::test]
async fn check_config_without_a_token_file_says_to_run_connect_google() {
    let google = GoogleStandIn::start().await;
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("practice.toml");
    std::fs::write(&file, google_config(&google, folder.path(), None)).unwrap();

    let output = tokio::task::spawn_blocking(move || check_config(&file))
        .await
        .unwrap();

    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("calendar-token.json"), "{stderr}");
    assert!(
        stderr.contains("run firststep-adapter connect google --config"),
        "{stderr}"
    );
}

#[tokio::test]
async fn against_the_stand_in_google_down_a_while_then_back_gets_every_booking_once_also_across_a_restart(
) {
    let google = GoogleStandIn::start().await;
    let folder = Arc::new(tempfile::tempdir().unwrap());
    let config = google_config(&google, folder.path(), Some(&google.issue_refresh_token()));
    let app = spawn_on(&config, folder).await;
    let slots = app.open_slots("free-consultation").await;
    google.set_down(true);
    let before = app.book(slots[10]).await;
    let also = app.book(slots[20]).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let store = Store::open(&app.store).unwrap();
    assert_eq!(
        store.calendar_state(&before.booking.id).unwrap().as_deref(),
        Some("owed")
    );

    // Back, with one answer lost on the way: still exactly one event each.
    google.set_down(false);
    google.fail_next(Failure::AnswerLost);
    eventually("both events after the outage", 30, || async {
        google.booking_event(&before.booking.id).is_some()
            && google.booking_event(&also.booking.id).is_some()
    })
    .await;

    google.set_down(true);
    let third = app.book(slots[30]).await;
    let folder = app.stop().await;
    google.set_down(false);
    let restarted = spawn_on(&config, folder).await;
    eventually("delivery by the restarted adapter", 15, || async {
        google.booking_event(&third.booking.id).is_some()
    })
    .await;
    let store = Store::open(&restarted.store).unwrap();
    eventually("all recorded as placed", 10, || async {
        [&before, &also, &third]
            .iter()
            .all(|b| store.calendar_state(&b.booking.id).unwrap().as_deref() == Some("placed"))
    })
    .await;
    assert_eq!(
        live_ids(&google).len(),
        3,
        "every booking landed exactly once"
    );
    assert_eq!(google.event_count(), 3);
}

#[tokio::test]
async fn against_the_stand_in_google_down_at_start_is_a_warning_and_serve_starts() {
    let google = GoogleStandIn::start().await;
    google.set_down(true);

    let app = spawn_with_google(&google).await;

    let created = app.book(app.a_free_slot().await).await;
    google.set_down(false);
    eventually("delivery once Google answers", 15, || async {
        google.booking_event(&created.booking.id).is_some()
    })
    .await;
}

#[tokio::test]
async fn against_the_stand_in_a_foreign_event_in_the_slot_after_placing_withdraws_the_hold() {
    let google = GoogleStandIn::start().await;
    let app = spawn_with_google(&google).await;
    let slot = app.a_free_slot().await;
    // The practice books the same time elsewhere; the adapter's copy of busy time is older.
    let dentist = google.add_event(timed(slot, 30));

    let created = app.book(slot).await;

    let store = Store::open(&app.store).unwrap();
    let id = created.booking.id.clone();
    eventually("the conflict noticed", 10, || async {
        store.calendar_state(&id).unwrap().as_deref() == Some("conflicted")
    })
    .await;
    assert_eq!(
        status_of(&google, &id).as_deref(),
        Some("cancelled"),
        "the hold was withdrawn"
    );
    assert!(
        live_ids(&google).contains(&dentist),
        "the practice's own event stays"
    );
}

#[tokio::test]
async fn connect_google_completes_against_the_stand_ins_consent_page_and_stores_the_token_0600() {
    use std::io::BufRead;
    use std::os::unix::fs::PermissionsExt;

    let google = GoogleStandIn::start().await;
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("practice.toml");
    std::fs::write(&file, google_config(&google, folder.path(), None)).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_firststep-adapter"))
        .args(["connect", "google", "--config", &file.display().to_string()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    // Read every line (a closed pipe would stop the command), passing the address on.
    let (found, address) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let lines: Vec<String> = std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .inspect(|line| {
                if line.starts_with("http") {
                    let _ = found.send(line.clone());
                }
            })
            .collect();
        lines.join("\n")
    });
    let consent_url =
        tokio::task::spawn_blocking(move || address.recv_timeout(Duration::from_secs(20)))
            .await
            .unwrap()
            .expect("the consent address printed");
    assert!(
        consent_url.starts_with(&format!("{}/auth?", google.base)),
        "{consent_url}"
    );
    let query: std::collections::HashMap<String, String> = url::Url::parse(&consent_url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["client_id"], CLIENT_ID);
    assert!(query["redirect_uri"].starts_with("http://127.0.0.1:"));

    // The practice allows access in the browser: the stand-in redirects to
    // the adapter's loopback address with a code, which the client follows.
    let page = reqwest::get(&consent_url).await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Connected"));

    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    let printed = reader.join().unwrap();
    assert!(status.success(), "{printed}");
    assert!(printed.contains("Connected."), "{printed}");
    let token_file = folder.path().join("calendar-token.json");
    let mode = std::fs::metadata(&token_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the token file is its owner's only");
    let stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&token_file).unwrap()).unwrap();
    assert!(google.knows_refresh_token(stored["refresh_token"].as_str().unwrap()));
    assert_eq!(
        google.grants(),
        ["authorization_code"],
        "the code was exchanged with its PKCE verifier"
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

/// A fresh 2048-bit RSA key in PKCS#8 PEM, as a service account's key file holds.
fn service_account_key() -> String {
    let output = std::process::Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
        ])
        .output()
        .expect("openssl makes a test key");
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap()
}

fn public_key_der(pem: &str) -> Vec<u8> {
    use base64::Engine;
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap();
    let pair = ring::signature::RsaKeyPair::from_pkcs8(&der).unwrap();
    ring::signature::KeyPair::public_key(&pair)
        .as_ref()
        .to_vec()
}

#[tokio::test]
async fn against_the_stand_in_a_service_account_reads_and_writes_the_shared_calendar() {
    let google = GoogleStandIn::start().await;
    let pem = service_account_key();
    let email = "firststep@practice-project.iam.gserviceaccount.com";
    google.trust_service_account(email, public_key_der(&pem));
    let ten = tomorrow_at(10, 0);
    google.add_event(timed(ten, 60));
    let folder = Arc::new(tempfile::tempdir().unwrap());
    std::fs::write(
        folder.path().join("sa.json"),
        json!({"type": "service_account", "client_email": email, "private_key_id": "k1", "private_key": pem}).to_string(),
    )
    .unwrap();
    let config = format!(
        "{}\n[calendar]\nbackend = \"google\"\ncalendar_id = \"{CALENDAR_ADDRESS}\"\nservice_account_file = \"sa.json\"\n\
         api_base = \"{base}/calendar/v3\"\ntoken_url = \"{base}/token\"\n",
        crate::helpers::CONFIG,
        base = google.base
    );

    let app = spawn_on(&config, folder).await;

    assert!(
        !app.open_slots("free-consultation").await.contains(&ten),
        "busy time read"
    );
    let created = app.book(app.a_free_slot().await).await;
    eventually("the event written", 10, || async {
        status_of(&google, &created.booking.id).as_deref() == Some("tentative")
    })
    .await;
    assert!(!google.grants().is_empty());
    assert!(
        google
            .grants()
            .iter()
            .all(|g| g == "urn:ietf:params:oauth:grant-type:jwt-bearer"),
        "{:?}",
        google.grants()
    );
}
