//! Secrets at rest: a copy of the store file alone gives no manage token and
//! no Idempotency-Key, although replays, first emails and reminders still
//! carry them.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use firststep_protocol::BookingCreated;

use crate::helpers::{
    booking_body, closed_port, contains, new_key, spawn_app_with, with_mail, CONFIG,
};

/// Every form a token could be written in: as sent, its raw bytes, hex, base64.
fn forms_of(token: &str) -> Vec<Vec<u8>> {
    let mut forms = vec![token.as_bytes().to_vec()];
    if let Ok(raw) = URL_SAFE_NO_PAD.decode(token) {
        let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        forms.push(hex.to_uppercase().into_bytes());
        forms.push(hex.into_bytes());
        forms.push(
            STANDARD
                .encode(&raw)
                .trim_end_matches('=')
                .as_bytes()
                .to_vec(),
        );
        forms.push(raw);
    }
    forms
}

#[tokio::test]
async fn the_store_file_holds_no_manage_token_or_idempotency_key_after_bookings_replays_and_queued_mails(
) {
    // Mail is configured but its server is down: first emails, with their
    // manage tokens, wait in the outbox.
    let app = spawn_app_with(&with_mail(CONFIG, closed_port())).await;
    let slots = app.open_slots("free-consultation").await;
    let mut secrets = Vec::new();
    for slot in slots.iter().skip(10).take(3) {
        let key = new_key();
        let body = booking_body(*slot);
        let first = app.post_booking(&key, &body).await;
        assert_eq!(first.status(), 201);
        let created: BookingCreated = first.json().await.unwrap();

        // The holder of the key gets the token again.
        let again = app.post_booking(&key, &body).await;
        assert_eq!(again.headers()["idempotent-replayed"], "true");
        let replayed: BookingCreated = again.json().await.unwrap();
        assert_eq!(replayed.manage_token, created.manage_token);

        secrets.push(created.manage_token);
        secrets.push(key);
    }
    let queued =
        app.count_rows("SELECT COUNT(*) FROM outbox WHERE payload IS NOT NULL AND done_at IS NULL");
    assert_eq!(queued, 3, "each first email waits with its token");
    let for_reminders =
        app.count_rows("SELECT COUNT(*) FROM bookings WHERE reminder_token IS NOT NULL");
    assert_eq!(
        for_reminders, 3,
        "each booking keeps its token for reminders"
    );
    let kept = app
        .count_rows("SELECT COUNT(*) FROM idempotency_records WHERE response_sealed IS NOT NULL");
    assert_eq!(kept, 3, "each answer is kept for replays");

    // Read while the adapter runs (SQLite: the log holds the latest
    // writes), and with SQLite again once everything is checkpointed into
    // the file.
    let mut copies = vec![app.stored_bytes()];
    if app.sqlite_file().is_some() {
        app.execute("PRAGMA wal_checkpoint(TRUNCATE)");
        copies.push(app.stored_bytes());
    }
    for bytes in &copies {
        for secret in &secrets {
            for form in forms_of(secret) {
                assert!(
                    !contains(bytes, &form),
                    "a secret is in the store file in clear: {}",
                    String::from_utf8_lossy(&form)
                );
            }
        }
    }
    // The search does find what is stored in clear.
    assert!(copies.iter().all(|c| contains(c, b"sam@example.org")));
}
