//! The CalDAV backend against a real Radicale started by the tests, and
//! against a stand-in server for answers no real server would send.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Duration as Span, Utc};
use firststep_adapter::config::Settings;
use firststep_adapter::Application;
use firststep_protocol::BookingCreated;

use crate::helpers::{booking_body, eventually, new_key, spawn_on, tomorrow_at, TestApp};
use crate::radicale::{caldav_config, Radicale, PASSWORD};

fn ical(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

fn vevent(uid: &str, start: DateTime<Utc>, minutes: i64, extra: &str) -> String {
    format!(
        "BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:{}\r\nDTSTART:{}\r\nDTEND:{}\r\nSUMMARY:Private appointment\r\n{extra}END:VEVENT\r\n",
        ical(Utc::now()),
        ical(start),
        ical(start + Span::minutes(minutes))
    )
}

async fn spawn_with_caldav(radicale: &Radicale) -> TestApp {
    let folder = Arc::new(tempfile::tempdir().unwrap());
    let config = caldav_config(radicale, folder.path(), PASSWORD);
    spawn_on(&config, folder).await
}

#[tokio::test]
async fn the_practices_own_events_hide_the_slots_they_cover() {
    let radicale = Radicale::start().await;
    let ten = tomorrow_at(10, 0);
    radicale
        .put_event("meeting", &vevent("meeting", ten, 60, ""))
        .await;
    // Daily at 13:00 for three days: the server expands the recurrence.
    radicale
        .put_event(
            "lunch",
            &vevent(
                "lunch",
                tomorrow_at(13, 0),
                30,
                "RRULE:FREQ=DAILY;COUNT=3\r\n",
            ),
        )
        .await;
    radicale
        .put_event(
            "free",
            &vevent("free", tomorrow_at(15, 0), 30, "TRANSP:TRANSPARENT\r\n"),
        )
        .await;
    radicale
        .put_event(
            "off",
            &vevent("off", tomorrow_at(16, 0), 30, "STATUS:CANCELLED\r\n"),
        )
        .await;
    let all_day = (Utc::now() + Span::days(3)).date_naive();
    radicale
        .put_event(
            "holiday",
            &format!(
                "BEGIN:VEVENT\r\nUID:holiday\r\nDTSTAMP:{}\r\nDTSTART;VALUE=DATE:{}\r\nSUMMARY:Away\r\nEND:VEVENT\r\n",
                ical(Utc::now()),
                all_day.format("%Y%m%d")
            ),
        )
        .await;

    let app = spawn_with_caldav(&radicale).await;
    let open = app.open_slots("free-consultation").await;

    for busy in [
        ten,
        ten + Span::minutes(45),
        tomorrow_at(13, 0),
        tomorrow_at(13, 15),
        tomorrow_at(13, 0) + Span::days(1),
    ] {
        assert!(
            !open.contains(&busy),
            "{busy} is busy in the calendar but offered"
        );
    }
    for free in [
        tomorrow_at(11, 0),
        tomorrow_at(9, 45),
        tomorrow_at(13, 30),
        tomorrow_at(15, 0),
        tomorrow_at(16, 0),
    ] {
        assert!(open.contains(&free), "{free} is free but not offered");
    }
    let now = Utc::now();
    let away = format!(
        "/v1/slots?service=free-consultation&from={}&to={}",
        crate::helpers::iso(all_day.and_hms_opt(0, 0, 0).unwrap().and_utc().max(now)),
        crate::helpers::iso(all_day.and_hms_opt(23, 59, 0).unwrap().and_utc())
    );
    let list: firststep_protocol::SlotList = app.get(&away).await.json().await.unwrap();
    assert!(
        list.slots.is_empty(),
        "the all-day event blocks its whole day"
    );
}

#[tokio::test]
async fn a_request_lands_in_the_calendar_as_a_private_tentative_event_and_leaves_when_cancelled() {
    let radicale = Radicale::start().await;
    let app = spawn_with_caldav(&radicale).await;
    let slot = app.a_free_slot().await;

    let created = app.book(slot).await;

    let id = created.booking.id.clone();
    eventually("the event appearing", 10, || async {
        radicale.get_event(&id).await.is_some()
    })
    .await;
    let event = radicale.get_event(&id).await.unwrap();
    assert!(event.contains("STATUS:TENTATIVE"), "{event}");
    assert!(event.contains("SUMMARY:Consultation request"), "{event}");
    assert!(
        event.contains(&format!("DTSTART:{}", ical(slot))),
        "{event}"
    );
    for private in ["Sam", "Lee", "sam@example.org"] {
        assert!(
            !event.contains(private),
            "the calendar entry holds {private}"
        );
    }

    let cancel = app
        .client
        .delete(app.url(&format!("/v1/bookings/{id}")))
        .bearer_auth(&created.manage_token)
        .send()
        .await
        .unwrap();
    assert_eq!(cancel.status(), 200);
    eventually("the event leaving", 10, || async {
        radicale.get_event(&id).await.is_none()
    })
    .await;
}

#[tokio::test]
async fn with_the_calendar_down_requests_are_still_taken_and_delivered_when_it_returns() {
    let mut radicale = Radicale::start().await;
    let app = spawn_with_caldav(&radicale).await;
    let slot = app.a_free_slot().await;
    radicale.pause();

    let response = app.post_booking(&new_key(), &booking_body(slot)).await;

    assert_eq!(
        response.status(),
        201,
        "the visitor's request does not depend on the calendar"
    );
    let created: BookingCreated = response.json().await.unwrap();
    let store = app.open_store();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        store
            .run(|s| s.calendar_state(&created.booking.id))
            .unwrap()
            .as_deref(),
        Some("owed")
    );

    radicale.resume().await;
    let id = created.booking.id.clone();
    eventually("delivery after the calendar returns", 30, || async {
        radicale.get_event(&id).await.is_some()
    })
    .await;
    eventually("the delivery recorded", 5, || async {
        store
            .run(|s| s.calendar_state(&created.booking.id))
            .unwrap()
            .as_deref()
            == Some("placed")
    })
    .await;
}

