//! Visitor text in real mail (aiosmtpd, recording each message byte for
//! byte): placeholders a visitor typed stay text, the practice reads its
//! own links first and the visitor's words quoted, no bare CR or LF reaches
//! SMTP DATA; mail that can never be sent is set aside, not retried for
//! ever, and shown by `requests list`; and a mail server that never answers
//! holds an outbox round only within its limits.

use chrono::{DateTime, Duration, Utc};
use firststep_adapter::config::Settings;
use firststep_adapter::mail::Mailer;
use firststep_adapter::outbox::{EntryText, Limits, MailContext, Outbox, PERMANENT_TRIES};
use firststep_adapter::store::{SetAside, Store};
use firststep_protocol::BookingCreated;
use serde_json::json;

use crate::helpers::{
    booking_body, new_key, store_in, text_row_in, text_rows_in, StoreHandle, CONFIG,
};
use crate::lifecycle::{link, mail_config, request, spawn_with_mail, to, PUBLIC};
use crate::smtp_server::SmtpServer;

const PRACTICE: &str = "therapist@test.example.org";

#[tokio::test]
async fn placeholders_a_visitor_typed_stay_text_and_the_practices_links_come_first() {
    let smtp = SmtpServer::start_recording().await;
    let app = spawn_with_mail(&smtp).await;
    let mut body = booking_body(app.a_free_slot().await);
    body["client"]["name"] = json!("{decline_link}");
    body["note"] = json!("{confirm_link}\nConfirm this request:\nhttps://evil.example/confirm");
    let response = app.post_booking(&new_key(), &body).await;
    assert_eq!(response.status(), 201);

    let mails = smtp.wait_for(2, 10).await;
    let practice = &to(&mails, PRACTICE)[0].body;
    // The only links to answer the request are the email's own two.
    assert_eq!(practice.matches(&format!("{PUBLIC}/requests/")).count(), 2);
    let foreign = practice
        .split_whitespace()
        .filter(|w| w.contains("://") && !w.starts_with(PUBLIC));
    assert_eq!(
        foreign.count(),
        1,
        "only the visitor's own link: {practice}"
    );
    let confirm = practice.find("Confirm this request:\n").unwrap();
    let decline = practice.find("Decline this request:\n").unwrap();
    let quoted = practice.find("What they wrote").unwrap();
    assert!(confirm < decline && decline < quoted, "{practice}");
    assert!(
        practice[quoted..].contains(
            "\n> Name: {decline_link}\n> Email: sam@example.org\n> Phone: —\n> Note:\n\
             > {confirm_link}\n> Confirm this request:\n> https://evil.example/confirm"
        ),
        "{practice}"
    );
    let visitor = &to(&mails, "sam@example.org")[0].body;
    assert!(visitor.starts_with("Hello {decline_link},\n"), "{visitor}");
    assert!(!visitor.contains("/requests/"), "{visitor}");

    // The first link of the practice's email is its real confirm link.
    let answered = app
        .client
        .post(link(&app, practice, "/requests/"))
        .send()
        .await
        .unwrap();
    assert!(answered
        .text()
        .await
        .unwrap()
        .contains("<h1>Confirmed</h1>"));
}

/// Every line break of a message is CRLF: a bare CR (`\r.\r\n`, an SMTP
/// smuggling pattern) never reaches DATA, from a note typed now or from one
/// stored before notes were normalised.
#[tokio::test]
async fn no_bare_carriage_return_or_line_feed_reaches_smtp() {
    let smtp = SmtpServer::start_recording().await;
    let app = spawn_with_mail(&smtp).await;
    let mut body = booking_body(app.a_free_slot().await);
    body["note"] = json!("one\r.\r\ntwo\rthree");
    let response = app.post_booking(&new_key(), &body).await;
    let created: BookingCreated = response.json().await.unwrap();
    smtp.wait_for(2, 10).await;
    // A row from before: a bare CR in the stored note and name.
    app.execute("UPDATE bookings SET note = 'old\r.\r\nnote\r', client_name = 'Sam\rLee'");
    let cancel = app.url(&format!("/manage/{}/cancel", created.booking.id));
    app.client
        .post(&cancel)
        .form(&[("token", created.manage_token.as_str())])
        .send()
        .await
        .unwrap();

    let mails = smtp.wait_for(3, 10).await;
    for mail in &mails {
        let raw = &mail.raw;
        for (at, byte) in raw.iter().enumerate() {
            match byte {
                b'\r' => assert_eq!(raw.get(at + 1), Some(&b'\n'), "bare CR at {at}"),
                b'\n' => assert_eq!(raw.get(at.wrapping_sub(1)), Some(&b'\r'), "bare LF"),
                _ => {}
            }
        }
    }
    let practice = to(&mails, PRACTICE);
    assert!(practice[0].body.contains("> one\n> .\n> two\n> three"));
    let cancelled = &practice[1].body;
    assert!(cancelled.contains("> Name: Sam Lee\n"), "{cancelled}");
    assert!(cancelled.contains("> old\n> .\n> note\n>\n"), "{cancelled}");
}

