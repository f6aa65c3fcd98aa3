//! Browser tests of the steps before the times: the service step (several
//! services, none named) and the clinician step (a group practice), against
//! a test double of the adapter (see `support`).
#![cfg(target_arch = "wasm32")]

mod support;

use support::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::HtmlInputElement;

wasm_bindgen_test_configure!(run_in_browser);

/// A double of the group practice: its slots for any query, and a booking
/// answered as made with `assigned` (the clinician the adapter names).
fn group_adapter(assigned: &'static str) -> FakeAdapter {
    let starts = upcoming_starts();
    FakeAdapter::install(move |sent| {
        if sent.url.contains("/v1/practice") {
            (200, group_practice_json())
        } else if sent.url.contains("clinician=robin") {
            problem(404, "unknown_clinician", None)
        } else if sent.url.contains("/v1/slots") {
            let starts: Vec<&str> = starts.iter().map(String::as_str).collect();
            (200, slots_json(&starts))
        } else {
            let body: firststep_protocol::BookingRequest =
                serde_json::from_str(&sent.body).unwrap();
            let start = body.start.format("%Y-%m-%dT%H:%M:%SZ");
            (
                201,
                format!(
                    r#"{{"id":"bk_AAAAAAAAAAAAAAAA","status":"confirmed","service":"{}","start":"{start}",
                    "end":"{start}","expires_at":null,"manage_token":"t",
                    "clinician":{{"id":"x","name":"{assigned}"}}}}"#,
                    body.service
                ),
            )
        }
    })
}

/// The radios of the step shown: (accessible label, description, checked).
fn options(widget: &Mounted) -> Vec<(String, String, bool)> {
    widget
        .all("fieldset input[type=radio]")
        .into_iter()
        .map(|radio| {
            let radio: HtmlInputElement = radio.unchecked_into();
            let label = widget
                .find(&format!("label[for={}]", radio.id()))
                .map(|l| l.text_content().unwrap())
                .unwrap_or_default();
            let detail = radio
                .get_attribute("aria-describedby")
                .and_then(|id| widget.find(&format!("#{id}")))
                .map(|d| d.text_content().unwrap())
                .unwrap_or_default();
            (label, detail, radio.checked())
        })
        .collect()
}

fn labels(widget: &Mounted) -> Vec<String> {
    options(widget)
        .into_iter()
        .map(|(label, ..)| label)
        .collect()
}

/// The step's question: its fieldset's legend.
fn legend(widget: &Mounted) -> String {
    widget
        .find("fieldset > legend")
        .map(|l| l.text_content().unwrap())
        .unwrap_or_default()
}

/// Whether the widget asked for the times of this query (`service=…&clinician=…`).
fn times_asked(adapter: &FakeAdapter, query: &str) -> bool {
    adapter
        .sent_to("GET", "/v1/slots")
        .iter()
        .any(|sent| sent.url.contains(query))
}

fn submit_label(widget: &Mounted) -> String {
    widget
        .find("button[type=submit]")
        .unwrap()
        .text_content()
        .unwrap()
}

async fn mark_and_continue(widget: &Mounted, nth: usize) {
    widget.all("fieldset input[type=radio]")[nth].click();
    yew::scheduler::flush().await;
    widget.click("form button[type=submit]").await;
}

