//! Retention: personal fields of bookings that are over are erased after
//! `privacy.retention_days`, keeping service, time and status for counting.
//! The clock is moved by passing `now` to the housekeeping round, and once
//! by moving the running server's.

use chrono::{DateTime, Duration, Utc};
use firststep_adapter::housekeeping;
use firststep_protocol::{BookingCreated, SlotList};
use serde_json::json;

use crate::helpers::{
    booking_body, closed_port, contains, eventually, iso, new_key, spawn_app, spawn_app_with,
    with_mail, TestApp, CONFIG,
};

/// Books `service` at `start` as a visitor called `name`, with every field filled.
pub async fn book_as(
    app: &TestApp,
    service: &str,
    start: DateTime<Utc>,
    name: &str,
    email: &str,
) -> BookingCreated {
    let mut body = booking_body(start);
    body["service"] = json!(service);
    body["client"] = json!({"name": name, "email": email, "phone": "+1 555 010 0199"});
    body["note"] = json!(format!("a note from {name}"));
    body["locale"] = json!("de");
    let response = app.post_booking(&new_key(), &body).await;
    assert_eq!(response.status(), 201, "booking for {name}");
    response.json().await.unwrap()
}

/// The first open slot of `service` from `days` days ahead.
pub async fn slot_in_days(app: &TestApp, service: &str, days: i64) -> DateTime<Utc> {
    let from = app.now() + Duration::days(days);
    let path = format!(
        "/v1/slots?service={service}&from={}&to={}",
        iso(from),
        iso(from + Duration::days(1))
    );
    let list: SlotList = app.get(&path).await.json().await.unwrap();
    list.slots[0].start
}

/// A request for tomorrow that Alex cancels today.
async fn cancelled_today(app: &TestApp) -> BookingCreated {
    let cancelled = book_as(
        app,
        "free-consultation",
        slot_in_days(app, "free-consultation", 1).await,
        "Alex Gone",
        "alex@example.org",
    )
    .await;
    app.cancel(&cancelled).await;
    cancelled
}

/// The stored row of booking `id`: personal fields, then what is kept.
fn row(app: &TestApp, id: &str) -> (Vec<Option<String>>, (String, i64, String)) {
    let mut columns = app.text_row(
        "SELECT client_name, client_email, client_phone, client_time_zone, note, locale,
                service, CAST(start_at AS TEXT), status FROM bookings WHERE id = $1",
        id,
    );
    let kept: Vec<String> = columns
        .split_off(6)
        .into_iter()
        .map(Option::unwrap)
        .collect();
    let start_at = kept[1].parse().unwrap();
    (columns, (kept[0].clone(), start_at, kept[2].clone()))
}

fn blank() -> Vec<Option<String>> {
    vec![
        Some(String::new()),
        Some(String::new()),
        None,
        None,
        None,
        None,
    ]
}

#[tokio::test]
async fn personal_fields_of_bookings_over_for_the_retention_period_are_erased_and_counts_kept() {
    let app = spawn_app().await;
    let now = Utc::now();
    // A request the visitor cancels today; an instant booking that ends within
    // three days; an instant booking in 25 days, still to come.
    let cancelled = cancelled_today(&app).await;
    let past = book_as(
        &app,
        "intake",
        slot_in_days(&app, "intake", 1).await,
        "Bo Past",
        "bo@example.org",
    )
    .await;
    let to_come = book_as(
        &app,
        "intake",
        slot_in_days(&app, "intake", 25).await,
        "Cy Coming",
        "cy@example.org",
    )
    .await;
    let store = app.open_store();
    let before: Vec<_> = [&cancelled, &past, &to_come]
        .iter()
        .map(|b| row(&app, &b.booking.id))
        .collect();

    // 29 days on (default retention: 30 days): nothing is erased yet.
    let round = housekeeping::round(&store.0, Duration::days(30), now + Duration::days(29))
        .await
        .unwrap();
    assert_eq!(round.sweep.erased, 0);
    for (booking, was) in [&cancelled, &past, &to_come].iter().zip(&before) {
        assert_eq!(&row(&app, &booking.booking.id), was);
    }

    // 33 days on: the cancelled request (30 days after its cancellation) and
    // the past booking (30 days after its end) lose their personal fields.
    let round = housekeeping::round(&store.0, Duration::days(30), now + Duration::days(33))
        .await
        .unwrap();
    assert_eq!(round.sweep.erased, 2);
    for (booking, was) in [(&cancelled, &before[0]), (&past, &before[1])] {
        let (personal, kept) = row(&app, &booking.booking.id);
        assert_eq!(personal, blank(), "{}", booking.booking.id);
        assert_eq!(kept, was.1, "service, time and status are kept");
        // Its manage link opens nothing any more.
        let view = app
            .client
            .get(app.url(&format!("/v1/bookings/{}", booking.booking.id)))
            .bearer_auth(&booking.manage_token)
            .send()
            .await
            .unwrap();
        assert_eq!(view.status(), 404);
    }
    assert_eq!(
        row(&app, &to_come.booking.id),
        before[2],
        "a booking to come is kept whole"
    );
    assert_eq!(app.view(&to_come).await.status, to_come.booking.status);

    // Not even in the file's free pages or write-ahead log.
    let bytes = app.stored_bytes();
    for erased in [
        "Alex Gone",
        "alex@example.org",
        "a note from Bo Past",
        "bo@example.org",
    ] {
        assert!(
            !contains(&bytes, erased.as_bytes()),
            "{erased} is still in the file"
        );
    }
    assert!(contains(&bytes, b"cy@example.org"));

    // A later round finds nothing more to do.
    let round = housekeeping::round(&store.0, Duration::days(30), now + Duration::days(34))
        .await
        .unwrap();
    assert_eq!(round.sweep.erased, 0);
}

