//! Group practices: clinicians in `GET /v1/practice`, their own slots and
//! "first available", bookings assigned fairly in the storing transaction,
//! and each clinician's guarantees (no double booking, buffers, caps, own
//! calendar, emails, reschedules), over HTTP against the real server.

use chrono::{DateTime, Datelike, Duration, NaiveTime, Utc};
use firststep_protocol::{BookingCreated, ErrorCode, SlotList};
use serde_json::{json, Value};

use crate::helpers::{
    assert_problems, booking_body, check_config, eventually, iso, new_key, problem, spawn_app,
    spawn_app_with, with_mail, TestApp, CONFIG,
};
use crate::radicale::{Radicale, PASSWORD, USER};
use crate::smtp_server::SmtpServer;
use firststep_adapter::config::CalendarSettings;

/// Dana, then Lee; both offer the consultation, only Lee the intake.
const CLINICIANS: &str = r#"
[[clinicians]]
id = "dana"
name = "Dana Whitfield"
pronouns = "she/her"
bio = "Couples and family therapy."
email = "dana@riverside.example"

[[clinicians]]
id = "lee"
name = "Lee Okafor"
"#;

/// The test practice with [`CLINICIANS`] and `extra` after them (a
/// clinician's own tables go right after their `[[clinicians]]`).
pub fn group(dana_extra: &str) -> String {
    let services = CONFIG.replace(
        "mode = \"instant\"\n",
        "mode = \"instant\"\nclinicians = [\"lee\"]\n",
    );
    let clinicians = CLINICIANS.replace(
        "email = \"dana@riverside.example\"\n",
        &format!("email = \"dana@riverside.example\"\n{dana_extra}\n"),
    );
    format!("{services}\n{clinicians}")
}

/// `hh:mm` UTC, `days` days from the server's today.
fn day_at(app: &TestApp, days: i64, hh: u32, mm: u32) -> DateTime<Utc> {
    (app.now() + Duration::days(days))
        .date_naive()
        .and_time(NaiveTime::from_hms_opt(hh, mm, 0).unwrap())
        .and_utc()
}

/// The open starts of `service` over the day of `at` (UTC), for `clinician` or first available.
async fn starts(
    app: &TestApp,
    service: &str,
    clinician: Option<&str>,
    at: DateTime<Utc>,
) -> Vec<DateTime<Utc>> {
    let day = at.date_naive().and_hms_opt(0, 0, 0).unwrap().and_utc();
    let mut path = format!(
        "/v1/slots?service={service}&from={}&to={}",
        iso(day),
        iso(day + Duration::days(1))
    );
    if let Some(id) = clinician {
        path += &format!("&clinician={id}");
    }
    let response = app.get(&path).await;
    assert_eq!(response.status(), 200, "{path}");
    let list: SlotList = response.json().await.unwrap();
    assert_eq!(list.clinician.as_deref(), clinician);
    list.slots.into_iter().map(|s| s.start).collect()
}

/// Posts a booking of `service` at `start`, with `clinician` if given.
async fn post(
    app: &TestApp,
    service: &str,
    clinician: Option<&str>,
    start: DateTime<Utc>,
) -> reqwest::Response {
    let mut body = booking_body(start);
    body["service"] = json!(service);
    if let Some(id) = clinician {
        body["clinician"] = json!(id);
    }
    app.post_booking(&new_key(), &body).await
}

/// Books and returns whom the booking is with.
async fn booked_with(
    app: &TestApp,
    service: &str,
    clinician: Option<&str>,
    start: DateTime<Utc>,
) -> BookingCreated {
    let response = post(app, service, clinician, start).await;
    assert_eq!(response.status(), 201, "{service} {clinician:?} at {start}");
    response.json().await.unwrap()
}

fn with_whom(created: &BookingCreated) -> &str {
    &created.booking.clinician.as_ref().expect("a clinician").id
}

#[tokio::test]
async fn the_practice_lists_its_clinicians_in_order_with_the_services_they_offer() {
    let app = spawn_app_with(&group("")).await;
    let practice: Value = app.get("/v1/practice").await.json().await.unwrap();
    assert_eq!(
        practice["clinicians"],
        json!([
            {"id": "dana", "name": "Dana Whitfield", "pronouns": "she/her",
             "bio": "Couples and family therapy.", "services": ["free-consultation"]},
            {"id": "lee", "name": "Lee Okafor", "pronouns": null, "bio": null,
             "services": ["free-consultation", "intake"]},
        ])
    );
    let plain = spawn_app().await;
    let practice: Value = plain.get("/v1/practice").await.json().await.unwrap();
    assert!(practice.get("clinicians").is_none(), "{practice}");
}

