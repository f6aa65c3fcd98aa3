//! Busy time from ICS feeds on the local backend, served by a small HTTP
//! server the test starts on 127.0.0.1.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use chrono::{Duration, NaiveDate, TimeZone, Utc};
use firststep_adapter::calendar::busy_cache::BusyCache;
use firststep_adapter::calendar::capped_body::MAX_BODY_BYTES;
use firststep_adapter::calendar::local::LocalCalendar;
use firststep_adapter::calendar::Calendar;
use firststep_adapter::config::Secret;
use firststep_availability::Interval;

use crate::helpers::{eventually, spawn_app_with, CONFIG};

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

/// The test practice on the local calendar, busy when the feed at `url` says.
fn with_feed(url: &str) -> String {
    format!("{CONFIG}\n[calendar]\nbackend = \"local\"\nbusy_feeds = [\"{url}\"]\n")
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
    let app = spawn_app_with(&with_feed(&feed.url)).await;
    let tomorrow_noon = tomorrow_at(12);

    let open = app.open_slots("free-consultation").await;

    assert!(!open.contains(&tomorrow_noon));
    assert!(!open.contains(&(tomorrow_noon + Duration::minutes(45))));
    assert!(open.contains(&(tomorrow_noon + Duration::hours(1))));
    assert!(open.contains(&(tomorrow_noon - Duration::minutes(15))));
}

#[tokio::test]
async fn when_the_clock_moves_on_busy_time_is_read_for_the_days_now_ahead() {
    let feed = serve_feed().await;
    let app = spawn_app_with(&with_feed(&feed.url)).await;

    // Past the horizon read at start (30 days and a day).
    app.advance(Duration::days(40));
    let tomorrow_noon = day_after_at(app.now(), 12);

    eventually("busy time read for the new days", 10, || async {
        !app.open_slots("free-consultation")
            .await
            .contains(&tomorrow_noon)
    })
    .await;
    let open = app.open_slots("free-consultation").await;
    assert!(open.contains(&(tomorrow_noon + Duration::hours(1))));
}

/// What [`serve_changing_feed`] answers; the test changes it between reads.
#[derive(Clone)]
enum FeedAnswer {
    Text(String),
    /// `BEGIN:VCALENDAR` and a comment line this many bytes long, with its
    /// length declared or streamed without one.
    Huge {
        bytes: usize,
        declared: bool,
    },
}

