//! Booking, and a booking's own endpoints: each check books an open slot
//! and cancels it before it ends.

use chrono::Utc;
use futures::future::join_all;
use serde_json::{Map, Value};

use crate::context::{
    booked, escape, instant, Booked, Context, VISITOR_EMAIL, VISITOR_NAME, VISITOR_PHONE,
};
use crate::http::{Answer, Method};
use crate::ical;
use crate::verdict::{self, ensure, failed, NotPassed, Verdict};

/// Requests for one slot sent at once.
const RACERS: usize = 8;

/// Runs `inner` on a booking of a free slot, then cancels the booking.
async fn with_booking<'a, F>(
    context: &'a Context,
    inner: impl FnOnce(&'a Context, Booked) -> F,
) -> Verdict
where
    F: std::future::Future<Output = Verdict> + 'a,
{
    let start = context.free_slot().await?;
    let booking = context.book(start).await?;
    let cancel_later = booking.clone();
    let verdict = inner(context, booking).await;
    context.cancel(&cancel_later).await?;
    verdict
}

/// The members a booking has in every answer (§ POST /v1/bookings), checked
/// against the practice and the slot asked for.
pub(super) async fn booking_members(
    context: &Context,
    body: &Map<String, Value>,
    booking: &Booked,
    what: &str,
) -> Verdict {
    let service = &context.practice().await?.service;
    let id = body.get("id").and_then(Value::as_str);
    ensure(
        id == Some(booking.id.as_str()),
        format!("{what}: `id` {:?}", booking.id),
        || format!("{id:?}"),
    )?;
    let named = body.get("service").and_then(Value::as_str);
    ensure(
        named == Some(service.id.as_str()),
        format!("{what}: `service` {:?}", service.id),
        || format!("{named:?}"),
    )?;
    let start = verdict::utc_instant(body.get("start"), &format!("{what}: `start`"))?;
    ensure(
        start == booking.start,
        format!("{what}: `start` {}", instant(booking.start)),
        || instant(start),
    )?;
    let end = verdict::utc_instant(body.get("end"), &format!("{what}: `end`"))?;
    ensure(
        end == booking.start + service.duration,
        format!(
            "{what}: `end` {}",
            instant(booking.start + service.duration)
        ),
        || instant(end),
    )
}

/// The answer's `Location` names the booking (§ POST /v1/bookings).
pub(super) fn locates(context: &Context, answer: &Answer, booking: &Booked, what: &str) -> Verdict {
    let location = answer.header("location");
    let wanted = format!("/v1/bookings/{}", booking.id);
    ensure(
        location.is_some_and(|l| l == wanted || context.probe.leads_to(l, &wanted)),
        format!("{what}: Location: {wanted}"),
        || format!("Location: {location:?}"),
    )
}

pub(crate) async fn create(context: &Context) -> Verdict {
    with_booking(context, |context, booking| async move {
        let answer = &booking.answer;
        let what = "201 of POST /v1/bookings";
        verdict::json_media_type(answer, what)?;
        locates(context, answer, &booking, what)?;
        let body = verdict::json_object(answer, what)?;
        booking_members(context, &body, &booking, what).await?;
        let mode = &context.practice().await?.service.mode;
        let status = body.get("status").and_then(Value::as_str);
        let expected_status = if mode == "instant" {
            "confirmed"
        } else {
            "pending"
        };
        ensure(
            status == Some(expected_status),
            format!("{what}: `status` {expected_status} for a service in {mode} mode"),
            || format!("{status:?}"),
        )?;
        let expires = body.get("expires_at");
        if expected_status == "pending" {
            let at = verdict::utc_instant(
                expires,
                &format!("{what}: `expires_at` of a pending request"),
            )?;
            ensure(
                at > Utc::now() - chrono::Duration::minutes(1) && at <= booking.start,
                format!("{what}: `expires_at` after now and not after the slot's start"),
                || instant(at),
            )?;
        } else {
            ensure(
                expires == Some(&Value::Null),
                format!("{what}: `expires_at` null"),
                || format!("{expires:?}"),
            )?;
        }
        let starts = context
            .slot_starts(booking.start, booking.start + chrono::Duration::minutes(1))
            .await?;
        ensure(
            !starts.contains(&booking.start),
            format!(
                "GET /v1/slots after booking {}: that slot no longer offered",
                instant(booking.start)
            ),
            || "still offered".into(),
        )
    })
    .await
}

pub(crate) async fn one_per_slot(context: &Context) -> Verdict {
    let start = context.free_slot().await?;
    let mut bodies = Vec::new();
    for _ in 0..RACERS {
        bodies.push((
            context.new_key(),
            context.booking_body(start, |_| {}).await?,
        ));
    }
    let racing = bodies
        .iter()
        .map(|(key, body)| context.probe.post_booking(Some(key), body));
    let answers: Vec<Answer> = join_all(racing)
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let created: Vec<&Answer> = answers.iter().filter(|a| a.status == 201).collect();
    for answer in &created {
        if let Ok(booking) = booked((*answer).clone(), start) {
            context.cancel(&booking).await?;
        }
    }
    ensure(
        created.len() == 1,
        format!(
            "{RACERS} requests for {} at once: exactly one 201",
            instant(start)
        ),
        || format!("{} answered 201", created.len()),
    )?;
    for answer in answers.iter().filter(|a| a.status != 201) {
        verdict::problem(
            answer,
            409,
            "slot_unavailable",
            "each request that lost the race",
        )?;
    }
    Ok(())
}

