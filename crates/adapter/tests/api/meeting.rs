//! How a consultation happens (`services.location`): said before the visitor
//! commits, in every email and the `.ics`; a phone consultation needs the
//! number; a video room reaches only a booked visitor (a request's, once
//! confirmed), never `GET /v1/practice`.

use std::sync::Arc;

use firststep_protocol::{BookingCreated, BookingStatus, PracticeInfo};
use serde_json::json;

use crate::helpers::*;
use crate::lifecycle::{link, mail_config, to, PUBLIC, SECRET};
use crate::smtp_server::SmtpServer;

const ROOMS: &str = "https://meet.test/rc-";

/// Three services, one of each kind of meeting; the phone field optional.
fn config() -> String {
    CONFIG.replace(
        "[form]\n",
        &format!(
            r#"[[services]]
id = "by-phone"
title = "Phone consultation"
mode = "instant"
location = "phone"

[[services]]
id = "by-video"
title = "Video consultation"
mode = "instant"
location = "video"
video_url_template = "{ROOMS}{{token}}"

[[services]]
id = "video-request"
title = "Video consultation, on request"
mode = "request"
location = "video"
video_url_template = "{ROOMS}{{token}}"

[[services]]
id = "at-the-office"
title = "First visit"
mode = "request"
location = "in_person"
address = "12 Main Street, Suite 3, Springfield"

[form]
"#
        ),
    )
}

fn body_for(
    service: &str,
    start: chrono::DateTime<chrono::Utc>,
    phone: Option<&str>,
) -> serde_json::Value {
    let mut body = booking_body(start);
    body["service"] = json!(service);
    body["client"]["phone"] = json!(phone);
    body
}

async fn book(app: &TestApp, service: &str, phone: Option<&str>) -> BookingCreated {
    let start = app.a_free_slot().await;
    let response = app
        .post_booking(&new_key(), &body_for(service, start, phone))
        .await;
    assert_eq!(response.status(), 201, "{service}");
    response.json().await.unwrap()
}

#[tokio::test]
async fn the_practice_says_how_each_service_meets_but_never_where_a_video_room_is() {
    let app = spawn_app_with(&config()).await;
    let response = app.get("/v1/practice").await;
    let text = response.text().await.unwrap();
    assert!(!text.contains("meet.test"), "a room in public: {text}");
    let practice: PracticeInfo = serde_json::from_str(&text).unwrap();
    let kinds: Vec<(&str, Option<&str>, Option<&str>)> = practice
        .services
        .iter()
        .map(|s| (s.id.as_str(), s.location.as_deref(), s.address.as_deref()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("free-consultation", None, None),
            ("intake", None, None),
            ("by-phone", Some("phone"), None),
            ("by-video", Some("video"), None),
            ("video-request", Some("video"), None),
            (
                "at-the-office",
                Some("in_person"),
                Some("12 Main Street, Suite 3, Springfield")
            ),
        ]
    );
}

/// The practice calls the visitor: the number is required for that service
/// even where the form leaves it optional.
#[tokio::test]
async fn a_consultation_by_phone_needs_the_number() {
    let app = spawn_app_with(&config()).await;
    let start = app.a_free_slot().await;
    let refused = app
        .post_booking(&new_key(), &body_for("by-phone", start, None))
        .await;
    let problem = problem(refused, 422).await;
    assert_eq!(problem.field.as_deref(), Some("client.phone"));
    let taken = app
        .post_booking(
            &new_key(),
            &body_for("by-phone", start, Some("+1 555 0100")),
        )
        .await;
    assert_eq!(taken.status(), 201);
    // Other services keep the form's rule.
    let other = app.a_free_slot().await;
    let without = app
        .post_booking(&new_key(), &body_for("by-video", other, None))
        .await;
    assert_eq!(without.status(), 201);
}

#[tokio::test]
async fn each_video_booking_gets_its_own_unguessable_room_in_its_answer_and_calendar_file() {
    let app = spawn_app_with(&config()).await;
    let (first, second) = (
        book(&app, "by-video", None).await,
        book(&app, "by-video", None).await,
    );
    let room = |created: &BookingCreated| created.booking.video_url.clone().expect("a room");
    let (a, b) = (room(&first), room(&second));
    assert_ne!(a, b, "a room per booking");
    for url in [&a, &b] {
        let token = url.strip_prefix(ROOMS).expect("the practice's template");
        assert!(
            token.len() >= 20
                && token
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'),
            "{token}"
        );
    }
    // The same room whenever the visitor looks.
    assert_eq!(
        app.view(&first).await.video_url.as_deref(),
        Some(a.as_str())
    );
    let ics = app
        .get(&format!(
            "/v1/bookings/{}/calendar.ics?token={}",
            first.booking.id, first.manage_token
        ))
        .await
        .text()
        .await
        .unwrap();
    assert!(ics.contains(&format!("\r\nURL:{a}\r\n")), "{ics}");
    assert!(ics.contains("\r\nLOCATION:"), "{ics}");
}

