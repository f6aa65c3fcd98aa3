//! What the adapter writes about visitors: nothing personal in its logs.

use std::io::Read;
use std::process::{Command, Stdio};

use chrono::{Duration, Utc};
use firststep_protocol::SlotList;

use crate::helpers::{booking_body, iso, new_key, CONFIG};

#[tokio::test]
async fn logs_never_hold_a_clients_name_email_phone_or_note_even_at_debug_level() {
    let folder = tempfile::tempdir().unwrap();
    let config = folder.path().join("practice.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let mut adapter = Command::new(env!("CARGO_BIN_EXE_firststep-adapter"))
        .args(["serve", "--config"])
        .arg(&config)
        .args(["--listen", "127.0.0.1:0"])
        .arg("--store")
        .arg(crate::helpers::store_arg(&crate::helpers::store_in(
            folder.path(),
        )))
        // The PostgreSQL client's own target too, more specific than any
        // rule the adapter could add to the filter: it logs each
        // statement's parameters at debug.
        .env("FIRSTSTEP_LOG", "debug,tokio_postgres::query=debug")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = adapter.stdout.take().unwrap();
    let mut first = [0u8; 256];
    let read = stdout.read(&mut first).unwrap();
    let line = String::from_utf8_lossy(&first[..read]).to_string();
    let address = line
        .split("listening on ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let client = reqwest::Client::new();
    let now = Utc::now() + Duration::days(1);
    let slots: SlotList = client
        .get(format!(
            "{address}/v1/slots?service=free-consultation&from={}&to={}",
            iso(now),
            iso(now + Duration::days(1))
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut body = booking_body(slots.slots[0].start);
    body["client"]["phone"] = serde_json::json!("+1 555 010 0199");
    body["note"] = serde_json::json!("about my sleep");
    let created = client
        .post(format!("{address}/v1/bookings"))
        .header("Idempotency-Key", new_key())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let mut invalid = body.clone();
    invalid["client"]["email"] = serde_json::json!("sam@");
    client
        .post(format!("{address}/v1/bookings"))
        .header("Idempotency-Key", new_key())
        .json(&invalid)
        .send()
        .await
        .unwrap();

    let _ = Command::new("kill")
        .args(["-INT", &adapter.id().to_string()])
        .status();
    let output = adapter.wait_with_output().unwrap();
    let logs = String::from_utf8_lossy(&output.stderr);
    assert!(logs.contains("booking stored"), "the logs do speak: {logs}");
    for private in [
        "Sam",
        "Lee",
        "sam@",
        "example.org",
        "555 010",
        "sleep",
        "Berlin",
    ] {
        assert!(!logs.contains(private), "the logs hold {private}:\n{logs}");
    }
}