#[wasm_bindgen_test]
async fn several_services_ask_for_one_then_the_clinician_and_the_booking_carries_the_choice() {
    let adapter = group_adapter("Dana Whitfield");
    let widget = mount_naming(Some("en-US"), None, None);
    widget
        .until("the service step", |w| legend(w) == "Choose a consultation")
        .await;
    assert_eq!(
        options(&widget),
        [
            (
                "Intake call".to_owned(),
                "20 minutes. By phone: the practice will call you. A first talk about what brings you."
                    .to_owned(),
                true
            ),
            (
                "Couples session".to_owned(),
                "50 minutes. In person, at 4 Quay St.".to_owned(),
                false
            ),
        ],
        "each service with its length and how it happens; the first marked"
    );
    assert!(
        widget.find(".fs-time").is_none() && widget.find(".fs-skeleton").is_none(),
        "no times before a service is chosen"
    );
    assert_eq!(
        widget
            .find("[role=status]")
            .unwrap()
            .text_content()
            .unwrap(),
        "",
        "nothing loading is announced"
    );

    // The mark follows the visitor and stays through the render it causes.
    widget.all("fieldset input[type=radio]")[1].click();
    yew::scheduler::flush().await;
    let checked: Vec<bool> = options(&widget).into_iter().map(|(_, _, c)| c).collect();
    assert_eq!(checked, [false, true]);
    widget.click("form button[type=submit]").await;

    widget
        .until("the clinician step", |w| {
            legend(w) == "Who would you like to see?"
        })
        .await;
    assert_eq!(
        options(&widget),
        [
            (
                "First available".to_owned(),
                "Whoever can see you soonest.".to_owned(),
                true
            ),
            (
                "Dana Whitfield (she/her)".to_owned(),
                "Anxiety, grief and life changes.".to_owned(),
                false
            ),
            ("Lee Okafor".to_owned(), String::new(), false),
        ],
        "only those who offer couples sessions; no description without a bio"
    );
    assert_eq!(
        focused_text(),
        "Who would you like to see?",
        "focus moves to the new step's heading"
    );
    assert!(
        widget.text().contains("Couples session"),
        "the title names the service"
    );

    mark_and_continue(&widget, 1).await;
    widget.choose_and_fill(0).await;
    // Before the practice was known, the times without a service (as the
    // loader asks, refused for a practice of several); then only Dana's.
    let slots: Vec<String> = adapter
        .sent_to("GET", "/v1/slots")
        .into_iter()
        .map(|s| s.url)
        .filter(|url| url.contains("service="))
        .collect();
    assert!(
        !slots.is_empty()
            && slots
                .iter()
                .all(|url| url.contains("service=couples&clinician=dana")),
        "only Dana's times are asked for: {slots:?}"
    );
    assert_eq!(
        submit_label(&widget),
        "Book",
        "couples sessions are booked at once, though intake calls wait for the practice"
    );
    widget.click("button[type=submit]").await;
    widget.until_text("Booked").await;

    let posts = adapter.sent_to("POST", "/v1/bookings");
    let body: firststep_protocol::BookingRequest = serde_json::from_str(&posts[0].body).unwrap();
    assert_eq!(
        (body.service.as_str(), body.clinician.as_deref()),
        ("couples", Some("dana"))
    );
    assert!(widget.text().contains("With Dana Whitfield."));
}

#[wasm_bindgen_test]
async fn first_available_asks_for_anyones_times_and_the_success_names_whom_the_adapter_assigned() {
    let adapter = group_adapter("Lee Okafor");
    let widget = mount_naming(Some("en-US"), Some("intake"), None);
    widget
        .until("the clinician step", |w| labels(w).len() == 4)
        .await;
    assert_eq!(
        labels(&widget),
        [
            "First available",
            "Dana Whitfield (she/her)",
            "Lee Okafor",
            "Sam Reyes (they/them)"
        ]
    );
    assert!(
        widget.find(".fs-link-button").is_none(),
        "nothing to go back to: the element names the service"
    );

    widget.click("form button[type=submit]").await;
    widget.choose_and_fill(0).await;
    widget.type_into("#fs-phone", "+1 555 0100").await;
    assert_eq!(
        submit_label(&widget),
        "Send request",
        "intake calls wait for the practice"
    );
    widget.click("button[type=submit]").await;
    widget.until_text("Booked").await;

    let latest_slots = adapter.sent_to("GET", "/v1/slots").pop().unwrap();
    assert!(
        latest_slots.url.contains("service=intake") && !latest_slots.url.contains("clinician"),
        "{}",
        latest_slots.url
    );
    let posts = adapter.sent_to("POST", "/v1/bookings");
    let body: firststep_protocol::BookingRequest = serde_json::from_str(&posts[0].body).unwrap();
    assert_eq!(body.clinician, None, "the adapter assigns one");
    assert!(widget.text().contains("With Lee Okafor."));
}

