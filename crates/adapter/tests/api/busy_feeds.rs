//! Busy time from ICS feeds on the local backend, served by a small HTTP
//! server the test starts on 127.0.0.1.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use chrono::{Duration, Utc};
use firststep_adapter::calendar::local::LocalCalendar;
use firststep_adapter::calendar::Calendar;
use firststep_adapter::config::Secret;
use firststep_availability::Interval;

use crate::helpers::{spawn_app_with, CONFIG};

/// A calendar's secret iCal address, as a test double of a real calendar service.
struct FeedServer {
    url: String,
    downloads: Arc<AtomicUsize>,
    unchanged: Arc<AtomicUsize>,
    broken: Arc<AtomicBool>,
}

/// Every day at 12:00 UTC for an hour, starting today.
fn daily_noon() -> String {
    let today = Utc::now().date_naive().format("%Y%m%d");
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:noon\r\nDTSTART:{today}T120000Z\r\nDTEND:{today}T130000Z\r\n\
         RRULE:FREQ=DAILY\r\nSUMMARY:Supervision\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

async fn serve_feed() -> FeedServer {
    let (downloads, unchanged, broken) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicBool::new(false)),
    );
    let state = (downloads.clone(), unchanged.clone(), broken.clone());
    let app = axum::Router::new().route(
        "/secret-abc/basic.ics",
        axum::routing::get(move |headers: HeaderMap| {
            let (downloads, unchanged, broken) = state.clone();
            async move {
                if broken.load(Ordering::SeqCst) {
                    return StatusCode::INTERNAL_SERVER_ERROR.into_response();
                }
                if headers.get("if-none-match").is_some_and(|v| v == "\"v1\"") {
                    unchanged.fetch_add(1, Ordering::SeqCst);
                    return StatusCode::NOT_MODIFIED.into_response();
                }
                downloads.fetch_add(1, Ordering::SeqCst);
                (
                    [("etag", "\"v1\""), ("content-type", "text/calendar")],
                    daily_noon(),
                )
                    .into_response()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/secret-abc/basic.ics",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    FeedServer {
        url,
        downloads,
        unchanged,
        broken,
    }
}

#[tokio::test]
async fn feed_events_are_busy_unchanged_feeds_are_not_fetched_again_and_a_broken_feed_keeps_its_last_copy(
) {
    let feed = serve_feed().await;
    let calendar = LocalCalendar::new(&[Secret::new(feed.url.clone())], chrono_tz::UTC);
    let today = Utc::now()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    let range = Interval::new(today, today + Duration::days(3));

    let first = calendar.busy(range).await.unwrap();
    let starts: Vec<_> = first.iter().map(|i| i.start).collect();
    let noon = today + Duration::hours(12);
    assert_eq!(
        starts,
        [noon, noon + Duration::days(1), noon + Duration::days(2)]
    );

    let second = calendar.busy(range).await.unwrap();
    assert_eq!(second, first);
    assert_eq!(
        (
            feed.downloads.load(Ordering::SeqCst),
            feed.unchanged.load(Ordering::SeqCst)
        ),
        (1, 1)
    );

    feed.broken.store(true, Ordering::SeqCst);
    assert_eq!(
        calendar.busy(range).await.unwrap(),
        first,
        "the last good copy stays in force"
    );
}

#[tokio::test]
async fn a_feed_that_cannot_be_reached_is_not_fatal() {
    let calendar = LocalCalendar::new(
        &[Secret::new("http://127.0.0.1:9/none.ics")],
        chrono_tz::UTC,
    );
    let now = Utc::now();
    assert_eq!(
        calendar
            .busy(Interval::new(now, now + Duration::days(1)))
            .await
            .unwrap(),
        []
    );
}

#[tokio::test]
async fn slots_skip_the_feeds_events() {
    let feed = serve_feed().await;
    let config = format!(
        "{CONFIG}\n[calendar]\nbackend = \"local\"\nbusy_feeds = [\"{}\"]\n",
        feed.url
    );
    let app = spawn_app_with(&config).await;
    let tomorrow_noon = (Utc::now() + Duration::days(1))
        .date_naive()
        .and_hms_opt(12, 0, 0)
        .unwrap()
        .and_utc();

    let open = app.open_slots("free-consultation").await;

    assert!(!open.contains(&tomorrow_noon));
    assert!(!open.contains(&(tomorrow_noon + Duration::minutes(45))));
    assert!(open.contains(&(tomorrow_noon + Duration::hours(1))));
    assert!(open.contains(&(tomorrow_noon - Duration::minutes(15))));
}
