use firststep_protocol::ErrorCode;

use crate::helpers::{problem, spawn_app};

#[tokio::test]
async fn the_calendar_file_names_service_and_practice_but_not_the_client() {
    let app = spawn_app().await;
    let slot = app.a_free_slot().await;
    let created = app.book(slot).await;

    let response = app
        .get(&format!(
            "/v1/bookings/{}/calendar.ics?token={}",
            created.booking.id, created.manage_token
        ))
        .await;

    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/calendar; charset=utf-8"
    );
    let text = response.text().await.unwrap();
    assert!(text.starts_with("BEGIN:VCALENDAR\r\n"));
    assert!(text.contains("SUMMARY:Free 15-minute consultation — Test Practice\r\n"));
    assert!(text.contains(&format!("DTSTART:{}\r\n", slot.format("%Y%m%dT%H%M%SZ"))));
    assert!(text.contains("STATUS:TENTATIVE\r\n"));
    assert!(
        text.split("\r\n").all(|line| !line.contains('\n')),
        "CRLF line ends only"
    );
    for private in ["Sam", "Lee", "sam@example.org", "Berlin"] {
        assert!(!text.contains(private), "the file holds {private}");
    }
}

#[tokio::test]
async fn the_calendar_file_needs_the_right_token() {
    let app = spawn_app().await;
    let created = app.book(app.a_free_slot().await).await;
    let base = format!("/v1/bookings/{}/calendar.ics", created.booking.id);

    for path in [base.clone(), format!("{base}?token=wrong")] {
        assert_eq!(
            problem(app.get(&path).await, 404).await.code,
            ErrorCode::NotFound
        );
    }
}
