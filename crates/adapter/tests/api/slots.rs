use chrono::{Duration, Utc};
use firststep_protocol::{ErrorCode, SlotList};

use crate::helpers::{iso, problem, spawn_app, spawn_app_with, CONFIG, INTAKE_SERVICE};

#[tokio::test]
async fn lists_open_slots_in_the_window_ascending() {
    let app = spawn_app().await;
    let from = Utc::now() + Duration::days(1);
    let to = from + Duration::hours(2);

    let response = app
        .get(&format!(
            "/v1/slots?service=free-consultation&from={}&to={}",
            iso(from),
            iso(to)
        ))
        .await;

    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let list: SlotList = response.json().await.unwrap();
    assert_eq!(
        (list.service.as_str(), list.time_zone.as_str()),
        ("free-consultation", "UTC")
    );
    assert_eq!(list.slots.len(), 8, "two hours of 15-minute slots");
    assert!(list
        .slots
        .iter()
        .all(|s| from <= s.start && s.start < to && s.end - s.start == Duration::minutes(15)));
    assert!(list.slots.windows(2).all(|w| w[0].start < w[1].start));
}

#[tokio::test]
async fn the_service_may_be_left_out_when_there_is_only_one() {
    let app = spawn_app_with(&CONFIG.replace(INTAKE_SERVICE, "")).await;
    let from = Utc::now() + Duration::days(1);

    let response = app
        .get(&format!(
            "/v1/slots?from={}&to={}",
            iso(from),
            iso(from + Duration::hours(1))
        ))
        .await;

    let list: SlotList = response.json().await.unwrap();
    assert_eq!(list.service, "free-consultation");
    assert_eq!(list.slots.len(), 4);
}

#[tokio::test]
async fn a_booked_slot_disappears_and_longer_services_avoid_it() {
    let app = spawn_app().await;
    let slot = app.a_free_slot().await;
    let created = app
        .post_booking("k1", &crate::helpers::booking_body(slot))
        .await;
    assert_eq!(created.status(), 201);

    assert!(!app.open_slots("free-consultation").await.contains(&slot));
    let intake = app.open_slots("intake").await;
    assert!(intake
        .iter()
        .all(|start| *start + Duration::minutes(50) <= slot
            || *start >= slot + Duration::minutes(15)));
}

#[tokio::test]
async fn bad_ranges_are_refused_with_their_codes() {
    let app = spawn_app().await;
    let now = Utc::now();
    let cases = [
        (
            format!("/v1/slots?service=free-consultation&to={}", iso(now)),
            ErrorCode::InvalidRange,
        ),
        (
            "/v1/slots?service=free-consultation&from=yesterday&to=today".to_owned(),
            ErrorCode::InvalidRange,
        ),
        (
            format!("/v1/slots?from={}&to={}&service=intake", iso(now), iso(now)),
            ErrorCode::InvalidRange,
        ),
        (
            format!(
                "/v1/slots?from={}&to={}",
                iso(now),
                iso(now - Duration::hours(1))
            ),
            ErrorCode::InvalidRange,
        ),
        (
            format!(
                "/v1/slots?from={}&to={}",
                iso(now),
                iso(now + Duration::days(63))
            ),
            ErrorCode::RangeTooLarge,
        ),
    ];
    for (path, code) in cases {
        let found = problem(app.get(&path).await, 422).await;
        assert_eq!(found.code, code, "{path}");
    }
    let exactly_62_days = format!(
        "/v1/slots?service=intake&from={}&to={}",
        iso(now),
        iso(now + Duration::days(62))
    );
    assert_eq!(app.get(&exactly_62_days).await.status(), 200);
}

/// Only RFC 3339 with four-digit years is read; the edges of that range are
/// answered, not overflowed.
#[tokio::test]
async fn instants_outside_rfc3339_are_invalid_ranges_and_its_edges_are_answered() {
    let app = spawn_app().await;

    for (from, to) in [
        ("+262142-12-30T00:00:00Z", "+262142-12-31T23:59:59Z"),
        ("-262143-01-01T00:00:00Z", "-262143-01-02T00:00:00Z"),
        ("2026-12-01T14:00:00", "2026-12-02T14:00:00Z"),
        ("2026-12-01%2014:00:00Z", "2026-12-02T14:00:00Z"),
        ("%FF", "2026-12-02T14:00:00Z"),
    ] {
        let path = format!("/v1/slots?service=intake&from={from}&to={to}");
        let found = problem(app.get(&path).await, 422).await;
        assert_eq!(found.code, ErrorCode::InvalidRange, "{path}");
    }
    for (from, to) in [
        ("0000-01-01T00:00:00Z", "0000-01-02T00:00:00Z"),
        ("9999-12-30T00:00:00Z", "9999-12-31T23:59:59Z"),
        ("9999-12-31T00:00:00-23:59", "9999-12-31T23:59:59-23:59"),
    ] {
        let path = format!("/v1/slots?service=intake&from={from}&to={to}");
        let response = app.get(&path).await;
        assert_eq!(response.status(), 200, "{path}");
        let list: SlotList = response.json().await.unwrap();
        assert_eq!(list.slots, [], "{path}");
    }
    assert_eq!(app.get("/healthz").await.status(), 200);
}

#[tokio::test]
async fn an_unknown_service_is_a_404() {
    let app = spawn_app().await;
    let now = Utc::now();

    let response = app
        .get(&format!(
            "/v1/slots?service=massage&from={}&to={}",
            iso(now),
            iso(now + Duration::days(1))
        ))
        .await;

    assert_eq!(problem(response, 404).await.code, ErrorCode::UnknownService);
}
