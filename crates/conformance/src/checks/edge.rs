//! What holds around every endpoint: CORS, the rate limit, no cookies, `nosniff`.

use crate::context::Context;
use crate::http::{Answer, Method};
use crate::verdict::{self, ensure, NotPassed, Verdict};

/// An origin no practice lists.
const OTHER_ORIGIN: &str = "https://not-listed.conformance.invalid";
/// The most booking attempts sent to meet the rate limit.
const FLOOD: usize = 150;

/// A preflight from `origin` for `method` on `path`, asking for every request
/// header the widget sends.
async fn preflight(
    context: &Context,
    origin: &str,
    method: &str,
    path: &str,
) -> Result<Answer, NotPassed> {
    let request = context
        .probe
        .request(Method::OPTIONS, path)
        .header("origin", origin)
        .header("access-control-request-method", method)
        .header(
            "access-control-request-headers",
            "content-type,authorization,idempotency-key",
        );
    context.probe.send(request).await
}

async fn get_from(context: &Context, origin: &str, path: &str) -> Result<Answer, NotPassed> {
    context
        .probe
        .send(
            context
                .probe
                .request(Method::GET, path)
                .header("origin", origin),
        )
        .await
}

fn allows_origin(answer: &Answer, origin: &str, what: &str) -> Verdict {
    let allowed = answer.header("access-control-allow-origin");
    ensure(
        allowed == Some(origin),
        format!("{what}: Access-Control-Allow-Origin: {origin}"),
        || format!("Access-Control-Allow-Origin: {allowed:?}"),
    )
}

/// `answer`'s list header `name` holds each of `wanted` (or `*`).
fn lists(answer: &Answer, name: &str, wanted: &[&str], what: &str) -> Verdict {
    let listed = answer.header_list(name);
    ensure(
        listed.iter().any(|item| item == "*")
            || wanted.iter().all(|w| listed.iter().any(|item| item == w)),
        format!("{what}: {name} listing {}", wanted.join(", ")),
        || format!("{name}: {listed:?}"),
    )
}

pub(crate) async fn cors_allowed_origin(context: &Context) -> Verdict {
    let Some(origin) = context.options.origin.as_deref() else {
        return Err(NotPassed::Skipped(
            "give --origin, an origin the server lists".into(),
        ));
    };
    let simple = get_from(context, origin, "/v1/practice").await?;
    let what = "GET /v1/practice from the --origin";
    verdict::status(&simple, 200, what)?;
    allows_origin(&simple, origin, what)?;
    lists(
        &simple,
        "access-control-expose-headers",
        &["location", "retry-after", "idempotent-replayed"],
        what,
    )?;
    for (method, path) in [
        ("POST", "/v1/bookings"),
        ("DELETE", "/v1/bookings/bk_conformance"),
    ] {
        let answer = preflight(context, origin, method, path).await?;
        let what = format!("a preflight from the --origin for {method} {path}");
        ensure(
            (200..300).contains(&answer.status),
            format!("{what}: a 2xx answer"),
            || answer.describe(),
        )?;
        allows_origin(&answer, origin, &what)?;
        lists(
            &answer,
            "access-control-allow-methods",
            &[&method.to_ascii_lowercase()],
            &what,
        )?;
        lists(
            &answer,
            "access-control-allow-headers",
            &["content-type", "authorization", "idempotency-key"],
            &what,
        )?;
        let max_age = answer.header("access-control-max-age");
        ensure(
            max_age == Some("3600"),
            format!("{what}: Access-Control-Max-Age: 3600 (an hour)"),
            || format!("Access-Control-Max-Age: {max_age:?}"),
        )?;
    }
    Ok(())
}

