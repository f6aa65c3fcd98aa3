use chrono::Duration;
use firststep_adapter::store::KeyClaim;
use firststep_protocol::{BookingCreated, BookingStatus, ErrorCode};
use serde_json::json;

use crate::helpers::{booking_body, iso, new_key, problem, spawn_app, spawn_app_with, CONFIG};

#[tokio::test]
async fn a_request_is_stored_pending_with_its_location_and_token() {
    let app = spawn_app().await;
    let slot = app.a_free_slot().await;

    let response = app.post_booking(&new_key(), &booking_body(slot)).await;

    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let created: BookingCreated = response.json().await.unwrap();
    assert_eq!(location, format!("/v1/bookings/{}", created.booking.id));
    assert!(created.booking.id.starts_with("bk_"));
    assert_eq!(created.booking.status, BookingStatus::Pending);
    assert_eq!(
        (created.booking.start, created.booking.end),
        (slot, slot + Duration::minutes(15))
    );
    let expires = created
        .booking
        .expires_at
        .expect("a pending request expires");
    assert!(
        expires <= slot && expires > app.now(),
        "expires before the slot starts: {expires}"
    );
    assert!(created.manage_token.len() >= 22, "at least 128 bits");
}

#[tokio::test]
async fn an_instant_service_is_confirmed_at_once() {
    let app = spawn_app().await;
    let slot = app.open_slots("intake").await[10];
    let mut body = booking_body(slot);
    body["service"] = json!("intake");

    let created: BookingCreated = app
        .post_booking(&new_key(), &body)
        .await
        .json()
        .await
        .unwrap();

    assert_eq!(created.booking.status, BookingStatus::Confirmed);
    assert_eq!(
        created.booking.end - created.booking.start,
        Duration::minutes(50)
    );
    assert_eq!(created.booking.expires_at, None);
}

#[tokio::test]
async fn fifty_visitors_racing_for_one_slot_get_one_booking() {
    let app = spawn_app().await;
    let slot = app.a_free_slot().await;

    let attempts = (0..50).map(|_| {
        let client = app.client.clone();
        let url = app.url("/v1/bookings");
        let body = booking_body(slot);
        tokio::spawn(async move {
            let response = client
                .post(url)
                .header("Idempotency-Key", new_key())
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let code = (status == 409).then(|| response.json::<firststep_protocol::Problem>());
            (
                status,
                match code {
                    Some(p) => Some(p.await.unwrap().code),
                    None => None,
                },
            )
        })
    });
    let results = futures::future::join_all(attempts).await;

    let created = results
        .iter()
        .filter(|r| r.as_ref().unwrap().0 == 201)
        .count();
    let taken = results
        .iter()
        .filter(|r| r.as_ref().unwrap() == &(409, Some(ErrorCode::SlotUnavailable)))
        .count();
    assert_eq!((created, taken), (1, 49));
}

#[tokio::test]
async fn the_same_key_and_body_replay_the_first_response_byte_for_byte() {
    let app = spawn_app().await;
    let body = booking_body(app.a_free_slot().await);
    let first = app.post_booking("replay-key", &body).await;
    let first_location = first.headers()["location"].clone();
    let first_body = first.bytes().await.unwrap();

    let again = app.post_booking("replay-key", &body).await;

    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.headers()["location"], first_location);
    assert_eq!(again.bytes().await.unwrap(), first_body);
}

#[tokio::test]
async fn a_final_error_is_replayed_too() {
    let app = spawn_app().await;
    let mut body = booking_body(app.a_free_slot().await);
    body["client"]["email"] = json!("not an address");
    let first = app
        .post_booking("bad-email", &body)
        .await
        .bytes()
        .await
        .unwrap();

    let again = app.post_booking("bad-email", &body).await;

    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.status(), 422);
    assert_eq!(again.bytes().await.unwrap(), first);
}

#[tokio::test]
async fn the_same_key_with_another_body_is_refused() {
    let app = spawn_app().await;
    let slots = app.open_slots("free-consultation").await;
    assert_eq!(
        app.post_booking("k", &booking_body(slots[40]))
            .await
            .status(),
        201
    );

    let response = app.post_booking("k", &booking_body(slots[41])).await;

    assert_eq!(
        problem(response, 422).await.code,
        ErrorCode::IdempotencyKeyReused
    );
    assert!(
        app.open_slots("free-consultation")
            .await
            .contains(&slots[41]),
        "nothing was booked"
    );
}