/// A request may be declined: its visitor is told it is a video call, and
/// given the room only with the confirmation; the practice knows the room.
#[tokio::test]
async fn a_video_request_is_given_its_room_only_once_confirmed() {
    let smtp = SmtpServer::start().await;
    let folder = Arc::new(tempfile::tempdir().unwrap());
    std::fs::write(folder.path().join("link-secret"), SECRET).unwrap();
    let config = mail_config(&smtp).replace(CONFIG, &config());
    let app = spawn_on(&config, folder).await;
    let created = book(&app, "video-request", None).await;
    assert_eq!(created.booking.status, BookingStatus::Pending);
    assert_eq!(created.booking.video_url, None);
    assert_eq!(app.view(&created).await.video_url, None);

    let mails = smtp.wait_for(2, 10).await;
    let received = to(&mails, "sam@example.org")[0];
    assert!(!received.body.contains("meet.test"), "{}", received.body);
    assert!(
        received
            .body
            .contains("By video call: the link to the room comes with the confirmation."),
        "{}",
        received.body
    );
    let practice = to(&mails, "therapist@test.example.org")[0];
    assert!(practice.body.contains(ROOMS), "{}", practice.body);

    let confirm = link(&app, &practice.body, "/requests/");
    assert!(confirm.contains("/confirm?"));
    assert_eq!(
        app.client.post(&confirm).send().await.unwrap().status(),
        200
    );
    let mails = smtp.wait_for(3, 10).await;
    let confirmed = to(&mails, "sam@example.org")
        .into_iter()
        .find(|m| m.subject.starts_with("Confirmed"))
        .expect("the confirmation");
    let room = app
        .view(&created)
        .await
        .video_url
        .expect("the room, once confirmed");
    let lines: Vec<&str> = confirmed.body.lines().collect();
    assert!(
        lines
            .windows(2)
            .any(|w| w == ["By video call, in this room:", room.as_str()]),
        "{}",
        confirmed.body
    );
    let ics = confirmed.ics.as_deref().expect("the calendar file");
    assert!(ics.contains(&format!("URL:{room}")), "{ics}");
    assert!(!PUBLIC.contains("meet.test"));
}

#[tokio::test]
async fn every_email_says_how_the_consultation_happens_in_the_readers_language() {
    let smtp = SmtpServer::start().await;
    let folder = Arc::new(tempfile::tempdir().unwrap());
    std::fs::write(folder.path().join("link-secret"), SECRET).unwrap();
    let config = mail_config(&smtp).replace(CONFIG, &config());
    let app = spawn_on(&config, folder).await;

    let start = app.a_free_slot().await;
    let mut body = body_for("by-phone", start, Some("+1 555 0100"));
    body["locale"] = json!("es");
    assert_eq!(app.post_booking(&new_key(), &body).await.status(), 201);
    book(&app, "at-the-office", None).await;

    let mails = smtp.wait_for(4, 10).await;
    let bodies = |address: &str| -> Vec<String> {
        to(&mails, address).iter().map(|m| m.body.clone()).collect()
    };
    let visitor = bodies("sam@example.org").join("\n---\n");
    assert!(
        visitor.contains("La consulta es por teléfono: le llamarán al +1 555 0100."),
        "{visitor}"
    );
    assert!(
        visitor.contains("In person, at 12 Main Street, Suite 3, Springfield."),
        "{visitor}"
    );
    let practice = bodies("therapist@test.example.org").join("\n---\n");
    assert!(
        practice.contains("By phone: call them at +1 555 0100."),
        "{practice}"
    );
    assert!(
        practice.contains("In person, at 12 Main Street"),
        "{practice}"
    );
    for mail in &mails {
        assert!(
            !mail.body.contains("\r\n\r\n\r\n"),
            "no gap where a sentence is left out: {:?}",
            mail.body
        );
    }
}
