//! What every calendar service reached with OAuth (Google, Microsoft) owes
//! the practice, written once and run by `google.rs` and `microsoft.rs`
//! against their stand-ins: tokens renewed, a revoked grant stopping the
//! start with the advice and failing `/healthz` while bookings are still
//! taken, outages and restarts delivering every booking exactly once, a
//! foreign event withdrawing a hold.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Duration as Span, Utc};
use firststep_adapter::calendar::CalendarEntry;
use firststep_adapter::config::Settings;
use firststep_adapter::Application;
use firststep_availability::Interval;

use crate::helpers::{booking_body, check_config, eventually, new_key, spawn_on, TestApp};

/// A service's stand-in, as these tests drive it.
pub trait ServiceStandIn {
    /// The service's name in `connect …` ("google").
    const SERVICE: &'static str;
    /// The `[calendar]` table for the practice's own account, with this
    /// refresh token written into `folder` when given.
    fn calendar_table(&self, folder: &Path, refresh_token: Option<&str>) -> String;
    fn issue_refresh_token(&self) -> String;
    /// The practice removes the app's access: every refresh token dies.
    fn revoke_refresh_tokens(&self);
    /// Moves the stand-in's clock on, so issued access tokens lapse.
    fn advance(&self, seconds: i64);
    fn set_token_lifetime(&self, seconds: i64);
    /// While down, every request answers 503.
    fn set_down(&self, down: bool);
    /// The next event written lands, but the answer saying so is lost.
    fn lose_next_answer(&self);
    /// Adds one of the practice's own appointments; its event id.
    fn add_appointment(&self, start: DateTime<Utc>, minutes: i64) -> String;
    /// Whether the booking's event is in the calendar (not deleted).
    fn booking_is_live(&self, booking_id: &str) -> bool;
    /// The ids of the calendar's events that are not deleted.
    fn live_events(&self) -> Vec<String>;
    /// Every token grant type that succeeded.
    fn grants(&self) -> Vec<String>;
    /// How many API requests were refused with 401.
    fn unauthorized(&self) -> usize;
}

/// The tests' practice on the stand-in's calendar, as the practice's own account.
pub fn config_for<S: ServiceStandIn>(
    service: &S,
    folder: &Path,
    refresh_token: Option<&str>,
) -> String {
    format!(
        "{}\n{}",
        crate::helpers::CONFIG,
        service.calendar_table(folder, refresh_token)
    )
}

/// An adapter on the stand-in, connected as the practice's own account.
pub async fn spawn_connected<S: ServiceStandIn>(service: &S) -> TestApp {
    let folder = Arc::new(tempfile::tempdir().unwrap());
    let config = config_for(service, folder.path(), Some(&service.issue_refresh_token()));
    spawn_on(&config, folder).await
}

