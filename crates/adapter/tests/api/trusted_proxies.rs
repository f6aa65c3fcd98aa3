//! The booking limit is per visitor: through a trusted proxy, the visitor is
//! the address its forwarding headers name; from anyone else those headers
//! change nothing.

use std::net::IpAddr;

use crate::helpers::{booking_body, new_key, spawn_app_with, TestApp, CONFIG};

/// One booking attempt a minute, and the proxy on 127.0.0.1.
fn config(trusted: &str) -> String {
    CONFIG
        .replace("bookings_per_minute = 100000", "bookings_per_minute = 1")
        .replace(
            "[server]",
            &format!("[server]\ntrusted_proxies = {trusted}"),
        )
}

/// The status of one booking attempt from the socket bound to `from`, with
/// an `X-Forwarded-For` header when given.
async fn attempt(app: &TestApp, from: &str, forwarded_for: Option<&str>) -> u16 {
    let client = reqwest::Client::builder()
        .local_address(from.parse::<IpAddr>().unwrap())
        .build()
        .unwrap();
    let slot = app.a_free_slot().await;
    let mut request = client
        .post(app.url("/v1/bookings"))
        .header("Idempotency-Key", new_key())
        .json(&booking_body(slot));
    if let Some(value) = forwarded_for {
        request = request.header("X-Forwarded-For", value);
    }
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn visitors_behind_a_trusted_proxy_have_their_own_limits() {
    let app = spawn_app_with(&config("[\"127.0.0.1/32\"]")).await;

    assert_eq!(attempt(&app, "127.0.0.1", Some("203.0.113.1")).await, 201);
    assert_eq!(attempt(&app, "127.0.0.1", Some("203.0.113.1")).await, 429);
    // Another visitor through the same proxy is not held back.
    assert_eq!(attempt(&app, "127.0.0.1", Some("203.0.113.2")).await, 201);
    // The first visitor cannot escape by writing another address to the
    // left: the proxy appended the real one on the right.
    assert_eq!(
        attempt(&app, "127.0.0.1", Some("198.51.100.9, 203.0.113.1")).await,
        429
    );
}

#[tokio::test]
async fn forwarding_headers_from_untrusted_peers_change_nothing() {
    let app = spawn_app_with(&config("[\"127.0.0.1/32\"]")).await;

    // 127.0.0.2 is a visitor, not the proxy.
    assert_eq!(attempt(&app, "127.0.0.2", Some("203.0.113.1")).await, 201);
    assert_eq!(attempt(&app, "127.0.0.2", Some("203.0.113.3")).await, 429);
    assert_eq!(attempt(&app, "127.0.0.2", None).await, 429);
    // Its spoofing did not use up anyone else's limit.
    assert_eq!(attempt(&app, "127.0.0.3", None).await, 201);
}

#[tokio::test]
async fn without_trusted_proxies_the_headers_are_ignored() {
    let app = spawn_app_with(&config("[]")).await;

    assert_eq!(attempt(&app, "127.0.0.1", Some("203.0.113.1")).await, 201);
    assert_eq!(attempt(&app, "127.0.0.1", Some("203.0.113.2")).await, 429);
}
