//! `Idempotency-Key`: the same key and body get the first answer again,
//! byte for byte; another body is refused; a request sent many times at once
//! books once.

use futures::future::join_all;
use serde_json::json;

use super::refusals::refused_for_consent;
use crate::context::{booked, Context};
use crate::http::Answer;
use crate::verdict::{self, ensure, Verdict};

/// The number of copies of one request sent at once.
const AT_ONCE: usize = 6;

/// `again` repeats `first` byte for byte, status, Location, and says it is a replay.
pub(super) fn is_replay_of(again: &Answer, first: &Answer) -> Verdict {
    let what = "the same key and body again";
    ensure(
        first.header("idempotent-replayed").is_none(),
        "the first answer without Idempotent-Replayed",
        || {
            format!(
                "Idempotent-Replayed: {:?}",
                first.header("idempotent-replayed")
            )
        },
    )?;
    ensure(
        again.status == first.status && again.body == first.body,
        format!(
            "{what}: the first answer byte for byte ({})",
            first.describe()
        ),
        || again.describe(),
    )?;
    ensure(
        again.header("location") == first.header("location"),
        format!(
            "{what}: the first answer's Location {:?}",
            first.header("location")
        ),
        || format!("Location {:?}", again.header("location")),
    )?;
    ensure(
        again.header("idempotent-replayed") == Some("true"),
        format!("{what}: Idempotent-Replayed: true"),
        || {
            format!(
                "Idempotent-Replayed: {:?}",
                again.header("idempotent-replayed")
            )
        },
    )
}

pub(crate) async fn refusal_replayed(context: &Context) -> Verdict {
    let key = context.new_key();
    let (body, first) = refused_for_consent(context, &key, |_| {}).await?;
    let again = context.probe.post_booking(Some(&key), &body).await?;
    is_replay_of(&again, &first)
}

pub(crate) async fn key_reused(context: &Context) -> Verdict {
    let key = context.new_key();
    refused_for_consent(context, &key, |_| {}).await?;
    let start = context.some_start().await;
    let other = context
        .booking_body(start, |b| {
            b["consent"] = json!(false);
            b["client"]["email"] = json!("someone.else@example.org");
        })
        .await?;
    let answer = context.probe.post_booking(Some(&key), &other).await?;
    verdict::problem(
        &answer,
        422,
        "idempotency_key_reused",
        "the same key with another body",
    )?;
    Ok(())
}

pub(crate) async fn created_replayed(context: &Context) -> Verdict {
    let start = context.free_slot().await?;
    let body = context.booking_body(start, |_| {}).await?;
    let key = context.new_key();
    let first = context.probe.post_booking(Some(&key), &body).await?;
    let booking = booked(first.clone(), start)?;
    let verdict = async {
        let again = context.probe.post_booking(Some(&key), &body).await?;
        is_replay_of(&again, &first)
    }
    .await;
    context.cancel(&booking).await?;
    verdict
}

pub(crate) async fn in_progress(context: &Context) -> Verdict {
    let start = context.free_slot().await?;
    let body = context.booking_body(start, |_| {}).await?;
    let key = context.new_key();
    let copies = (0..AT_ONCE).map(|_| context.probe.post_booking(Some(&key), &body));
    let answers: Vec<Answer> = join_all(copies)
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let (firsts, others): (Vec<&Answer>, Vec<&Answer>) = answers
        .iter()
        .partition(|a| a.header("idempotent-replayed").is_none() && a.status != 409);
    let created = firsts.iter().find(|a| a.status == 201);
    // Cancel whatever was booked before judging.
    for answer in answers.iter().filter(|a| a.status == 201) {
        if let Ok(booking) = booked((*answer).clone(), start) {
            context.cancel(&booking).await?;
        }
    }
    ensure(
        firsts.len() == 1 && created.is_some(),
        format!("{AT_ONCE} copies of one request at once: exactly one answered 201 without Idempotent-Replayed"),
        || {
            let seen: Vec<String> = firsts.iter().map(|a| a.describe()).collect();
            format!("{} such answers: {}", firsts.len(), seen.join(" | "))
        },
    )?;
    let Some(created) = created else {
        return Ok(());
    };
    for other in others {
        if other.status == 409 {
            verdict::problem(
                other,
                409,
                "request_in_progress",
                "a copy sent while the first runs",
            )?;
        } else {
            is_replay_of(other, created)?;
        }
    }
    Ok(())
}
