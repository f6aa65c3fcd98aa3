//! The HTTP edge: problem+json for every `/v1` error, `nosniff` on every
//! response, 413 before `100 Continue`, and the connection limits (header
//! read and idle timeouts, the connection cap), driven over raw TCP where
//! HTTP clients would hide what happens.

use std::time::Duration;

use firststep_adapter::connections::ConnectionLimits;
use firststep_protocol::ErrorCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{problem, spawn_app, spawn_tuned, CONFIG};

/// Long enough for any answer on a busy machine; short enough for a test.
const PATIENCE: Duration = Duration::from_secs(10);

async fn connect(address: &str) -> TcpStream {
    TcpStream::connect(address.trim_start_matches("http://"))
        .await
        .expect("the server accepts")
}

/// Reads until `stream` has given a whole response head, or closes.
async fn read_head(stream: &mut TcpStream) -> String {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tokio::time::timeout(PATIENCE, stream.read(&mut buf))
            .await
            .expect("an answer in time")
            .expect("reading");
        if n == 0 {
            break;
        }
        seen.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&seen).into_owned()
}

/// Whether the server closes `stream` within `within` (reading and
/// discarding whatever it sends first).
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test]
async fn expect_continue_with_a_body_over_the_limit_is_refused_at_once() {
    let app = spawn_app().await;
    let mut stream = connect(&app.address).await;

    stream
        .write_all(
            b"POST /v1/bookings HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
              Idempotency-Key: 0123456789abcdef\r\nContent-Length: 1000000000\r\n\
              Expect: 100-continue\r\n\r\n",
        )
        .await
        .unwrap();
    let head = read_head(&mut stream).await;

    assert!(
        head.starts_with("HTTP/1.1 413"),
        "expected 413, not 100 Continue: {head}"
    );
    assert!(
        head.contains("content-type: application/problem+json"),
        "{head}"
    );
}

#[tokio::test]
async fn an_over_long_declared_body_is_refused_before_it_is_read() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/v1/bookings"))
        .header("Idempotency-Key", "0123456789abcdef")
        .header("Content-Type", "application/json")
        .body(vec![b' '; 16 * 1024 + 1])
        .send()
        .await
        .unwrap();

    let found = problem(response, 413).await;
    assert_eq!(found.code, ErrorCode::PayloadTooLarge);
}

#[tokio::test]
async fn errors_outside_the_handlers_under_v1_are_problems() {
    let app = spawn_app().await;

    let unknown = problem(app.get("/v1/no-such-thing").await, 404).await;
    assert_eq!(unknown.code, ErrorCode::NotFound);
    let bare = problem(app.get("/v1").await, 404).await;
    assert_eq!(bare.code, ErrorCode::NotFound);

    let wrong_method = app
        .client
        .delete(app.url("/v1/slots"))
        .send()
        .await
        .unwrap();
    let allow = wrong_method.headers()["allow"].to_str().unwrap().to_owned();
    assert!(allow.contains("GET"), "Allow: {allow}");
    let found = problem(wrong_method, 405).await;
    assert_eq!(found.code, ErrorCode::MethodNotAllowed);
    let put = app
        .client
        .put(app.url("/v1/bookings"))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(put, 405).await.code, ErrorCode::MethodNotAllowed);

    // An id that is not UTF-8 cannot even be read as a path.
    let bad_id = app
        .client
        .get(app.url("/v1/bookings/%FF%FE"))
        .bearer_auth("anything")
        .send()
        .await
        .unwrap();
    assert_eq!(problem(bad_id, 400).await.code, ErrorCode::BadRequest);
    let bad_file = app.get("/v1/bookings/%C3%28/calendar.ics?token=x").await;
    assert_eq!(problem(bad_file, 400).await.code, ErrorCode::BadRequest);
    let bad_query = app.get("/v1/slots?service=%FF").await;
    let status = bad_query.status().as_u16();
    assert!(matches!(status, 400 | 404 | 422), "{status}");
    problem(bad_query, status).await;

    // Outside /v1 the pages keep their own answers.
    let page = app.get("/manage/%FF").await;
    assert_ne!(
        page.headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap()),
        Some("application/problem+json")
    );
}

#[tokio::test]
async fn every_response_says_nosniff() {
    let folder = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let widget = folder.path().join("dist");
    let demo = folder.path().join("demo");
    std::fs::create_dir_all(&widget).unwrap();
    std::fs::create_dir_all(&demo).unwrap();
    std::fs::write(widget.join("element.js"), "export {};").unwrap();
    std::fs::write(demo.join("index.html"), "<!doctype html><p>demo</p>").unwrap();
    std::fs::write(
        folder.path().join("feed-token"),
        "a-feed-token-long-enough-to-pass",
    )
    .unwrap();
    let config = CONFIG.replace(
        "[server]",
        "[feed]\ntoken_file = \"feed-token\"\n\n[server]\nwidget_dir = \"dist\"\ndemo_dir = \"demo\"",
    );
    let app = spawn_tuned(&config, folder, |_| {}).await;
    let slot = app.a_free_slot().await;
    let created = app.book(slot).await;
    let id = &created.booking.id;
    let token = &created.manage_token;

    let mut responses = Vec::new();
    for path in [
        "/".to_owned(),
        "/index.html".to_owned(),
        "/widget/element.js".to_owned(),
        "/widget/missing.js".to_owned(),
        "/healthz".to_owned(),
        "/v1/practice".to_owned(),
        "/v1/slots?service=intake&from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z".to_owned(),
        "/v1/nowhere".to_owned(),
        format!("/v1/bookings/{id}/calendar.ics?token={token}"),
        "/feeds/bookings.ics?token=a-feed-token-long-enough-to-pass".to_owned(),
        "/feeds/bookings.ics".to_owned(),
        format!("/manage/{id}?token={token}"),
        format!("/requests/{id}/confirm?sig=wrong"),
    ] {
        responses.push((path.clone(), app.get(&path).await));
    }
    responses.push((
        "GET /v1/bookings/{id}".into(),
        app.client
            .get(app.url(&format!("/v1/bookings/{id}")))
            .bearer_auth(token)
            .send()
            .await
            .unwrap(),
    ));
    responses.push((
        "POST /v1/bookings (bad)".into(),
        app.client
            .post(app.url("/v1/bookings"))
            .body("{")
            .send()
            .await
            .unwrap(),
    ));
    responses.push((
        "preflight".into(),
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/v1/bookings"))
            .header("Origin", "https://practice.example.org")
            .header("Access-Control-Request-Method", "POST")
            .send()
            .await
            .unwrap(),
    ));

    for (what, response) in responses {
        assert_eq!(
            response
                .headers()
                .get("x-content-type-options")
                .map(|v| v.to_str().unwrap()),
            Some("nosniff"),
            "{what} ({})",
            response.status()
        );
    }
}

