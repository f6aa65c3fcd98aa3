use chrono::{DateTime, Duration, Utc};
use firststep_protocol::{BookingCreated, BookingStatus, BookingView, ErrorCode};

use crate::helpers::{booking_body, new_key, problem, spawn_app, TestApp};

async fn book(app: &TestApp) -> BookingCreated {
    book_at(app, app.a_free_slot().await).await
}

async fn book_at(app: &TestApp, slot: DateTime<Utc>) -> BookingCreated {
    app.post_booking(&new_key(), &booking_body(slot))
        .await
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_owner_sees_the_booking_without_its_token() {
    let app = spawn_app().await;
    let created = book(&app).await;

    let response = app
        .client
        .get(app.url(&format!("/v1/bookings/{}", created.booking.id)))
        .bearer_auth(&created.manage_token)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    let json: serde_json::Value = response.json().await.unwrap();
    assert!(json.get("manage_token").is_none());
    let view: BookingView = serde_json::from_value(json).unwrap();
    assert_eq!(view, created.booking);
}

#[tokio::test]
async fn a_wrong_missing_or_foreign_token_is_a_404_never_a_403() {
    let app = spawn_app().await;
    let mine = book(&app).await;
    let theirs = book(&app).await;
    let path = format!("/v1/bookings/{}", mine.booking.id);

    let missing = app.client.get(app.url(&path)).send().await.unwrap();
    let wrong = app
        .client
        .get(app.url(&path))
        .bearer_auth("guess")
        .send()
        .await
        .unwrap();
    let foreign = app
        .client
        .get(app.url(&path))
        .bearer_auth(&theirs.manage_token)
        .send()
        .await
        .unwrap();
    let no_such = app
        .client
        .get(app.url("/v1/bookings/bk_AAAAAAAAAAAAAAAA"))
        .bearer_auth(&mine.manage_token)
        .send()
        .await
        .unwrap();
    let cancel = app
        .client
        .delete(app.url(&path))
        .bearer_auth("guess")
        .send()
        .await
        .unwrap();

    for response in [missing, wrong, foreign, no_such, cancel] {
        assert_eq!(problem(response, 404).await.code, ErrorCode::NotFound);
    }
}

#[tokio::test]
async fn cancelling_frees_the_slot_and_is_idempotent() {
    let app = spawn_app().await;
    let created = book(&app).await;
    let path = format!("/v1/bookings/{}", created.booking.id);
    assert!(!app
        .open_slots("free-consultation")
        .await
        .contains(&created.booking.start));

    for _ in 0..2 {
        let response = app
            .client
            .delete(app.url(&path))
            .bearer_auth(&created.manage_token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let view: BookingView = response.json().await.unwrap();
        assert_eq!(view.status, BookingStatus::Cancelled);
        assert_eq!(view.expires_at, None);
    }

    assert!(app
        .open_slots("free-consultation")
        .await
        .contains(&created.booking.start));
    assert_eq!(app.view(&created).await.status, BookingStatus::Cancelled);
}

#[tokio::test]
async fn a_lapsed_request_shows_as_expired_and_frees_its_slot() {
    let app = spawn_app().await;
    // Three days ahead, so the request lapses (after 48 hours) before its slot.
    let created = book_at(&app, app.a_free_slot_in(Duration::days(3)).await).await;
    let expires = created.booking.expires_at.expect("a request lapses");
    assert!(expires < created.booking.start);
    app.advance_past(expires);

    let view = app.view(&created).await;

    assert_eq!(view.status, BookingStatus::Expired);
    assert!(app
        .open_slots("free-consultation")
        .await
        .contains(&created.booking.start));
    let again = app
        .post_booking(&new_key(), &booking_body(created.booking.start))
        .await;
    assert_eq!(again.status(), 201, "the slot can be requested again");
}

/// An id whose escapes are not UTF-8 cannot be read: `400 bad_request` as
/// problem+json, as docs/protocol.md says of every such path.
#[tokio::test]
async fn an_id_that_is_not_utf8_is_a_400_problem() {
    let app = spawn_app().await;

    for request in [
        app.client.get(app.url("/v1/bookings/bk_%FF%FE")),
        app.client.delete(app.url("/v1/bookings/bk_%C3%28")),
    ] {
        let response = request.bearer_auth("token").send().await.unwrap();
        assert_eq!(problem(response, 400).await.code, ErrorCode::BadRequest);
    }
}