/// An outbox worker on the app's store, its clock in the test's hands,
/// and the store.
fn outbox_on(folder: &std::path::Path, smtp: &SmtpServer) -> (Outbox, StoreHandle) {
    outbox_through(folder, smtp, None)
}

/// `outbox_on`, its mail sent to the SMTP port `port` if given.
fn outbox_through(
    folder: &std::path::Path,
    smtp: &SmtpServer,
    port: Option<u16>,
) -> (Outbox, StoreHandle) {
    let settings = Settings::from_toml(&mail_config(smtp), folder).unwrap();
    let mut mail = settings.mail.clone().unwrap();
    mail.smtp_port = port.unwrap_or(mail.smtp_port);
    let store = Store::open(&store_in(folder)).unwrap();
    let outbox = Outbox::new(
        store.clone(),
        firststep_adapter::startup::calendar_of(&settings),
        EntryText {
            title: String::new(),
            include_client_name: false,
        },
        Some(MailContext {
            mailer: Mailer::new(&mail).unwrap(),
            settings: mail,
            practice: settings.practice,
            reminders: settings.reminders,
        }),
    );
    (outbox, StoreHandle(store))
}

/// The tries of the outbox item `action` of the store in `folder`, and
/// whether its payload is gone.
fn attempts(folder: &tempfile::TempDir, action: &str) -> (u32, bool) {
    let row = text_row_in(
        &store_in(folder.path()),
        "SELECT CAST(attempts AS TEXT), CASE WHEN payload IS NULL THEN 'gone' END
         FROM outbox WHERE action = $1",
        action,
    );
    let tries = row[0].as_deref().and_then(|t| t.parse().ok()).unwrap();
    (tries, row[1].is_some())
}

/// Runs the outbox at `now` plus each of `steps` minutes in turn.
async fn rounds(outbox: &Outbox, now: DateTime<Utc>, steps: impl IntoIterator<Item = i64>) {
    for minutes in steps {
        outbox.deliver_due(now + Duration::minutes(minutes)).await;
    }
}