#[tokio::test]
async fn an_unknown_clinician_or_one_not_offering_the_service_is_unknown_clinician() {
    let app = spawn_app_with(&group("")).await;
    let at = day_at(&app, 2, 10, 0);
    let from_to = format!("from={}&to={}", iso(at), iso(at + Duration::hours(1)));
    for query in [
        "service=free-consultation&clinician=nobody",
        "service=intake&clinician=dana",
        "service=free-consultation&clinician=",
    ] {
        let response = app.get(&format!("/v1/slots?{query}&{from_to}")).await;
        assert_eq!(
            problem(response, 404).await.code,
            ErrorCode::UnknownClinician,
            "{query}"
        );
    }
    for (service, clinician) in [("free-consultation", "nobody"), ("intake", "dana")] {
        let response = post(&app, service, Some(clinician), at).await;
        assert_eq!(
            problem(response, 404).await.code,
            ErrorCode::UnknownClinician,
            "{service} {clinician}"
        );
    }

    // A practice without clinicians knows no clinician at all.
    let plain = spawn_app().await;
    let response = plain
        .get(&format!(
            "/v1/slots?service=free-consultation&clinician=dana&{from_to}"
        ))
        .await;
    assert_eq!(
        problem(response, 404).await.code,
        ErrorCode::UnknownClinician
    );
    let response = post(&plain, "free-consultation", Some("dana"), at).await;
    assert_eq!(
        problem(response, 404).await.code,
        ErrorCode::UnknownClinician
    );
}

#[tokio::test]
async fn a_clinician_is_never_double_booked_across_services_and_two_can_share_a_start() {
    let app = spawn_app_with(&group("")).await;
    let at = day_at(&app, 2, 10, 0);

    let lee = booked_with(&app, "free-consultation", Some("lee"), at).await;
    assert_eq!(
        lee.booking.clinician,
        Some(firststep_protocol::ClinicianRef {
            id: "lee".into(),
            name: "Lee Okafor".into()
        })
    );
    // Lee's other service overlaps: refused, and no longer offered.
    let response = post(&app, "intake", Some("lee"), at).await;
    assert_eq!(
        problem(response, 409).await.code,
        ErrorCode::SlotUnavailable
    );
    assert!(!starts(&app, "intake", Some("lee"), at).await.contains(&at));
    assert!(!starts(&app, "free-consultation", Some("lee"), at)
        .await
        .contains(&at));
    // Dana is still free then, so "first available" still offers it.
    assert!(starts(&app, "free-consultation", None, at)
        .await
        .contains(&at));
    let dana = booked_with(&app, "free-consultation", Some("dana"), at).await;
    assert_eq!(with_whom(&dana), "dana");
    // Now nobody is.
    assert!(!starts(&app, "free-consultation", None, at)
        .await
        .contains(&at));
    let response = post(&app, "free-consultation", None, at).await;
    assert_eq!(
        problem(response, 409).await.code,
        ErrorCode::SlotUnavailable
    );
    // The view of each booking names its clinician.
    assert_eq!(app.view(&lee).await.clinician, lee.booking.clinician);
}

/// A clinician without the practice's buffers takes back-to-back bookings,
/// whichever store holds them (PostgreSQL's constraint against double
/// booking keeps the shortest buffer of those who may take the booking).
#[tokio::test]
async fn a_clinician_without_the_practices_buffers_is_booked_back_to_back() {
    let practice =
        group("[clinicians.availability]\nbuffer_before_minutes = 0\nbuffer_after_minutes = 0\n")
            .replace(
                "[availability]\n",
                "[availability]\nbuffer_before_minutes = 15\nbuffer_after_minutes = 15\n",
            );
    let app = spawn_app_with(&practice).await;
    let at = day_at(&app, 2, 10, 0);
    for start in [at, at + Duration::minutes(15)] {
        booked_with(&app, "free-consultation", Some("dana"), start).await;
    }
    // Lee keeps the practice's buffers: after 10:00, not 10:15.
    booked_with(&app, "free-consultation", Some("lee"), at).await;
    let response = post(
        &app,
        "free-consultation",
        Some("lee"),
        at + Duration::minutes(15),
    )
    .await;
    assert_eq!(
        problem(response, 409).await.code,
        ErrorCode::SlotUnavailable
    );
}

