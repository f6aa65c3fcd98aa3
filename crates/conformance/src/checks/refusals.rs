//! Every documented refusal: unknown paths and methods, and each way a
//! booking request can be wrong. None of these books anything.

use chrono::Duration;
use serde_json::{json, Value};

use crate::context::{instant, Context};
use crate::http::Method;
use crate::verdict::{self, ensure, Verdict};

pub(crate) async fn unknown_path(context: &Context) -> Verdict {
    let answer = context.probe.get("/v1/no-such-endpoint").await?;
    verdict::problem(&answer, 404, "not_found", "GET /v1/no-such-endpoint")?;
    Ok(())
}

pub(crate) async fn method_not_allowed(context: &Context) -> Verdict {
    for (method, path) in [(Method::PUT, "/v1/practice"), (Method::DELETE, "/v1/slots")] {
        let what = format!("{method} {path}");
        let answer = context
            .probe
            .send(context.probe.request(method, path))
            .await?;
        verdict::problem(&answer, 405, "method_not_allowed", &what)?;
        let allowed = answer.header_list("allow");
        ensure(
            allowed.iter().any(|m| m == "get"),
            format!("{what}: Allow listing GET"),
            || format!("Allow: {:?}", answer.header("allow")),
        )?;
    }
    Ok(())
}

pub(crate) async fn bad_request(context: &Context) -> Verdict {
    // %FF decodes to a byte that is not UTF-8.
    let request = context
        .probe
        .request(Method::GET, "/v1/bookings/bk_%FF")
        .bearer_auth("conformance");
    let answer = context.probe.send(request).await?;
    verdict::problem(
        &answer,
        400,
        "bad_request",
        "GET /v1/bookings/bk_%FF (not UTF-8 once decoded)",
    )?;
    Ok(())
}

pub(crate) async fn missing_idempotency_key(context: &Context) -> Verdict {
    let start = context.some_start().await;
    let body = context.booking_body(start, |_| {}).await?;
    let too_long = "k".repeat(256);
    let cases: [(&str, Option<&str>); 4] = [
        ("no Idempotency-Key", None),
        ("an empty Idempotency-Key", Some("")),
        ("a 256-character Idempotency-Key", Some(&too_long)),
        ("an Idempotency-Key with a space", Some("two words")),
    ];
    for (case, key) in cases {
        let answer = context.probe.post_booking(key, &body).await?;
        let what = format!("POST /v1/bookings with {case}");
        verdict::problem(&answer, 400, "missing_idempotency_key", &what)?;
    }
    // The longest key is taken: the request goes on to its next refusal.
    let longest = format!("{:k<255}", context.new_key());
    refused_for_consent(context, &longest, |_| {}).await?;
    Ok(())
}

/// Sends the valid request, with consent false and changed by `change`,
/// under `key`: it must be `422 invalid_field` (stored for the key, as a
/// final answer). Returns the body sent and the answer.
pub(super) async fn refused_for_consent(
    context: &Context,
    key: &str,
    change: impl FnOnce(&mut Value),
) -> Result<(Vec<u8>, crate::http::Answer), crate::verdict::NotPassed> {
    let start = context.some_start().await;
    let body = context
        .booking_body(start, |body| {
            body["consent"] = json!(false);
            change(body);
        })
        .await?;
    let answer = context.probe.post_booking(Some(key), &body).await?;
    verdict::problem(
        &answer,
        422,
        "invalid_field",
        "POST /v1/bookings with consent false",
    )?;
    Ok((body, answer))
}

pub(crate) async fn malformed_json(context: &Context) -> Verdict {
    let not_json = context
        .probe
        .post_booking(Some(&context.new_key()), b"{\"service\": ")
        .await?;
    let what = "POST /v1/bookings with a body that is not JSON";
    verdict::problem(&not_json, 400, "malformed_json", what)?;
    type Change = fn(&mut Value);
    let cases: [(&str, Change); 5] = [
        ("an unknown member", |b| b["admin"] = json!(true)),
        ("no client", |b| {
            drop(b.as_object_mut().map(|o| o.remove("client")))
        }),
        ("a six-digit year", |b| {
            b["start"] = json!("+262142-12-31T23:59:59Z")
        }),
        ("a space for T", |b| {
            b["start"] = json!("2030-01-07 10:00:00Z")
        }),
        ("a start without offset", |b| {
            b["start"] = json!("2030-01-07T10:00:00")
        }),
    ];
    for (case, change) in cases {
        refused(context, case, 400, "malformed_json", change).await?;
    }
    Ok(())
}

pub(crate) async fn payload_too_large(context: &Context) -> Verdict {
    refused(
        context,
        "a body of 17 KiB",
        413,
        "payload_too_large",
        |body| body["note"] = json!("x".repeat(17 * 1024)),
    )
    .await?;
    Ok(())
}