#[tokio::test]
async fn a_foreign_event_found_after_placing_withdraws_the_hold() {
    let radicale = Radicale::start().await;
    let app = spawn_with_caldav(&radicale).await;
    let slot = app.a_free_slot().await;
    // The practice books the same time elsewhere; the adapter's copy of busy time is older.
    radicale
        .put_event("dentist", &vevent("dentist", slot, 30, ""))
        .await;

    let created = app.book(slot).await;

    let store = app.open_store();
    let id = created.booking.id.clone();
    eventually("the conflict noticed", 10, || async {
        store.run(|s| s.calendar_state(&id)).unwrap().as_deref() == Some("conflicted")
    })
    .await;
    assert!(
        radicale.get_event(&id).await.is_none(),
        "the hold was withdrawn"
    );
    assert!(
        radicale.get_event("dentist").await.is_some(),
        "the practice's own event stays"
    );
}

#[tokio::test]
async fn a_wrong_password_stops_the_start_and_check_config_with_a_clear_message() {
    let radicale = Radicale::start().await;
    let folder = tempfile::tempdir().unwrap();
    let config = caldav_config(&radicale, folder.path(), "wrong password");
    let settings = Settings::from_toml(&config, folder.path()).unwrap();

    let error = Application::build(settings)
        .await
        .err()
        .expect("the start is refused");

    let message = format!("{error:#}");
    assert!(message.contains("refused user \"practice\""), "{message}");
    assert!(
        !message.contains("wrong password"),
        "the password is never printed"
    );

    let file = folder.path().join("practice.toml");
    std::fs::write(&file, &config).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_firststep-adapter"))
        .args(["check-config", &file.display().to_string()])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("refused user \"practice\""), "{stderr}");
}

#[tokio::test]
async fn writes_owed_to_the_calendar_survive_a_restart_of_the_adapter() {
    let mut radicale = Radicale::start().await;
    let folder = Arc::new(tempfile::tempdir().unwrap());
    let config = caldav_config(&radicale, folder.path(), PASSWORD);
    let app = spawn_on(&config, folder).await;
    let slot = app.a_free_slot().await;
    radicale.pause();
    let created = app.book(slot).await;

    let folder = app.stop().await;
    radicale.resume().await;
    let _restarted = spawn_on(&config, folder).await;

    let id = created.booking.id.clone();
    eventually("delivery by the restarted adapter", 15, || async {
        radicale.get_event(&id).await.is_some()
    })
    .await;
}