#[tokio::test]
async fn a_key_whose_first_request_still_runs_gets_409_in_progress() {
    let app = spawn_app().await;
    let body = booking_body(app.a_free_slot().await);
    // A first request that claimed the key and has not answered yet.
    let hash = {
        use sha2::Digest;
        sha2::Sha256::digest(serde_json::to_vec(&body).unwrap()).to_vec()
    };
    let key = firststep_adapter::domain::IdempotencyKey::parse("busy-key").unwrap();
    let now = app.now();
    let claim = app
        .open_store()
        .run(|store| store.claim_key(&key, &hash, now))
        .unwrap();
    assert!(matches!(claim, KeyClaim::Claimed), "the key was new");

    let response = app.post_booking("busy-key", &body).await;

    let found = problem(response, 409).await;
    assert_eq!(found.code, ErrorCode::RequestInProgress);
    assert!(found.retryable);
}

#[tokio::test]
async fn a_missing_or_invalid_key_is_a_400() {
    let app = spawn_app().await;
    let body = booking_body(app.a_free_slot().await);

    let without = app
        .client
        .post(app.url("/v1/bookings"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(without, 400).await.code,
        ErrorCode::MissingIdempotencyKey
    );
    let spaced = app.post_booking("has spaces", &body).await;
    assert_eq!(
        problem(spaced, 400).await.code,
        ErrorCode::MissingIdempotencyKey
    );
    let long = app.post_booking(&"k".repeat(256), &body).await;
    assert_eq!(
        problem(long, 400).await.code,
        ErrorCode::MissingIdempotencyKey
    );
}

#[tokio::test]
async fn malformed_json_and_unknown_fields_are_a_400() {
    let app = spawn_app().await;
    let send = |body: String| {
        app.client
            .post(app.url("/v1/bookings"))
            .header("Idempotency-Key", new_key())
            .header("Content-Type", "application/json")
            .body(body)
            .send()
    };
    let mut extra = booking_body(app.a_free_slot().await);
    extra["admin"] = json!(true);

    for body in ["{not json".to_owned(), "[]".to_owned(), extra.to_string()] {
        let found = problem(send(body.clone()).await.unwrap(), 400).await;
        assert_eq!(found.code, ErrorCode::MalformedJson, "{body}");
    }
}

/// These years pass chrono's own reader and overflowed its date arithmetic,
/// which ended the process (issue #12).
#[tokio::test]
async fn six_digit_years_are_refused_and_the_server_keeps_answering() {
    let app = spawn_app().await;

    for start in [
        "+262142-12-31T23:59:59Z",
        "-262143-01-01T00:00:00Z",
        "+002026-12-01T14:00:00Z",
        "2026-12-01 14:00:00Z",
    ] {
        let mut body = booking_body(app.a_free_slot().await);
        body["start"] = json!(start);
        let found = problem(app.post_booking(&new_key(), &body).await, 400).await;
        assert_eq!(found.code, ErrorCode::MalformedJson, "{start}");
        assert!(found.detail.contains("RFC 3339"), "{}", found.detail);
    }

    assert_eq!(app.get("/healthz").await.status(), 200);
    app.book(app.a_free_slot().await).await;
}

/// The farthest instants RFC 3339 can write are read, and refused as slots
/// not offered: date arithmetic on them is checked.
#[tokio::test]
async fn the_first_and_last_four_digit_instants_are_slots_not_offered() {
    let app = spawn_app().await;

    for start in [
        "0000-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "9999-12-31T23:45:00-23:59",
    ] {
        let mut body = booking_body(app.a_free_slot().await);
        body["start"] = json!(start);
        let found = problem(app.post_booking(&new_key(), &body).await, 409).await;
        assert_eq!(found.code, ErrorCode::SlotUnavailable, "{start}");
    }
    assert_eq!(app.get("/healthz").await.status(), 200);
}

#[tokio::test]
async fn a_body_over_16_kib_is_a_413() {
    let app = spawn_app().await;
    let mut body = booking_body(app.a_free_slot().await);
    body["note"] = json!("x".repeat(17 * 1024));

    let response = app.post_booking(&new_key(), &body).await;

    assert_eq!(
        problem(response, 413).await.code,
        ErrorCode::PayloadTooLarge
    );
}

#[tokio::test]
async fn an_unknown_service_is_a_404() {
    let app = spawn_app().await;
    let mut body = booking_body(app.a_free_slot().await);
    body["service"] = json!("massage");

    assert_eq!(
        problem(app.post_booking(&new_key(), &body).await, 404)
            .await
            .code,
        ErrorCode::UnknownService
    );
}

#[tokio::test]
async fn each_invalid_field_is_named() {
    let app = spawn_app().await;
    let slot = app.a_free_slot().await;
    let cases = [
        ("/client/name", json!("   "), "client.name"),
        ("/client/name", json!("x".repeat(101)), "client.name"),
        ("/client/name", json!("Sam\u{0}Lee"), "client.name"),
        ("/client/email", json!("sam@"), "client.email"),
        (
            "/client/email",
            json!(format!("{}@example.org", "s".repeat(250))),
            "client.email",
        ),
        ("/client/phone", json!("call me maybe"), "client.phone"),
        ("/client/phone", json!("1".repeat(33)), "client.phone"),
        ("/note", json!("n".repeat(1001)), "note"),
        (
            "/client_time_zone",
            json!("Mars/Olympus"),
            "client_time_zone",
        ),
        ("/consent", json!(false), "consent"),
        ("/website", json!("http://spam.example"), "website"),
    ];
    for (pointer, value, field) in cases {
        let mut body = booking_body(slot);
        *body.pointer_mut(pointer).unwrap() = value;

        let found = problem(app.post_booking(&new_key(), &body).await, 422).await;

        assert_eq!(
            (found.code, found.field.as_deref()),
            (ErrorCode::InvalidField, Some(field)),
            "{pointer}"
        );
        assert!(!found.detail.is_empty());
    }
    assert!(
        app.open_slots("free-consultation").await.contains(&slot),
        "no invalid request booked anything"
    );
}

#[tokio::test]
async fn the_form_settings_decide_which_fields_are_taken() {
    let strict = CONFIG.replace(
        "phone = \"optional\"\nnote = \"optional\"",
        "phone = \"required\"\nnote = \"hidden\"",
    );
    let app = spawn_app_with(&strict).await;
    let slot = app.a_free_slot().await;

    let without_phone = app.post_booking(&new_key(), &booking_body(slot)).await;
    assert_eq!(
        problem(without_phone, 422).await.field.as_deref(),
        Some("client.phone")
    );

    let mut with_note = booking_body(slot);
    with_note["client"]["phone"] = json!("+1 555 010 0199");
    with_note["note"] = json!("about my sleep");
    assert_eq!(
        problem(app.post_booking(&new_key(), &with_note).await, 422)
            .await
            .field
            .as_deref(),
        Some("note")
    );

    with_note["note"] = json!(null);
    assert_eq!(app.post_booking(&new_key(), &with_note).await.status(), 201);
}

#[tokio::test]
async fn slots_not_offered_are_a_409() {
    let app = spawn_app().await;
    let slot = app.a_free_slot().await;
    let past = slot - Duration::days(3);
    let off_grid = slot + Duration::minutes(7);
    let beyond_horizon = slot + Duration::days(40);

    for start in [past, off_grid, beyond_horizon] {
        let found = problem(
            app.post_booking(&new_key(), &booking_body(start)).await,
            409,
        )
        .await;
        assert_eq!(found.code, ErrorCode::SlotUnavailable, "{}", iso(start));
        assert!(!found.retryable);
    }
}

#[tokio::test]
async fn too_many_attempts_from_one_address_are_told_to_wait() {
    let app =
        spawn_app_with(&CONFIG.replace("bookings_per_minute = 100000", "bookings_per_minute = 2"))
            .await;
    let slots = app.open_slots("free-consultation").await;
    assert_eq!(
        app.post_booking(&new_key(), &booking_body(slots[50]))
            .await
            .status(),
        201
    );
    assert_eq!(
        app.post_booking(&new_key(), &booking_body(slots[52]))
            .await
            .status(),
        201
    );

    let response = app.post_booking(&new_key(), &booking_body(slots[54])).await;

    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&retry_after));
    let found = problem(response, 429).await;
    assert_eq!(found.code, ErrorCode::RateLimited);
    assert!(found.retryable);
}

#[tokio::test]
async fn a_request_that_cannot_be_stored_durably_is_a_503_to_retry_and_a_retry_books() {
    let app = spawn_app().await;
    let body = booking_body(app.a_free_slot().await);
    // Another process holds the store's write lock longer than the adapter waits.
    let lock = app.hold_write_lock();

    let asked = std::time::Instant::now();
    let response = app.post_booking("retry-me", &body).await;

    assert!(
        asked.elapsed() < std::time::Duration::from_secs(10),
        "answered only after {:?}",
        asked.elapsed()
    );
    assert!(response.headers().contains_key("retry-after"));
    let found = problem(response, 503).await;
    assert_eq!(found.code, ErrorCode::BackendUnavailable);
    assert!(found.retryable);
    drop(lock);
    assert_eq!(
        app.post_booking("retry-me", &body).await.status(),
        201,
        "the same key runs anew"
    );
}
