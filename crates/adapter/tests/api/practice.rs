use firststep_protocol::{BookingMode, FieldRule, PracticeInfo};

use crate::helpers::spawn_app;

#[tokio::test]
async fn describes_the_practice_its_services_and_form() {
    let app = spawn_app().await;

    let response = app.get("/v1/practice").await;

    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let info: PracticeInfo = response.json().await.unwrap();
    assert_eq!(info.name, "Test Practice");
    assert_eq!(info.time_zone, "UTC");
    let services: Vec<(&str, u32, BookingMode)> = info
        .services
        .iter()
        .map(|s| (s.id.as_str(), s.duration_minutes, s.mode))
        .collect();
    assert_eq!(
        services,
        [
            ("free-consultation", 15, BookingMode::Request),
            ("intake", 50, BookingMode::Instant)
        ]
    );
    assert_eq!(
        (info.form.phone, info.form.note),
        (FieldRule::Optional, FieldRule::Optional)
    );
    assert_eq!(
        info.notice.as_deref(),
        Some("In a crisis, call your local emergency number.")
    );
    assert_eq!(
        info.privacy_url.as_deref(),
        Some("https://test.example.org/privacy")
    );
}
