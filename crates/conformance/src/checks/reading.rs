//! What a visitor's browser reads before booking: health, the practice, slots.

use chrono::{DateTime, Duration, FixedOffset, Utc};
use serde_json::Value;

use crate::context::{escape, instant, Context};
use crate::verdict::{self, ensure, failed, Verdict};

pub(crate) async fn health(context: &Context) -> Verdict {
    let answer = context.probe.get("/healthz").await?;
    verdict::status(&answer, 200, "GET /healthz")?;
    ensure(
        String::from_utf8_lossy(&answer.body).trim() == "ok",
        "GET /healthz: the body ok",
        || answer.describe(),
    )
}

pub(crate) async fn practice_shape(context: &Context) -> Verdict {
    let answer = context.probe.get("/v1/practice").await?;
    let what = "GET /v1/practice";
    verdict::status(&answer, 200, what)?;
    verdict::json_media_type(&answer, what)?;
    let body = verdict::json_object(&answer, what)?;
    verdict::text(&body, "name", what)?;
    let zone = verdict::text(&body, "time_zone", what)?;
    ensure(
        zone == "UTC" || zone.contains('/'),
        format!("{what}: `time_zone` an IANA name like America/New_York"),
        || format!("{zone:?}"),
    )?;
    let services = body
        .get("services")
        .and_then(Value::as_array)
        .filter(|services| !services.is_empty())
        .ok_or_else(|| {
            failed(
                format!("{what}: `services` a non-empty list"),
                answer.describe(),
            )
        })?;
    for service in services {
        let problem = service_problem(service);
        if let Some(problem) = problem {
            return Err(failed(
                format!("{what}: each service with {problem}"),
                service.to_string(),
            ));
        }
    }
    if let Some(clinicians) = body.get("clinicians") {
        let service_ids: Vec<&str> = services
            .iter()
            .filter_map(|s| s.get("id")?.as_str())
            .collect();
        let list = clinicians
            .as_array()
            .filter(|list| !list.is_empty())
            .ok_or_else(|| {
                failed(
                    format!("{what}: `clinicians` a non-empty list (absent without clinicians)"),
                    clinicians.to_string(),
                )
            })?;
        for clinician in list {
            if let Some(problem) = clinician_problem(clinician, &service_ids) {
                return Err(failed(
                    format!("{what}: each clinician with {problem}"),
                    clinician.to_string(),
                ));
            }
        }
    }
    let rules = ["hidden", "optional", "required"];
    for field in ["phone", "note"] {
        let rule = body.get("form").and_then(|form| form.get(field));
        ensure(
            rule.and_then(Value::as_str)
                .is_some_and(|rule| rules.contains(&rule)),
            format!("{what}: `form.{field}` one of hidden, optional, required"),
            || format!("{rule:?}"),
        )?;
    }
    for optional in ["notice", "privacy_url"] {
        let value = body.get(optional);
        ensure(
            value.is_none_or(|v| v.is_null() || v.is_string()),
            format!("{what}: `{optional}` a string or null"),
            || format!("{value:?}"),
        )?;
    }
    Ok(())
}

/// What a service of `GET /v1/practice` lacks, if anything.
fn service_problem(service: &Value) -> Option<&'static str> {
    let text = |name| service.get(name).and_then(Value::as_str);
    let text_or_null = |name| {
        service
            .get(name)
            .is_none_or(|v: &Value| v.is_null() || v.is_string())
    };
    if text("id").is_none_or(str::is_empty) {
        Some("an `id`")
    } else if text("title").is_none_or(str::is_empty) {
        Some("a `title`")
    } else if service
        .get("duration_minutes")
        .and_then(Value::as_u64)
        .is_none_or(|minutes| minutes == 0)
    {
        Some("`duration_minutes` a whole number above 0")
    } else if !matches!(text("mode"), Some("request" | "instant")) {
        Some("`mode` request or instant")
    } else if !text_or_null("location") || !text_or_null("description") {
        Some("`location` and `description` strings or null")
    } else if !matches!(
        text("location"),
        None | Some("phone" | "video" | "in_person")
    ) {
        Some("`location` phone, video, in_person or null")
    } else if (text("location") == Some("in_person")) != text("address").is_some()
        || !text_or_null("address")
    {
        Some("an `address` for in_person, and only for it")
    } else if service.get("video_url").is_some() {
        Some("no `video_url`: a video room is never public")
    } else {
        None
    }
}

