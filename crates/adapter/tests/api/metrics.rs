//! `GET /metrics`: off by default; when on, what an operator needs to watch,
//! in Prometheus' text format, with routes named by template only.

use std::collections::BTreeMap;
use std::time::Duration as StdDuration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use chrono::{Duration, Utc};
use firststep_adapter::config::Settings;
use firststep_adapter::{housekeeping, Application};

use crate::helpers::{closed_port, spawn_app, spawn_app_with, with_mail, TestApp, CONFIG};
use crate::retention::{book_as, slot_in_days};

/// Parses the text format: each sample line's `name{labels}` and value;
/// every sample's family has its `# TYPE` line first.
fn parse(text: &str) -> BTreeMap<String, f64> {
    let mut typed = Vec::new();
    let mut samples = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(["gauge", "counter"].contains(&kind), "{line}");
            typed.push(name.to_owned());
        } else if !line.starts_with('#') {
            let (series, value) = line.rsplit_once(' ').expect("a sample line");
            let name = series.split('{').next().unwrap();
            assert!(typed.iter().any(|t| t == name), "{name} has no TYPE line");
            samples.insert(series.to_owned(), value.parse().expect("a number"));
        }
    }
    samples
}

async fn scrape(app: &TestApp) -> (String, BTreeMap<String, f64>) {
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = response.text().await.unwrap();
    let samples = parse(&text);
    (text, samples)
}

#[tokio::test]
async fn metrics_are_off_unless_configured() {
    let app = spawn_app().await;
    assert_eq!(app.get("/metrics").await.status(), 404);
}

#[tokio::test]
async fn a_scrape_shows_bookings_by_status_the_outbox_failures_and_requests_by_route() {
    // Mail is on but its server is down: every email fails and waits.
    let config = with_mail(&format!("{CONFIG}metrics = true\n"), closed_port());
    let app = spawn_app_with(&config).await;
    let pending = book_as(
        &app,
        "free-consultation",
        slot_in_days(&app, "free-consultation", 1).await,
        "Sam Lee",
        "sam@example.org",
    )
    .await;
    let cancelled = book_as(
        &app,
        "free-consultation",
        slot_in_days(&app, "free-consultation", 2).await,
        "Sam Lee",
        "sam@example.org",
    )
    .await;
    book_as(
        &app,
        "intake",
        slot_in_days(&app, "intake", 3).await,
        "Sam Lee",
        "sam@example.org",
    )
    .await;
    app.cancel(&cancelled).await;
    assert_eq!(
        app.get("/v1/bookings/bk_AAAAAAAAAAAAAAAA").await.status(),
        404
    );

    // The outbox tries at once (woken by each booking); wait for its failures.
    let (mut text, mut samples) = scrape(&app).await;
    for _ in 0..300 {
        if samples["firststep_smtp_failures_total"] >= 7.0
            && samples["firststep_outbox_depth{kind=\"calendar\"}"] == 0.0
        {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
        (text, samples) = scrape(&app).await;
    }

    assert_eq!(samples["firststep_bookings{status=\"pending\"}"], 1.0);
    assert_eq!(samples["firststep_bookings{status=\"confirmed\"}"], 1.0);
    assert_eq!(samples["firststep_bookings{status=\"cancelled\"}"], 1.0);
    assert_eq!(samples["firststep_bookings{status=\"declined\"}"], 0.0);
    // Two emails per booking and one for the cancellation, none sent.
    assert_eq!(samples["firststep_outbox_depth{kind=\"mail\"}"], 7.0);
    assert!(samples["firststep_smtp_failures_total"] >= 7.0, "{text}");
    // The embedded calendar took its writes.
    assert_eq!(
        samples["firststep_outbox_depth{kind=\"calendar\"}"], 0.0,
        "{text}"
    );
    assert_eq!(
        samples["firststep_outbox_oldest_age_seconds{kind=\"calendar\"}"],
        0.0
    );
    assert_eq!(samples["firststep_calendar_failures_total"], 0.0);
    assert!(samples["firststep_outbox_oldest_age_seconds{kind=\"mail\"}"] < 60.0);
    assert_eq!(samples["firststep_outbox_set_aside{kind=\"mail\"}"], 0.0);
    let refreshed = samples["firststep_busy_refresh_timestamp_seconds"];
    assert!(
        (refreshed - app.now().timestamp() as f64).abs() < 120.0,
        "{refreshed}"
    );
    // Requests by route template and status; ids never appear.
    assert_eq!(samples["firststep_http_requests_total{route=\"/v1/bookings\",method=\"POST\",status=\"201\"}"], 3.0);
    assert_eq!(samples["firststep_http_requests_total{route=\"/v1/bookings/{id}\",method=\"DELETE\",status=\"200\"}"], 1.0);
    assert_eq!(samples["firststep_http_requests_total{route=\"/v1/bookings/{id}\",method=\"GET\",status=\"404\"}"], 1.0);
    for secret in [
        pending.booking.id.as_str(),
        cancelled.booking.id.as_str(),
        "bk_AAAAAAAAAAAAAAAA",
        cancelled.manage_token.as_str(),
    ] {
        assert!(!text.contains(secret), "{secret} is in the metrics");
    }

    // An email waiting for more than an hour is warned about, once per round.
    let store = app.open_store();
    let round = housekeeping::round(&store.0, Duration::days(30), Utc::now())
        .await
        .unwrap();
    assert!(round.stuck.is_empty());
    let round = housekeeping::round(
        &store.0,
        Duration::days(30),
        Utc::now() + Duration::hours(2),
    )
    .await
    .unwrap();
    assert_eq!(round.stuck, ["mail"]);
}

#[tokio::test]
async fn metrics_on_their_own_address_are_served_there_only() {
    let folder = tempfile::tempdir().unwrap();
    let config = format!("{CONFIG}metrics_listen = \"127.0.0.1:0\"\n");
    let mut settings = Settings::from_toml(&config, folder.path()).unwrap();
    settings.server.store = crate::helpers::store_in(folder.path());
    settings.server.connections.header_read_timeout = StdDuration::from_millis(500);
    let app = Application::build(settings).await.unwrap();
    let public = format!("http://{}", app.address());
    let metrics = format!(
        "http://{}",
        app.metrics_address().expect("a metrics address")
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));

    let client = reqwest::Client::new();
    let own = client
        .get(format!("{metrics}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 200);
    assert_eq!(own.headers()["x-content-type-options"], "nosniff");
    assert!(own
        .text()
        .await
        .unwrap()
        .contains("firststep_bookings{status=\"pending\"} 0"));
    let on_public = client
        .get(format!("{public}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(on_public.status(), 404);

    // The metrics address has the public one's connection limits: headers
    // that never end do not hold a connection.
    let mut slow = tokio::net::TcpStream::connect(metrics.trim_start_matches("http://"))
        .await
        .unwrap();
    slow.write_all(b"GET /metrics HTTP/1.1\r\nHost: test\r\nX-Slow: ")
        .await
        .unwrap();
    let mut buf = [0u8; 256];
    let closed = tokio::time::timeout(StdDuration::from_secs(10), async {
        while slow.read(&mut buf).await.is_ok_and(|n| n > 0) {}
    })
    .await;
    assert!(
        closed.is_ok(),
        "a connection without whole headers stayed open"
    );

    let _ = stop.send(());
    server.await.unwrap().unwrap();
}
