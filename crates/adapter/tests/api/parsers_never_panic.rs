//! Property tests: everything that reads outside input answers with an error,
//! never a panic. Requests go to a real server (one per property, started on
//! 127.0.0.1); each answer must be 2xx or 4xx, never 5xx, and a 4xx under
//! `/v1` must be problem+json. Configuration files go to `Settings::from_toml`.
//! (ICS feeds and CalDAV answers: the `never_panics` tests beside their readers.)

use chrono::{DateTime, Utc};
use firststep_adapter::config::Settings;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{json, Value};

use crate::helpers::{booking_body, iso, new_key, spawn_app, TestApp};

/// Cases per property: the whole suite stays within seconds.
const CASES: u32 = 200;

/// A failing case is printed, shrunk, with the failure: no file is kept.
fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Runs `property` on `CASES` values of `strategy`, each against one server.
fn against_a_server<S: Strategy>(
    strategy: S,
    property: impl Fn(&TestApp, S::Value) -> BoxedCheck<'_>,
) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let app = runtime.block_on(spawn_app());
    let mut runner = TestRunner::new(config(CASES));
    let outcome = runner.run(&strategy, |value| runtime.block_on(property(&app, value)));
    // The server must still answer after all of it.
    let health = runtime.block_on(app.get("/healthz")).status();
    outcome.unwrap();
    assert_eq!(health, 200);
}

type BoxedCheck<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), TestCaseError>> + 'a>>;

/// 2xx, or a 4xx that is problem+json when `problem_json` says it must be.
async fn answered(response: reqwest::Response, problem_json: bool) -> Result<(), TestCaseError> {
    let status = response.status();
    let media = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = response.bytes().await.unwrap_or_default();
    prop_assert!(
        status.is_success() || status.is_client_error() || status.is_redirection(),
        "{status}: {}",
        String::from_utf8_lossy(&body)
    );
    if status.is_client_error() && problem_json {
        prop_assert_eq!(media, "application/problem+json", "{}", status);
        let problem: Value = serde_json::from_slice(&body).unwrap_or_default();
        prop_assert_eq!(problem["status"].as_u64(), Some(u64::from(status.as_u16())));
    }
    Ok(())
}

/// Instants as they may arrive: RFC 3339 of any year chrono knows, signed
/// six-digit years, the far edges, near misses of the shape, anything.
fn timestamp() -> impl Strategy<Value = String> {
    let any_instant = (DateTime::<Utc>::MIN_UTC.timestamp()..=DateTime::<Utc>::MAX_UTC.timestamp())
        .prop_map(|seconds| {
            DateTime::from_timestamp(seconds, 0)
                .unwrap_or_default()
                .to_rfc3339()
        });
    prop_oneof![
        any_instant,
        Just("+262142-12-31T23:59:59Z".to_owned()),
        Just("-262143-01-01T00:00:00Z".to_owned()),
        Just("9999-12-31T23:59:59-23:59".to_owned()),
        Just("0000-01-01T00:00:00+23:59".to_owned()),
        "[+-]?[0-9]{4,6}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,30})?(Z|z|[+-][0-9]{2}:?[0-9]{2})?",
        any::<String>(),
    ]
}

/// Text for a free field: ordinary, empty, long, or anything.
fn text() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!("Sam Lee")),
        Just(json!("sam@example.org")),
        Just(json!("")),
        Just(Value::Null),
        "[a-z@.+ -]{0,40}".prop_map(Value::from),
        any::<String>().prop_map(Value::from),
        Just(json!("x".repeat(1100))),
        any::<i64>().prop_map(Value::from),
        Just(json!(["a"])),
    ]
}

/// Booking requests that are JSON, with any value in any field.
fn booking_request() -> impl Strategy<Value = Value> {
    let start = prop_oneof![timestamp().prop_map(Value::from), text()];
    (
        prop_oneof![
            Just(json!("free-consultation")),
            Just(json!("intake")),
            text()
        ],
        start,
        (text(), text(), text()),
        prop_oneof![Just(json!("Europe/Berlin")), text()],
        (
            text(),
            text(),
            any::<bool>(),
            prop_oneof![Just(json!("")), text()],
        ),
        any::<bool>(),
    )
        .prop_map(
            |(
                service,
                start,
                (name, email, phone),
                zone,
                (locale, note, consent, website),
                extra,
            )| {
                let mut body = json!({
                    "service": service,
                    "start": start,
                    "client": {"name": name, "email": email, "phone": phone},
                    "client_time_zone": zone,
                    "locale": locale,
                    "note": note,
                    "consent": consent,
                    "website": website,
                });
                if extra {
                    body["admin"] = json!(true);
                }
                body
            },
        )
}