#[tokio::test]
async fn buffers_and_the_daily_cap_are_each_clinicians_own() {
    // Dana: half an hour after each booking, two a day; Lee: the practice's (none, no cap).
    let app = spawn_app_with(&group(
        "[clinicians.availability]\nbuffer_after_minutes = 30\ndaily_cap = 2\n",
    ))
    .await;
    let at = day_at(&app, 2, 10, 0);
    let minutes = |m: i64| at + Duration::minutes(m);
    booked_with(&app, "free-consultation", Some("dana"), at).await;

    // Dana's buffer hides 10:15 and 10:30 (her booking ends 10:15, then 30 minutes).
    let danas = starts(&app, "free-consultation", Some("dana"), at).await;
    assert!(!danas.contains(&minutes(15)) && !danas.contains(&minutes(30)));
    assert!(danas.contains(&minutes(45)), "{danas:?}");
    // Lee has no buffer, and Dana's booking is not his.
    let lees = starts(&app, "free-consultation", Some("lee"), at).await;
    assert!(
        lees.contains(&at) && lees.contains(&minutes(15)),
        "{lees:?}"
    );
    let response = post(&app, "free-consultation", Some("dana"), minutes(15)).await;
    assert_eq!(
        problem(response, 409).await.code,
        ErrorCode::SlotUnavailable,
        "within Dana's buffer"
    );
    booked_with(&app, "free-consultation", Some("lee"), minutes(0)).await;
    booked_with(&app, "free-consultation", Some("lee"), minutes(15)).await;

    // Dana's second booking reaches her cap: her day closes; Lee's does not.
    booked_with(&app, "free-consultation", Some("dana"), minutes(120)).await;
    assert_eq!(
        starts(&app, "free-consultation", Some("dana"), at).await,
        [] as [DateTime<Utc>; 0]
    );
    let response = post(&app, "free-consultation", Some("dana"), minutes(240)).await;
    assert_eq!(
        problem(response, 409).await.code,
        ErrorCode::SlotUnavailable,
        "Dana's cap"
    );
    for lee in 0..3 {
        let start = minutes(240 + 15 * lee);
        booked_with(&app, "free-consultation", Some("lee"), start).await;
    }
    // First available that day is Lee's only.
    assert!(starts(&app, "free-consultation", None, at)
        .await
        .contains(&minutes(300)));
}

