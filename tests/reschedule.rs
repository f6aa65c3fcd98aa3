//! Browser tests of the reschedule view: the widget opened by a manage link
//! (`ID.TOKEN`) moves that booking, against a test double of the adapter
//! (see `support`). Each state a visitor can meet is visited.
#![cfg(target_arch = "wasm32")]

mod support;

use std::cell::Cell;
use std::rc::Rc;

use support::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const LINK: &str = "bk_AAAAAAAAAAAAAAAA.tok/en";

/// `GET /v1/bookings/{id}`'s body: the booking at `start`, in `status`.
fn booking_json(start: &str, status: &str, clinician: &str) -> String {
    let start: chrono::DateTime<chrono::Utc> = start.parse().unwrap();
    let iso = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    format!(
        r#"{{"id":"bk_AAAAAAAAAAAAAAAA","status":"{status}","service":"free-consultation",
        "start":"{}","end":"{}","expires_at":null{clinician}}}"#,
        iso(start),
        iso(start + chrono::Duration::minutes(15))
    )
}

/// The answer of a move to `start`: the booking there, with its token.
fn moved_json(start: &str, status: &str) -> Answer {
    let booking = booking_json(start, status, "");
    (
        200,
        format!(
            r#"{},"manage_token":"tok/en"}}"#,
            booking.trim_end_matches('}')
        ),
    )
}

/// A double with the practice, the booking (confirmed, at the first upcoming
/// start, with `clinician` JSON members), slots at every upcoming start (its
/// own among them), and `moves` answering the reschedule.
fn adapter(
    status: &'static str,
    clinician: &'static str,
    moves: impl Fn(&Sent) -> Answer + 'static,
) -> FakeAdapter {
    let starts = upcoming_starts();
    FakeAdapter::install(move |sent| {
        let url = &sent.url;
        if url.contains("/v1/practice") {
            (200, practice_json("required"))
        } else if url.contains("/v1/slots") {
            let starts: Vec<&str> = starts.iter().map(String::as_str).collect();
            (200, slots_json(&starts))
        } else if url.ends_with("/reschedule") {
            moves(sent)
        } else if sent.authorization.as_deref() == Some("Bearer tok/en") {
            (200, booking_json(&starts[0], status, clinician))
        } else {
            problem(404, "not_found", None)
        }
    })
}

/// Mounted by the link, the booking shown, the `nth` time offered chosen.
async fn choose_new_time(locale: Option<&str>, nth: usize) -> Mounted {
    let widget = mount_managing(LINK, locale);
    widget
        .until("the times", |w| w.all(".fs-time").len() > nth)
        .await;
    widget.all(".fs-time")[nth].click();
    widget
        .until("the move's confirmation", |w| {
            w.find(".fs-primary").is_some()
        })
        .await;
    widget
}