#[test]
fn booking_bodies_of_any_bytes_are_refused_as_4xx() {
    against_a_server(prop::collection::vec(any::<u8>(), 0..2048), |app, bytes| {
        Box::pin(async move {
            let response = app
                .client
                .post(app.url("/v1/bookings"))
                .header("Idempotency-Key", new_key())
                .header("Content-Type", "application/json")
                .body(bytes)
                .send()
                .await
                .unwrap();
            prop_assert!(response.status().is_client_error());
            answered(response, true).await
        })
    });
}

#[test]
fn booking_requests_with_any_field_values_are_answered_2xx_or_4xx() {
    against_a_server(booking_request(), |app, body| {
        Box::pin(async move {
            let response = app.post_booking(&new_key(), &body).await;
            answered(response, true).await
        })
    });
}

/// Pieces a query string is made of, in any order, cut anywhere.
fn query() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("from=".to_owned()),
        Just("to=".to_owned()),
        Just("service=".to_owned()),
        Just("service=intake".to_owned()),
        Just("&".to_owned()),
        Just("=".to_owned()),
        Just("%".to_owned()),
        Just("%FF".to_owned()),
        Just("%2B".to_owned()),
        Just("+".to_owned()),
        timestamp(),
        "%[0-9A-Fa-f]{2}",
        any::<String>(),
    ];
    prop::collection::vec(piece, 0..12).prop_map(|pieces| pieces.concat())
}

#[test]
fn slot_queries_of_any_text_are_answered_2xx_or_4xx() {
    against_a_server(
        (query(), timestamp(), timestamp()),
        |app, (raw, from, to)| {
            Box::pin(async move {
                // Raw pieces, and well-formed parameters with any instant.
                let encode = |t: &str| {
                    url::form_urlencoded::byte_serialize(t.as_bytes()).collect::<String>()
                };
                for query in [
                    raw,
                    format!("service=intake&from={}&to={}", encode(&from), encode(&to)),
                ] {
                    let Ok(url) = reqwest::Url::parse(&app.url(&format!("/v1/slots?{query}")))
                    else {
                        continue;
                    };
                    answered(app.client.get(url).send().await.unwrap(), true).await?;
                }
                Ok(())
            })
        },
    );
}

/// Header values the HTTP client can send: any bytes but CR, LF and NUL.
fn header_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..300),
        "[ -~]{0,300}".prop_map(String::into_bytes),
        Just(b"Bearer ".to_vec()),
        Just(b"for=\"[::1]:80\", for=unknown;proto=https".to_vec()),
    ]
    .prop_map(|bytes| {
        bytes
            .into_iter()
            .filter(|b| !matches!(b, b'\r' | b'\n' | 0))
            .collect()
    })
}

#[test]
fn headers_of_any_value_are_answered_2xx_or_4xx() {
    const NAMES: &[&str] = &[
        "idempotency-key",
        "authorization",
        "origin",
        "x-forwarded-for",
        "forwarded",
        "content-type",
        "accept-encoding",
        "access-control-request-method",
        "access-control-request-headers",
    ];
    against_a_server(
        (prop::sample::select(NAMES), header_value(), segment()),
        |app, (name, value, id)| {
            Box::pin(async move {
                let Ok(value) = reqwest::header::HeaderValue::from_bytes(&value) else {
                    return Ok(());
                };
                let slot = Utc::now() + chrono::Duration::days(400);
                let requests = [
                    app.client
                        .post(app.url("/v1/bookings"))
                        .header("Idempotency-Key", new_key())
                        .json(&booking_body(slot)),
                    app.client.get(app.url(&format!(
                        "/v1/slots?service=intake&from={}&to={}",
                        iso(slot),
                        iso(slot + chrono::Duration::days(1))
                    ))),
                    app.client.get(app.url(&format!("/v1/bookings/{id}"))),
                    app.client.delete(app.url(&format!("/v1/bookings/{id}"))),
                    app.client
                        .request(reqwest::Method::OPTIONS, app.url("/v1/bookings"))
                        .header("origin", "https://practice.example.org"),
                ];
                for request in requests {
                    let response = request.header(name, value.clone()).send().await.unwrap();
                    answered(response, true).await?;
                }
                Ok(())
            })
        },
    );
}