/// What a clinician of `GET /v1/practice` lacks, if anything; `service_ids`
/// are the practice's services.
fn clinician_problem(clinician: &Value, service_ids: &[&str]) -> Option<&'static str> {
    let text = |name| clinician.get(name).and_then(Value::as_str);
    let text_or_null = |name| {
        clinician
            .get(name)
            .is_none_or(|v: &Value| v.is_null() || v.is_string())
    };
    let services = clinician.get("services").and_then(Value::as_array);
    if text("id").is_none_or(str::is_empty) {
        Some("an `id`")
    } else if text("name").is_none_or(str::is_empty) {
        Some("a `name`")
    } else if !text_or_null("pronouns") || !text_or_null("bio") {
        Some("`pronouns` and `bio` strings or null")
    } else if services.is_none_or(|ids| {
        ids.iter()
            .any(|id| id.as_str().is_none_or(|id| !service_ids.contains(&id)))
    }) {
        Some("`services` a list of the practice's service ids")
    } else {
        None
    }
}

pub(crate) async fn slots_shape(context: &Context) -> Verdict {
    let practice = context.practice().await?;
    let from = Utc::now();
    let to = from + Duration::days(7);
    let answer = context.slots(from, to).await?;
    let what = "GET /v1/slots for the next 7 days";
    verdict::status(&answer, 200, what)?;
    verdict::json_media_type(&answer, what)?;
    let body = verdict::json_object(&answer, what)?;
    let service = body.get("service").and_then(Value::as_str);
    ensure(
        service == Some(practice.service.id.as_str()),
        format!("{what}: `service` {:?}", practice.service.id),
        || format!("{service:?}"),
    )?;
    let zone = body.get("time_zone").and_then(Value::as_str);
    ensure(
        zone == Some(practice.time_zone.as_str()),
        format!(
            "{what}: `time_zone` the practice's {:?}",
            practice.time_zone
        ),
        || format!("{zone:?}"),
    )?;
    let slots = body
        .get("slots")
        .and_then(Value::as_array)
        .ok_or_else(|| failed(format!("{what}: `slots` a list"), answer.describe()))?;
    let mut previous: Option<DateTime<Utc>> = None;
    for slot in slots {
        let start = verdict::utc_instant(slot.get("start"), "each slot's `start`")?;
        let end = verdict::utc_instant(slot.get("end"), "each slot's `end`")?;
        ensure(
            (from..to).contains(&start),
            format!("each slot starting in [{}, {})", instant(from), instant(to)),
            || slot.to_string(),
        )?;
        ensure(
            end - start == practice.service.duration,
            format!(
                "each slot {} minutes long, as the service",
                practice.service.duration.num_minutes()
            ),
            || slot.to_string(),
        )?;
        ensure(
            previous.is_none_or(|previous| previous < start),
            "slots in ascending order, each once",
            || {
                format!(
                    "{} after {}",
                    instant(start),
                    previous.map(instant).unwrap_or_default()
                )
            },
        )?;
        previous = Some(start);
    }
    Ok(())
}

pub(crate) async fn slots_cache_control(context: &Context) -> Verdict {
    let now = Utc::now();
    let answer = context.slots(now, now + Duration::days(1)).await?;
    verdict::status(&answer, 200, "GET /v1/slots")?;
    let directives = answer.header_list("cache-control");
    let max_age = directives
        .iter()
        .find_map(|d| d.strip_prefix("max-age=")?.parse::<u64>().ok());
    // "A few seconds" (§ GET /v1/slots); the adapter says no-store (§ Clarifications).
    let fresh = directives.iter().any(|d| d == "no-store") || max_age.is_some_and(|s| s <= 10);
    ensure(
        fresh,
        "Cache-Control: no-store (or max-age of at most 10 s)",
        || format!("Cache-Control: {:?}", answer.header("cache-control")),
    )
}

pub(crate) async fn slots_offsets(context: &Context) -> Verdict {
    let service = &context.practice().await?.service.id;
    let from = Utc::now() + Duration::hours(1);
    let to = from + Duration::days(3);
    let in_utc = context.slots(from, to).await?;
    let east = FixedOffset::east_opt(2 * 3600).ok_or_else(|| failed("an offset", "none"))?;
    let path = format!(
        "/v1/slots?service={}&from={}&to={}",
        escape(service),
        escape(&from.with_timezone(&east).to_rfc3339()),
        escape(&to.with_timezone(&east).to_rfc3339()),
    );
    let in_offset = context.probe.get(&path).await?;
    verdict::status(&in_offset, 200, "GET /v1/slots with +02:00 instants")?;
    let slots = |answer: &crate::http::Answer| {
        serde_json::from_slice::<Value>(&answer.body)
            .ok()
            .and_then(|body| body.get("slots").cloned())
    };
    ensure(
        slots(&in_offset).is_some() && slots(&in_offset) == slots(&in_utc),
        "the same slots, in UTC with Z, as for the same window written in UTC",
        || {
            format!(
                "{} — while in UTC: {}",
                in_offset.describe(),
                in_utc.describe()
            )
        },
    )
}

