//! Reminders over real SMTP (aiosmtpd): `reminders.hours_before` hours
//! before a confirmed booking, once, in the visitor's language and zone,
//! with how they meet and their manage link; none for a booking made later
//! than that, nor for one cancelled, declined or expired, even when the
//! reminder waited in the outbox meanwhile. Time passes by moving the
//! server's clock.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use firststep_adapter::mail::signed_link;
use firststep_adapter::store::Answer;
use firststep_protocol::BookingCreated;
use serde_json::json;

use crate::helpers::{
    assert_problems, booking_body, check_config, eventually, new_key, spawn_on, TestApp,
};
use crate::lifecycle::{mail_config, to, SECRET};
use crate::smtp_server::{Received, SmtpServer};

const VISITOR: &str = "sam@example.org";
/// Where the instant service of these tests happens.
const ROOM: &str = "Room 2, 5 River Street";

/// The test practice mailing through `smtp`, its instant service held in
/// [`ROOM`], reminding `hours_before` (`None`: the default); its store and
/// link secret in `folder`.
async fn spawn_in(
    smtp: &SmtpServer,
    hours_before: Option<&str>,
    folder: Arc<tempfile::TempDir>,
) -> TestApp {
    std::fs::write(folder.path().join("link-secret"), SECRET).unwrap();
    spawn_on(&config(smtp, hours_before), folder).await
}

fn config(smtp: &SmtpServer, hours_before: Option<&str>) -> String {
    let mut config = mail_config(smtp).replacen(
        "mode = \"instant\"\n",
        &format!("mode = \"instant\"\nlocation = \"in_person\"\naddress = \"{ROOM}\"\n"),
        1,
    );
    if let Some(hours) = hours_before {
        config += &format!("\n[reminders]\nhours_before = {hours}\n");
    }
    config
}

async fn spawn(smtp: &SmtpServer, hours_before: Option<&str>) -> TestApp {
    spawn_in(smtp, hours_before, Arc::new(tempfile::tempdir().unwrap())).await
}

/// The first open slot of `service` at least `ahead` from now.
async fn slot_in(app: &TestApp, service: &str, ahead: Duration) -> DateTime<Utc> {
    let from = app.now() + ahead;
    *app.open_slots_from(service, from)
        .await
        .iter()
        .find(|s| **s >= from)
        .expect("a free slot")
}

