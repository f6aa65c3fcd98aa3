use firststep_protocol::{BookingCreated, BookingView};

use crate::helpers::{booking_body, new_key, spawn_app, spawn_on, CONFIG};

#[tokio::test]
async fn every_acknowledged_booking_survives_a_restart() {
    let app = spawn_app().await;
    let slots = app.open_slots("free-consultation").await;
    let mut acknowledged: Vec<BookingCreated> = Vec::new();
    for slot in slots.iter().skip(20).step_by(3).take(10) {
        let response = app.post_booking(&new_key(), &booking_body(*slot)).await;
        assert_eq!(response.status(), 201);
        acknowledged.push(response.json().await.unwrap());
    }

    let folder = app.stop().await;
    let restarted = spawn_on(CONFIG, folder).await;

    for created in &acknowledged {
        let response = restarted
            .client
            .get(restarted.url(&format!("/v1/bookings/{}", created.booking.id)))
            .bearer_auth(&created.manage_token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let view: BookingView = response.json().await.unwrap();
        assert_eq!(view, created.booking);
        assert!(!restarted
            .open_slots("free-consultation")
            .await
            .contains(&created.booking.start));
    }
}

#[tokio::test]
async fn a_replay_after_a_restart_still_returns_the_first_response() {
    let app = spawn_app().await;
    let body = booking_body(app.a_free_slot().await);
    let first = app
        .post_booking("restart-key", &body)
        .await
        .bytes()
        .await
        .unwrap();

    let restarted = spawn_on(CONFIG, app.stop().await).await;
    let again = restarted.post_booking("restart-key", &body).await;

    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.bytes().await.unwrap(), first);
}
