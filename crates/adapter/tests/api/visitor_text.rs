//! What a visitor types, through `POST /v1/bookings`: the protocol's shared
//! table of examples gets the same verdicts here as in the widget, and each
//! case of "visitor text reaches mail and pages unguarded" and "addresses
//! the adapter accepts but cannot mail" is refused or made inert.

use chrono::Utc;
use firststep_protocol::visitor_fields::{self, EXAMPLES};
use serde_json::json;

use crate::helpers::{booking_body, new_key, problem, spawn_app_with, TestApp, CONFIG};

/// The test practice, asking for phone and note so every field is checked.
fn config_requiring_everything() -> String {
    CONFIG.replace(
        "phone = \"optional\"\nnote = \"optional\"",
        "phone = \"required\"\nnote = \"required\"",
    )
}

/// A booking body whose `field` is `value`, the other fields good.
fn body_with(start: chrono::DateTime<Utc>, field: &str, value: &str) -> serde_json::Value {
    let mut body = booking_body(start);
    body["client"]["phone"] = json!("+1 555 010 0199");
    body["note"] = json!("Evenings");
    match field {
        visitor_fields::NAME_FIELD => body["client"]["name"] = json!(value),
        visitor_fields::EMAIL_FIELD => body["client"]["email"] = json!(value),
        visitor_fields::PHONE_FIELD => body["client"]["phone"] = json!(value),
        _ => body["note"] = json!(value),
    }
    body
}

/// The stored value of `field` of booking `id`.
fn stored(app: &TestApp, id: &str, field: &str) -> String {
    let store = app.open_store();
    let visitor = store
        .run(|s| s.booking(id, Utc::now()))
        .unwrap()
        .unwrap()
        .visitor;
    match field {
        visitor_fields::NAME_FIELD => visitor.name,
        visitor_fields::EMAIL_FIELD => visitor.email,
        visitor_fields::PHONE_FIELD => visitor.phone.unwrap_or_default(),
        _ => visitor.note.unwrap_or_default(),
    }
}

#[tokio::test]
async fn the_adapter_gives_the_shared_tables_verdicts() {
    let app = spawn_app_with(&config_requiring_everything()).await;
    let mut slots = app.open_slots("free-consultation").await.into_iter();

    for example in EXAMPLES {
        let start = slots.next().expect("a slot for each example");
        let response = app
            .post_booking(&new_key(), &body_with(start, example.field, example.input))
            .await;
        match example.verdict {
            Ok(kept) => {
                assert_eq!(response.status(), 201, "{example:?}");
                let created: firststep_protocol::BookingCreated = response.json().await.unwrap();
                let value = stored(&app, &created.booking.id, example.field);
                assert_eq!(value, kept, "{example:?}");
            }
            Err(_) => {
                let problem = problem(response, 422).await;
                assert_eq!(problem.field.as_deref(), Some(example.field), "{example:?}");
            }
        }
    }
}

/// "Addresses the adapter accepts but cannot mail": each is now a 422 that
/// names the email field, before anything is stored.
#[tokio::test]
async fn addresses_the_mailer_cannot_send_to_are_refused() {
    let app = spawn_app_with(CONFIG).await;
    let start = app.a_free_slot().await;
    for address in [
        "sam..lee@example.org",
        "sam.@example.org",
        ".sam@example.org",
    ] {
        let mut body = booking_body(start);
        body["client"]["email"] = json!(address);
        let problem = problem(app.post_booking(&new_key(), &body).await, 422).await;
        assert_eq!(problem.field.as_deref(), Some("client.email"), "{address}");
        assert_eq!(
            problem.detail, "Please enter an email address like name@example.org.",
            "{address}"
        );
    }
    app.book(start).await;
}

/// "Names made only of zero-width characters, and bidi override
/// characters, are accepted": no longer.
#[tokio::test]
async fn invisible_names_and_bidi_overrides_are_refused() {
    let app = spawn_app_with(CONFIG).await;
    let start = app.a_free_slot().await;
    let cases = [
        ("client.name", "\u{200B}\u{200B}", "Please enter your name."),
        ("client.name", "\u{3164}", "Please enter your name."),
        (
            "client.name",
            "Sam \u{202E}eeL",
            "The name contains characters that cannot be used.",
        ),
        (
            "note",
            "see \u{2066}attached\u{2069}",
            "The note contains characters that cannot be used.",
        ),
    ];
    for (field, value, detail) in cases {
        let problem = problem(
            app.post_booking(&new_key(), &body_with(start, field, value))
                .await,
            422,
        )
        .await;
        assert_eq!(problem.field.as_deref(), Some(field), "{value:?}");
        assert_eq!(problem.detail, detail, "{value:?}");
    }
}

/// A note's bare CRs and CRLFs are stored as LF; an optional note with
/// nothing visible in it counts as not given, as in the widget.
#[tokio::test]
async fn line_breaks_are_stored_as_lf_and_a_blank_note_as_none() {
    let app = spawn_app_with(CONFIG).await;
    let slots = app.open_slots("free-consultation").await;
    let response = app
        .post_booking(
            &new_key(),
            &body_with(slots[0], "note", "one\r.\r\ntwo\rthree"),
        )
        .await;
    assert_eq!(response.status(), 201);
    let created: firststep_protocol::BookingCreated = response.json().await.unwrap();
    assert_eq!(
        stored(&app, &created.booking.id, "note"),
        "one\n.\ntwo\nthree"
    );

    let response = app
        .post_booking(&new_key(), &body_with(slots[1], "note", "\u{200B} \r\n"))
        .await;
    assert_eq!(response.status(), 201);
    let created: firststep_protocol::BookingCreated = response.json().await.unwrap();
    let store = app.open_store();
    let booking = store
        .run(|s| s.booking(&created.booking.id, Utc::now()))
        .unwrap();
    assert_eq!(booking.unwrap().visitor.note, None);
}

/// The locale is kept only when it is a language tag.
#[tokio::test]
async fn only_a_language_tag_is_kept_as_the_locale() {
    let app = spawn_app_with(CONFIG).await;
    let slots = app.open_slots("free-consultation").await;
    for (start, (given, kept)) in slots
        .into_iter()
        .zip([("es-MX", Some("es-MX")), ("es\r\nBcc: x", None)])
    {
        let mut body = booking_body(start);
        body["locale"] = json!(given);
        let response = app.post_booking(&new_key(), &body).await;
        assert_eq!(response.status(), 201);
        let created: firststep_protocol::BookingCreated = response.json().await.unwrap();
        let store = app.open_store();
        let booking = store
            .run(|s| s.booking(&created.booking.id, Utc::now()))
            .unwrap();
        assert_eq!(booking.unwrap().visitor.locale.as_deref(), kept);
    }
}
