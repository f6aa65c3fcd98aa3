//! The project's own adapter passes every check, with writes allowed.

use firststep_conformance::{run, Options, Outcome, ALL};

use crate::servers::{start_adapter, start_stub, ORIGIN};

fn options(url: &str, service: Option<&str>) -> Options {
    Options {
        base_url: url.to_owned(),
        service: service.map(str::to_owned),
        allow_writes: true,
        origin: Some(ORIGIN.to_owned()),
    }
}

fn assert_every_check_passed(report: &firststep_conformance::Report) {
    assert_eq!(report.results.len(), ALL.len());
    assert!(
        report.all_passed() && report.skipped() == 0,
        "{}",
        report.text()
    );
}

#[tokio::test]
async fn the_adapter_passes_every_check_for_a_request_service() {
    let adapter = start_adapter().await;
    let report = run(options(&adapter.url, None), None).await.expect("a run");
    assert_every_check_passed(&report);
}

#[tokio::test]
async fn the_adapter_passes_every_check_for_an_instant_service() {
    let adapter = start_adapter().await;
    let report = run(options(&adapter.url, Some("intake")), None)
        .await
        .expect("a run");
    assert_every_check_passed(&report);
}

/// The stub forwarding faithfully passes too: the failures in
/// `misbehaving.rs` come from each misbehaviour, not from the stub.
#[tokio::test]
async fn the_stub_without_a_fault_passes_every_check() {
    let adapter = start_adapter().await;
    let stub = start_stub(&adapter.url, |_, _| {}).await;
    let report = run(options(&stub, None), None).await.expect("a run");
    assert_every_check_passed(&report);
}

#[tokio::test]
async fn without_allow_writes_nothing_is_booked_and_the_booking_checks_are_skipped() {
    let adapter = start_adapter().await;
    let mut options = options(&adapter.url, None);
    options.allow_writes = false;
    let report = run(options, None).await.expect("a run");
    assert!(report.all_passed(), "{}", report.text());
    for check in ALL {
        let skipped = matches!(report.outcome(check.id), Some(Outcome::Skip { .. }));
        assert_eq!(skipped, check.writes, "{}", check.id);
    }
    // No slot was taken: the fortnight's slots are those of a fresh store.
    let from = chrono::Utc::now() + chrono::Duration::hours(2);
    let fresh = start_adapter().await;
    assert_eq!(
        fortnight(&adapter.url, from).await,
        fortnight(&fresh.url, from).await,
        "a run without writes left the slots as a fresh store has them"
    );
}

/// The body of `GET /v1/slots` for two weeks from `from`.
async fn fortnight(url: &str, from: chrono::DateTime<chrono::Utc>) -> Vec<u8> {
    let at = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let path = format!(
        "{url}/v1/slots?service=free-consultation&from={}&to={}",
        at(from),
        at(from + chrono::Duration::days(14))
    );
    let response = reqwest::get(path).await.expect("slots answered");
    response.bytes().await.expect("a body").to_vec()
}

/// Runs the built `firststep-conformance` with `arguments`; its exit code and output.
pub async fn run_binary(arguments: Vec<String>) -> (Option<i32>, String) {
    tokio::task::spawn_blocking(move || {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_firststep-conformance"))
            .args(arguments)
            .output()
            .expect("the binary runs");
        let text = String::from_utf8(output.stdout).expect("UTF-8 output");
        (output.status.code(), text)
    })
    .await
    .expect("the binary's run finishes")
}

#[tokio::test]
async fn the_binary_prints_a_line_per_check_and_a_summary_and_exits_0() {
    let adapter = start_adapter().await;
    let arguments = vec![
        adapter.url.clone(),
        "--allow-writes".into(),
        "--origin".into(),
        ORIGIN.into(),
    ];
    let (code, text) = run_binary(arguments).await;
    assert_eq!(code, Some(0), "{text}");
    for check in ALL {
        let line = text
            .lines()
            .find(|line| line.split_whitespace().nth(1) == Some(check.id))
            .unwrap_or_else(|| panic!("no line for {}:\n{text}", check.id));
        assert!(line.starts_with("pass "), "{line}");
        assert!(
            line.ends_with(&format!("[docs/protocol.md § {}]", check.section)),
            "{line}"
        );
    }
    let summary = format!(
        "{} checks, {} passed, 0 failed, 0 skipped",
        ALL.len(),
        ALL.len()
    );
    assert!(text.trim_end().ends_with(&summary), "{text}");
}

#[tokio::test]
async fn the_binary_without_writes_skips_the_booking_checks_in_json() {
    let adapter = start_adapter().await;
    let (code, text) = run_binary(vec![adapter.url.clone(), "--json".into()]).await;
    assert_eq!(code, Some(0), "{text}");
    let report: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    // The checks that book, and the allowed-origin check (no --origin given).
    let writes = ALL.iter().filter(|c| c.writes).count();
    assert_eq!(report["skipped"], writes + 1, "{text}");
    assert_eq!(report["failed"], 0);
    assert_eq!(report["checks"].as_array().map(Vec::len), Some(ALL.len()));
    let create = report["checks"]
        .as_array()
        .and_then(|checks| checks.iter().find(|c| c["id"] == "bookings.create"))
        .expect("bookings.create listed");
    assert_eq!(create["outcome"], "skip");
    assert_eq!(create["section"], "POST /v1/bookings");
    assert_eq!(create["reason"], "writes bookings: run with --allow-writes");
}
