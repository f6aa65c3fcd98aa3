//! The request lifecycle over real SMTP (aiosmtpd): the practice is told and
//! answers through signed links, the visitor is told and can cancel.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use firststep_adapter::mail::signed_link;
use firststep_adapter::store::Answer;
use firststep_protocol::{BookingCreated, BookingStatus};
use serde_json::json;

use crate::helpers::{booking_body, eventually, new_key, spawn_on, TestApp, CONFIG};
use crate::smtp_server::{Received, SmtpServer};

pub(crate) const SECRET: &str = "a-link-secret-of-more-than-32-characters";
pub(crate) const PUBLIC: &str = "https://public.test";

/// The test practice with email through `smtp` and links signed with [`SECRET`].
pub(crate) async fn spawn_with_mail(smtp: &SmtpServer) -> TestApp {
    let folder = Arc::new(tempfile::tempdir().unwrap());
    std::fs::write(folder.path().join("link-secret"), SECRET).unwrap();
    spawn_on(&mail_config(smtp), folder).await
}

/// The test practice, mailing through `smtp` (its link secret in the file
/// `link-secret` beside the store).
pub(crate) fn mail_config(smtp: &SmtpServer) -> String {
    format!(
        "{CONFIG}\n[mail]\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {}\ntls = \"none\"\n\
         from = \"Test Practice <bookings@test.example.org>\"\npractice_to = \"therapist@test.example.org\"\n\
         public_url = \"{PUBLIC}\"\nbooking_page_url = \"https://test.example.org/book\"\nlink_secret_file = \"link-secret\"\n",
        smtp.port
    )
}

/// A request from Sam in Berlin for a slot a day from now.
pub(crate) async fn request(app: &TestApp, locale: Option<&str>) -> BookingCreated {
    request_at(app, app.a_free_slot().await, locale).await
}

/// A request from Sam in Berlin for the slot at `start`.
async fn request_at(app: &TestApp, start: DateTime<Utc>, locale: Option<&str>) -> BookingCreated {
    let mut body = booking_body(start);
    if let Some(locale) = locale {
        body["locale"] = json!(locale);
    }
    let response = app.post_booking(&new_key(), &body).await;
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

pub(crate) fn to<'a>(mails: &'a [Received], address: &str) -> Vec<&'a Received> {
    mails.iter().filter(|m| m.to.contains(address)).collect()
}

/// The first line of `body` that starts with `prefix`, re-based on the test server.
pub(crate) fn link(app: &TestApp, body: &str, prefix: &str) -> String {
    let line = body
        .lines()
        .find(|l| l.starts_with(&format!("{PUBLIC}{prefix}")))
        .expect("a link in the email");
    line.replacen(PUBLIC, &app.address, 1)
}

async fn status(app: &TestApp, created: &BookingCreated) -> BookingStatus {
    app.view(created).await.status
}

#[tokio::test]
async fn request_then_the_practice_confirms_and_the_visitor_is_told_with_a_calendar_file() {
    let smtp = SmtpServer::start().await;
    let app = spawn_with_mail(&smtp).await;
    let created = request(&app, None).await;

    let mails = smtp.wait_for(2, 10).await;
    assert_eq!(mails.len(), 2);
    let practice = to(&mails, "therapist@test.example.org")[0];
    assert!(
        practice.subject.starts_with("New consultation request: "),
        "{}",
        practice.subject
    );
    assert!(
        practice.body.contains("Name: Sam Lee") && practice.body.contains("Email: sam@example.org"),
        "{}",
        practice.body
    );
    let visitor = to(&mails, "sam@example.org")[0];
    assert!(
        visitor.subject.starts_with("We received your request"),
        "{}",
        visitor.subject
    );
    assert!(
        visitor.body.contains("(Europe/Berlin)"),
        "the visitor's own zone: {}",
        visitor.body
    );
    assert!(visitor.body.contains(&format!(
        "/manage/{}?token={}",
        created.booking.id, created.manage_token
    )));
    for mail in &mails {
        assert!(
            !mail.body.contains("<img"),
            "plain text, no tracking pixels"
        );
        for url in mail.body.split_whitespace().filter(|w| w.contains("://")) {
            assert!(
                url.starts_with(PUBLIC),
                "only links to the adapter itself: {url}"
            );
        }
    }

    // Opening the link (as a mail client's link scanner would) changes nothing.
    let confirm = link(&app, &practice.body, "/requests/");
    let shown = app.client.get(&confirm).send().await.unwrap();
    assert_eq!(shown.status(), 200);
    assert!(shown
        .text()
        .await
        .unwrap()
        .contains("Confirm this request</button>"));
    assert_eq!(status(&app, &created).await, BookingStatus::Pending);

    let answered = app.client.post(&confirm).send().await.unwrap();
    assert_eq!(answered.status(), 200);
    assert!(answered
        .text()
        .await
        .unwrap()
        .contains("<h1>Confirmed</h1>"));
    assert_eq!(status(&app, &created).await, BookingStatus::Confirmed);

    let mails = smtp.wait_for(3, 10).await;
    let confirmed = to(&mails, "sam@example.org")
        .into_iter()
        .find(|m| m.subject.starts_with("Confirmed"))
        .unwrap();
    let ics = confirmed.ics.as_ref().expect("a calendar file");
    assert!(
        ics.contains("STATUS:CONFIRMED")
            && ics.contains(&format!("UID:{}@firststep", created.booking.id))
    );
    assert!(confirmed.body.contains("(Europe/Berlin)"));

    let reused = app.client.post(&confirm).send().await.unwrap();
    assert_eq!(reused.status(), 410, "a link works once");
    assert_eq!(smtp.received().len(), 3, "nothing sent twice");
}