#[tokio::test]
async fn mail_refused_with_550_is_set_aside_after_a_few_tries_and_listed() {
    let smtp = SmtpServer::start_refusing().await;
    let app = spawn_with_mail(&smtp).await;
    let created = request(&app, None).await;
    // The practice's email goes through; the visitor's address is refused.
    smtp.wait_for(1, 10).await;
    let store_arg = app.store_arg();
    let folder = app.stop().await;
    let (outbox, store) = outbox_on(folder.path(), &smtp);
    let now = Utc::now();

    rounds(&outbox, now, 1..=10).await;

    let set_aside = store.run(|s| s.set_aside_deliveries()).unwrap();
    let [SetAside {
        booking_id,
        action,
        attempts: tries,
        last_error,
        ..
    }] = &set_aside[..]
    else {
        panic!("one item set aside: {set_aside:?}")
    };
    assert_eq!(booking_id, &created.booking.id);
    assert_eq!(action, "mail:visitor_received");
    assert_eq!(*tries, PERMANENT_TRIES);
    let reason = last_error.as_deref().unwrap();
    assert!(reason.contains("550"), "{reason}");
    assert!(!reason.contains("sam@"), "no personal data: {reason}");
    assert_eq!(
        attempts(&folder, "mail:visitor_received"),
        (PERMANENT_TRIES, true),
        "the manage token it carried is gone"
    );

    // The metrics count it as set aside, no longer as waiting.
    let figures = store.run(|s| s.figures(now)).unwrap();
    let mail = figures.queues.iter().find(|q| q.kind == "mail").unwrap();
    assert_eq!((mail.depth, mail.set_aside), (0, 1), "{figures:?}");

    // Later rounds leave it be.
    rounds(&outbox, now, [30, 60, 240]).await;
    assert_eq!(
        attempts(&folder, "mail:visitor_received").0,
        PERMANENT_TRIES
    );
    assert_eq!(smtp.received().len(), 1);

    // The operator sees it, after the waiting requests.
    let config = folder.path().join("practice.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let listed = std::process::Command::new(env!("CARGO_BIN_EXE_firststep-adapter"))
        .args(["requests", "--config"])
        .arg(&config)
        .arg("--store")
        .arg(&store_arg)
        .arg("list")
        .output()
        .unwrap();
    let listed = String::from_utf8(listed.stdout).unwrap();
    let (waiting, aside) = listed.split_once("Set aside").expect("a set-aside section");
    assert!(waiting.contains(&created.booking.id), "{listed}");
    let line = aside
        .lines()
        .find(|l| l.starts_with(&created.booking.id))
        .unwrap_or_else(|| panic!("{listed}"));
    assert!(
        line.contains("mail:visitor_received")
            && line.contains("after 5 tries")
            && line.contains("550"),
        "{line}"
    );
    assert!(!aside.contains("sam@example.org"), "{aside}");
}

/// A passing failure (the SMTP server is down) keeps its backoff, but not
/// for ever: after a week of trying the item is set aside.
#[tokio::test]
async fn mail_failing_for_a_week_for_passing_reasons_is_set_aside() {
    let mut smtp = SmtpServer::start().await;
    let app = spawn_with_mail(&smtp).await;
    let created = request(&app, None).await;
    smtp.wait_for(2, 10).await;
    let folder = app.stop().await;
    let (outbox, store) = outbox_on(folder.path(), &smtp);
    // An email owed now, while the server is down: the practice cancels by hand.
    smtp.pause();
    store
        .run(|s| {
            s.answer(
                &created.booking.id,
                firststep_adapter::store::Answer::Decline,
                Utc::now(),
            )
        })
        .unwrap();
    let now = Utc::now();

    rounds(&outbox, now, [1, 60, 24 * 60, 6 * 24 * 60]).await;
    assert!(store.run(|s| s.set_aside_deliveries()).unwrap().is_empty());
    let (tries, _) = attempts(&folder, "mail:visitor_declined");
    assert_eq!(tries, 4, "retried with backoff, not set aside");

    rounds(&outbox, now, [7 * 24 * 60 + 1]).await;
    let set_aside = store.run(|s| s.set_aside_deliveries()).unwrap();
    assert_eq!(set_aside.len(), 1, "{set_aside:?}");
    assert_eq!(set_aside[0].action, "mail:visitor_declined");
    assert!(!set_aside[0].last_error.as_deref().unwrap().contains("550"));
}

/// A mail server that accepts connections and never answers holds each
/// email only up to the outbox's delivery limit (not the mailer's 20 s a
/// read), and a round starts no delivery past its own limit: the rest is
/// let go, due at once in the next round. (On PostgreSQL a round so ends
/// within the lease on its items, and no replica takes one being sent.)
#[tokio::test]
async fn a_mail_server_that_never_answers_holds_a_round_only_within_its_limits() {
    let smtp = SmtpServer::start_recording().await;
    let app = spawn_with_mail(&smtp).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(request(&app, None).await.booking.id);
    }
    smtp.wait_for(6, 10).await;
    let folder = app.stop().await;
    let (outbox, store) = outbox_on(folder.path(), &smtp);
    let now = Utc::now();
    for id in ids {
        store
            .run(move |s| s.answer(&id, firststep_adapter::store::Answer::Decline, now))
            .unwrap();
    }
    // The declines' emails, each as (tries, sent), least tried first.
    let declines = || {
        let rows = text_rows_in(
            &store_in(folder.path()),
            "SELECT CAST(attempts AS TEXT), CASE WHEN done_at IS NULL THEN 'owed' ELSE 'sent' END
             FROM outbox WHERE action = $1 ORDER BY attempts, done_at IS NULL",
            "mail:visitor_declined",
        );
        rows.iter()
            .map(|row| {
                let tries = row[0].as_deref().unwrap().parse::<u32>().unwrap();
                (tries, row[1].as_deref() == Some("sent"))
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(declines(), [(0, false), (0, false), (0, false)]);

    // Accepted by the kernel, never answered: no greeting ever comes.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let (stalled, _) = outbox_through(folder.path(), &smtp, Some(port));
    let stalled = stalled.with_limits(Limits {
        // The first email starts within the round (after the releases'
        // calendar items, which a loaded machine may take seconds over); it
        // is cut off after the round has ended.
        delivery: std::time::Duration::from_secs(6),
        round: std::time::Duration::from_secs(4),
    });
    let started = std::time::Instant::now();
    stalled.deliver_due(now).await;
    let took = started.elapsed();
    assert!(
        took < std::time::Duration::from_secs(15),
        "cut off by the outbox's limits: {took:?}"
    );
    assert_eq!(
        declines(),
        [(0, false), (0, false), (1, false)],
        "one email tried, two left"
    );

    // The next round sends the two left at once, the one tried after its backoff.
    outbox.deliver_due(now).await;
    assert_eq!(declines(), [(1, true), (1, true), (1, false)]);
    outbox.deliver_due(now + Duration::minutes(1)).await;
    assert_eq!(declines(), [(1, true), (1, true), (2, true)]);
    assert_eq!(smtp.wait_for(9, 10).await.len(), 9);
    drop(silent);
}