#[tokio::test]
async fn the_running_server_erases_by_itself_once_its_clock_passes_the_retention_period() {
    let app = spawn_app().await;
    let cancelled = cancelled_today(&app).await;
    assert_ne!(row(&app, &cancelled.booking.id).0, blank());

    // Default retention: 30 days after the cancellation.
    app.advance(Duration::days(30) + Duration::minutes(1));

    eventually(
        "the cancelled booking's personal fields erased",
        10,
        || async { row(&app, &cancelled.booking.id).0 == blank() },
    )
    .await;
}

#[tokio::test]
async fn idempotency_records_go_after_a_day_and_the_same_key_then_books_anew() {
    let app = spawn_app().await;
    let body = booking_body(app.a_free_slot().await);
    let first: BookingCreated = app
        .post_booking("day-old-key", &body)
        .await
        .json()
        .await
        .unwrap();
    let store = app.open_store();

    let round = housekeeping::round(
        &store.0,
        Duration::days(30),
        Utc::now() + Duration::hours(23),
    )
    .await
    .unwrap();
    assert_eq!(round.sweep.keys_deleted, 0);
    let replay = app.post_booking("day-old-key", &body).await;
    assert_eq!(replay.headers()["idempotent-replayed"], "true");

    let round = housekeeping::round(
        &store.0,
        Duration::days(30),
        Utc::now() + Duration::hours(25),
    )
    .await
    .unwrap();
    assert_eq!(round.sweep.keys_deleted, 1);
    // A new request: the slot is taken (by the first), so it is refused.
    let again = app.post_booking("day-old-key", &body).await;
    assert!(again.headers().get("idempotent-replayed").is_none());
    assert_eq!(
        again.status(),
        409,
        "booked anew, and the slot is {}'s",
        first.booking.id
    );
}

#[tokio::test]
async fn delivered_outbox_items_go_after_the_retention_period_and_waiting_ones_stay() {
    // Mail goes to a server that is down, so the emails keep waiting.
    let app = spawn_app_with(&with_mail(CONFIG, closed_port())).await;
    let booked = book_as(
        &app,
        "free-consultation",
        // Days ahead: no reminder falls due during the test.
        slot_in_days(&app, "free-consultation", 3).await,
        "Robin Sent",
        "robin@example.org",
    )
    .await;
    let id = booked.booking.id.as_str();
    // (action, delivered) of each of the booking's outbox items.
    let items = || -> Vec<(String, bool)> {
        app.text_rows(
            "SELECT action, CASE WHEN done_at IS NOT NULL THEN 'done' END
             FROM outbox WHERE booking_id = $1 ORDER BY id",
            id,
        )
        .into_iter()
        .map(|row| (row[0].clone().unwrap(), row[1].is_some()))
        .collect()
    };
    eventually("the calendar hold placed", 10, || async {
        items()
            .iter()
            .any(|(action, done)| action == "place" && *done)
    })
    .await;
    let waiting: Vec<(String, bool)> = items().into_iter().filter(|(_, done)| !done).collect();
    assert!(
        waiting
            .iter()
            .any(|(action, _)| action.starts_with("mail:")),
        "{:?}",
        items()
    );
    let store = app.open_store();
    let sweep = |days: i64| {
        housekeeping::round(
            &store.0,
            Duration::days(30),
            Utc::now() + Duration::days(days),
        )
    };

    // Delivered 29 days ago: kept.
    assert_eq!(sweep(29).await.unwrap().sweep.deliveries_deleted, 0);
    assert!(items().iter().any(|(_, done)| *done), "{:?}", items());
    // Delivered 31 days ago: gone; what still waits is kept, however old.
    assert!(sweep(31).await.unwrap().sweep.deliveries_deleted >= 1);
    assert_eq!(items(), waiting);
    assert_eq!(sweep(32).await.unwrap().sweep.deliveries_deleted, 0);
}