#[tokio::test]
async fn a_declined_request_frees_the_slot_and_the_visitor_is_told_kindly_in_their_language() {
    let smtp = SmtpServer::start().await;
    let app = spawn_with_mail(&smtp).await;
    let created = request(&app, Some("es-ES")).await;
    let mails = smtp.wait_for(2, 10).await;
    assert!(to(&mails, "sam@example.org")[0]
        .subject
        .starts_with("Recibimos su solicitud"));
    let practice_mail = to(&mails, "therapist@test.example.org")[0].body.clone();
    let decline = practice_mail
        .lines()
        .filter(|l| l.starts_with(PUBLIC))
        .find(|l| l.contains("/decline?"))
        .unwrap()
        .replacen(PUBLIC, &app.address, 1);

    assert_eq!(
        app.client.post(&decline).send().await.unwrap().status(),
        200
    );

    let mails = smtp.wait_for(3, 10).await;
    let declined = to(&mails, "sam@example.org")
        .into_iter()
        .find(|m| m.subject.starts_with("Sobre su solicitud"))
        .unwrap();
    assert!(
        declined.body.contains("https://test.example.org/book"),
        "{}",
        declined.body
    );
    assert!(declined.body.contains("(Europe/Berlin)"));
    assert_eq!(status(&app, &created).await, BookingStatus::Declined);
    assert!(app
        .open_slots("free-consultation")
        .await
        .contains(&created.booking.start));
}