#[tokio::test]
async fn confirming_turns_the_hold_into_a_confirmed_event_and_declining_removes_it() {
    use firststep_adapter::store::Answer;
    let radicale = Radicale::start().await;
    let app = spawn_with_caldav(&radicale).await;
    let slots = app.open_slots("free-consultation").await;
    let kept = app.book(slots[40]).await;
    let declined = app.book(slots[60]).await;
    for id in [&kept.booking.id, &declined.booking.id] {
        eventually("the holds placed", 10, || async {
            radicale.get_event(id).await.is_some()
        })
        .await;
    }

    // As the practice's signed link or the `requests` command does.
    let store = app.open_store();
    store
        .run(|s| s.answer(&kept.booking.id, Answer::Confirm, Utc::now()))
        .unwrap();
    store
        .run(|s| s.answer(&declined.booking.id, Answer::Decline, Utc::now()))
        .unwrap();

    eventually("the confirmed event", 15, || async {
        radicale
            .get_event(&kept.booking.id)
            .await
            .is_some_and(|e| e.contains("STATUS:CONFIRMED"))
    })
    .await;
    eventually("the declined hold removed", 15, || async {
        radicale.get_event(&declined.booking.id).await.is_none()
    })
    .await;
}

/// A CalDAV server stand-in whose REPORT answers are whatever the test says.
async fn fake_caldav(answer: Arc<std::sync::Mutex<Vec<u8>>>) -> String {
    use axum::response::IntoResponse;
    let app = axum::Router::new().fallback(move || {
        let body = answer.lock().unwrap().clone();
        async move {
            (
                axum::http::StatusCode::MULTI_STATUS,
                [("content-type", "application/xml")],
                body,
            )
                .into_response()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/cal/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

fn multistatus(events: &[String]) -> Vec<u8> {
    let responses: String = events
        .iter()
        .map(|event| {
            format!(
                "<D:response><D:href>/cal/x.ics</D:href><D:propstat><D:prop><C:calendar-data>\
                 BEGIN:VCALENDAR\r\nVERSION:2.0\r\n{event}END:VCALENDAR\r\n\
                 </C:calendar-data></D:prop></D:propstat></D:response>"
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\"?><D:multistatus xmlns:D=\"DAV:\" xmlns:C=\"urn:ietf:params:xml:ns:caldav\">{responses}</D:multistatus>"
    )
    .into_bytes()
}

#[tokio::test]
async fn hostile_events_in_a_caldav_answer_are_skipped_and_an_oversized_answer_keeps_the_last_copy()
{
    use firststep_adapter::calendar::busy_cache::BusyCache;
    use firststep_adapter::calendar::caldav::CalDavCalendar;
    use firststep_adapter::calendar::capped_body::MAX_BODY_BYTES;
    use firststep_adapter::config::Secret;

    let noon = tomorrow_at(12, 0);
    let hostile = |uid: &str, duration: &str| {
        format!(
            "BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTART:{}\r\nDURATION:{duration}\r\nEND:VEVENT\r\n",
            ical(noon + Span::hours(2))
        )
    };
    let answer = Arc::new(std::sync::Mutex::new(multistatus(&[
        vevent("good", noon, 60, ""),
        hostile("weeks", "P99999999999W"),
        hostile("seconds", "PT9223372036854775807S"),
    ])));
    let url = fake_caldav(answer.clone()).await;
    let calendar = CalDavCalendar::new(&url, "practice", Secret::new("pw"), chrono_tz::UTC);
    let cache = BusyCache::new(Arc::new(calendar), 30);

    cache.refresh(Utc::now()).await.unwrap();
    let busy = cache.current();
    assert_eq!(busy.len(), 1);
    assert_eq!((busy[0].start, busy[0].end), (noon, noon + Span::hours(1)));

    *answer.lock().unwrap() = vec![b' '; MAX_BODY_BYTES + 1];
    assert!(cache.refresh(Utc::now()).await.is_err());
    assert_eq!(cache.current(), busy, "the last good copy stays");
}