/// Access tokens are renewed a minute before they lapse, and after a 401
/// when they lapse unannounced. Gives the adapter and its token file.
pub async fn tokens_are_renewed_before_they_lapse_and_after_a_401<S: ServiceStandIn>(
    service: &S,
) -> (TestApp, PathBuf) {
    // Tokens that live 61 s: with a minute's margin, each is renewed after a second.
    service.set_token_lifetime(61);
    let folder = Arc::new(tempfile::tempdir().unwrap());
    let config = config_for(service, folder.path(), Some(&service.issue_refresh_token()));
    let token_file = folder.path().join("calendar-token.json");
    let app = spawn_on(&config, folder).await;
    // The first token's margin is a second from when it was granted (at
    // start, or by the first busy-time round on a slow machine).
    eventually("the first token", 10, || async {
        !service.grants().is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let first = app.book(app.a_free_slot().await).await;
    eventually("the first event", 10, || async {
        service.booking_is_live(&first.booking.id)
    })
    .await;
    assert!(
        service.grants().len() >= 2,
        "a token was renewed: {:?}",
        service.grants()
    );
    assert_eq!(
        service.unauthorized(),
        0,
        "renewed before it lapsed, never refused"
    );

    // Now the tokens lapse unannounced (the stand-in's clock jumps an hour).
    service.set_token_lifetime(3600);
    service.advance(3600);
    let slots = app.open_slots("free-consultation").await;
    let second = app.book(slots[30]).await;
    // The event is in the calendar before its write is recorded (the
    // overlap check comes between): both are awaited.
    let store = app.open_store();
    eventually("the second event, written and recorded", 10, || async {
        service.booking_is_live(&second.booking.id)
            && store
                .run(|s| s.calendar_state(&second.booking.id))
                .unwrap()
                .as_deref()
                == Some("placed")
    })
    .await;
    assert!(service.unauthorized() >= 1, "the lapsed token was refused");
    (app, token_file)
}

/// A revoked refresh token stops `check-config` and `serve` with "run
/// firststep-adapter connect … again", and no secret is printed.
pub async fn a_revoked_refresh_token_stops_check_config_and_serve_with_the_advice<
    S: ServiceStandIn,
>(
    service: &S,
    secrets: &[&str],
) {
    let folder = tempfile::tempdir().unwrap();
    let refresh = service.issue_refresh_token();
    let config = config_for(service, folder.path(), Some(&refresh));
    let file = folder.path().join("practice.toml");
    std::fs::write(&file, &config).unwrap();
    let check = |file: PathBuf| async move {
        tokio::task::spawn_blocking(move || check_config(&file))
            .await
            .unwrap()
    };
    let output = check(file.clone()).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    service.revoke_refresh_tokens();

    let output = check(file).await;
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let advice = format!("run firststep-adapter connect {} again", S::SERVICE);
    assert!(stderr.contains(&advice), "{stderr}");
    let stored = std::fs::read_to_string(folder.path().join("calendar-token.json")).unwrap();
    for secret in secrets.iter().chain([&refresh.as_str(), &stored.as_str()]) {
        assert!(!stderr.contains(secret), "a secret was printed: {stderr}");
    }
    let settings = Settings::from_toml(&config, folder.path()).unwrap();
    let error = Application::build(settings)
        .await
        .err()
        .expect("the start is refused");
    assert!(format!("{error:#}").contains(&advice), "{error:#}");
}

/// With the grant revoked, `/healthz` reports the calendar failing, and
/// bookings are still taken into the outbox.
pub async fn healthz_fails_while_the_token_is_revoked_and_bookings_are_still_taken<
    S: ServiceStandIn,
>(
    service: &S,
) {
    let app = spawn_connected(service).await;
    assert_eq!(app.get("/healthz").await.status(), 200);

    service.revoke_refresh_tokens();
    service.advance(3600);

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
    let store = app.open_store();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        store
            .run(|s| s.calendar_state(&created.booking.id))
            .unwrap()
            .as_deref(),
        Some("owed")
    );
}

/// The service down a while, then back with one answer lost on the way,
/// then down across an adapter restart: every booking lands exactly once.
pub async fn down_a_while_then_back_gets_every_booking_once_also_across_a_restart<
    S: ServiceStandIn,
>(
    service: &S,
) {
    let folder = Arc::new(tempfile::tempdir().unwrap());
    let config = config_for(service, folder.path(), Some(&service.issue_refresh_token()));
    let app = spawn_on(&config, folder).await;
    let slots = app.open_slots("free-consultation").await;
    service.set_down(true);
    let before = app.book(slots[10]).await;
    let also = app.book(slots[20]).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let store = app.open_store();
    assert_eq!(
        store
            .run(|s| s.calendar_state(&before.booking.id))
            .unwrap()
            .as_deref(),
        Some("owed")
    );

    service.set_down(false);
    service.lose_next_answer();
    eventually("both events after the outage", 30, || async {
        service.booking_is_live(&before.booking.id) && service.booking_is_live(&also.booking.id)
    })
    .await;

    service.set_down(true);
    let third = app.book(slots[30]).await;
    let folder = app.stop().await;
    service.set_down(false);
    let restarted = spawn_on(&config, folder).await;
    eventually("delivery by the restarted adapter", 15, || async {
        service.booking_is_live(&third.booking.id)
    })
    .await;
    let store = restarted.open_store();
    eventually("all recorded as placed", 10, || async {
        [&before, &also, &third].iter().all(|b| {
            store
                .run(|s| s.calendar_state(&b.booking.id))
                .unwrap()
                .as_deref()
                == Some("placed")
        })
    })
    .await;
    assert_eq!(
        service.live_events().len(),
        3,
        "every booking landed exactly once"
    );
}

/// A service that does not answer at start is a warning: `serve` starts and
/// delivers once it answers.
pub async fn down_at_start_is_a_warning_and_serve_starts<S: ServiceStandIn>(service: &S) {
    service.set_down(true);

    let app = spawn_connected(service).await;

    let created = app.book(app.a_free_slot().await).await;
    service.set_down(false);
    eventually("delivery once the service answers", 15, || async {
        service.booking_is_live(&created.booking.id)
    })
    .await;
}

/// The practice books the same time elsewhere while the adapter's copy of
/// busy time is older: after placing, the hold is withdrawn.
pub async fn a_foreign_event_in_the_slot_after_placing_withdraws_the_hold<S: ServiceStandIn>(
    service: &S,
) {
    let app = spawn_connected(service).await;
    let slot = app.a_free_slot().await;
    let dentist = service.add_appointment(slot, 30);

    let created = app.book(slot).await;

    let store = app.open_store();
    let id = created.booking.id.clone();
    eventually("the conflict noticed", 10, || async {
        store.run(|s| s.calendar_state(&id)).unwrap().as_deref() == Some("conflicted")
    })
    .await;
    assert!(!service.booking_is_live(&id), "the hold was withdrawn");
    assert_eq!(
        service.live_events(),
        [dentist],
        "the practice's own event stays"
    );
}

/// Without a token file, `check-config` says to run `connect …`.
pub async fn check_config_without_a_token_file_says_to_run_connect<S: ServiceStandIn>(service: &S) {
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("practice.toml");
    std::fs::write(&file, config_for(service, folder.path(), None)).unwrap();

    let output = tokio::task::spawn_blocking(move || check_config(&file))
        .await
        .unwrap();

    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("calendar-token.json"), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "run firststep-adapter connect {} --config",
            S::SERVICE
        )),
        "{stderr}"
    );
}

/// A 15-minute request, as the outbox hands it to a backend.
pub fn hold(booking_id: &str, start: DateTime<Utc>) -> CalendarEntry {
    CalendarEntry {
        booking_id: booking_id.to_owned(),
        slot: Interval::new(start, start + Span::minutes(15)),
        title: "Consultation request".into(),
        description: "Booked through First Step.".into(),
        confirmed: false,
        stamp: Utc::now(),
    }
}
