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
use firststep_adapter::calendar::{Calendar, CalendarError};
use firststep_adapter::config::Secret;
use firststep_adapter::store::Answer;
use serde_json::json;

use crate::google_standin::{
    live_ids, Failure, GoogleStandIn, CALENDAR_ADDRESS, CLIENT_ID, CLIENT_SECRET,
};
use crate::helpers::{check_config, eventually, spawn_on, tomorrow_at};
use crate::oauth_calendars::{self, spawn_connected, ServiceStandIn};

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

    let app = spawn_connected(&google).await;
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
    let app = spawn_connected(&google).await;
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

    let store = app.open_store();
    // As the practice's signed link or the `requests` command does; the
    // running adapter's next outbox round delivers it.
    store
        .run(|s| s.answer(&id, Answer::Confirm, Utc::now()))
        .unwrap();
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
    oauth_calendars::tokens_are_renewed_before_they_lapse_and_after_a_401(
        &GoogleStandIn::start().await,
    )
    .await;
}

#[tokio::test]
async fn against_the_stand_in_a_revoked_refresh_token_stops_check_config_and_serve_with_the_advice()
{
    oauth_calendars::a_revoked_refresh_token_stops_check_config_and_serve_with_the_advice(
        &GoogleStandIn::start().await,
        &[CLIENT_SECRET],
    )
    .await;
}

#[tokio::test]
async fn against_the_stand_in_healthz_fails_while_the_token_is_revoked_and_bookings_are_still_taken(
) {
    oauth_calendars::healthz_fails_while_the_token_is_revoked_and_bookings_are_still_taken(
        &GoogleStandIn::start().await,
    )
    .await;
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
    let hold = oauth_calendars::hold("bk_rate_limited", tomorrow_at(9, 0));

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
    let mut hold = oauth_calendars::hold("bk_edited_by_the_practice", tomorrow_at(9, 0));
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
    oauth_calendars::check_config_without_a_token_file_says_to_run_connect(
        &GoogleStandIn::start().await,
    )
    .await;
}

#[tokio::test]
async fn against_the_stand_in_google_down_a_while_then_back_gets_every_booking_once_also_across_a_restart(
) {
    oauth_calendars::down_a_while_then_back_gets_every_booking_once_also_across_a_restart(
        &GoogleStandIn::start().await,
    )
    .await;
}

#[tokio::test]
async fn against_the_stand_in_google_down_at_start_is_a_warning_and_serve_starts() {
    oauth_calendars::down_at_start_is_a_warning_and_serve_starts(&GoogleStandIn::start().await)
        .await;
}

#[tokio::test]
async fn against_the_stand_in_a_foreign_event_in_the_slot_after_placing_withdraws_the_hold() {
    oauth_calendars::a_foreign_event_in_the_slot_after_placing_withdraws_the_hold(
        &GoogleStandIn::start().await,
    )
    .await;
}

#[tokio::test]
async fn connect_google_completes_against_the_stand_ins_consent_page_and_stores_the_token_0600() {
    use std::io::BufRead;
    use std::os::unix::fs::PermissionsExt;

    let google = GoogleStandIn::start().await;
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("practice.toml");
    std::fs::write(
        &file,
        oauth_calendars::config_for(&google, folder.path(), None),
    )
    .unwrap();
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

impl ServiceStandIn for GoogleStandIn {
    const SERVICE: &'static str = "google";

    fn calendar_table(&self, folder: &std::path::Path, refresh_token: Option<&str>) -> String {
        GoogleStandIn::calendar_table(self, folder, refresh_token)
    }

    fn issue_refresh_token(&self) -> String {
        GoogleStandIn::issue_refresh_token(self)
    }

    fn revoke_refresh_tokens(&self) {
        GoogleStandIn::revoke_refresh_tokens(self)
    }

    fn advance(&self, seconds: i64) {
        GoogleStandIn::advance(self, seconds)
    }

    fn set_token_lifetime(&self, seconds: i64) {
        GoogleStandIn::set_token_lifetime(self, seconds)
    }

    fn set_down(&self, down: bool) {
        GoogleStandIn::set_down(self, down)
    }

    fn lose_next_answer(&self) {
        self.fail_next(Failure::AnswerLost)
    }

    fn add_appointment(&self, start: DateTime<Utc>, minutes: i64) -> String {
        self.add_event(timed(start, minutes))
    }

    fn booking_is_live(&self, booking_id: &str) -> bool {
        status_of(self, booking_id).is_some_and(|status| status != "cancelled")
    }

    fn live_events(&self) -> Vec<String> {
        live_ids(self).into_iter().collect()
    }

    fn grants(&self) -> Vec<String> {
        GoogleStandIn::grants(self)
    }

    fn unauthorized(&self) -> usize {
        GoogleStandIn::unauthorized(self)
    }
}