/// Sam (in Berlin, writing in `locale`) books `service` at `start`.
async fn book(app: &TestApp, service: &str, start: DateTime<Utc>, locale: &str) -> BookingCreated {
    let mut body = booking_body(start);
    body["service"] = json!(service);
    body["locale"] = json!(locale);
    let response = app.post_booking(&new_key(), &body).await;
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

/// An instant booking, confirmed at once, `ahead` from now.
async fn confirmed_in(app: &TestApp, ahead: Duration, locale: &str) -> BookingCreated {
    book(app, "intake", slot_in(app, "intake", ahead).await, locale).await
}

fn reminders(mails: &[Received]) -> Vec<&Received> {
    to(mails, VISITOR)
        .into_iter()
        .filter(|m| m.subject.starts_with("Reminder") || m.subject.starts_with("Recordatorio"))
        .collect()
}

/// Reminders queued in the store so far (sent or not).
fn queued(app: &TestApp) -> i64 {
    app.count_rows("SELECT COUNT(*) FROM outbox WHERE action = 'mail:visitor_reminder'")
}

/// Returns once the outbox has run a round that began now or later: a
/// request made now (by someone else) has its visitor's email sent by such
/// a round, which first queued every reminder due, so the store then shows
/// them. `smtp` must be taking mail.
async fn a_round_has_run(app: &TestApp, smtp: &SmtpServer) {
    let address = format!("{}@example.net", new_key());
    let mut body = booking_body(app.a_free_slot().await);
    body["client"]["email"] = json!(address);
    assert_eq!(app.post_booking(&new_key(), &body).await.status(), 201);
    eventually("a later request's email", 10, || async {
        !to(&smtp.received(), &address).is_empty()
    })
    .await;
}

/// After a round that began now: Sam has had one reminder, and only one
/// was ever queued.
async fn assert_reminded_once(app: &TestApp, smtp: &SmtpServer) {
    a_round_has_run(app, smtp).await;
    assert_eq!(reminders(&smtp.received()).len(), 1);
    assert_eq!(queued(app), 1);
}

/// Waits for the `count`th reminder to Sam, and a moment more for any other.
async fn wait_for_reminders(smtp: &SmtpServer, count: usize) -> Vec<Received> {
    eventually("the reminder", 10, || async {
        reminders(&smtp.received()).len() >= count
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    reminders(&smtp.received()).into_iter().cloned().collect()
}

#[tokio::test]
async fn a_confirmed_booking_is_reminded_a_day_before_once_in_the_visitors_language_and_zone() {
    let smtp = SmtpServer::start().await;
    let app = spawn(&smtp, None).await;
    let created = confirmed_in(&app, Duration::days(3), "es-ES").await;
    let start = created.booking.start;
    smtp.wait_for(2, 10).await;

    app.advance_past(start - Duration::hours(24) - Duration::minutes(1));
    a_round_has_run(&app, &smtp).await;
    assert_eq!(queued(&app), 0, "not before its moment");
    assert!(reminders(&smtp.received()).is_empty());

    app.advance(Duration::minutes(1));
    let sent = wait_for_reminders(&smtp, 1).await;
    let reminder = &sent[0];
    assert_eq!(
        reminder.subject,
        "Recordatorio: Intake session — Test Practice"
    );
    let local = start.with_timezone(&chrono_tz::Europe::Berlin);
    let hour = local.format(", %-H:%M (Europe/Berlin)").to_string();
    assert!(reminder.body.contains(&hour), "{hour}: {}", reminder.body);
    assert!(
        reminder
            .body
            .contains(&format!("\n\nEn persona, en {ROOM}.\n\n")),
        "{}",
        reminder.body
    );
    // The manage link opens the visitor's page, as the first email's does, in their language.
    let manage = crate::lifecycle::link(&app, &reminder.body, "/manage/");
    let page = app.client.get(&manage).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("Estado: <strong>confirmada</strong>"));

    // Later rounds, up to and past the start, send nothing more.
    app.advance_past(start - Duration::minutes(1));
    a_round_has_run(&app, &smtp).await;
    app.advance_past(start + Duration::hours(1));
    assert_reminded_once(&app, &smtp).await;
}

#[tokio::test]
async fn two_hours_before_values_send_two_reminders_each_at_its_moment() {
    let smtp = SmtpServer::start().await;
    let app = spawn(&smtp, Some("[24, 2]")).await;
    let created = confirmed_in(&app, Duration::days(2), "en-US").await;
    let start = created.booking.start;
    smtp.wait_for(2, 10).await;

    app.advance_past(start - Duration::hours(24));
    let first = wait_for_reminders(&smtp, 1).await;
    assert_eq!(first.len(), 1);
    assert_eq!(
        first[0].subject,
        "Reminder: your Intake session — Test Practice"
    );
    assert!(
        first[0]
            .body
            .contains(&format!("\n\nIn person, at {ROOM}.\n\n")),
        "{}",
        first[0].body
    );

    app.advance_past(start - Duration::hours(2) - Duration::minutes(1));
    a_round_has_run(&app, &smtp).await;
    assert_eq!(queued(&app), 1, "the second waits for its moment");

    app.advance(Duration::minutes(1));
    assert_eq!(wait_for_reminders(&smtp, 2).await.len(), 2);
}

#[tokio::test]
async fn a_booking_made_later_than_the_reminders_moment_gets_none() {
    let smtp = SmtpServer::start().await;
    let app = spawn(&smtp, Some("[24]")).await;
    let created = confirmed_in(&app, Duration::hours(3), "en-US").await;
    smtp.wait_for(2, 10).await;

    app.advance_past(created.booking.start - Duration::minutes(5));
    a_round_has_run(&app, &smtp).await;

    assert_eq!(queued(&app), 0);
    assert!(reminders(&smtp.received()).is_empty());
}

#[tokio::test]
async fn no_reminder_for_a_booking_cancelled_before_it_even_one_waiting_while_smtp_was_down() {
    let mut smtp = SmtpServer::start().await;
    let app = spawn(&smtp, None).await;
    let early = confirmed_in(&app, Duration::days(3), "en-US").await;
    let late = confirmed_in(&app, Duration::days(3) + Duration::hours(2), "en-US").await;
    smtp.wait_for(4, 10).await;

    // Cancelled before its moment: nothing is queued.
    app.cancel(&early).await;
    app.advance_past(early.booking.start - Duration::hours(24));
    a_round_has_run(&app, &smtp).await;
    assert_eq!(queued(&app), 0);

    // Queued while SMTP is down, then cancelled: it is never sent.
    smtp.pause();
    app.advance_past(late.booking.start - Duration::hours(24));
    eventually("the reminder queued", 10, || async { queued(&app) == 1 }).await;
    app.cancel(&late).await;
    smtp.resume().await;
    app.advance(Duration::hours(1));
    a_round_has_run(&app, &smtp).await;
    eventually("the practice told of the cancellation", 10, || async {
        to(&smtp.received(), "therapist@test.example.org")
            .iter()
            .filter(|m| m.subject.starts_with("Cancelled"))
            .count()
            == 2
    })
    .await;
    assert!(reminders(&smtp.received()).is_empty());
}

#[tokio::test]
async fn a_request_gets_a_reminder_once_confirmed_and_none_declined_or_expired() {
    let smtp = SmtpServer::start().await;
    let app = spawn(&smtp, None).await;
    let ahead = Duration::days(1) + Duration::hours(6);
    let slots = app
        .open_slots_from("free-consultation", app.now() + ahead)
        .await;
    // The unanswered request starts first: when it lapses, at its start,
    // the others' moments have passed and they have not begun.
    let [unanswered, declined, confirmed] =
        [0, 8, 16].map(|i| slots.get(i).copied().expect("a free slot"));
    let unanswered = book(&app, "free-consultation", unanswered, "en-US").await;
    let declined = book(&app, "free-consultation", declined, "en-US").await;
    let confirmed = book(&app, "free-consultation", confirmed, "en-US").await;
    smtp.wait_for(6, 10).await;
    let answer = |created: &BookingCreated, answer: Answer| {
        let expires = app.now() + Duration::hours(1);
        let path = signed_link::path(SECRET, &created.booking.id, 0, answer, expires);
        app.client.post(app.url(&path)).send()
    };
    assert_eq!(
        answer(&confirmed, Answer::Confirm).await.unwrap().status(),
        200
    );
    assert_eq!(
        answer(&declined, Answer::Decline).await.unwrap().status(),
        200
    );

    // Past every moment: only the confirmed one is reminded.
    app.advance_past(unanswered.booking.start);
    let sent = wait_for_reminders(&smtp, 1).await;
    a_round_has_run(&app, &smtp).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(reminders(&smtp.received()).len(), 1);
    assert_eq!(queued(&app), 1);
    assert!(
        sent[0]
            .body
            .contains(&format!("/manage/{}?token=", confirmed.booking.id)),
        "{}",
        sent[0].body
    );
}

#[tokio::test]
async fn a_reminder_queued_before_a_restart_is_sent_once_and_never_again() {
    let mut smtp = SmtpServer::start().await;
    let folder = Arc::new(tempfile::tempdir().unwrap());
    let app = spawn_in(&smtp, None, folder).await;
    let created = confirmed_in(&app, Duration::days(3), "en-US").await;
    let moment = created.booking.start - Duration::hours(24);
    smtp.wait_for(2, 10).await;

    // Queued while SMTP is down, then the adapter stops.
    smtp.pause();
    app.advance_past(moment);
    eventually("the reminder queued", 10, || async { queued(&app) == 1 }).await;
    let folder = app.stop().await;

    // A new process (its clock starts afresh) sends it once SMTP is back
    // (past the retry's backoff).
    smtp.resume().await;
    let app = spawn_in(&smtp, None, folder).await;
    app.advance_past(moment + Duration::hours(1));
    assert_eq!(wait_for_reminders(&smtp, 1).await.len(), 1);

    // And once more after another restart, later still: nothing new.
    let app = spawn_in(&smtp, None, app.stop().await).await;
    app.advance_past(moment + Duration::hours(2));
    assert_reminded_once(&app, &smtp).await;
}

#[tokio::test]
async fn a_reminder_owed_while_smtp_is_down_is_sent_exactly_once_when_it_returns() {
    let mut smtp = SmtpServer::start().await;
    let app = spawn(&smtp, None).await;
    let created = confirmed_in(&app, Duration::days(3), "en-US").await;
    smtp.wait_for(2, 10).await;

    smtp.pause();
    app.advance_past(created.booking.start - Duration::hours(24));
    eventually("the reminder queued", 10, || async { queued(&app) == 1 }).await;
    // A few failed tries, each put off.
    for _ in 0..3 {
        app.advance(Duration::minutes(2));
    }
    smtp.resume().await;
    app.advance(Duration::hours(1));

    assert_eq!(wait_for_reminders(&smtp, 1).await.len(), 1);
    app.advance(Duration::hours(2));
    assert_reminded_once(&app, &smtp).await;
}

#[test]
fn check_config_shows_each_wrong_hour_at_its_line() {
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("practice.toml");
    let text = format!(
        "{}\n[reminders]\nhours_before = [\n  24,\n  0,\n  24,\n]\n",
        crate::helpers::CONFIG
    );
    std::fs::write(&file, &text).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let line_of = |n: usize| lines.len() - 3 + n;

    let output = check_config(&file);

    let shown = file.display();
    assert_problems(
        output,
        &[
            format!(
                "{shown}:{}: reminders.hours_before[1]: must be from 1 to 720 hours",
                line_of(1)
            ),
            format!(
                "{shown}:{}: reminders.hours_before[2]: 24 is given twice",
                line_of(2)
            ),
        ],
    );
}

/// The visitor moves a confirmed booking (`POST /v1/bookings/{id}/reschedule`).
async fn move_to(app: &TestApp, created: &BookingCreated, start: DateTime<Utc>) {
    let response = app
        .client
        .post(app.url(&format!("/v1/bookings/{}/reschedule", created.booking.id)))
        .bearer_auth(&created.manage_token)
        .header("Idempotency-Key", new_key())
        .json(&json!({ "start": crate::helpers::iso(start) }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_moved_booking_is_reminded_before_its_new_time_and_not_when_moved_past_the_moment() {
    let smtp = SmtpServer::start().await;
    let app = spawn(&smtp, Some("[24]")).await;
    let later = confirmed_in(&app, Duration::days(4), "en").await;
    let sooner = confirmed_in(&app, Duration::days(5), "en").await;
    smtp.wait_for(4, 10).await;
    // Two days pass: both were confirmed long before any moment after a move.
    app.advance(Duration::days(2));
    let new_start = slot_in(&app, "intake", Duration::days(2)).await;
    move_to(&app, &later, new_start).await;
    // Moved to within a day: the move's own email has just told the visitor.
    move_to(
        &app,
        &sooner,
        slot_in(&app, "intake", Duration::hours(6)).await,
    )
    .await;
    smtp.wait_for(8, 10).await;
    a_round_has_run(&app, &smtp).await;
    assert_eq!(
        queued(&app),
        0,
        "none for a move inside the reminder's moment"
    );

    app.advance_past(new_start - Duration::hours(24));
    let sent = wait_for_reminders(&smtp, 1).await;

    let hour = new_start.with_timezone(&chrono_tz::Europe::Berlin);
    let hour = hour.format("at %-I:%M %p (Europe/Berlin)").to_string();
    assert!(sent[0].body.contains(&hour), "{hour}: {}", sent[0].body);
    assert_reminded_once(&app, &smtp).await;
}