pub(crate) async fn slots_range_too_large(context: &Context) -> Verdict {
    let from = Utc::now();
    let widest = context.slots(from, from + Duration::days(62)).await?;
    verdict::status(&widest, 200, "GET /v1/slots for exactly 62 days")?;
    let wider = context
        .slots(from, from + Duration::days(62) + Duration::minutes(1))
        .await?;
    verdict::problem(
        &wider,
        422,
        "range_too_large",
        "GET /v1/slots for 62 days and a minute",
    )?;
    Ok(())
}

pub(crate) async fn slots_invalid_range(context: &Context) -> Verdict {
    let service = escape(&context.practice().await?.service.id);
    let from = Utc::now() + Duration::days(1);
    let (a, b) = (instant(from), instant(from + Duration::days(1)));
    let cases = [
        ("from equal to to", format!("from={a}&to={a}")),
        ("from after to", format!("from={b}&to={a}")),
        ("no from", format!("to={b}")),
        ("no to", format!("from={a}")),
        ("a word for from", format!("from=tomorrow&to={b}")),
        (
            "a six-digit year",
            format!("from=%2B262142-12-31T23:59:59Z&to={b}"),
        ),
        (
            "a space for T",
            format!("from={}&to={b}", a.replace('T', "%20")),
        ),
        (
            "no offset",
            format!("from={}&to={b}", a.trim_end_matches('Z')),
        ),
        (
            "a lower-case t",
            format!("from={}&to={b}", a.replace('T', "t")),
        ),
    ];
    for (case, query) in cases {
        let answer = context
            .probe
            .get(&format!("/v1/slots?service={service}&{query}"))
            .await?;
        verdict::problem(
            &answer,
            422,
            "invalid_range",
            &format!("GET /v1/slots with {case}"),
        )?;
    }
    Ok(())
}

pub(crate) async fn slots_unknown_service(context: &Context) -> Verdict {
    let practice = context.practice().await?;
    let from = Utc::now() + Duration::days(1);
    let window = format!(
        "from={}&to={}",
        instant(from),
        instant(from + Duration::days(1))
    );
    let unknown = context
        .probe
        .get(&format!(
            "/v1/slots?service=no-such-service-conformance&{window}"
        ))
        .await?;
    verdict::problem(
        &unknown,
        404,
        "unknown_service",
        "GET /v1/slots of a service the practice lacks",
    )?;
    let unnamed = context.probe.get(&format!("/v1/slots?{window}")).await?;
    if practice.service_count == 1 {
        verdict::status(
            &unnamed,
            200,
            "GET /v1/slots without service, the practice having one",
        )?;
    } else {
        verdict::problem(
            &unnamed,
            404,
            "unknown_service",
            "GET /v1/slots without service, the practice having several",
        )?;
    }
    Ok(())
}

pub(crate) async fn slots_unknown_clinician(context: &Context) -> Verdict {
    let practice = context.practice().await?;
    let from = Utc::now() + Duration::days(1);
    let slots_of = |clinician: &str| {
        format!(
            "/v1/slots?service={}&clinician={}&from={}&to={}",
            escape(&practice.service.id),
            escape(clinician),
            instant(from),
            instant(from + Duration::days(1))
        )
    };
    let unknown = context
        .probe
        .get(&slots_of("no-such-clinician-conformance"))
        .await?;
    verdict::problem(
        &unknown,
        404,
        "unknown_clinician",
        "GET /v1/slots of a clinician the practice lacks",
    )?;
    // In a group practice: each clinician offering the service has their own list.
    for id in &practice.clinicians {
        let answer = context.probe.get(&slots_of(id)).await?;
        let what = format!("GET /v1/slots of clinician {id:?}");
        verdict::status(&answer, 200, &what)?;
        let body = verdict::json_object(&answer, &what)?;
        let said = body.get("clinician").and_then(Value::as_str);
        ensure(
            said == Some(id.as_str()),
            format!("{what}: `clinician` {id:?}"),
            || format!("{said:?}"),
        )?;
    }
    Ok(())
}