pub(crate) async fn cors_other_origin(context: &Context) -> Verdict {
    let simple = get_from(context, OTHER_ORIGIN, "/v1/practice").await?;
    let flight = preflight(context, OTHER_ORIGIN, "POST", "/v1/bookings").await?;
    for (what, answer) in [
        ("GET /v1/practice", &simple),
        ("a preflight for POST /v1/bookings", &flight),
    ] {
        let allowed = answer.header("access-control-allow-origin");
        ensure(
            allowed.is_none(),
            format!("{what} from {OTHER_ORIGIN}: no Access-Control-Allow-Origin"),
            || format!("Access-Control-Allow-Origin: {allowed:?}"),
        )?;
    }
    Ok(())
}

/// Sends booking attempts until one is `429`; `None` when none is within [`FLOOD`].
async fn flood_until_limited(context: &Context) -> Result<Option<Answer>, NotPassed> {
    for _ in 0..FLOOD {
        // Without a key: refused (400) while the limit lets it in, never stored.
        let answer = context.probe.post_booking(None, b"{}").await?;
        if answer.status == 429 {
            return Ok(Some(answer));
        }
    }
    Ok(None)
}

fn no_limit_met() -> NotPassed {
    NotPassed::Skipped(format!(
        "no 429 within {FLOOD} booking attempts: the limit, if any, is higher"
    ))
}

pub(crate) async fn rate_limited(context: &Context) -> Verdict {
    let answer = flood_until_limited(context)
        .await?
        .ok_or_else(no_limit_met)?;
    verdict::problem(
        &answer,
        429,
        "rate_limited",
        "a booking attempt over the rate limit",
    )?;
    let retry_after = answer.header("retry-after");
    ensure(
        retry_after.is_some_and(|value| {
            value.trim().parse::<u64>().is_ok()
                || chrono::DateTime::parse_from_rfc2822(value).is_ok()
        }),
        "429: Retry-After, in seconds or as an HTTP date",
        || format!("Retry-After: {retry_after:?}"),
    )
}

pub(crate) async fn preflight_not_limited(context: &Context) -> Verdict {
    flood_until_limited(context)
        .await?
        .ok_or_else(no_limit_met)?;
    let origin = context.options.origin.as_deref().unwrap_or(OTHER_ORIGIN);
    let answer = preflight(context, origin, "POST", "/v1/bookings").await?;
    let what = "a preflight for POST /v1/bookings while the kit is rate-limited";
    ensure(
        (200..300).contains(&answer.status),
        format!("{what}: a 2xx answer"),
        || answer.describe(),
    )?;
    if let Some(origin) = context.options.origin.as_deref() {
        allows_origin(&answer, origin, &format!("{what}, from the --origin"))?;
    }
    Ok(())
}

/// A few answers of every kind, so the checks below see some even when run alone.
async fn sample(context: &Context) -> Verdict {
    for path in ["/healthz", "/v1/practice", "/v1/no-such-endpoint"] {
        context.probe.get(path).await?;
    }
    context
        .slots(
            chrono::Utc::now(),
            chrono::Utc::now() + chrono::Duration::days(1),
        )
        .await?;
    Ok(())
}

/// Every answer of the run (and of a [`sample`]) kept a rule: none is in
/// the list `broken` picks from what the probe saw.
async fn every_answer(
    context: &Context,
    rule: &str,
    broken: fn(&crate::http::Seen) -> &Vec<String>,
    broke: &str,
) -> Verdict {
    sample(context).await?;
    let seen = context.probe.seen();
    let requests = broken(&seen);
    ensure(
        requests.is_empty(),
        format!("{rule} on all {} answers of this run", seen.answers),
        || format!("{broke} on {}", requests.join(", ")),
    )
}

pub(crate) async fn no_cookies(context: &Context) -> Verdict {
    every_answer(context, "no Set-Cookie", |seen| &seen.cookies, "Set-Cookie").await
}

pub(crate) async fn nosniff(context: &Context) -> Verdict {
    every_answer(
        context,
        "X-Content-Type-Options: nosniff",
        |seen| &seen.sniffable,
        "not",
    )
    .await
}