/// `practice.locale = "es"`: the practice reads its emails in Spanish, times
/// included, whatever language the visitor writes in; the visitor keeps theirs.
#[tokio::test]
async fn a_spanish_speaking_practice_gets_its_emails_in_spanish_and_the_visitor_in_theirs() {
    let smtp = SmtpServer::start().await;
    let folder = Arc::new(tempfile::tempdir().unwrap());
    std::fs::write(folder.path().join("link-secret"), SECRET).unwrap();
    let config = mail_config(&smtp).replacen("[practice]\n", "[practice]\nlocale = \"es\"\n", 1);
    let app = spawn_on(&config, folder).await;
    let created = request(&app, Some("en-US")).await;

    let mails = smtp.wait_for(2, 10).await;
    let practice = to(&mails, "therapist@test.example.org")[0];
    assert!(
        practice
            .subject
            .starts_with("Nueva solicitud de consulta: "),
        "{}",
        practice.subject
    );
    assert!(
        practice.body.contains("Confirmar la solicitud:")
            && practice.body.contains("Nombre: Sam Lee"),
        "{}",
        practice.body
    );
    let english_days = [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ];
    assert!(
        english_days.iter().all(|day| !practice.body.contains(day)),
        "the time in Spanish too: {}",
        practice.body
    );
    let visitor = to(&mails, "sam@example.org")[0];
    assert!(
        visitor.subject.starts_with("We received your request"),
        "{}",
        visitor.subject
    );

    app.cancel(&created).await;
    let mails = smtp.wait_for(3, 10).await;
    assert!(
        to(&mails, "therapist@test.example.org")
            .iter()
            .any(|m| m.subject.starts_with("Cancelada")),
        "{:?}",
        mails.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn forged_and_expired_links_are_refused_with_a_clear_page() {
    let smtp = SmtpServer::start().await;
    let app = spawn_with_mail(&smtp).await;
    let created = request(&app, None).await;
    let id = &created.booking.id;
    let valid_until = app.now() + Duration::hours(1);
    let good = signed_link::path(SECRET, id, 0, Answer::Confirm, valid_until);

    // Pressing a link: its status and page.
    let press = |link: &str| {
        let sent = app.client.post(app.url(link)).send();
        async move {
            let response = sent.await.unwrap();
            (response.status(), response.text().await.unwrap())
        }
    };

    let forged = good.replace("/confirm?", "/decline?");
    let (status_code, page) = press(&forged).await;
    assert_eq!(status_code, 403);
    assert!(page.contains("This link is not valid"), "{page}");

    let other_secret = signed_link::path(
        "some-other-secret-of-32-characters!!",
        id,
        0,
        Answer::Confirm,
        valid_until,
    );
    assert_eq!(press(&other_secret).await.0, 403);

    app.advance_past(valid_until);
    let (status_code, page) = press(&good).await;
    assert_eq!(status_code, 410);
    assert!(page.contains("This link has expired"), "{page}");
    assert_eq!(
        status(&app, &created).await,
        BookingStatus::Pending,
        "nothing changed"
    );
}

#[tokio::test]
async fn an_unanswered_request_expires_frees_the_slot_and_tells_the_visitor() {
    let smtp = SmtpServer::start().await;
    let app = spawn_with_mail(&smtp).await;
    // Three days ahead, so the request lapses (after 48 hours) before its slot.
    let created = request_at(&app, app.a_free_slot_in(Duration::days(3)).await, None).await;
    smtp.wait_for(2, 10).await;
    let expires = created.booking.expires_at.expect("a request lapses");
    assert!(expires < created.booking.start);
    app.advance_past(expires - Duration::minutes(1));
    assert_eq!(
        status(&app, &created).await,
        BookingStatus::Pending,
        "not yet"
    );

    app.advance(Duration::minutes(1));
    let mails = smtp.wait_for(3, 10).await;

    let expired = to(&mails, "sam@example.org")
        .into_iter()
        .find(|m| m.subject.contains("not answered in time"))
        .unwrap();
    assert!(expired.body.contains("https://test.example.org/book"));
    assert_eq!(status(&app, &created).await, BookingStatus::Expired);
    assert!(app
        .open_slots("free-consultation")
        .await
        .contains(&created.booking.start));
}

#[tokio::test]
async fn the_visitor_cancels_from_their_manage_link_and_the_practice_is_told() {
    let smtp = SmtpServer::start().await;
    let app = spawn_with_mail(&smtp).await;
    let created = request(&app, None).await;
    let mails = smtp.wait_for(2, 10).await;
    let manage = link(&app, &to(&mails, "sam@example.org")[0].body, "/manage/");

    let page = app
        .client
        .get(&manage)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Status: <strong>pending</strong>") && page.contains("Cancel this booking"),
        "{page}"
    );
    let cancel_url = app.url(&format!("/manage/{}/cancel", created.booking.id));
    let wrong = app
        .client
        .post(&cancel_url)
        .form(&[("token", "guess")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 404);
    let done = app
        .client
        .post(&cancel_url)
        .form(&[("token", created.manage_token.as_str())])
        .send()
        .await
        .unwrap();
    assert!(done
        .text()
        .await
        .unwrap()
        .contains("Status: <strong>cancelled</strong>"));

    let mails = smtp.wait_for(3, 10).await;
    let told = to(&mails, "therapist@test.example.org")
        .into_iter()
        .find(|m| m.subject.starts_with("Cancelled"))
        .unwrap();
    assert!(told.body.contains("A visitor cancelled"), "{}", told.body);
    assert!(told.body.contains("> Name: Sam Lee\n"), "{}", told.body);
    assert!(app
        .open_slots("free-consultation")
        .await
        .contains(&created.booking.start));
}

#[tokio::test]
async fn mail_owed_while_smtp_is_down_is_delivered_exactly_once_when_it_returns() {
    let mut smtp = SmtpServer::start().await;
    let app = spawn_with_mail(&smtp).await;
    smtp.pause();
    let first = request(&app, None).await;
    let second = request(&app, None).await;
    assert_ne!(first.booking.id, second.booking.id);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;

    smtp.resume().await;
    // Past the longest backoff: the outbox wakes and delivers what it owes.
    app.advance(Duration::hours(1));
    smtp.wait_for(4, 10).await;

    // Two hours on, anything not recorded as sent would be due again. Rows
    // go out in the order they were written, so once the visitor's email of
    // a request made now has come (its last row), such a row would have too.
    app.advance(Duration::hours(2));
    let mut body = booking_body(app.a_free_slot().await);
    body["client"]["email"] = json!("kim@example.org");
    assert_eq!(app.post_booking(&new_key(), &body).await.status(), 201);
    eventually("the later request's emails", 10, || async {
        !to(&smtp.received(), "kim@example.org").is_empty()
    })
    .await;
    let mails = smtp.received();
    assert_eq!(mails.len(), 6, "{mails:#?}");
    assert_eq!(to(&mails, "sam@example.org").len(), 2);
    assert_eq!(to(&mails, "therapist@test.example.org").len(), 3);
}

#[tokio::test]
async fn the_command_line_lists_and_answers_requests() {
    let smtp = SmtpServer::start().await;
    let app = spawn_with_mail(&smtp).await;
    let created = request(&app, None).await;
    let folder = app.folder().to_owned();
    std::fs::write(folder.join("practice.toml"), CONFIG).unwrap();
    let run = |args: &[&str]| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_firststep-adapter"));
        command
            .args(["requests", "--config"])
            .arg(folder.join("practice.toml"))
            .arg("--store")
            .arg(app.store_arg())
            .args(args);
        command.output().unwrap()
    };

    let listed = run(&["list"]);
    assert!(String::from_utf8_lossy(&listed.stdout).contains(&created.booking.id));
    let confirmed = run(&["confirm", &created.booking.id]);
    assert!(
        confirmed.status.success(),
        "{}",
        String::from_utf8_lossy(&confirmed.stderr)
    );
    assert_eq!(status(&app, &created).await, BookingStatus::Confirmed);
    let again = run(&["decline", &created.booking.id]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already confirmed"));
}
