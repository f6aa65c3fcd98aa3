use std::sync::Arc;

use firststep_protocol::ErrorCode;
use serde_json::json;

use crate::helpers::{booking_body, new_key, problem, spawn_app, spawn_on, CONFIG};

const TOKEN: &str = "a-long-random-feed-token-0123456789";

#[tokio::test]
async fn the_practice_feed_lists_live_requests_and_bookings_privately() {
    let folder = Arc::new(tempfile::tempdir().unwrap());
    std::fs::write(folder.path().join("feed-token"), format!("{TOKEN}\n")).unwrap();
    let app = spawn_on(
        &format!("{CONFIG}\n[feed]\ntoken_file = \"feed-token\"\n"),
        folder,
    )
    .await;
    let slots = app.open_slots("free-consultation").await;
    let request = app.post_booking(&new_key(), &booking_body(slots[30])).await;
    assert_eq!(request.status(), 201);
    let mut instant = booking_body(app.open_slots("intake").await[60]);
    instant["service"] = json!("intake");
    assert_eq!(app.post_booking(&new_key(), &instant).await.status(), 201);
    let cancelled = app.book(slots[90]).await;
    app.cancel(&cancelled).await;

    let response = app.get(&format!("/feeds/bookings.ics?token={TOKEN}")).await;

    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/calendar; charset=utf-8"
    );
    let text = response.text().await.unwrap();
    assert_eq!(text.matches("BEGIN:VEVENT").count(), 2, "{text}");
    assert!(
        text.contains("SUMMARY:Request: Free 15-minute consultation\r\nSTATUS:TENTATIVE"),
        "{text}"
    );
    assert!(
        text.contains("SUMMARY:Intake session\r\nSTATUS:CONFIRMED"),
        "{text}"
    );
    assert!(
        !text.contains(&cancelled.booking.id),
        "cancelled bookings leave the feed"
    );
    assert!(
        !text.contains("Sam"),
        "no client names unless the practice opts in"
    );

    for wrong in ["/feeds/bookings.ics", "/feeds/bookings.ics?token=guess"] {
        assert_eq!(
            problem(app.get(wrong).await, 404).await.code,
            ErrorCode::NotFound
        );
    }
}

#[tokio::test]
async fn without_a_configured_token_there_is_no_feed() {
    let app = spawn_app().await;
    let response = app.get(&format!("/feeds/bookings.ics?token={TOKEN}")).await;
    assert_eq!(problem(response, 404).await.code, ErrorCode::NotFound);
}