/// Serves `ics` at a secret address on 127.0.0.1; returns the address.
async fn serve_feed(ics: String) -> String {
    let app = axum::Router::new().route(
        "/secret-dana/busy.ics",
        axum::routing::get(move || {
            let ics = ics.clone();
            async move { ([("content-type", "text/calendar")], ics) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/secret-dana/busy.ics",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

#[tokio::test]
async fn a_clinicians_calendar_hides_only_their_own_slots() {
    let today = Utc::now().date_naive().format("%Y%m%d");
    // Dana is busy every day from 12:00 to 13:00 UTC.
    let url = serve_feed(format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:noon\r\nDTSTART:{today}T120000Z\r\n\
         DTEND:{today}T130000Z\r\nRRULE:FREQ=DAILY\r\nSUMMARY:Supervision\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ))
    .await;
    let app = spawn_app_with(&group(&format!(
        "[clinicians.calendar]\nbackend = \"local\"\nbusy_feeds = [\"{url}\"]\n"
    )))
    .await;
    let noon = day_at(&app, 2, 12, 0);

    let danas = starts(&app, "free-consultation", Some("dana"), noon).await;
    assert!(!danas.contains(&noon) && !danas.contains(&(noon + Duration::minutes(45))));
    assert!(
        danas.contains(&(noon - Duration::minutes(15)))
            && danas.contains(&(noon + Duration::hours(1)))
    );
    assert!(starts(&app, "free-consultation", Some("lee"), noon)
        .await
        .contains(&noon));
    assert!(starts(&app, "free-consultation", None, noon)
        .await
        .contains(&noon));

    let response = post(&app, "free-consultation", Some("dana"), noon).await;
    assert_eq!(
        problem(response, 409).await.code,
        ErrorCode::SlotUnavailable
    );
    // First available at noon is Lee's, though Dana comes first in order.
    assert_eq!(
        with_whom(&booked_with(&app, "free-consultation", None, noon).await),
        "lee"
    );
}

#[tokio::test]
async fn fifty_visitors_racing_for_one_first_available_time_get_one_booking_with_each_clinician() {
    let app = spawn_app_with(&group("")).await;
    let at = day_at(&app, 2, 10, 0);

    // Fifty requests in flight at once, each with its own key.
    let body = booking_body(at);
    let keys: Vec<String> = (0..50).map(|_| new_key()).collect();
    let responses =
        futures::future::join_all(keys.iter().map(|key| app.post_booking(key, &body))).await;
    let mut results = Vec::new();
    for response in responses {
        results.push(match response.status().as_u16() {
            201 => Ok(response.json::<BookingCreated>().await.unwrap()),
            status => Err((
                status,
                response
                    .json::<firststep_protocol::Problem>()
                    .await
                    .unwrap()
                    .code,
            )),
        });
    }

    let mut with: Vec<String> = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|created| with_whom(created).to_owned())
        .collect();
    with.sort();
    assert_eq!(with, ["dana", "lee"]);
    let taken = results
        .iter()
        .filter(|r| r.as_ref().err() == Some(&(409, ErrorCode::SlotUnavailable)))
        .count();
    assert_eq!(taken, 48);
}

#[tokio::test]
async fn first_available_goes_to_the_fewest_bookings_that_week_ties_by_the_practices_order() {
    let app = spawn_app_with(&group("")).await;
    // The Monday after next (the week runs Monday to Sunday, UTC here).
    let today = app.now().date_naive();
    let days_to_monday = 7 - i64::from(today.weekday().num_days_from_monday()) + 7;
    let monday = day_at(&app, days_to_monday, 9, 0);
    let hour = |h: i64| monday + Duration::hours(h);
    let app = &app;
    let first_available = |start| async move {
        with_whom(&booked_with(app, "free-consultation", None, start).await).to_owned()
    };

    assert_eq!(
        first_available(hour(0)).await,
        "dana",
        "0–0: the first in order"
    );
    assert_eq!(first_available(hour(1)).await, "lee", "1–0");
    assert_eq!(
        first_available(hour(2)).await,
        "dana",
        "1–1: the first in order"
    );
    // Two chosen by name for Dana; then Lee is the least booked that week.
    booked_with(app, "free-consultation", Some("dana"), hour(3)).await;
    booked_with(app, "free-consultation", Some("dana"), hour(4)).await;
    assert_eq!(first_available(hour(5)).await, "lee", "4–1");
    assert_eq!(first_available(hour(6)).await, "lee", "4–2");
    // Another week counts anew: a tie again, to Dana.
    assert_eq!(
        first_available(hour(7 * 24)).await,
        "dana",
        "next week, 0–0"
    );
    // A cancelled booking no longer counts: Lee has 3 live, Dana 4 − 2 = 2.
    let cancelled = booked_with(app, "free-consultation", Some("dana"), hour(8)).await;
    app.cancel(&cancelled).await;
    assert_eq!(first_available(hour(9)).await, "lee", "4–3 live");
    assert_eq!(
        first_available(hour(10)).await,
        "dana",
        "4–4: the first in order"
    );
}

#[tokio::test]
async fn emails_go_to_the_clinicians_address_and_name_them_to_the_visitor_and_the_manage_page_shows_them(
) {
    let smtp = SmtpServer::start().await;
    let app = spawn_app_with(&with_mail(&group(""), smtp.port)).await;
    let at = day_at(&app, 2, 10, 0);

    let dana = booked_with(&app, "free-consultation", Some("dana"), at).await;
    let mut body = booking_body(at);
    body["clinician"] = json!("lee");
    body["locale"] = json!("es");
    let response = app.post_booking(&new_key(), &body).await;
    assert_eq!(response.status(), 201);

    let emails = smtp.wait_for(4, 20).await;
    let to = |address: &str| {
        emails
            .iter()
            .filter(|e| e.to.contains(address))
            .collect::<Vec<_>>()
    };
    // Dana's request to Dana; Lee (no address of his own) to the practice;
    // each says whom the request is for.
    let danas = to("dana@riverside.example");
    assert_eq!(danas.len(), 1, "{emails:#?}");
    // The practice asked for no copy.
    assert!(!header_lines(&danas[0].raw).any(|h| h.starts_with("cc:")));
    assert!(
        danas[0].body.contains("with Dana Whitfield"),
        "{:?}",
        danas[0].body
    );
    // The practice's answer page says so too.
    let confirm = crate::lifecycle::link(&app, &danas[0].body, "/requests/");
    let answer_page = app.client.get(&confirm).send().await.unwrap();
    let answer_page = answer_page.text().await.unwrap();
    assert!(answer_page.contains("With Dana Whitfield"), "{answer_page}");
    let practices = to("therapist@test.example.org");
    assert_eq!(practices.len(), 1, "{emails:#?}");
    assert!(
        practices[0].body.contains("with Lee Okafor"),
        "{:?}",
        practices[0].body
    );
    let visitor = to("sam@example.org");
    assert_eq!(visitor.len(), 2, "{emails:#?}");
    let bodies: Vec<String> = visitor
        .iter()
        .map(|e| e.body.replace("\r\n", " "))
        .collect();
    assert!(
        bodies.iter().any(|b| b.contains("with Dana Whitfield")),
        "{bodies:#?}"
    );
    assert!(
        bodies.iter().any(|b| b.contains("con Lee Okafor")),
        "{bodies:#?}"
    );

    let page = app
        .get(&format!(
            "/manage/{}?token={}",
            dana.booking.id, dana.manage_token
        ))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Dana Whitfield"), "{page}");
}

#[tokio::test]
async fn with_cc_practice_a_clinicians_email_has_the_practice_in_copy_and_reaches_both() {
    let smtp = SmtpServer::start().await;
    let config = with_mail(&group(""), smtp.port) + "cc_practice = true\n";
    let app = spawn_app_with(&config).await;
    let at = day_at(&app, 2, 10, 0);
    booked_with(&app, "free-consultation", Some("dana"), at).await;
    booked_with(&app, "free-consultation", Some("lee"), at).await;

    // One message to each visitor, one to Dana (with the copy), one to the practice for Lee.
    let emails = smtp.wait_for(4, 20).await;
    let danas: Vec<_> = emails
        .iter()
        .filter(|e| e.to.contains("dana@riverside.example"))
        .collect();
    assert_eq!(danas.len(), 1, "{emails:#?}");
    let headers: Vec<String> = header_lines(&danas[0].raw).collect();
    assert!(
        headers.contains(&"cc: therapist@test.example.org".to_owned()),
        "{headers:#?}"
    );
    // Delivered to both: the server was given both recipients.
    let recipients = headers
        .iter()
        .find(|h| h.starts_with("x-rcptto:"))
        .expect("aiosmtpd's X-RcptTo");
    assert!(
        recipients.contains("dana@riverside.example")
            && recipients.contains("therapist@test.example.org"),
        "{recipients}"
    );
    // A request to the practice's own address, and the visitors' emails, carry no copy.
    for other in emails.iter().filter(|e| !e.to.contains("dana@")) {
        assert!(
            !header_lines(&other.raw).any(|h| h.starts_with("cc:")),
            "{other:#?}"
        );
    }
}

/// The header lines of a raw message, lower-cased, up to the first blank line.
fn header_lines(raw: &[u8]) -> impl Iterator<Item = String> + '_ {
    std::str::from_utf8(raw)
        .unwrap_or("")
        .lines()
        .take_while(|line| !line.trim().is_empty())
        .map(|line| line.trim().to_ascii_lowercase())
}

#[tokio::test]
async fn a_clinicians_bookings_are_written_to_their_own_calendar_only() {
    let radicale = Radicale::start().await;
    let folder = tempfile::tempdir().unwrap();
    let password = folder.path().join("dana-caldav-password");
    std::fs::write(&password, PASSWORD).unwrap();
    let app = spawn_app_with(&group(&format!(
        "[clinicians.calendar]\nbackend = \"caldav\"\nurl = \"{}\"\nuser = \"{USER}\"\npassword_file = {:?}\nrefresh_seconds = 5\n",
        radicale.calendar_url(),
        password.display().to_string()
    )))
    .await;
    let at = day_at(&app, 2, 10, 0);

    let lee = booked_with(&app, "free-consultation", Some("lee"), at).await;
    let dana = booked_with(&app, "free-consultation", Some("dana"), at).await;
    let id = dana.booking.id.clone();
    eventually("Dana's entry in her calendar", 10, || async {
        radicale.get_event(&id).await.is_some()
    })
    .await;
    // Lee shares the practice's (local) calendar: nothing of his in Dana's.
    assert!(radicale.get_event(&lee.booking.id).await.is_none());

    // An appointment Dana puts in her calendar hides her slots, not Lee's.
    let other = at + Duration::hours(3);
    let stamp = |t: DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    radicale
        .put_event(
            "supervision",
            &format!(
                "BEGIN:VEVENT\r\nUID:supervision\r\nDTSTAMP:{}\r\nDTSTART:{}\r\nDTEND:{}\r\nSUMMARY:Supervision\r\nEND:VEVENT\r\n",
                stamp(at),
                stamp(other),
                stamp(other + Duration::hours(1)),
            ),
        )
        .await;
    app.advance(Duration::seconds(6));
    eventually("Dana's appointment read as busy", 10, || async {
        !starts(&app, "free-consultation", Some("dana"), at)
            .await
            .contains(&other)
    })
    .await;
    assert!(starts(&app, "free-consultation", Some("lee"), at)
        .await
        .contains(&other));
}

#[tokio::test]
async fn a_clinicians_calendar_refusing_the_adapter_stops_the_start_and_check_config_naming_them() {
    let radicale = Radicale::start().await;
    let folder = tempfile::tempdir().unwrap();
    std::fs::write(folder.path().join("dana-password"), "wrong password").unwrap();
    let config = group(&format!(
        "[clinicians.calendar]\nbackend = \"caldav\"\nurl = \"{}\"\nuser = \"{USER}\"\npassword_file = \"dana-password\"\n",
        radicale.calendar_url()
    ));
    let settings = firststep_adapter::config::Settings::from_toml(&config, folder.path()).unwrap();
    let error = firststep_adapter::Application::build(settings)
        .await
        .err()
        .expect("the start is refused");
    let message = format!("{error:#}");
    assert!(
        message.contains("the calendar of clinician dana") && message.contains("refused user"),
        "{message}"
    );

    let file = folder.path().join("group.toml");
    std::fs::write(&file, &config).unwrap();
    let output = check_config(&file);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("the calendar of clinician \"dana\": ") && stderr.contains("refused user"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("wrong password"),
        "the password is never printed"
    );
}

#[tokio::test]
async fn a_reschedule_keeps_the_clinician_and_checks_their_time_only() {
    let app = spawn_app_with(&group("")).await;
    let at = day_at(&app, 2, 10, 0);
    let dana = booked_with(&app, "free-consultation", None, at).await;
    assert_eq!(with_whom(&dana), "dana");
    // Lee is busy at 11:00, Dana is not; Dana is busy at 12:00.
    booked_with(
        &app,
        "free-consultation",
        Some("lee"),
        at + Duration::hours(1),
    )
    .await;
    booked_with(
        &app,
        "free-consultation",
        Some("dana"),
        at + Duration::hours(2),
    )
    .await;

    let move_to = |start: DateTime<Utc>| {
        let (app, dana) = (&app, &dana);
        async move {
            app.client
                .post(app.url(&format!("/v1/bookings/{}/reschedule", dana.booking.id)))
                .bearer_auth(&dana.manage_token)
                .header("Idempotency-Key", new_key())
                .json(&json!({ "start": iso(start) }))
                .send()
                .await
                .unwrap()
        }
    };
    let refused = move_to(at + Duration::hours(2)).await;
    assert_eq!(
        problem(refused, 409).await.code,
        ErrorCode::SlotUnavailable,
        "Dana is busy then, though Lee is free"
    );
    let moved = move_to(at + Duration::hours(1)).await;
    assert_eq!(moved.status(), 200, "Dana is free then, though Lee is not");
    let moved: BookingCreated = moved.json().await.unwrap();
    assert_eq!(moved.booking.clinician, dana.booking.clinician);
    assert_eq!(moved.booking.start, at + Duration::hours(1));
}

#[test]
fn check_config_reports_each_wrong_clinician_key_at_its_line() {
    let folder = tempfile::tempdir().unwrap();
    let services = CONFIG
        .replace(
            "mode = \"instant\"\n",
            "mode = \"instant\"\nclinicians = [\"lee\", \"nobody\"]\n",
        )
        .replace(
            "mode = \"request\"\n",
            "mode = \"request\"\nclinicians = []\n",
        );
    let clinicians = format!(
        r#"
[[clinicians]]
id = "Dana!"
name = ""
pronouns = "{long_pronouns}"
bio = "{long_bio}"
email = "not an address"
colour = "teal"

[clinicians.availability]
step_minutes = 0
horizon_days = 100000
request_expiry_hours = 2

[clinicians.availability.weekly]
monday = ["10:00-09:00"]

[clinicians.calendar]
backend = "paper"

[[clinicians]]
id = "lee"
name = "Lee Okafor"

[[clinicians]]
id = "lee"
name = "Lee Again"
"#,
        long_pronouns = "x".repeat(41),
        long_bio = "y".repeat(281),
    );
    let text = format!("{services}{clinicians}");
    let path = folder.path().join("group.toml");
    std::fs::write(&path, &text).unwrap();
    let line = |needle: &str| {
        text.lines()
            .position(|l| l.starts_with(needle))
            .map(|i| i + 1)
            .unwrap_or_else(|| panic!("{needle} in the file"))
    };
    let file = path.display().to_string();
    let at = |needle: &str, key: &str| format!("{file}:{}: {key}: ", line(needle));
    // Every problem, in the file's order: the shape's (unknown keys) and the values'.
    let duplicate = format!("{file}:{}: clinicians[2].id: ", text.lines().count() - 1);
    let expected = [
        at("clinicians = []", "services[0].clinicians"),
        at(
            "clinicians = [\"lee\", \"nobody\"]",
            "services[1].clinicians[1]",
        ),
        at("id = \"Dana!\"", "clinicians[0].id"),
        at("name = \"\"", "clinicians[0].name"),
        at("pronouns", "clinicians[0].pronouns"),
        at("bio", "clinicians[0].bio"),
        at("email = \"not an address\"", "clinicians[0].email"),
        at("colour", "clinicians[0].colour"),
        at(
            "step_minutes = 0",
            "clinicians[0].availability.step_minutes",
        ),
        at(
            "horizon_days = 100000",
            "clinicians[0].availability.horizon_days",
        ),
        at(
            "request_expiry_hours = 2",
            "clinicians[0].availability.request_expiry_hours",
        ),
        at(
            "monday = [\"10:00-09:00\"]",
            "clinicians[0].availability.weekly.monday[0]",
        ),
        at("backend = \"paper\"", "clinicians[0].calendar.backend"),
        duplicate,
    ];
    assert_problems(check_config(&path), &expected);
}

#[tokio::test]
async fn the_group_practice_example_passes_check_config() {
    // Dana's calendar is on CalDAV, at the Radicale the demo starts: here
    // the tests' own, with its user and a password file.
    let radicale = Radicale::start().await;
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let folder = tempfile::tempdir().unwrap();
    std::fs::write(folder.path().join("dana-caldav-password"), PASSWORD).unwrap();
    let mut moved = std::fs::read_to_string(examples.join("harbour-group-practice.toml")).unwrap();
    for (from, to) in [
        ("http://127.0.0.1:5232/dana/work/", radicale.calendar_url()),
        ("user = \"dana\"", format!("user = \"{USER}\"")),
        (
            "password_env = \"FIRSTSTEP_DEMO_CALDAV_PASSWORD\"",
            "password_file = \"dana-caldav-password\"".into(),
        ),
        ("\"../dist\"", format!("{:?}", examples.join("../dist"))),
        ("\"../demo\"", format!("{:?}", examples.join("../demo"))),
    ] {
        assert!(moved.contains(from), "the example has {from}");
        moved = moved.replace(from, &to);
    }
    let example = folder.path().join("harbour-group-practice.toml");
    std::fs::write(&example, moved).unwrap();
    let output = check_config(&example);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let settings = firststep_adapter::config::Settings::load(&example).unwrap();
    let practice = &settings.practice;
    let ids: Vec<&str> = practice.clinicians.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["dana", "lee", "ren"]);
    let offered: Vec<&[String]> = practice
        .services
        .iter()
        .map(|s| s.clinicians.as_slice())
        .collect();
    assert_eq!(offered, [&["dana", "lee", "ren"][..], &["dana", "ren"][..]]);
    // Dana's week is her own; her buffer is the practice's, her cap her own.
    let dana = &practice.clinicians[0];
    assert!(dana.rules.weekly[0].ranges().is_empty(), "no Mondays");
    assert_eq!(dana.rules.buffer_after_minutes, 10);
    assert_eq!(
        (dana.rules.daily_cap, practice.rules.daily_cap),
        (Some(4), None)
    );
    assert_eq!(practice.clinicians[1].rules.buffer_after_minutes, 15);
    // Dana on her own CalDAV calendar; Lee and Ren share the practice's.
    let own: Vec<bool> = practice
        .clinicians
        .iter()
        .map(|c| matches!(c.calendar, Some(CalendarSettings::CalDav(_))))
        .collect();
    assert_eq!(own, [true, false, false]);
}

#[tokio::test]
async fn the_requests_command_lists_whom_each_request_is_with() {
    let app = spawn_app_with(&group("")).await;
    let at = day_at(&app, 2, 10, 0);
    let dana = booked_with(&app, "free-consultation", Some("dana"), at).await;
    let lee = booked_with(&app, "free-consultation", Some("lee"), at).await;
    let folder = tempfile::tempdir().unwrap();
    let config = folder.path().join("group.toml");
    std::fs::write(&config, group("")).unwrap();

    let listed = std::process::Command::new(env!("CARGO_BIN_EXE_firststep-adapter"))
        .args(["requests", "--config"])
        .arg(&config)
        .arg("--store")
        .arg(app.store_arg())
        .arg("list")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&listed.stdout);
    let line_of = |id: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(id))
            .unwrap_or_default()
    };
    assert!(
        line_of(&dana.booking.id).contains("with Dana Whitfield"),
        "{stdout}"
    );
    assert!(
        line_of(&lee.booking.id).contains("with Lee Okafor"),
        "{stdout}"
    );
}