#[wasm_bindgen_test]
async fn shows_the_booking_offers_other_times_and_moves_it_on_confirmation() {
    let starts = upcoming_starts();
    let moved_to = starts[1].clone();
    let adapter = adapter("confirmed", "", move |_| moved_json(&moved_to, "pending"));
    let widget = mount_managing(LINK, Some("en-US"));
    widget.until_text("Your booking: ").await;
    widget
        .until("the times", |w| !w.all(".fs-time").is_empty())
        .await;
    assert!(widget.text().contains("Confirmed."), "{}", widget.text());
    // Its own time is the current one, not offered: its day shows the other.
    assert_eq!(widget.all(".fs-time").len(), 1, "{}", widget.text());
    let bookings = adapter.sent_to("GET", "/v1/bookings/bk_AAAAAAAAAAAAAAAA");
    assert_eq!(
        bookings[0].authorization.as_deref(),
        Some("Bearer tok/en"),
        "the token travels as Bearer, never in the address"
    );
    assert!(!bookings[0].url.contains("tok"));
    let slots = adapter.sent_to("GET", "/v1/slots");
    assert!(slots[0].url.contains("service=free-consultation"));
    assert!(!slots[0].url.contains("clinician="));

    // The other time: the move's step, focused, asks to confirm.
    widget.all(".fs-time")[0].click();
    widget
        .until("the move's confirmation", |w| {
            w.find(".fs-primary").is_some()
        })
        .await;
    assert!(
        focused_text().contains("Your chosen time"),
        "{}",
        focused_text()
    );
    assert!(
        adapter.sent_to("POST", "/reschedule").is_empty(),
        "nothing sent on a pick alone"
    );
    widget.click(".fs-primary").await;
    widget.until_text("Booking moved").await;

    let posts = adapter.sent_to("POST", "/v1/bookings/bk_AAAAAAAAAAAAAAAA/reschedule");
    assert_eq!(posts.len(), 1);
    let body: firststep_protocol::RescheduleRequest = serde_json::from_str(&posts[0].body).unwrap();
    assert_eq!(
        body.start,
        starts[1].parse::<chrono::DateTime<chrono::Utc>>().unwrap()
    );
    assert_eq!(posts[0].authorization.as_deref(), Some("Bearer tok/en"));
    assert!(posts[0]
        .idempotency_key
        .as_ref()
        .is_some_and(|k| k.len() >= 16));
    // The answer says pending: the practice confirms the new time.
    assert!(widget
        .text()
        .contains("The practice will confirm by email."));
    assert!(
        !widget.text().contains("Your booking: "),
        "the old time is gone"
    );
    assert!(focused_text().contains("Booking moved"));
    assert!(widget
        .find("[role=status]")
        .unwrap()
        .text_content()
        .unwrap()
        .contains("Booking moved"));
}

#[wasm_bindgen_test]
async fn a_booking_with_a_clinician_is_offered_that_clinicians_times() {
    let adapter = adapter(
        "confirmed",
        r#","clinician":{"id":"ana ruiz","name":"Ana Ruiz"}"#,
        |_| (500, String::new()),
    );
    let widget = mount_managing(LINK, None);
    widget
        .until("the times", |w| !w.all(".fs-time").is_empty())
        .await;
    let slots = adapter.sent_to("GET", "/v1/slots");
    assert!(
        slots
            .iter()
            .all(|s| s.url.contains("&clinician=ana%20ruiz")),
        "{:?}",
        slots.iter().map(|s| &s.url).collect::<Vec<_>>()
    );
}

#[wasm_bindgen_test]
async fn a_time_taken_meanwhile_changes_nothing_and_asks_for_another() {
    let adapter = adapter("confirmed", "", |_| problem(409, "slot_unavailable", None));
    let widget = choose_new_time(None, 0).await;
    let slot_fetches = adapter.sent_to("GET", "/v1/slots").len();
    widget.click(".fs-primary").await;
    widget.until_text("Your booking was not changed").await;
    assert!(widget.find("[role=alert]").is_some());
    assert!(
        widget.text().contains("Your booking: "),
        "still at its time"
    );
    widget
        .until("a fresh slot list", |_| {
            adapter.sent_to("GET", "/v1/slots").len() > slot_fetches
        })
        .await;
}

#[wasm_bindgen_test]
async fn too_close_to_the_time_says_to_contact_the_practice_by_name() {
    let _adapter = adapter("confirmed", "", |_| {
        problem(409, "change_window_closed", None)
    });
    let widget = choose_new_time(None, 0).await;
    widget.click(".fs-primary").await;
    widget
        .until_text("too close to the time to change it here: please contact Riverside Counselling directly")
        .await;
    assert!(
        widget.find(".fs-primary").is_none(),
        "nothing left to press"
    );
    assert!(widget.find(".fs-time").is_none());
}

#[wasm_bindgen_test]
async fn a_booking_no_longer_live_cannot_be_moved() {
    let _adapter = adapter("cancelled", "", |_| (500, String::new()));
    let widget = mount_managing(LINK, None);
    widget.until_text("can't be moved").await;
    assert!(widget.find(".fs-time").is_none());
    // The same when it closed between reading it and moving it.
    drop(widget);
    drop(_adapter);
    let _adapter = adapter("pending", "", |_| problem(409, "booking_closed", None));
    let widget = choose_new_time(None, 0).await;
    assert!(widget
        .text()
        .contains("Waiting for the practice to confirm."));
    widget.click(".fs-primary").await;
    widget.until_text("can't be moved").await;
}