/// A path segment with any escapes, never empty nor a dot segment (those
/// lead to other routes, whose answers are not this file's to test).
fn segment() -> &'static str {
    "[a-zA-Z0-9_~-]([a-zA-Z0-9_.~-]|%[0-9A-Fa-f]{2}){0,30}"
}

/// The other pages visitors and practices reach by links: any id, action
/// and query is answered below 500 (they are HTML or calendar files, so
/// problem+json is not asked of them).
#[test]
fn paths_and_queries_of_linked_pages_are_answered_below_500() {
    against_a_server(
        (segment(), segment(), query()),
        |app, (id, action, query)| {
            Box::pin(async move {
                use reqwest::Method;
                let pages = [
                    (format!("/v1/bookings/{id}?{query}"), Method::GET, true),
                    (format!("/v1/bookings/{id}?{query}"), Method::DELETE, true),
                    (
                        format!("/v1/bookings/{id}/calendar.ics?{query}"),
                        Method::GET,
                        false,
                    ),
                    (
                        format!("/requests/{id}/{action}?{query}"),
                        Method::GET,
                        false,
                    ),
                    (
                        format!("/requests/{id}/{action}?{query}"),
                        Method::POST,
                        false,
                    ),
                    (format!("/manage/{id}?{query}"), Method::GET, false),
                    (format!("/manage/{id}/cancel?{query}"), Method::POST, false),
                    (format!("/feeds/bookings.ics?{query}"), Method::GET, false),
                ];
                for (path, method, problem_json) in pages {
                    let Ok(url) = reqwest::Url::parse(&app.url(&path)) else {
                        continue;
                    };
                    let response = app.client.request(method, url).send().await.unwrap();
                    answered(response, problem_json).await?;
                }
                Ok(())
            })
        },
    );
}

const EXAMPLE: &str = include_str!("../../../../examples/riverside-counselling.toml");

/// One change to a configuration text.
#[derive(Debug, Clone)]
enum Mutation {
    /// Replace the character at this share of the text.
    Replace(f64, char),
    /// Delete this many characters from there.
    Delete(f64, usize),
    /// Insert a piece of TOML there.
    Insert(f64, String),
    /// Uncomment the line there (reaches the commented-out sections).
    Uncomment(f64),
    /// Put an extreme number in place of the first number on the line there.
    Number(f64, String),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let at = 0.0..1.0f64;
    let piece = prop_oneof![
        Just("\n[server]\n".to_owned()),
        Just("\"".to_owned()),
        Just("[[".to_owned()),
        Just(" = ".to_owned()),
        Just("\nhorizon_days = 4294967295\n".to_owned()),
        Just("\nrefresh_seconds = 18446744073709551615\n".to_owned()),
        Just("\"24:00-24:00\", \"00:00-24:01\"".to_owned()),
        any::<String>(),
    ];
    let number = prop_oneof![
        Just("0".to_owned()),
        Just("-1".to_owned()),
        Just("4294967295".to_owned()),
        Just("18446744073709551615".to_owned()),
        Just("99999999999999999999999".to_owned()),
        Just("1e308".to_owned()),
        Just("nan".to_owned()),
    ];
    prop_oneof![
        (at.clone(), any::<char>()).prop_map(|(at, c)| Mutation::Replace(at, c)),
        (at.clone(), 0..200usize).prop_map(|(at, n)| Mutation::Delete(at, n)),
        (at.clone(), piece).prop_map(|(at, p)| Mutation::Insert(at, p)),
        at.clone().prop_map(Mutation::Uncomment),
        (at, number).prop_map(|(at, n)| Mutation::Number(at, n)),
    ]
}

