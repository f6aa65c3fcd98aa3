//! One misbehaviour at a time, in front of the real adapter: the check for
//! the rule it breaks fails (others may fail too). Every check of the kit is
//! seen failing here at least once.

use axum::http::{HeaderValue, Method, StatusCode};
use firststep_conformance::{run, Options, Outcome, ALL};
use serde_json::{json, Value};

use crate::servers::{start_adapter, start_stub, Asked, Fault, ORIGIN};

/// A misbehaviour, and the check that must fail behind it.
struct Case {
    check: &'static str,
    misbehaviour: &'static str,
    fault: Fault,
}

fn is(asked: &Asked, method: Method, path: &str) -> bool {
    asked.method == method && asked.path == path
}

fn booking_page(asked: &Asked) -> bool {
    asked.path.starts_with("/v1/bookings/") && !asked.path.ends_with(".ics")
}

const CASES: &[Case] = &[
    Case { check: "health.ok", misbehaviour: "/healthz says `healthy`", fault: |asked, reply| {
        if asked.path == "/healthz" { reply.body = b"healthy".to_vec(); }
    }},
    Case { check: "practice.shape", misbehaviour: "a service's mode is `automatic`", fault: |asked, reply| {
        if asked.path == "/v1/practice" { reply.edit_json(|p| p["services"][1]["mode"] = json!("automatic")); }
    }},
    Case { check: "practice.shape", misbehaviour: "a service meets by `zoom`", fault: |asked, reply| {
        if asked.path == "/v1/practice" { reply.edit_json(|p| p["services"][0]["location"] = json!("zoom")); }
    }},
    Case { check: "practice.shape", misbehaviour: "a video service shows its room in public", fault: |asked, reply| {
        if asked.path == "/v1/practice" {
            reply.edit_json(|p| {
                p["services"][0]["location"] = json!("video");
                p["services"][0]["video_url"] = json!("https://meet.example.org/room");
            });
        }
    }},
    Case { check: "practice.shape", misbehaviour: "a clinician without a name", fault: |asked, reply| {
        if asked.path == "/v1/practice" {
            reply.edit_json(|p| {
                let service = p["services"][0]["id"].clone();
                p["clinicians"] = json!([{"id": "dana", "name": "", "pronouns": null, "bio": null, "services": [service]}]);
            });
        }
    }},
    Case { check: "practice.shape", misbehaviour: "a clinician offering a service the practice lacks", fault: |asked, reply| {
        if asked.path == "/v1/practice" {
            reply.edit_json(|p| {
                p["clinicians"] = json!([{"id": "dana", "name": "Dana", "pronouns": null, "bio": null, "services": ["no-such-service"]}]);
            });
        }
    }},
    Case { check: "slots.unknown_clinician", misbehaviour: "an unknown clinician is ignored (the practice's slots)", fault: |asked, reply| {
        if asked.path == "/v1/slots" && reply.code().as_deref() == Some("unknown_clinician") {
            reply.status = StatusCode::OK;
            reply.headers.insert("content-type", HeaderValue::from_static("application/json"));
            reply.body = br#"{"service":"x","time_zone":"UTC","slots":[]}"#.to_vec();
        }
    }},
    Case { check: "slots.shape", misbehaviour: "slots in descending order", fault: |asked, reply| {
        if asked.path == "/v1/slots" {
            reply.edit_json(|list| if let Some(slots) = list["slots"].as_array_mut() { slots.reverse() });
        }
    }},
    Case { check: "slots.shape", misbehaviour: "slot instants with +00:00 instead of Z", fault: |asked, reply| {
        if asked.path == "/v1/slots" {
            reply.body = String::from_utf8_lossy(&reply.body).replace(":00Z\"", ":00+00:00\"").into_bytes();
        }
    }},
    Case { check: "slots.cache_control", misbehaviour: "slots cached for an hour", fault: |asked, reply| {
        if asked.path == "/v1/slots" {
            reply.headers.insert("cache-control", HeaderValue::from_static("max-age=3600"));
        }
    }},
    Case { check: "slots.offsets", misbehaviour: "instants with an offset read wrongly (no slots)", fault: |asked, reply| {
        if asked.path == "/v1/slots" && asked.query.contains("%2B02") {
            reply.edit_json(|list| list["slots"] = json!([]));
        }
    }},
    Case { check: "slots.range_too_large", misbehaviour: "a too-long range called invalid_range", fault: |_, reply| {
        if reply.code().as_deref() == Some("range_too_large") {
            reply.edit_json(|p| p["code"] = json!("invalid_range"));
        }
    }},
    Case { check: "slots.invalid_range", misbehaviour: "a bad range answered 400", fault: |asked, reply| {
        if asked.path == "/v1/slots" && reply.code().as_deref() == Some("invalid_range") {
            reply.status = StatusCode::BAD_REQUEST;
            reply.edit_json(|p| p["status"] = json!(400));
        }
    }},
    Case { check: "slots.unknown_service", misbehaviour: "slots of an unknown service are an empty list", fault: |asked, reply| {
        if asked.path == "/v1/slots" && reply.code().as_deref() == Some("unknown_service") {
            reply.status = StatusCode::OK;
            reply.headers.insert("content-type", HeaderValue::from_static("application/json"));
            reply.body = br#"{"service":"x","time_zone":"UTC","slots":[]}"#.to_vec();
        }
    }},
    Case { check: "errors.not_found", misbehaviour: "an unknown path is a plain-text 404", fault: |_, reply| {
        if reply.status == StatusCode::NOT_FOUND && reply.code().as_deref() == Some("not_found") {
            reply.headers.insert("content-type", HeaderValue::from_static("text/plain"));
            reply.body = b"Not Found".to_vec();
        }
    }},
    Case { check: "errors.not_found", misbehaviour: "problems without `code`", fault: |_, reply| {
        reply.edit_json(|p| drop(p.as_object_mut().and_then(|p| p.remove("code"))));
    }},
    Case { check: "errors.method_not_allowed", misbehaviour: "405 without Allow", fault: |_, reply| {
        reply.headers.remove("allow");
    }},
    Case { check: "errors.bad_request", misbehaviour: "an unreadable path is 404 not_found", fault: |_, reply| {
        if reply.code().as_deref() == Some("bad_request") {
            reply.status = StatusCode::NOT_FOUND;
            reply.edit_json(|p| { p["status"] = json!(404); p["code"] = json!("not_found"); });
        }
    }},
    Case { check: "bookings.missing_idempotency_key", misbehaviour: "a missing key called malformed_json", fault: |_, reply| {
        if reply.code().as_deref() == Some("missing_idempotency_key") {
            reply.edit_json(|p| p["code"] = json!("malformed_json"));
        }
    }},
    Case { check: "bookings.malformed_json", misbehaviour: "a malformed body answered 422", fault: |_, reply| {
        if reply.code().as_deref() == Some("malformed_json") {
            reply.status = StatusCode::UNPROCESSABLE_ENTITY;
            reply.edit_json(|p| p["status"] = json!(422));
        }
    }},
    Case { check: "bookings.payload_too_large", misbehaviour: "a large body answered 400 malformed_json", fault: |_, reply| {
        if reply.status == StatusCode::PAYLOAD_TOO_LARGE {
            reply.status = StatusCode::BAD_REQUEST;
            reply.edit_json(|p| { p["status"] = json!(400); p["code"] = json!("malformed_json"); });
        }
    }},
    Case { check: "bookings.unknown_service", misbehaviour: "booking an unknown service is slot_unavailable", fault: |asked, reply| {
        if is(asked, Method::POST, "/v1/bookings") && reply.code().as_deref() == Some("unknown_service") {
            reply.status = StatusCode::CONFLICT;
            reply.edit_json(|p| { p["status"] = json!(409); p["code"] = json!("slot_unavailable"); });
        }
    }},
    Case { check: "bookings.invalid_field", misbehaviour: "invalid_field without naming the field", fault: |_, reply| {
        if reply.code().as_deref() == Some("invalid_field") {
            reply.edit_json(|p| p["field"] = Value::Null);
        }
    }},
    Case { check: "bookings.form_rules", misbehaviour: "the form says the note is hidden, yet one is taken", fault: |asked, reply| {
        if asked.path == "/v1/practice" { reply.edit_json(|p| p["form"]["note"] = json!("hidden")); }
    }},
    Case { check: "bookings.slot_unavailable", misbehaviour: "a slot not offered is 422 invalid_field", fault: |_, reply| {
        if reply.code().as_deref() == Some("slot_unavailable") {
            reply.status = StatusCode::UNPROCESSABLE_ENTITY;
            reply.edit_json(|p| { p["status"] = json!(422); p["code"] = json!("invalid_field"); p["field"] = json!("start"); });
        }
    }},
    Case { check: "idempotency.refusal_replayed", misbehaviour: "a replayed refusal without Idempotent-Replayed", fault: |_, reply| {
        if reply.status != StatusCode::CREATED { reply.headers.remove("idempotent-replayed"); }
    }},
    Case { check: "idempotency.key_reused", misbehaviour: "a reused key answered as the first request", fault: |_, reply| {
        if reply.code().as_deref() == Some("idempotency_key_reused") {
            reply.edit_json(|p| p["code"] = json!("invalid_field"));
        }
    }},
    Case { check: "bookings.create", misbehaviour: "201 without Location", fault: |_, reply| {
        if reply.status == StatusCode::CREATED { reply.headers.remove("location"); }
    }},
    Case { check: "bookings.create", misbehaviour: "a booked slot still listed", fault: |asked, reply| {
        // Lists a slot at every quarter hour of the window, booked or not.
        if asked.path == "/v1/slots" {
            let from = asked.query.split('&').find_map(|p| p.strip_prefix("from=")).unwrap_or_default().to_owned();
            if let Ok(start) = firststep_protocol::instant::parse(&from) {
                reply.edit_json(|list| {
                    let mut slots = list["slots"].as_array().cloned().unwrap_or_default();
                    let at = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
                    let first = json!({"start": at(start), "end": at(start + chrono::Duration::minutes(15))});
                    if !slots.contains(&first) { slots.insert(0, first); }
                    list["slots"] = json!(slots);
                });
            }
        }
    }},
    Case { check: "idempotency.created_replayed", misbehaviour: "a replayed 201 re-serialized with a trailing newline", fault: |_, reply| {
        if reply.status == StatusCode::CREATED && reply.headers.contains_key("idempotent-replayed") {
            reply.body.push(b'\n');
        }
    }},
    Case { check: "idempotency.in_progress", misbehaviour: "copies in flight answered as fresh (no Idempotent-Replayed, in-progress as slot_unavailable)", fault: |_, reply| {
        reply.headers.remove("idempotent-replayed");
        if reply.code().as_deref() == Some("request_in_progress") {
            reply.edit_json(|p| p["code"] = json!("slot_unavailable"));
        }
    }},
    Case { check: "bookings.one_per_slot", misbehaviour: "two 201s for one slot", fault: |asked, reply| {
        if is(asked, Method::POST, "/v1/bookings") && reply.code().as_deref() == Some("slot_unavailable") {
            reply.status = StatusCode::CREATED;
            reply.headers.insert("content-type", HeaderValue::from_static("application/json"));
            reply.headers.insert("location", HeaderValue::from_static("/v1/bookings/bk_second"));
            reply.body = br#"{"id":"bk_second","status":"pending","manage_token":"t"}"#.to_vec();
        }
    }},
    Case { check: "bookings.show", misbehaviour: "a wrong token is 403", fault: |asked, reply| {
        if asked.method == Method::GET && booking_page(asked) && reply.status == StatusCode::NOT_FOUND {
            reply.status = StatusCode::FORBIDDEN;
            reply.edit_json(|p| { p["status"] = json!(403); p["code"] = json!("forbidden"); });
        }
    }},
    Case { check: "bookings.show", misbehaviour: "the booking shown with its manage token", fault: |asked, reply| {
        if asked.method == Method::GET && booking_page(asked) && reply.status == StatusCode::OK {
            reply.edit_json(|b| b["manage_token"] = json!("leaked"));
        }
    }},
    Case { check: "bookings.cancel", misbehaviour: "DELETE answers 204 without the booking", fault: |asked, reply| {
        if asked.method == Method::DELETE && reply.status == StatusCode::OK {
            reply.status = StatusCode::NO_CONTENT;
            reply.body.clear();
        }
    }},
    Case { check: "bookings.calendar_file", misbehaviour: "the calendar file with LF line ends", fault: |asked, reply| {
        if asked.path.ends_with("/calendar.ics") {
            reply.body = String::from_utf8_lossy(&reply.body).replace("\r\n", "\n").into_bytes();
        }
    }},
    Case { check: "bookings.calendar_file", misbehaviour: "the calendar file names the client (folded across lines)", fault: |asked, reply| {
        if asked.path.ends_with("/calendar.ics") {
            let text = String::from_utf8_lossy(&reply.body)
                .replace("END:VEVENT", "ATTENDEE;CN=Quinn Conf\r\n ormance:mailto:x@example.org\r\nEND:VEVENT");
            reply.body = text.into_bytes();
        }
    }},
    Case { check: "bookings.calendar_file", misbehaviour: "a cancelled booking's event still CONFIRMED", fault: |asked, reply| {
        if asked.path.ends_with("/calendar.ics") {
            reply.body = String::from_utf8_lossy(&reply.body).replace("STATUS:CANCELLED", "STATUS:TENTATIVE").into_bytes();
        }
    }},
    Case { check: "reschedule.move", misbehaviour: "a move answered 201, as if a new booking", fault: |asked, reply| {
        if asked.path.ends_with("/reschedule") && reply.status == StatusCode::OK { reply.status = StatusCode::CREATED; }
    }},
    Case { check: "reschedule.move", misbehaviour: "a moved booking handed a new manage token", fault: |asked, reply| {
        if asked.path.ends_with("/reschedule") && reply.status == StatusCode::OK {
            reply.edit_json(|b| b["manage_token"] = json!("a-new-token"));
        }
    }},
    Case { check: "reschedule.move", misbehaviour: "a replayed move not marked Idempotent-Replayed", fault: |asked, reply| {
        if asked.path.ends_with("/reschedule") { reply.headers.remove("idempotent-replayed"); }
    }},
    Case { check: "reschedule.refusals", misbehaviour: "a move with a wrong token is 403", fault: |asked, reply| {
        if asked.path.ends_with("/reschedule") && reply.status == StatusCode::NOT_FOUND {
            reply.status = StatusCode::FORBIDDEN;
            reply.edit_json(|p| { p["status"] = json!(403); p["code"] = json!("forbidden"); });
        }
    }},
    Case { check: "reschedule.refusals", misbehaviour: "a cancelled booking's move called slot_unavailable", fault: |_, reply| {
        if reply.code().as_deref() == Some("booking_closed") {
            reply.edit_json(|p| p["code"] = json!("slot_unavailable"));
        }
    }},
    Case { check: "cors.allowed_origin", misbehaviour: "no Access-Control-Allow-Origin for the listed origin", fault: |_, reply| {
        reply.headers.remove("access-control-allow-origin");
    }},
    Case { check: "cors.allowed_origin", misbehaviour: "Idempotency-Key not allowed in preflights", fault: |_, reply| {
        if reply.headers.contains_key("access-control-allow-headers") {
            reply.headers.insert("access-control-allow-headers", HeaderValue::from_static("content-type,authorization"));
        }
    }},
    Case { check: "cors.other_origin", misbehaviour: "every origin allowed", fault: |_, reply| {
        reply.headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    }},
    Case { check: "bookings.rate_limited", misbehaviour: "429 without Retry-After", fault: |_, reply| {
        reply.headers.remove("retry-after");
    }},
    Case { check: "cors.preflight_not_limited", misbehaviour: "preflights counted by the rate limit", fault: |asked, reply| {
        if asked.method == Method::OPTIONS {
            reply.status = StatusCode::TOO_MANY_REQUESTS;
            reply.headers.insert("retry-after", HeaderValue::from_static("60"));
        }
    }},
    Case { check: "headers.no_cookies", misbehaviour: "a session cookie on the practice", fault: |asked, reply| {
        if asked.path == "/v1/practice" {
            reply.headers.insert("set-cookie", HeaderValue::from_static("session=1; HttpOnly"));
        }
    }},
    Case { check: "headers.nosniff", misbehaviour: "slots without nosniff", fault: |asked, reply| {
        if asked.path == "/v1/slots" { reply.headers.remove("x-content-type-options"); }
    }},
];

