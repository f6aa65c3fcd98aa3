use crate::helpers::{booking_body, new_key, spawn_app_with, CONFIG};

#[tokio::test]
async fn allowed_origins_get_cors_headers_and_others_do_not() {
    let app = spawn_app_with(CONFIG).await;

    let allowed = app
        .client
        .get(app.url("/v1/practice"))
        .header("Origin", "https://practice.example.org")
        .send()
        .await
        .unwrap();
    let foreign = app
        .client
        .get(app.url("/v1/practice"))
        .header("Origin", "https://evil.example.net")
        .send()
        .await
        .unwrap();

    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://practice.example.org"
    );
    assert!(foreign
        .headers()
        .get("access-control-allow-origin")
        .is_none());
}

#[tokio::test]
async fn preflights_are_answered_even_when_the_address_is_rate_limited() {
    let app =
        spawn_app_with(&CONFIG.replace("bookings_per_minute = 100000", "bookings_per_minute = 1"))
            .await;
    let slot = app.a_free_slot().await;
    app.post_booking(&new_key(), &booking_body(slot)).await;
    assert_eq!(
        app.post_booking(&new_key(), &booking_body(slot))
            .await
            .status(),
        429
    );

    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/v1/bookings"))
        .header("Origin", "https://practice.example.org")
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "content-type, idempotency-key",
        )
        .send()
        .await
        .unwrap();

    assert_eq!(preflight.status(), 200);
    let headers = preflight.headers();
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://practice.example.org"
    );
    let allowed = headers["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(allowed.contains("idempotency-key") && allowed.contains("content-type"));
    assert!(headers["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("POST"));
}

#[tokio::test]
async fn no_response_sets_a_cookie() {
    let app = spawn_app_with(CONFIG).await;
    let slot = app.a_free_slot().await;
    let responses = [
        app.get("/v1/practice").await,
        app.post_booking(&new_key(), &booking_body(slot)).await,
    ];
    for response in responses {
        assert!(response.headers().get("set-cookie").is_none());
    }
}