#[wasm_bindgen_test]
async fn a_link_that_opens_no_booking_says_so() {
    for link in ["not-a-link", "bk_AAAAAAAAAAAAAAAA.wrong"] {
        let adapter = adapter("confirmed", "", |_| (500, String::new()));
        let widget = mount_managing(link, None);
        let codes = widget.error_codes();
        widget.until_text("This link doesn't open a booking").await;
        assert_eq!(codes.heard(), ["not_found"], "the page hears why");
        assert!(widget.find("[role=alert]").is_some());
        // The alert says it; the live region does not go on saying "Loading".
        let live = widget
            .find("[role=status]")
            .unwrap()
            .text_content()
            .unwrap();
        assert_eq!(live, "", "{link}");
        assert!(
            widget.find("button").is_none(),
            "no retry: it would say the same"
        );
        let asked = adapter.sent_to("GET", "/v1/bookings").len();
        assert_eq!(
            asked,
            usize::from(link.contains('.')),
            "{link}: a malformed one asks nothing"
        );
    }
}

#[wasm_bindgen_test]
async fn a_failed_move_is_retried_with_the_same_key() {
    let attempts = Rc::new(Cell::new(0));
    let count = attempts.clone();
    let moved_to = upcoming_starts()[1].clone();
    let adapter = adapter("confirmed", "", move |_| {
        count.set(count.get() + 1);
        match count.get() {
            1 => (0, String::new()),
            2 => problem(429, "rate_limited", None),
            _ => moved_json(&moved_to, "confirmed"),
        }
    });
    let widget = choose_new_time(None, 0).await;
    widget.click(".fs-primary").await;
    widget
        .until_text("couldn't reach the booking service")
        .await;
    widget.click(".fs-primary").await;
    widget.until_text("That was a lot of attempts").await;
    widget.click(".fs-primary").await;
    widget.until_text("Booking moved").await;
    assert!(widget.text().contains("Your consultation is booked."));
    let keys: Vec<Option<String>> = adapter
        .sent_to("POST", "/reschedule")
        .into_iter()
        .map(|s| s.idempotency_key)
        .collect();
    assert_eq!(keys.len(), 3);
    assert!(
        keys.iter().all(|k| *k == keys[0]),
        "a retry can never move twice: {keys:?}"
    );
}

#[wasm_bindgen_test]
async fn an_unreachable_adapter_offers_a_retry_that_reads_the_booking() {
    let reachable = Rc::new(Cell::new(false));
    let up = reachable.clone();
    let starts = upcoming_starts();
    let _adapter = FakeAdapter::install(move |sent| {
        if !up.get() {
            return (0, String::new());
        }
        if sent.url.contains("/v1/practice") {
            (200, practice_json("optional"))
        } else if sent.url.contains("/v1/slots") {
            (200, slots_json(&[&starts[0], &starts[1]]))
        } else {
            (200, booking_json(&starts[0], "confirmed", ""))
        }
    });
    let widget = mount_managing(LINK, None);
    widget
        .until_text("couldn't reach the booking service")
        .await;
    reachable.set(true);
    widget.click(".fs-problem button").await;
    widget.until_text("Your booking: ").await;
}

#[wasm_bindgen_test]
async fn speaks_spanish_when_asked() {
    let moved_to = upcoming_starts()[1].clone();
    let _adapter = adapter("pending", "", move |_| moved_json(&moved_to, "pending"));
    let widget = choose_new_time(Some("es"), 0).await;
    assert!(widget.text().contains("Su cita: "));
    assert!(widget
        .text()
        .contains("Pendiente de confirmación por la consulta."));
    assert_eq!(
        widget.find(".fs-primary").unwrap().text_content().unwrap(),
        "Cambiar mi cita"
    );
    widget.click(".fs-primary").await;
    widget.until_text("Cita cambiada").await;
}