fn limits(
    tune: impl FnOnce(&mut ConnectionLimits),
) -> impl FnOnce(&mut firststep_adapter::config::Settings) {
    move |settings| tune(&mut settings.server.connections)
}

#[tokio::test]
async fn a_connection_that_never_finishes_its_headers_is_closed() {
    let folder = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let app = spawn_tuned(
        CONFIG,
        folder,
        limits(|l| l.header_read_timeout = Duration::from_millis(500)),
    )
    .await;
    let mut slow = connect(&app.address).await;
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\nX-Slow: ")
        .await
        .unwrap();

    assert!(closed_within(&mut slow, PATIENCE).await);

    // A client sending its headers in time is served on a kept-alive
    // connection; once idle past the same clock it is closed.
    let mut kept = connect(&app.address).await;
    for _ in 0..2 {
        kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
            .await
            .unwrap();
        let head = read_head(&mut kept).await;
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    }
    assert!(closed_within(&mut kept, PATIENCE).await);
}

#[tokio::test]
async fn a_connection_on_which_nothing_moves_is_closed() {
    let folder = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let app = spawn_tuned(
        CONFIG,
        folder,
        limits(|l| l.idle_timeout = Duration::from_millis(500)),
    )
    .await;
    let mut stalled = connect(&app.address).await;
    // The headers arrive in time; the promised body never does.
    stalled
        .write_all(
            b"POST /v1/bookings HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
              Idempotency-Key: 0123456789abcdef\r\nContent-Length: 100\r\n\r\n{\"serv",
        )
        .await
        .unwrap();

    assert!(closed_within(&mut stalled, PATIENCE).await);
}

#[tokio::test]
async fn a_body_trickled_slower_than_the_request_deadline_is_answered_408() {
    let folder = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let app = spawn_tuned(
        CONFIG,
        folder,
        limits(|l| l.request_timeout = Duration::from_millis(800)),
    )
    .await;
    let mut trickle = connect(&app.address).await;
    trickle
        .write_all(
            b"POST /v1/bookings HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
              Idempotency-Key: 0123456789abcdef\r\nContent-Length: 100\r\n\r\n{",
        )
        .await
        .unwrap();
    // A byte every 200 ms keeps the connection from ever being idle.
    let feeding = async {
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if trickle.write_all(b" ").await.is_err() {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_millis(1_500), feeding).await;

    let head = read_head(&mut trickle).await;
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("application/problem+json"),
        "{head}"
    );
}

#[tokio::test]
async fn beyond_the_cap_new_connections_wait_until_one_closes() {
    let folder = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let app = spawn_tuned(CONFIG, folder, limits(|l| l.max_connections = 2)).await;
    let mut first = connect(&app.address).await;
    let mut second = connect(&app.address).await;
    for held in [&mut first, &mut second] {
        held.write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
            .await
            .unwrap();
        assert!(read_head(held).await.starts_with("HTTP/1.1 200"));
    }

    // The kernel takes the third connection, but the server does not serve it...
    let mut third = connect(&app.address).await;
    third
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    assert!(
        tokio::time::timeout(Duration::from_millis(500), third.read(&mut buf))
            .await
            .is_err(),
        "a third connection was served while two were open"
    );

    // ...until one of the first two goes.
    drop(first);
    let head = read_head(&mut third).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    drop(second);
}

#[tokio::test]
async fn a_stop_is_bounded_even_when_a_request_never_finishes() {
    let folder = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let app = spawn_tuned(
        CONFIG,
        folder,
        limits(|l| l.drain_timeout = Duration::from_millis(500)),
    )
    .await;
    let address = app.address.clone();
    let mut hanging = connect(&address).await;
    hanging
        .write_all(
            b"POST /v1/bookings HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
              Idempotency-Key: 0123456789abcdef\r\nContent-Length: 100\r\n\r\n{",
        )
        .await
        .unwrap();
    // The request is under way once the server has read its headers.
    tokio::time::sleep(Duration::from_millis(200)).await;

    tokio::time::timeout(PATIENCE, app.stop())
        .await
        .expect("the stop ends after the drain time");

    assert!(closed_within(&mut hanging, PATIENCE).await);
    let refused = TcpStream::connect(address.trim_start_matches("http://")).await;
    assert!(refused.is_err(), "the listener is closed");
}