#[wasm_bindgen_test]
async fn back_leads_from_the_times_to_the_clinician_step_and_on_to_the_service_step() {
    let adapter = group_adapter("Dana Whitfield");
    let widget = mount_naming(Some("en-US"), None, None);
    widget
        .until("the service step", |w| labels(w).len() == 2)
        .await;
    assert!(
        widget.find(".fs-link-button").is_none(),
        "the first step has no Back"
    );
    mark_and_continue(&widget, 0).await;
    widget
        .until("the clinician step", |w| labels(w).len() == 4)
        .await;
    mark_and_continue(&widget, 3).await;
    widget
        .until("Sam's times", |w| w.all(".fs-time").len() == 2)
        .await;
    assert!(times_asked(&adapter, "service=intake&clinician=sam"));

    widget.click(".fs-step > .fs-link-button").await;
    widget
        .until("the clinician step again", |w| labels(w).len() == 4)
        .await;
    assert_eq!(focused_text(), "Who would you like to see?");
    widget.click(".fs-link-button").await;
    widget
        .until("the service step again", |w| {
            legend(w) == "Choose a consultation"
        })
        .await;
    assert_eq!(focused_text(), "Choose a consultation");

    // Another service: its own clinicians, and their times afresh.
    mark_and_continue(&widget, 1).await;
    widget
        .until("the couples clinicians", |w| labels(w).len() == 3)
        .await;
    mark_and_continue(&widget, 2).await;
    widget
        .until("Lee's times", |w| w.all(".fs-time").len() == 2)
        .await;
    assert!(times_asked(&adapter, "service=couples&clinician=lee"));
}

#[wasm_bindgen_test]
async fn an_element_naming_its_clinician_skips_the_step_and_an_unknown_one_is_said_plainly() {
    let adapter = group_adapter("Dana Whitfield");
    let widget = mount_naming(Some("en-US"), None, Some("sam"));
    // Sam offers one service: neither step is shown.
    widget
        .until("Sam's times", |w| w.all(".fs-time").len() == 2)
        .await;
    assert!(widget.find("fieldset").is_none());
    assert!(widget.find(".fs-step > .fs-link-button").is_none());
    assert!(times_asked(&adapter, "service=intake&clinician=sam"));
    drop(widget);

    let widget = mount_naming(Some("en-US"), Some("intake"), Some("robin"));
    let codes = widget.error_codes();
    widget
        .until_text("This booking form is not set up correctly")
        .await;
    assert!(widget.find("fieldset").is_none());
    // The adapter's refusal of the times reaches the page, even though the
    // practice, arriving first or not, already told the widget.
    widget
        .until("the page told", |_| !codes.heard().is_empty())
        .await;
    assert_eq!(codes.heard(), ["unknown_clinician"]);
    drop(widget);

    let widget = mount_naming(Some("es-ES"), Some("couples"), None);
    widget
        .until("the clinician step in Spanish", |w| {
            legend(w) == "¿Con quién desea su cita?"
        })
        .await;
    assert_eq!(labels(&widget)[0], "Primera persona disponible");
    assert_eq!(
        widget
            .find("form button[type=submit]")
            .unwrap()
            .text_content()
            .unwrap(),
        "Continuar"
    );
}

#[wasm_bindgen_test]
async fn a_practice_without_clinicians_shows_no_step_and_sends_no_clinician() {
    // The one-service practice of the other tests, named by the element: as before.
    let starts = upcoming_starts();
    let adapter = FakeAdapter::install(move |sent| {
        if sent.url.contains("/v1/practice") {
            (200, practice_json("optional"))
        } else {
            let starts: Vec<&str> = starts.iter().map(String::as_str).collect();
            (200, slots_json(&starts))
        }
    });
    let widget = mount(Some("en-US"));
    widget
        .until("the times", |w| w.all(".fs-time").len() == 2)
        .await;
    assert!(widget.find("fieldset").is_none());
    assert!(
        widget.find(".fs-step > .fs-link-button").is_none(),
        "no Back"
    );
    assert!(adapter
        .sent_to("GET", "/v1/slots")
        .iter()
        .all(|s| !s.url.contains("clinician")));
}