fn mutate(text: &str, mutations: &[Mutation]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    let index = |at: f64, len: usize| ((at * len as f64) as usize).min(len);
    for mutation in mutations {
        let len = chars.len();
        match mutation {
            Mutation::Replace(at, c) if len > 0 => chars[index(*at, len - 1)] = *c,
            Mutation::Replace(..) => {}
            Mutation::Delete(at, n) => {
                let from = index(*at, len);
                chars.drain(from..(from + n).min(len));
            }
            Mutation::Insert(at, piece) => {
                let at = index(*at, len);
                chars.splice(at..at, piece.chars());
            }
            Mutation::Uncomment(at) | Mutation::Number(at, _) => {
                let mut lines: Vec<String> = chars
                    .iter()
                    .collect::<String>()
                    .lines()
                    .map(str::to_owned)
                    .collect();
                let line_count = lines.len();
                if let Some(line) = lines.get_mut(index(*at, line_count.saturating_sub(1))) {
                    match mutation {
                        Mutation::Number(_, number) => {
                            if let Some(start) = line.find(|c: char| c.is_ascii_digit()) {
                                let end = line[start..]
                                    .find(|c: char| !c.is_ascii_digit())
                                    .map_or(line.len(), |n| start + n);
                                line.replace_range(start..end, number);
                            }
                        }
                        _ => *line = line.trim_start_matches(['#', ' ']).to_owned(),
                    }
                }
                chars = lines.join("\n").chars().collect();
            }
        }
    }
    chars.into_iter().collect()
}

#[test]
fn configuration_files_are_read_or_refused_never_a_panic() {
    let folder = tempfile::tempdir().unwrap();
    let mut runner = TestRunner::new(config(CASES * 2));
    runner
        .run(
            &prop_oneof![
                any::<String>(),
                prop::collection::vec(mutation(), 1..6).prop_map(|m| mutate(EXAMPLE, &m)),
            ],
            |text| {
                let _ = Settings::from_toml(&text, folder.path());
                Ok(())
            },
        )
        .unwrap();
    // The mutations start from a file that is read.
    assert!(Settings::from_toml(EXAMPLE, folder.path()).is_ok());
}

/// The protocol's one instant reader: anything it reads has the RFC 3339
/// shape with a four-digit year, and it reads back every instant the adapter
/// writes (serde's form of chrono, as in every response).
#[test]
fn instants_are_read_only_in_rfc3339_shape_and_round_trip() {
    let shape = rfc3339_shape();
    let mut runner = TestRunner::new(config(CASES * 5));
    runner
        .run(&timestamp(), |text| {
            if firststep_protocol::instant::parse(&text).is_ok() {
                prop_assert!(shape(&text), "{text}");
            }
            Ok(())
        })
        .unwrap();
    let four_digit_years = DateTime::parse_from_rfc3339("0000-01-01T00:00:00Z")
        .unwrap()
        .timestamp()
        ..=DateTime::parse_from_rfc3339("9999-12-31T23:59:59Z")
            .unwrap()
            .timestamp();
    runner
        .run(
            &(four_digit_years, 0..1_000_000_000u32),
            |(seconds, nanos)| {
                let instant = DateTime::from_timestamp(seconds, nanos).unwrap();
                let written = serde_json::to_value(instant).unwrap();
                let text = written.as_str().unwrap();
                prop_assert_eq!(firststep_protocol::instant::parse(text), Ok(instant));
                Ok(())
            },
        )
        .unwrap();
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, checked character by character.
fn rfc3339_shape() -> impl Fn(&str) -> bool {
    |text: &str| {
        if !text.is_ascii() {
            return false;
        }
        let (head, tail) = text.split_at(text.len().min(19));
        let head_ok = head.len() == 19
            && head.char_indices().all(|(i, c)| match i {
                4 | 7 => c == '-',
                10 => c == 'T',
                13 | 16 => c == ':',
                _ => c.is_ascii_digit(),
            });
        let tail = match tail.strip_prefix('.') {
            Some(rest) => {
                let digits = rest.chars().take_while(char::is_ascii_digit).count();
                if digits == 0 {
                    return false;
                }
                &rest[digits..]
            }
            None => tail,
        };
        let offset_ok = tail == "Z"
            || (tail.len() == 6
                && (tail.starts_with('+') || tail.starts_with('-'))
                && tail[1..].char_indices().all(|(i, c)| {
                    if i == 2 {
                        c == ':'
                    } else {
                        c.is_ascii_digit()
                    }
                }));
        head_ok && offset_ok
    }
}