#[tokio::test]
async fn each_misbehaviour_fails_the_check_for_its_rule() {
    let mut wrong = Vec::new();
    for case in CASES {
        let adapter = start_adapter().await;
        let stub = start_stub(&adapter.url, case.fault).await;
        let options = Options {
            base_url: stub,
            service: None,
            allow_writes: true,
            origin: Some(ORIGIN.to_owned()),
        };
        let report = run(options, Some(&[case.check])).await.expect("a run");
        match report.outcome(case.check) {
            Some(Outcome::Fail { expected, got }) => {
                assert!(
                    !expected.is_empty() && !got.is_empty(),
                    "{}: says what differs",
                    case.check
                );
            }
            other => wrong.push(format!("{} ({}): {other:?}", case.check, case.misbehaviour)),
        }
    }
    assert!(
        wrong.is_empty(),
        "checks that did not fail:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn every_check_is_seen_failing_by_some_misbehaviour() {
    let unseen: Vec<&str> = ALL
        .iter()
        .map(|check| check.id)
        .filter(|id| CASES.iter().all(|case| case.check != *id))
        .collect();
    assert!(unseen.is_empty(), "no misbehaviour fails {unseen:?}");
}

#[tokio::test]
async fn the_binary_exits_1_and_shows_the_failed_check_with_expected_and_got() {
    let adapter = start_adapter().await;
    let stub = start_stub(&adapter.url, |asked, reply| {
        if asked.path == "/v1/slots" {
            reply.headers.insert(
                "cache-control",
                HeaderValue::from_static("public, max-age=600"),
            );
        }
    })
    .await;
    let (code, text) = crate::against_the_adapter::run_binary(vec![stub]).await;
    assert_eq!(code, Some(1), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    let failed = lines
        .iter()
        .position(|line| line.starts_with("FAIL  slots.cache_control"))
        .unwrap_or_else(|| panic!("no FAIL line:\n{text}"));
    assert!(
        lines[failed].ends_with("[docs/protocol.md § Clarifications and additions: GET /v1/slots]")
    );
    assert_eq!(
        lines[failed + 1].trim(),
        "expected: Cache-Control: no-store (or max-age of at most 10 s)"
    );
    assert_eq!(
        lines[failed + 2].trim(),
        "got:      Cache-Control: Some(\"public, max-age=600\")"
    );
    assert!(text.contains(", 1 failed, "), "{text}");
    assert_eq!(
        lines.iter().filter(|line| line.starts_with("FAIL")).count(),
        1,
        "{text}"
    );
}
