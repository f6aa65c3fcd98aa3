//! Visitors' rights from the command line: `visitor export` prints everything
//! stored about a visitor, `visitor erase` erases it and releases their holds.

use std::process::Command;

use firststep_protocol::BookingCreated;
use serde_json::Value;

use crate::helpers::{closed_port, contains, spawn_app_with, with_mail, TestApp, CONFIG};
use crate::retention::{book_as, slot_in_days};

/// Runs `firststep-adapter visitor ACTION` on the app's store (named by
/// `FIRSTSTEP_STORE`, as a URL with a password is best given); its stdout.
fn visitor(app: &TestApp, config: &str, action: &str, email: &str) -> String {
    let file = app.folder().join("practice.toml");
    std::fs::write(&file, config).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_firststep-adapter"))
        .args(["visitor", action, "--config"])
        .arg(&file)
        .env("FIRSTSTEP_STORE", app.store_arg())
        .args(["--email", email])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The outbox items of booking `id`, in order: each action, and whether it
/// still waits.
fn outbox_of(app: &TestApp, id: &str) -> Vec<(String, bool)> {
    app.text_rows(
        "SELECT action, CASE WHEN done_at IS NULL THEN 'waits' END
         FROM outbox WHERE booking_id = $1 ORDER BY id",
        id,
    )
    .into_iter()
    .map(|row| (row[0].clone().unwrap(), row[1].is_some()))
    .collect()
}

/// Sam's request and booking, under two spellings of one address, and
/// someone else's booking: (Sam's request slot, request, booking, Kim's).
async fn sam_twice_and_kim(
    app: &TestApp,
) -> (
    chrono::DateTime<chrono::Utc>,
    BookingCreated,
    BookingCreated,
    BookingCreated,
) {
    let request_slot = slot_in_days(app, "free-consultation", 1).await;
    let request = book_as(
        app,
        "free-consultation",
        request_slot,
        "Sam Lee",
        "Sam.Lee@Example.org",
    )
    .await;
    let intake = slot_in_days(app, "intake", 2).await;
    let booked = book_as(app, "intake", intake, "Sam Lee", "sam.lee@example.org").await;
    let later = slot_in_days(app, "intake", 3).await;
    let other = book_as(app, "intake", later, "Kim Other", "kim@example.org").await;
    (request_slot, request, booked, other)
}

#[tokio::test]
async fn export_prints_every_stored_field_of_a_visitors_bookings_and_their_outbox_items() {
    // Mail down: the emails about them wait in the outbox.
    let config = with_mail(CONFIG, closed_port());
    let app = spawn_app_with(&config).await;
    let (_, request, booked, other) = sam_twice_and_kim(&app).await;

    // The address matches whatever the case of its letters.
    let export: Value =
        serde_json::from_str(&visitor(&app, &config, "export", "SAM.LEE@example.ORG")).unwrap();

    let bookings = export["bookings"].as_array().unwrap();
    let ids: Vec<&str> = bookings.iter().map(|b| b["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [request.booking.id.as_str(), booked.booking.id.as_str()]
    );
    let first = &bookings[0];
    for (field, value) in [
        ("client_name", "Sam Lee"),
        ("client_email", "Sam.Lee@Example.org"),
        ("client_phone", "+1 555 010 0199"),
        ("client_time_zone", "Europe/Berlin"),
        ("note", "a note from Sam Lee"),
        ("locale", "de"),
        ("service", "free-consultation"),
        ("status", "pending"),
    ] {
        assert_eq!(first[field], value, "{field}");
    }
    for column in &app.column_names("bookings") {
        assert!(
            first.get(column).is_some(),
            "the export leaves out {column}"
        );
    }
    assert_eq!(
        first["start_at"],
        request
            .booking
            .start
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );

    let outbox = export["outbox"].as_array().unwrap();
    let actions: Vec<&str> = outbox
        .iter()
        .map(|o| o["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"mail:visitor_received") && actions.contains(&"mail:visitor_confirmed"),
        "{actions:?}"
    );
    assert!(outbox
        .iter()
        .all(|o| ids.contains(&o["booking_id"].as_str().unwrap())));
    assert!(
        !export.to_string().contains("Kim Other")
            && !export.to_string().contains(&other.booking.id)
    );
}

#[tokio::test]
async fn erase_removes_a_visitors_data_cancels_their_requests_and_releases_their_holds() {
    let config = with_mail(CONFIG, closed_port());
    let app = spawn_app_with(&config).await;
    let (request_slot, request, booked, other) = sam_twice_and_kim(&app).await;
    assert!(!app
        .open_slots("free-consultation")
        .await
        .contains(&request_slot));

    let said = visitor(&app, &config, "erase", "sam.lee@EXAMPLE.org");
    assert!(said.contains("Erased 2 booking(s); 2 cancelled"), "{said}");

    for created in [&request, &booked] {
        let id = &created.booking.id;
        let row = app.text_row(
            "SELECT status, client_name, client_email, client_phone, note FROM bookings WHERE id = $1",
            id,
        );
        let text = |column: &str| Some(column.to_owned());
        assert_eq!(row, [text("cancelled"), text(""), text(""), None, None]);
        let outbox = outbox_of(&app, id);
        // The calendar hold goes through the outbox; no email about them is left to send.
        assert_eq!(outbox.last().unwrap().0, "release", "{outbox:?}");
        assert!(
            outbox
                .iter()
                .all(|(action, waiting)| !(*waiting && action.starts_with("mail:"))),
            "{outbox:?}"
        );
    }
    // The running adapter delivers the releases at its next outbox round.
    // Both are awaited: a round already under way when the erasure came may
    // release a hold first (its place finds the booking cancelled), leaving
    // the erasure's own release for the round after.
    let released_and_sent = |created: &BookingCreated| {
        let id = &created.booking.id;
        let state =
            app.text_row("SELECT calendar_state FROM bookings WHERE id = $1", id)[0].clone();
        let waiting = outbox_of(&app, id).iter().filter(|(_, w)| *w).count();
        (state, waiting)
    };
    for _ in 0..200 {
        if [&request, &booked]
            .iter()
            .all(|c| released_and_sent(c) == (Some("released".to_owned()), 0))
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    for created in [&request, &booked] {
        assert_eq!(
            released_and_sent(created),
            (Some("released".to_owned()), 0),
            "the release of {} was not delivered: {:?}",
            created.booking.id,
            outbox_of(&app, &created.booking.id)
        );
    }
    // Their time is offered again; the other visitor is untouched.
    assert!(app
        .open_slots("free-consultation")
        .await
        .contains(&request_slot));
    assert_eq!(app.view(&other).await.status, other.booking.status);
    let export: Value =
        serde_json::from_str(&visitor(&app, &config, "export", "sam.lee@example.org")).unwrap();
    assert_eq!(export["bookings"], serde_json::json!([]));
    let bytes = app.stored_bytes();
    for erased in [
        "sam.lee@example.org",
        "Sam.Lee@example.org",
        "a note from Sam Lee",
        "Sam Lee",
    ] {
        assert!(
            !contains(&bytes, erased.as_bytes()),
            "{erased} is still in the file"
        );
    }
    assert!(contains(&bytes, b"Kim Other"));
}