/// `GET /v1/bookings/{id}` with `authorization` as the Authorization header
/// (none when `None`) and `query` after the path.
pub(super) async fn show_with(
    context: &Context,
    id: &str,
    authorization: Option<&str>,
    query: &str,
) -> Result<Answer, NotPassed> {
    let mut request = context
        .probe
        .request(Method::GET, &format!("/v1/bookings/{}{query}", escape(id)));
    if let Some(authorization) = authorization {
        request = request.header("authorization", authorization);
    }
    context.probe.send(request).await
}

pub(crate) async fn show(context: &Context) -> Verdict {
    with_booking(context, |context, booking| async move {
        let bearer = format!("Bearer {}", booking.manage_token);
        let answer = show_with(context, &booking.id, Some(&bearer), "").await?;
        let what = "GET /v1/bookings/{id} with its manage token";
        verdict::status(&answer, 200, what)?;
        verdict::json_media_type(&answer, what)?;
        let body = verdict::json_object(&answer, what)?;
        booking_members(context, &body, &booking, what).await?;
        let created = verdict::json_object(&booking.answer, "the 201")?;
        for member in ["status", "expires_at"] {
            ensure(
                body.get(member) == created.get(member),
                format!(
                    "{what}: `{member}` as in the 201 ({:?})",
                    created.get(member)
                ),
                || format!("{:?}", body.get(member)),
            )?;
        }
        ensure(
            !body.contains_key("manage_token"),
            format!("{what}: no `manage_token`"),
            || answer.describe(),
        )?;
        let wrong = format!("Bearer x{}", booking.manage_token);
        let token_query = format!("?token={}", escape(&booking.manage_token));
        let refused = [
            ("without Authorization", booking.id.as_str(), None, ""),
            (
                "with a wrong token",
                booking.id.as_str(),
                Some(wrong.as_str()),
                "",
            ),
            (
                "with a Basic scheme",
                booking.id.as_str(),
                Some("Basic cXVpbm46eA=="),
                "",
            ),
            (
                "with the token in the query only",
                booking.id.as_str(),
                None,
                token_query.as_str(),
            ),
            (
                "of another id, with this token",
                "bk_conformance_no_such_booking",
                Some(bearer.as_str()),
                "",
            ),
        ];
        for (case, id, authorization, query) in refused {
            let answer = show_with(context, id, authorization, query).await?;
            verdict::problem(
                &answer,
                404,
                "not_found",
                &format!("GET /v1/bookings/{{id}} {case}"),
            )?;
        }
        Ok(())
    })
    .await
}

pub(crate) async fn cancel(context: &Context) -> Verdict {
    let start = context.free_slot().await?;
    let booking = context.book(start).await?;
    let path = format!("/v1/bookings/{}", escape(&booking.id));
    let wrong = context
        .probe
        .send(
            context
                .probe
                .request(Method::DELETE, &path)
                .bearer_auth(format!("x{}", booking.manage_token)),
        )
        .await?;
    let unsigned = context
        .probe
        .send(context.probe.request(Method::DELETE, &path))
        .await?;
    let refused = verdict::problem(
        &wrong,
        404,
        "not_found",
        "DELETE /v1/bookings/{id} with a wrong token",
    )
    .and_then(|_| {
        verdict::problem(
            &unsigned,
            404,
            "not_found",
            "DELETE /v1/bookings/{id} without Authorization",
        )
    });
    let bearer = format!("Bearer {}", booking.manage_token);
    let after_wrong = show_with(context, &booking.id, Some(&bearer), "").await?;
    let first = context.cancel(&booking).await?;
    refused?;
    let created = verdict::json_object(&booking.answer, "the 201")?;
    let still = verdict::json_object(
        &after_wrong,
        "GET /v1/bookings/{id} after a DELETE with a wrong or no token",
    )?;
    ensure(
        still.get("status") == created.get("status"),
        format!(
            "after a DELETE with a wrong or no token: `status` still {:?}",
            created.get("status")
        ),
        || after_wrong.describe(),
    )?;
    let second = context.cancel(&booking).await?;
    let shown = show_with(context, &booking.id, Some(&bearer), "").await?;
    for (what, answer) in [
        ("DELETE /v1/bookings/{id}", &first),
        ("DELETE /v1/bookings/{id} again", &second),
        ("GET /v1/bookings/{id} after DELETE", &shown),
    ] {
        verdict::status(answer, 200, what)?;
        let body = verdict::json_object(answer, what)?;
        booking_members(context, &body, &booking, what).await?;
        let status = body.get("status").and_then(Value::as_str);
        ensure(
            status == Some("cancelled"),
            format!("{what}: `status` cancelled"),
            || format!("{status:?}"),
        )?;
        let expires = body.get("expires_at");
        ensure(
            expires == Some(&Value::Null),
            format!("{what}: `expires_at` null"),
            || format!("{expires:?}"),
        )?;
    }
    Ok(())
}