pub(crate) async fn unknown_service(context: &Context) -> Verdict {
    refused(
        context,
        "a service the practice lacks",
        404,
        "unknown_service",
        |body| body["service"] = json!("no-such-service-conformance"),
    )
    .await?;
    Ok(())
}

/// Sends the valid request (for the next open slot) changed by `change`,
/// with a fresh key; it must be refused with `status` and `code`. Returns
/// the problem's members.
async fn refused(
    context: &Context,
    case: &str,
    status: u16,
    code: &str,
    change: impl FnOnce(&mut Value),
) -> Result<serde_json::Map<String, Value>, crate::verdict::NotPassed> {
    let start = context.some_start().await;
    let body = context.booking_body(start, change).await?;
    let answer = context
        .probe
        .post_booking(Some(&context.new_key()), &body)
        .await?;
    verdict::problem(
        &answer,
        status,
        code,
        &format!("POST /v1/bookings with {case}"),
    )
}

/// [`refused`] as `422 invalid_field`, naming `field`.
async fn refused_field(
    context: &Context,
    case: &str,
    field: &str,
    change: impl FnOnce(&mut Value),
) -> Verdict {
    let problem = refused(context, case, 422, "invalid_field", change).await?;
    let named = problem.get("field").and_then(Value::as_str);
    ensure(
        named == Some(field),
        format!("POST /v1/bookings with {case}: `field` {field:?}"),
        || format!("`field` {named:?}"),
    )
}

pub(crate) async fn invalid_field(context: &Context) -> Verdict {
    let practice = context.practice().await?;
    type Change = fn(&mut Value);
    let mut cases: Vec<(&str, &str, Change)> = vec![
        ("consent false", "consent", |b| b["consent"] = json!(false)),
        ("an empty name", "client.name", |b| {
            b["client"]["name"] = json!("  ")
        }),
        ("a 101-character name", "client.name", |b| {
            b["client"]["name"] = json!("n".repeat(101))
        }),
        ("a control character in the name", "client.name", |b| {
            b["client"]["name"] = json!("Quinn\u{7}")
        }),
        ("a name of zero-width spaces only", "client.name", |b| {
            b["client"]["name"] = json!("\u{200B}\u{200B}")
        }),
        ("a bidi override in the name", "client.name", |b| {
            b["client"]["name"] = json!("Quinn \u{202E}nosrep")
        }),
        ("an email without @", "client.email", |b| {
            b["client"]["email"] = json!("quinn.example.org")
        }),
        ("an email with a doubled dot", "client.email", |b| {
            b["client"]["email"] = json!("quinn..c@example.org")
        }),
        ("a filled honeypot", "website", |b| {
            b["website"] = json!("https://spam.example")
        }),
        ("a time zone that does not exist", "client_time_zone", |b| {
            b["client_time_zone"] = json!("Mars/Olympus_Mons")
        }),
    ];
    if practice.phone != "hidden" {
        cases.push(("a phone without digits", "client.phone", |b| {
            b["client"]["phone"] = json!("call me")
        }));
    }
    if practice.note != "hidden" {
        cases.push(("a 1001-character note", "note", |b| {
            b["note"] = json!("n".repeat(1001))
        }));
    }
    for (case, field, change) in cases {
        refused_field(context, case, field, change).await?;
    }
    Ok(())
}

pub(crate) async fn form_rules(context: &Context) -> Verdict {
    let practice = context.practice().await?;
    let mut tried = false;
    for (field, member, rule) in [
        ("client.phone", "phone", &practice.phone),
        ("note", "note", &practice.note),
    ] {
        let given = json!(if member == "phone" {
            "+1 555 010 9999"
        } else {
            "A note."
        });
        let put = move |body: &mut Value, value: Value| {
            if member == "phone" {
                body["client"]["phone"] = value;
            } else {
                body["note"] = value;
            }
        };
        match rule.as_str() {
            "required" => {
                let case = format!("{field} left out while the form requires it");
                refused_field(context, &case, field, |b| put(b, Value::Null)).await?;
            }
            "hidden" => {
                let case = format!("{field} given while the form hides it");
                refused_field(context, &case, field, |b| put(b, given)).await?;
            }
            _ => continue,
        }
        tried = true;
    }
    if tried {
        Ok(())
    } else {
        Err(verdict::NotPassed::Skipped(
            "the practice's form neither requires nor hides a field".into(),
        ))
    }
}

pub(crate) async fn slot_unavailable(context: &Context) -> Verdict {
    let start = context.some_start().await;
    let cases = [
        ("a start four weeks ago", start - Duration::weeks(4)),
        (
            "a start a thousand years ahead",
            start + Duration::weeks(52 * 1000),
        ),
    ];
    for (case, at) in cases {
        let body = context.booking_body(at, |_| {}).await?;
        let answer = context
            .probe
            .post_booking(Some(&context.new_key()), &body)
            .await?;
        let what = format!("POST /v1/bookings with {case} ({})", instant(at));
        verdict::problem(&answer, 409, "slot_unavailable", &what)?;
    }
    Ok(())
}
