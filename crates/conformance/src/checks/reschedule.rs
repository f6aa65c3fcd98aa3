//! `POST /v1/bookings/{id}/reschedule`: a booking moves to another open start
//! as a whole (the old slot is offered again, the new one no longer), answers
//! as creation does, replays per key; and each documented refusal leaves the
//! booking where it was. Each check books a slot far ahead (moves close to
//! the start may be closed by the practice) and cancels it when done.

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use super::bookings::{booking_members, locates, show_with};
use super::idempotency::is_replay_of;
use crate::context::{instant, Booked, Context};
use crate::http::Answer;
use crate::verdict::{self, ensure, NotPassed, Verdict};

const ENDPOINT: &str = "POST /v1/bookings/{id}/reschedule";

/// The body of a move to `start`.
fn move_to(start: DateTime<Utc>) -> Vec<u8> {
    json!({ "start": instant(start) }).to_string().into_bytes()
}

/// Skips the check when the practice closes changes even this far ahead.
fn unless_window_closed(answer: &Answer) -> Verdict {
    if answer.status == 409
        && verdict::json_object(answer, "")
            .is_ok_and(|body| body.get("code") == Some(&Value::from("change_window_closed")))
    {
        return Err(NotPassed::Skipped(
            "the practice allows no change even two weeks ahead (change_window_closed)".into(),
        ));
    }
    Ok(())
}

pub(crate) async fn moves(context: &Context) -> Verdict {
    let from = context.free_late_slot(DateTime::<Utc>::MAX_UTC).await?;
    // A day apart, so neither booking nor its buffers cover the other slot.
    let to = context.free_late_slot(from - Duration::days(1)).await?;
    let booking = context.book(from).await?;
    let verdict = moved(context, &booking, to).await;
    context.cancel(&booking).await?;
    verdict
}

async fn moved(context: &Context, booking: &Booked, to: DateTime<Utc>) -> Verdict {
    let key = context.new_key();
    let body = move_to(to);
    let token = &booking.manage_token;
    let answer = context
        .reschedule(booking, token, Some(&key), &body)
        .await?;
    unless_window_closed(&answer)?;
    let what = format!("{ENDPOINT} to {}", instant(to));
    verdict::status(&answer, 200, &what)?;
    verdict::json_media_type(&answer, &what)?;
    locates(context, &answer, booking, &what)?;
    let body_of_move = verdict::json_object(&answer, &what)?;
    let now_at = Booked {
        start: to,
        ..booking.clone()
    };
    booking_members(context, &body_of_move, &now_at, &what).await?;
    let returned = body_of_move.get("manage_token").and_then(Value::as_str);
    ensure(
        returned == Some(token.as_str()),
        format!("{what}: `manage_token` the one presented"),
        || format!("{returned:?}"),
    )?;
    let mode = &context.practice().await?.service.mode;
    let status = body_of_move.get("status").and_then(Value::as_str);
    let allowed: &[&str] = if mode == "instant" {
        &["pending", "confirmed"]
    } else {
        &["pending"]
    };
    ensure(
        status.is_some_and(|s| allowed.contains(&s)),
        format!("{what}: `status` one of {allowed:?} for a service in {mode} mode"),
        || format!("{status:?}"),
    )?;

    let bearer = format!("Bearer {token}");
    let shown = show_with(context, &booking.id, Some(&bearer), "").await?;
    let shown_what = "GET /v1/bookings/{id} after the move";
    verdict::status(&shown, 200, shown_what)?;
    booking_members(
        context,
        &verdict::json_object(&shown, shown_what)?,
        &now_at,
        shown_what,
    )
    .await?;
    let minute = Duration::minutes(1);
    let offered_to = context.slot_starts(to, to + minute).await?;
    ensure(
        !offered_to.contains(&to),
        format!(
            "GET /v1/slots after the move: {} no longer offered",
            instant(to)
        ),
        || "still offered".into(),
    )?;
    let offered_from = context
        .slot_starts(booking.start, booking.start + minute)
        .await?;
    ensure(
        offered_from.contains(&booking.start),
        format!(
            "GET /v1/slots after the move: the old start {} offered again",
            instant(booking.start)
        ),
        || "not offered".into(),
    )?;

    let again = context
        .reschedule(booking, token, Some(&key), &body)
        .await?;
    is_replay_of(&again, &answer)?;
    let other = context
        .reschedule(booking, token, Some(&key), &move_to(booking.start))
        .await?;
    verdict::problem(
        &other,
        422,
        "idempotency_key_reused",
        "the same key with another start",
    )?;
    Ok(())
}

pub(crate) async fn refusals(context: &Context) -> Verdict {
    let start = context.free_late_slot(DateTime::<Utc>::MAX_UTC).await?;
    let booking = context.book(start).await?;
    let verdict = refused(context, &booking).await;
    let cancelled = context.cancel(&booking).await;
    verdict?;
    cancelled?;
    let what = "a move of a cancelled booking";
    let closed = context
        .reschedule(
            &booking,
            &booking.manage_token,
            Some(&context.new_key()),
            &move_to(context.some_start().await),
        )
        .await?;
    verdict::problem(&closed, 409, "booking_closed", what)?;
    Ok(())
}

/// A move the server must refuse, and how.
struct Refusal<'a> {
    case: &'a str,
    token: &'a str,
    key: Option<String>,
    body: &'a [u8],
    status: u16,
    code: &'a str,
}

/// Each refusal, then the booking unchanged.
async fn refused(context: &Context, booking: &Booked) -> Verdict {
    let token = booking.manage_token.as_str();
    let some_start = context.some_start().await;
    let elsewhere = move_to(some_start);
    let wrong_token = format!("x{token}");
    // On the slot grid, four weeks back: not offered because it is past.
    let past = move_to(some_start - Duration::weeks(4));
    let unknown_member = json!({"start": instant(booking.start), "clinic": "north"})
        .to_string()
        .into_bytes();
    let fresh = || Some(context.new_key());
    let cases = [
        Refusal {
            case: "with a wrong token",
            token: &wrong_token,
            key: fresh(),
            body: &elsewhere,
            status: 404,
            code: "not_found",
        },
        Refusal {
            case: "without an Idempotency-Key",
            token,
            key: None,
            body: &elsewhere,
            status: 400,
            code: "missing_idempotency_key",
        },
        Refusal {
            case: "with an unknown member",
            token,
            key: fresh(),
            body: &unknown_member,
            status: 400,
            code: "malformed_json",
        },
        Refusal {
            case: "to a start in the past",
            token,
            key: fresh(),
            body: &past,
            status: 409,
            code: "slot_unavailable",
        },
    ];
    for refusal in cases {
        let answer = context
            .reschedule(booking, refusal.token, refusal.key.as_deref(), refusal.body)
            .await?;
        unless_window_closed(&answer)?;
        let what = format!("{ENDPOINT} {}", refusal.case);
        verdict::problem(&answer, refusal.status, refusal.code, &what)?;
    }
    let bearer = format!("Bearer {token}");
    let shown = show_with(context, &booking.id, Some(&bearer), "").await?;
    let what = "GET /v1/bookings/{id} after refused moves";
    verdict::status(&shown, 200, what)?;
    booking_members(context, &verdict::json_object(&shown, what)?, booking, what).await
}