pub(crate) async fn calendar_file(context: &Context) -> Verdict {
    let start = context.free_slot().await?;
    let booking = context.book(start).await?;
    let held = read_calendar_file(context, &booking).await;
    let cancelled = context.cancel(&booking).await;
    let status = verdict::json_object(&booking.answer, "the 201")?
        .get("status")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let expected = if status.as_deref() == Some("confirmed") {
        "CONFIRMED"
    } else {
        "TENTATIVE"
    };
    event_status(&held?, expected, "before cancelling")?;
    cancelled?;
    event_status(
        &read_calendar_file(context, &booking).await?,
        "CANCELLED",
        "after cancelling",
    )?;

    let path = format!("/v1/bookings/{}/calendar.ics", escape(&booking.id));
    for (case, query) in [
        ("without a token", String::new()),
        (
            "with a wrong token",
            format!("?token=x{}", escape(&booking.manage_token)),
        ),
    ] {
        let answer = context.probe.get(&format!("{path}{query}")).await?;
        verdict::problem(
            &answer,
            404,
            "not_found",
            &format!("GET …/calendar.ics {case}"),
        )?;
    }
    Ok(())
}

/// The booking's calendar file, read and checked but for its `STATUS`.
async fn read_calendar_file(
    context: &Context,
    booking: &Booked,
) -> Result<ical::Component, NotPassed> {
    let practice = context.practice().await?;
    let path = format!(
        "/v1/bookings/{}/calendar.ics?token={}",
        escape(&booking.id),
        escape(&booking.manage_token)
    );
    let answer = context.probe.get(&path).await?;
    let what = "GET /v1/bookings/{id}/calendar.ics?token=…";
    verdict::status(&answer, 200, what)?;
    let kind = answer.header("content-type").map(verdict::media_type);
    ensure(
        kind.as_deref() == Some("text/calendar"),
        format!("{what}: Content-Type text/calendar"),
        || format!("{kind:?}"),
    )?;
    let text = String::from_utf8(answer.body.clone())
        .map_err(|_| failed(format!("{what}: UTF-8 text"), answer.describe()))?;
    let calendar = ical::parse(&text).map_err(|problem| {
        failed(
            format!("{what}: an RFC 5545 calendar with CRLF lines"),
            problem,
        )
    })?;
    let version = calendar.property("VERSION").map(|p| p.value.as_str());
    ensure(
        version == Some("2.0"),
        format!("{what}: VERSION:2.0"),
        || format!("{version:?}"),
    )?;
    ensure(
        calendar.property("PRODID").is_some(),
        format!("{what}: a PRODID"),
        || "none".into(),
    )?;
    let events: Vec<&ical::Component> = calendar.children_named("VEVENT").collect();
    let [event] = events.as_slice() else {
        return Err(failed(
            format!("{what}: exactly one VEVENT"),
            format!("{} of them", events.len()),
        ));
    };
    let value = |name: &str| event.property(name).map(|p| p.value.clone());
    let uid = format!("{}@firststep", booking.id);
    ensure(
        value("UID").as_deref() == Some(uid.as_str()),
        format!("{what}: UID:{uid}"),
        || format!("{:?}", value("UID")),
    )?;
    ensure(
        value("DTSTAMP").is_some(),
        format!("{what}: a DTSTAMP"),
        || "none".into(),
    )?;
    let times = [
        ("DTSTART", booking.start),
        ("DTEND", booking.start + practice.service.duration),
    ];
    for (name, expected) in times {
        let got = value(name);
        ensure(
            got.as_deref().and_then(ical::utc_date_time) == Some(expected),
            format!("{what}: {name} {} (as a UTC DATE-TIME)", instant(expected)),
            || format!("{got:?}"),
        )?;
    }
    let summary = value("SUMMARY")
        .map(|s| ical::unescape_text(&s))
        .unwrap_or_default();
    ensure(
        summary.contains(&practice.service.title) && summary.contains(&practice.name),
        format!(
            "{what}: a SUMMARY naming the service {:?} and the practice {:?}",
            practice.service.title, practice.name
        ),
        || format!("{summary:?}"),
    )?;
    // Unfolded and unescaped, so a detail split across lines is still found.
    let everything = calendar.all_texts().join("\n").to_lowercase();
    for detail in [VISITOR_NAME, VISITOR_EMAIL, VISITOR_PHONE] {
        ensure(
            !everything.contains(&detail.to_lowercase()),
            format!("{what}: none of the client's details"),
            || format!("it holds {detail:?}"),
        )?;
    }
    Ok(calendar)
}

fn event_status(calendar: &ical::Component, expected: &str, when: &str) -> Verdict {
    let status = calendar
        .children_named("VEVENT")
        .next()
        .and_then(|event| event.property("STATUS"))
        .map(|p| p.value.clone());
    ensure(
        status.as_deref() == Some(expected),
        format!("the calendar file {when}: STATUS:{expected}"),
        || format!("{status:?}"),
    )
}
