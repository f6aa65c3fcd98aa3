//! What a check concludes, and the expectations every check shares: a status,
//! a problem+json answer, an instant in the protocol's form.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::http::Answer;

/// Why a check did not pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotPassed {
    /// The server differs from the protocol.
    Failed { expected: String, got: String },
    /// The check could not be run here (writes not allowed, nothing to book).
    Skipped(String),
}

/// `Ok(())` is a pass.
pub type Verdict = Result<(), NotPassed>;

pub(crate) fn failed(expected: impl Into<String>, got: impl Into<String>) -> NotPassed {
    NotPassed::Failed {
        expected: expected.into(),
        got: got.into(),
    }
}

/// Fails with `expected` and `got` unless `holds`.
pub(crate) fn ensure(
    holds: bool,
    expected: impl Into<String>,
    got: impl FnOnce() -> String,
) -> Verdict {
    if holds {
        Ok(())
    } else {
        Err(failed(expected, got()))
    }
}

/// The answer has `status`.
pub(crate) fn status(answer: &Answer, status: u16, what: &str) -> Verdict {
    ensure(answer.status == status, format!("{what}: {status}"), || {
        answer.describe()
    })
}

/// The answer is a JSON object (with status 2xx checked by the caller).
pub(crate) fn json_object(
    answer: &Answer,
    what: &str,
) -> Result<serde_json::Map<String, Value>, NotPassed> {
    match serde_json::from_slice::<Value>(&answer.body) {
        Ok(Value::Object(object)) => Ok(object),
        _ => Err(failed(format!("{what}: a JSON object"), answer.describe())),
    }
}

/// The answer is an RFC 9457 problem of the protocol's shape with `status`
/// and `code`; returns its members (for `field`).
pub(crate) fn problem(
    answer: &Answer,
    status: u16,
    code: &str,
    what: &str,
) -> Result<serde_json::Map<String, Value>, NotPassed> {
    let expected = format!("{what}: {status} application/problem+json with code \"{code}\"");
    let media_type_ok = answer
        .header("content-type")
        .is_some_and(|kind| media_type(kind) == "application/problem+json");
    if answer.status != status || !media_type_ok {
        return Err(failed(expected, answer.describe()));
    }
    let body = json_object(answer, &expected)?;
    let shape_problem = problem_shape(&body, status);
    if let Some(problem) = shape_problem {
        return Err(failed(format!("{expected} ({problem})"), answer.describe()));
    }
    ensure(
        body.get("code") == Some(&Value::from(code)),
        expected,
        || answer.describe(),
    )?;
    Ok(body)
}

/// What is missing from a problem's members, if anything: `type`, `title`,
/// `detail` and `code` strings, `status` equal to the HTTP status, `field`
/// a string or null, `retryable` a boolean (the members of the example in
/// docs/protocol.md § Conventions).
fn problem_shape(body: &serde_json::Map<String, Value>, status: u16) -> Option<&'static str> {
    let is_string = |name| body.get(name).is_some_and(Value::is_string);
    if !is_string("type") {
        Some("`type` a string")
    } else if !is_string("title") {
        Some("`title` a string")
    } else if !is_string("detail") {
        Some("`detail` a string")
    } else if !is_string("code") {
        Some("`code` a string")
    } else if body.get("status").and_then(Value::as_u64) != Some(u64::from(status)) {
        Some("`status` equal to the HTTP status")
    } else if !body
        .get("field")
        .is_some_and(|field| field.is_null() || field.is_string())
    {
        Some("`field` a string or null")
    } else if !body.get("retryable").is_some_and(Value::is_boolean) {
        Some("`retryable` a boolean")
    } else {
        None
    }
}

/// `application/json; charset=utf-8` → `application/json`.
pub(crate) fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// The answer says `Content-Type: application/json`.
pub(crate) fn json_media_type(answer: &Answer, what: &str) -> Verdict {
    let kind = answer.header("content-type").map(media_type);
    ensure(
        kind.as_deref() == Some("application/json"),
        format!("{what}: Content-Type application/json"),
        || format!("Content-Type {kind:?}"),
    )
}

/// `value` is an instant as the protocol writes them: RFC 3339, in UTC with `Z`.
pub(crate) fn utc_instant(value: Option<&Value>, what: &str) -> Result<DateTime<Utc>, NotPassed> {
    let expected =
        || format!("{what}: an RFC 3339 instant in UTC with Z, like 2026-12-01T14:00:00Z");
    let text = value
        .and_then(Value::as_str)
        .ok_or_else(|| failed(expected(), format!("{value:?}")))?;
    match firststep_protocol::instant::parse(text) {
        Ok(instant) if text.ends_with('Z') => Ok(instant),
        _ => Err(failed(expected(), format!("{text:?}"))),
    }
}

/// A string member that must be there and not be empty.
pub(crate) fn text<'a>(
    body: &'a serde_json::Map<String, Value>,
    name: &str,
    what: &str,
) -> Result<&'a str, NotPassed> {
    match body.get(name).and_then(Value::as_str) {
        Some(text) if !text.is_empty() => Ok(text),
        other => Err(failed(
            format!("{what}: `{name}` a non-empty string"),
            format!("{other:?}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of docs/protocol.md § Conventions.
    fn example() -> serde_json::Map<String, Value> {
        let example = r#"{"type":"about:blank","title":"Slot no longer available","status":409,"code":"slot_unavailable","detail":"…","field":null,"retryable":false}"#;
        serde_json::from_str(example).unwrap()
    }

    #[test]
    fn the_protocols_example_is_a_problem_and_each_missing_or_wrong_member_is_named() {
        assert_eq!(problem_shape(&example(), 409), None);
        assert_eq!(
            problem_shape(&example(), 422),
            Some("`status` equal to the HTTP status")
        );
        let broken: [(&str, Value, &str); 7] = [
            ("type", Value::Null, "`type` a string"),
            ("title", json_number(), "`title` a string"),
            ("detail", Value::Null, "`detail` a string"),
            ("code", json_number(), "`code` a string"),
            (
                "status",
                Value::from("409"),
                "`status` equal to the HTTP status",
            ),
            ("field", json_number(), "`field` a string or null"),
            ("retryable", Value::from("no"), "`retryable` a boolean"),
        ];
        for (member, value, named) in broken {
            let mut changed = example();
            changed.insert(member.into(), value);
            assert_eq!(
                problem_shape(&changed, 409),
                Some(named),
                "{member} changed"
            );
            let mut missing = example();
            missing.remove(member);
            assert_eq!(
                problem_shape(&missing, 409),
                Some(named),
                "{member} missing"
            );
        }
    }

    fn json_number() -> Value {
        Value::from(1)
    }

    #[test]
    fn instants_must_be_rfc_3339_in_utc_with_z() {
        let read = |text: &str| utc_instant(Some(&Value::from(text)), "t");
        assert!(read("2026-12-01T14:00:00Z").is_ok());
        for refused in [
            "2026-12-01T14:00:00+00:00",
            "2026-12-01T15:00:00+01:00",
            "2026-12-01 14:00:00Z",
            "+262142-12-31T23:59:59Z",
            "2026-12-01T14:00:00z",
        ] {
            assert!(read(refused).is_err(), "{refused}");
        }
        assert!(utc_instant(None, "t").is_err());
    }
}