#[tokio::test]
async fn connect_clinician_asks_consent_for_their_own_calendar_only() {
    use std::io::BufRead;

    let google = crate::google_standin::GoogleStandIn::start().await;
    let folder = tempfile::tempdir().unwrap();
    let danas = google
        .calendar_table(folder.path(), None)
        .replace("[calendar]", "[clinicians.calendar]");
    let file = folder.path().join("group.toml");
    std::fs::write(&file, group(&danas)).unwrap();
    let connect = |clinician: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_firststep-adapter"))
            .args(["connect", "google", "--config"])
            .arg(&file)
            .args(["--clinician", clinician])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };

    // Lee shares the practice's calendar; nobody is not a clinician.
    for (clinician, said) in [
        (
            "lee",
            "clinician \"lee\" has no [clinicians.calendar] of their own",
        ),
        ("nobody", "there is no clinician \"nobody\""),
    ] {
        let output = connect(clinician).wait_with_output().unwrap();
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(said), "{stderr}");
    }
    // The practice's own [calendar] is local: nothing to connect there.
    let practice = std::process::Command::new(env!("CARGO_BIN_EXE_firststep-adapter"))
        .args(["connect", "google", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&practice.stderr).contains("[calendar] backend is not \"google\"")
    );

    // Dana's: the consent page of her calendar's OAuth client.
    let mut child = connect("dana");
    let stdout = child.stdout.take().unwrap();
    let first_address = tokio::task::spawn_blocking(move || {
        std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find(|line| line.starts_with("http"))
    })
    .await
    .unwrap()
    .expect("a consent address");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        first_address.starts_with(&format!("{}/auth?", google.base))
            && first_address.contains(crate::google_standin::CLIENT_ID),
        "{first_address}"
    );
}