async fn serve_changing_feed(first: FeedAnswer) -> (String, Arc<std::sync::Mutex<FeedAnswer>>) {
    let answer = Arc::new(std::sync::Mutex::new(first));
    let current = answer.clone();
    let app = axum::Router::new().route(
        "/secret-xyz/basic.ics",
        axum::routing::get(move || {
            let answer = current.lock().unwrap().clone();
            async move {
                match answer {
                    FeedAnswer::Text(text) => text.into_response(),
                    FeedAnswer::Huge { bytes, declared } => {
                        let head = "BEGIN:VCALENDAR\r\nX-PADDING:";
                        let chunk = vec![b'x'; 64 * 1024];
                        let chunks = std::iter::once(head.as_bytes().to_vec())
                            .chain(std::iter::repeat_n(chunk, bytes / (64 * 1024) + 1));
                        if declared {
                            chunks.flatten().collect::<Vec<u8>>().into_response()
                        } else {
                            let stream = futures::stream::iter(
                                chunks.map(Ok::<_, std::convert::Infallible>),
                            );
                            axum::body::Body::from_stream(stream).into_response()
                        }
                    }
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/secret-xyz/basic.ics",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, answer)
}

/// The two durations of issue #12 that panicked in date arithmetic, each in
/// an event of its own, beside good ones.
fn with_hostile_durations(good: &str) -> String {
    let today = Utc::now().date_naive().format("%Y%m%d");
    let hostile = format!(
        "BEGIN:VEVENT\r\nUID:weeks\r\nDTSTART:{today}T140000Z\r\nDURATION:P99999999999W\r\nEND:VEVENT\r\n\
         BEGIN:VEVENT\r\nUID:seconds\r\nDTSTART:{today}T150000Z\r\nDURATION:PT9223372036854775807S\r\nEND:VEVENT\r\n"
    );
    good.replace("END:VCALENDAR", &format!("{hostile}END:VCALENDAR"))
}

fn tomorrow_at(hour: u32) -> chrono::DateTime<Utc> {
    day_after_at(Utc::now(), hour)
}

/// `hour` o'clock UTC on the day after `now`.
fn day_after_at(now: chrono::DateTime<Utc>, hour: u32) -> chrono::DateTime<Utc> {
    (now + Duration::days(1))
        .date_naive()
        .and_hms_opt(hour, 0, 0)
        .unwrap()
        .and_utc()
}

#[tokio::test]
async fn hostile_durations_in_the_feed_at_start_are_skipped_and_slots_are_served() {
    let (url, _answer) =
        serve_changing_feed(FeedAnswer::Text(with_hostile_durations(&daily_noon()))).await;

    let app = spawn_app_with(&with_feed(&url)).await;

    let open = app.open_slots("free-consultation").await;
    assert!(
        !open.contains(&tomorrow_at(12)),
        "the good event is still busy"
    );
    assert!(
        open.contains(&tomorrow_at(14)),
        "the hostile events are not"
    );
    assert!(open.contains(&tomorrow_at(15)));
    assert_eq!(app.get("/healthz").await.status(), 200);
}

#[tokio::test]
async fn hostile_durations_at_a_later_refresh_are_skipped_and_the_rest_is_read() {
    let (url, answer) = serve_changing_feed(FeedAnswer::Text(daily_noon())).await;
    let calendar = Arc::new(LocalCalendar::new(&[Secret::new(url)], chrono_tz::UTC));
    let cache = BusyCache::new(calendar, 30);
    let now = Utc::now();
    cache.refresh(now).await.unwrap();
    assert!(busy_at(&cache, tomorrow_at(12)));

    // The feed changes: the noon event moves to 13:00, and hostile events arrive.
    let moved = daily_noon()
        .replace("T130000Z", "T140000Z")
        .replace("T120000Z", "T130000Z");
    *answer.lock().unwrap() = FeedAnswer::Text(with_hostile_durations(&moved));
    cache.refresh(now).await.unwrap();

    assert!(!busy_at(&cache, tomorrow_at(12)));
    assert!(busy_at(&cache, tomorrow_at(13)), "the refresh was read");
    assert!(
        !busy_at(&cache, tomorrow_at(15)),
        "the hostile events were skipped"
    );
}

fn busy_at(cache: &BusyCache, at: chrono::DateTime<Utc>) -> bool {
    cache
        .current()
        .iter()
        .any(|busy| busy.start <= at && at < busy.end)
}

#[tokio::test]
async fn an_oversized_feed_fails_its_refresh_and_the_last_good_copy_stays() {
    let (url, answer) = serve_changing_feed(FeedAnswer::Text(daily_noon())).await;
    let calendar = LocalCalendar::new(&[Secret::new(url)], chrono_tz::UTC);
    let today = Utc::now()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    let range = Interval::new(today, today + Duration::days(3));
    let good = calendar.busy(range).await.unwrap();
    assert_eq!(good.len(), 3);

    for declared in [true, false] {
        *answer.lock().unwrap() = FeedAnswer::Huge {
            bytes: MAX_BODY_BYTES,
            declared,
        };
        assert_eq!(
            calendar.busy(range).await.unwrap(),
            good,
            "length declared: {declared}"
        );
    }

    // Just under the cap is read (and, holding no events, is free time).
    *answer.lock().unwrap() = FeedAnswer::Huge {
        bytes: MAX_BODY_BYTES - 128 * 1024,
        declared: false,
    };
    assert_eq!(calendar.busy(range).await.unwrap(), []);
}

/// A calendar as Outlook on the web publishes it ("Publish calendar", ICS
/// link), written by hand: zones named the Windows way with their VTIMEZONE
/// blocks beside them, a custom zone only the feed defines, folded lines and
/// Exchange's own properties. `day` is the first day of its events.
fn outlook_feed(day: NaiveDate) -> String {
    let date = |days: i64| (day + Duration::days(days)).format("%Y%m%d").to_string();
    let (first, second, week_ago) = (date(0), date(1), date(-7));
    let until = date(3);
    let event = |uid: &str, start: &str, end: &str, rule: &str, busy: &str| {
        let transp = if busy == "FREE" {
            "TRANSPARENT"
        } else {
            "OPAQUE"
        };
        format!(
            "BEGIN:VEVENT\r\nDESCRIPTION:\\n\r\n{rule}UID:040000008200E00074C5B7101A82E00800000000{uid}\r\n \
             0000000000000000100000006C2A1F0B8E5B3A4C9D2E7F6A5B4C3D2E\r\nSUMMARY:Busy\r\n\
             DTSTART;{start}\r\nDTEND;{end}\r\nCLASS:PUBLIC\r\nPRIORITY:5\r\nDTSTAMP:20261130T120000Z\r\n\
             TRANSP:{transp}\r\nSTATUS:CONFIRMED\r\nSEQUENCE:0\r\nLOCATION:\r\n\
             X-MICROSOFT-CDO-APPT-SEQUENCE:0\r\nX-MICROSOFT-CDO-BUSYSTATUS:{busy}\r\n\
             X-MICROSOFT-CDO-INTENDEDSTATUS:{busy}\r\nX-MICROSOFT-CDO-ALLDAYEVENT:FALSE\r\n\
             X-MICROSOFT-CDO-IMPORTANCE:1\r\nX-MICROSOFT-CDO-INSTTYPE:0\r\n\
             X-MICROSOFT-DONOTFORWARDMEETING:FALSE\r\nX-MICROSOFT-DISALLOW-COUNTER:FALSE\r\nEND:VEVENT\r\n"
        )
    };
    let eastern = "TZID=Eastern Standard Time";
    let europe = "TZID=W. Europe Standard Time";
    let custom = "TZID=\"Customized Time Zone\"";
    [
        "BEGIN:VCALENDAR\r\nMETHOD:PUBLISH\r\nPRODID:Microsoft Exchange Server 2010\r\nVERSION:2.0\r\n\
         X-WR-CALNAME:Calendar\r\n"
            .to_owned(),
        vtimezone("Eastern Standard Time", ("-0500", "-0400"), ("1SU;BYMONTH=11", "2SU;BYMONTH=3")),
        vtimezone("W. Europe Standard Time", ("+0100", "+0200"), ("-1SU;BYMONTH=10", "-1SU;BYMONTH=3")),
        vtimezone("Customized Time Zone", ("+0100", "+0200"), ("-1SU;BYMONTH=10", "-1SU;BYMONTH=3")),
        // A session at 10:00 in New York.
        event("10", &format!("{eastern}:{first}T100000"), &format!("{eastern}:{first}T110000"), "", "BUSY"),
        // Free time at 18:00 in New York.
        event("11", &format!("{eastern}:{first}T180000"), &format!("{eastern}:{first}T190000"), "", "FREE"),
        // Every day at 08:00 in Berlin since a week ago, until the third day.
        event(
            "12",
            &format!("{europe}:{week_ago}T080000"),
            &format!("{europe}:{week_ago}T090000"),
            &format!("RRULE:FREQ=DAILY;UNTIL={until}T070000Z;INTERVAL=1\r\n"),
            "BUSY",
        ),
        // The next day at 12:00 in the zone only the feed defines.
        event("13", &format!("{custom}:{second}T120000"), &format!("{custom}:{second}T130000"), "", "BUSY"),
        "END:VCALENDAR\r\n".to_owned(),
    ]
    .concat()
}

/// A VTIMEZONE as Exchange writes it: `(standard, daylight)` offsets and the
/// BYDAY;BYMONTH of each switch.
fn vtimezone(
    tzid: &str,
    (standard, daylight): (&str, &str),
    (to_standard, to_daylight): (&str, &str),
) -> String {
    format!(
        "BEGIN:VTIMEZONE\r\nTZID:{tzid}\r\n\
         BEGIN:STANDARD\r\nDTSTART:16010101T030000\r\nTZOFFSETFROM:{daylight}\r\nTZOFFSETTO:{standard}\r\n\
         RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY={to_standard}\r\nEND:STANDARD\r\n\
         BEGIN:DAYLIGHT\r\nDTSTART:16010101T020000\r\nTZOFFSETFROM:{standard}\r\nTZOFFSETTO:{daylight}\r\n\
         RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY={to_daylight}\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n"
    )
}

/// The instant of `hour`:00 on `day` in `zone`, by the tz database.
fn at_hour(zone: chrono_tz::Tz, day: NaiveDate, hour: u32) -> chrono::DateTime<Utc> {
    zone.from_local_datetime(&day.and_hms_opt(hour, 0, 0).unwrap())
        .earliest()
        .unwrap()
        .with_timezone(&Utc)
}

/// Outlook's zones used to be read in the practice's (UTC here): the New York
/// session hid 10:00 UTC and left 15:00 UTC (or 14:00 in summer) open.
#[tokio::test]
async fn an_outlook_feed_hides_its_events_at_their_own_zones_hours() {
    let tomorrow = (Utc::now() + Duration::days(1)).date_naive();
    let (url, _answer) = serve_changing_feed(FeedAnswer::Text(outlook_feed(tomorrow))).await;
    let config = format!("{CONFIG}\n[calendar]\nbackend = \"local\"\nbusy_feeds = [\"{url}\"]\n");
    let app = spawn_app_with(&config).await;

    // From tomorrow's start: two days from now missed the second day's
    // morning when the test ran just after midnight UTC.
    let from = tomorrow.and_hms_opt(0, 0, 0).unwrap().and_utc();
    let open = app.open_slots_from("free-consultation", from).await;

    let next_day = tomorrow + Duration::days(1);
    let busy = [
        (
            "New York 10:00",
            at_hour(chrono_tz::America::New_York, tomorrow, 10),
        ),
        (
            "Berlin 08:00, daily",
            at_hour(chrono_tz::Europe::Berlin, tomorrow, 8),
        ),
        (
            "Berlin 08:00, daily",
            at_hour(chrono_tz::Europe::Berlin, next_day, 8),
        ),
        (
            "the feed's own zone, 12:00",
            at_hour(chrono_tz::Europe::Berlin, next_day, 12),
        ),
    ];
    for (what, start) in busy {
        for minutes in [0, 15, 30, 45] {
            let slot = start + Duration::minutes(minutes);
            assert!(!open.contains(&slot), "{what}: {slot} is busy");
        }
        assert!(
            open.contains(&(start + Duration::hours(1))),
            "{what}: the hour after is open"
        );
    }
    // Where the practice's zone put them, and the free event: open.
    let utc = |day: NaiveDate, hour: u32| at_hour(chrono_tz::UTC, day, hour);
    for slot in [utc(tomorrow, 10), utc(tomorrow, 8), utc(next_day, 12)] {
        assert!(open.contains(&slot), "{slot} is free");
    }
    assert!(open.contains(&at_hour(chrono_tz::America::New_York, tomorrow, 18)));
}

/// The operator hears of skipped events, and of events read in the
/// practice's zone because theirs is not known, by the feed's number: its
/// address is a secret and never logged.
#[tokio::test]
async fn skipped_events_and_unknown_zones_are_logged_with_the_feeds_number_never_its_address() {
    let elsewhere =
        "BEGIN:VEVENT\r\nUID:elsewhere\r\nDTSTART;TZID=Nowhere Standard Time:20270302T100000\r\n\
                     DURATION:PT1H\r\nEND:VEVENT\r\nEND:VCALENDAR";
    let feed = with_hostile_durations(&daily_noon()).replace("END:VCALENDAR", elsewhere);
    let (url, _answer) = serve_changing_feed(FeedAnswer::Text(feed)).await;
    let folder = tempfile::tempdir().unwrap();
    let config = folder.path().join("practice.toml");
    std::fs::write(&config, with_feed(&url)).unwrap();
    let mut adapter = std::process::Command::new(env!("CARGO_BIN_EXE_firststep-adapter"))
        .args(["serve", "--config"])
        .arg(&config)
        .args(["--listen", "127.0.0.1:0"])
        .arg("--store")
        .arg(crate::helpers::store_arg(&crate::helpers::store_in(
            folder.path(),
        )))
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The feed is read before the adapter listens: once it says where, the line is written.
    let mut stdout = adapter.stdout.take().unwrap();
    let mut first = [0u8; 256];
    let read = tokio::task::spawn_blocking(move || std::io::Read::read(&mut stdout, &mut first))
        .await
        .unwrap()
        .unwrap();
    assert!(read > 0, "the adapter started");
    let _ = std::process::Command::new("kill")
        .args(["-INT", &adapter.id().to_string()])
        .status();
    let logs = String::from_utf8_lossy(&adapter.wait_with_output().unwrap().stderr).to_string();

    let line_on = |about: &str| {
        logs.lines()
            .find(|line| line.contains(about))
            .unwrap_or_else(|| panic!("no line on {about:?} in:\n{logs}"))
    };
    let skipped = line_on("were skipped");
    assert!(
        skipped.contains("feed=1") && skipped.contains("skipped=2"),
        "{skipped}"
    );
    let unknown = line_on("time zone not known");
    assert!(
        unknown.contains("feed=1") && unknown.contains("unknown_zones=1"),
        "{unknown}"
    );
    assert!(!logs.contains("secret-xyz"), "{logs}");
}