#[tokio::test]
async fn the_practice_feed_says_whom_each_booking_is_with() {
    let token = "a-long-random-feed-token-0123456789";
    let folder = std::sync::Arc::new(tempfile::tempdir().unwrap());
    std::fs::write(folder.path().join("feed-token"), token).unwrap();
    let config = format!("{}\n[feed]\ntoken_file = \"feed-token\"\n", group(""));
    let app = crate::helpers::spawn_on(&config, folder).await;
    let at = day_at(&app, 2, 10, 0);
    booked_with(&app, "free-consultation", Some("dana"), at).await;
    booked_with(&app, "intake", None, at + Duration::hours(1)).await;

    let feed = app.get(&format!("/feeds/bookings.ics?token={token}")).await;
    let feed = feed.text().await.unwrap();
    assert!(
        feed.contains("SUMMARY:Request: Free 15-minute consultation with Dana Whitfield"),
        "{feed}"
    );
    assert!(
        feed.contains("SUMMARY:Intake session with Lee Okafor"),
        "{feed}"
    );
}

#[tokio::test]
async fn healthz_fails_while_a_clinicians_own_calendar_refuses_the_adapter() {
    let google = crate::google_standin::GoogleStandIn::start().await;
    let folder = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let danas = google
        .calendar_table(folder.path(), Some(&google.issue_refresh_token()))
        .replace("[calendar]", "[clinicians.calendar]");
    let app = crate::helpers::spawn_on(&group(&danas), folder).await;
    assert_eq!(app.get("/healthz").await.status(), 200);

    google.revoke_refresh_tokens();
    google.advance(3600);
    app.advance(Duration::seconds(6));
    eventually("/healthz failing", 15, || async {
        app.get("/healthz").await.status() == 503
    })
    .await;
    // Lee, on the practice's calendar, is still booked meanwhile.
    let at = day_at(&app, 2, 10, 0);
    assert_eq!(
        with_whom(&booked_with(&app, "free-consultation", Some("lee"), at).await),
        "lee"
    );
}

#[tokio::test]
async fn a_booking_made_before_the_practice_listed_clinicians_holds_its_time_for_everyone() {
    let app = spawn_app().await;
    let at = day_at(&app, 2, 10, 0);
    let before = app.book(at).await;
    assert_eq!(before.booking.clinician, None);
    let folder = app.stop().await;

    let app = crate::helpers::spawn_on(&group(""), folder).await;
    for clinician in [Some("dana"), Some("lee"), None] {
        assert!(
            !starts(&app, "free-consultation", clinician, at)
                .await
                .contains(&at),
            "{clinician:?}"
        );
    }
    let response = post(&app, "free-consultation", None, at).await;
    assert_eq!(
        problem(response, 409).await.code,
        ErrorCode::SlotUnavailable
    );
    assert_eq!(app.view(&before).await.clinician, None);
}
