//! Browser tests: the widget in real headless Chromium, talking to a test
//! double of the adapter (see `support`). Every visitor state is visited.
#![cfg(target_arch = "wasm32")]

mod support;

use std::cell::Cell;
use std::rc::Rc;

use support::*;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;
use web_sys::Response;

wasm_bindgen_test_configure!(run_in_browser);

/// A double that serves a practice and upcoming slots, and answers bookings with `booking`.
fn adapter(booking: impl Fn(&Sent) -> Answer + 'static) -> FakeAdapter {
    let starts = upcoming_starts();
    FakeAdapter::install(move |sent| {
        if sent.url.contains("/v1/practice") {
            (200, practice_json("optional"))
        } else if sent.url.contains("/v1/slots") {
            let starts: Vec<&str> = starts.iter().map(String::as_str).collect();
            (200, slots_json(&starts))
        } else {
            booking(sent)
        }
    })
}

fn created_json(status: &str) -> Answer {
    let start: chrono::DateTime<chrono::Utc> = upcoming_starts()[1].parse().unwrap();
    let end = start + chrono::Duration::minutes(15);
    let iso = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let body = format!(
        r#"{{"id":"bk_AAAAAAAAAAAAAAAA","status":"{status}","service":"free-consultation","start":"{}",
        "end":"{}","expires_at":null,"manage_token":"tok/en"}}"#,
        iso(start),
        iso(end)
    );
    (201, body)
}

/// Mounted, slots shown, the second time of the first day chosen, form filled in.
async fn ready_form(fake_locale: Option<&str>) -> Mounted {
    let widget = mount(fake_locale);
    widget.choose_and_fill(1).await;
    widget
}

#[wasm_bindgen_test]
async fn shows_a_skeleton_and_announces_loading_before_slots_arrive() {
    let _adapter = adapter(|_| (500, String::new()));
    let widget = mount(None);
    yew::scheduler::flush().await;
    assert!(widget.find(".fs-skeleton").is_some());
    assert!(widget
        .find("[role=status]")
        .unwrap()
        .text_content()
        .unwrap()
        .contains("Loading available times"));
}

#[wasm_bindgen_test]
async fn groups_slots_by_the_visitors_day_with_full_accessible_names() {
    let _adapter = adapter(|_| (500, String::new()));
    let widget = mount(Some("en-US"));
    widget
        .until("time buttons", |w| w.all(".fs-time").len() == 2)
        .await;

    let days = widget.all(".fs-day");
    assert_eq!(days.len(), 2);
    assert_eq!(
        days[0].get_attribute("aria-pressed").as_deref(),
        Some("true")
    );
    assert!(widget.text().contains("Times are shown in your time zone"));
    // The accessible name: the visible time first, then the date and zone.
    let label = widget.all(".fs-time")[0]
        .get_attribute("aria-label")
        .unwrap();
    let visitor_zone = browser_zone();
    assert!(label.contains("day, "), "a full date in {label}");
    assert!(
        label.contains("Time") || label.contains("UTC"),
        "the zone in words in {label}"
    );
    assert_eq!(
        label.contains("for the practice"),
        visitor_zone != "America/New_York",
        "{label}"
    );

    days[1].click();
    widget
        .until("the second day", |w| {
            w.all(".fs-day")[1].get_attribute("aria-pressed").as_deref() == Some("true")
        })
        .await;
}

/// A double that serves the practice in `zone` and slots at `starts`.
fn adapter_with(zone: &str, starts: Vec<String>) -> FakeAdapter {
    let practice = practice_json_in(zone, "optional");
    FakeAdapter::install(move |sent| {
        if sent.url.contains("/v1/practice") {
            (200, practice.clone())
        } else {
            let starts: Vec<&str> = starts.iter().map(String::as_str).collect();
            (200, slots_json(&starts))
        }
    })
}

/// Each part of the day shown: its heading, and the times of the list under it.
fn parts_shown(widget: &Mounted) -> Vec<(String, Vec<String>)> {
    widget
        .all("ul.fs-times")
        .iter()
        .map(|list| {
            let heading = list.previous_element_sibling().unwrap();
            assert_eq!(heading.tag_name(), "H4", "each list under its heading");
            let times = list.query_selector_all(".fs-time").unwrap();
            let times = (0..times.length())
                .map(|i| {
                    times
                        .get(i)
                        .unwrap()
                        .first_child()
                        .unwrap()
                        .text_content()
                        .unwrap()
                })
                .collect();
            (heading.text_content().unwrap(), times)
        })
        .collect()
}

#[wasm_bindgen_test]
async fn a_days_times_are_grouped_into_morning_afternoon_and_evening_each_a_named_list() {
    // Tomorrow in all three parts of the visitor's day, the day after in the afternoon only.
    let mut starts = local_starts(1, &[(9, 0), (11, 45), (12, 0), (16, 45), (17, 0), (20, 30)]);
    starts.extend(local_starts(2, &[(13, 0), (14, 0)]));
    let _adapter = adapter_with("America/New_York", starts);
    let widget = mount(Some("en-US"));
    widget
        .until("time buttons", |w| w.all(".fs-time").len() == 6)
        .await;

    let shown = parts_shown(&widget);
    let strings = |times: &[&str]| times.iter().map(|t| t.to_string()).collect::<Vec<_>>();
    assert_eq!(
        shown,
        [
            ("Morning".to_owned(), strings(&["9:00 AM", "11:45 AM"])),
            ("Afternoon".to_owned(), strings(&["12:00 PM", "4:45 PM"])),
            ("Evening".to_owned(), strings(&["5:00 PM", "8:30 PM"])),
        ]
    );
    // Every time is a button in the Tab order, in the day's order.
    assert!(widget
        .all(".fs-time")
        .iter()
        .all(|b| b.tag_name() == "BUTTON" && b.tab_index() == 0));

    widget.all(".fs-day")[1].click();
    widget
        .until("the second day", |w| w.all(".fs-time").len() == 2)
        .await;
    assert_eq!(
        parts_shown(&widget),
        [("Afternoon".to_owned(), strings(&["1:00 PM", "2:00 PM"]))]
    );
    drop(widget);

    let widget = mount(Some("es-ES"));
    widget
        .until("time buttons", |w| w.all(".fs-time").len() == 6)
        .await;
    let headings: Vec<String> = parts_shown(&widget).into_iter().map(|(h, _)| h).collect();
    assert_eq!(headings, ["Mañana", "Tarde", "Noche"]);
}

/// The visible text of each time button, and its accessible name.
fn time_buttons(widget: &Mounted) -> Vec<(String, String)> {
    widget
        .all(".fs-time")
        .iter()
        .map(|button| {
            let name = button.get_attribute("aria-label").unwrap_or_default();
            (button.text_content().unwrap(), name)
        })
        .collect()
}

#[wasm_bindgen_test]
async fn the_practices_time_is_named_on_each_time_but_shown_once_for_the_chosen_one() {
    let visitor = browser_zone();
    let practice = if visitor == "Asia/Tokyo" {
        "America/New_York"
    } else {
        "Asia/Tokyo"
    };
    let starts = local_starts(1, &[(9, 0), (13, 30), (18, 15)]);
    let _adapter = adapter_with(practice, starts.clone());
    let widget = mount(Some("en-US"));
    widget
        .until("time buttons", |w| w.all(".fs-time").len() == 3)
        .await;

    for ((shown, name), start) in time_buttons(&widget).iter().zip(&starts) {
        // Shown: the visitor's time alone, so four fit in a row on a phone.
        assert_eq!(*shown, clock_in(&visitor, start));
        // Named: the time, the date, the visitor's zone, the practice's time.
        let practice_time = format!("{} for the practice", clock_in(practice, start));
        assert!(name.starts_with(&format!("{shown}, ")), "{name}");
        assert!(name.contains("day, "), "a full date in {name}");
        assert!(
            name.contains("Time") || name.contains("UTC"),
            "the zone in {name}"
        );
        assert!(name.ends_with(&format!(", {practice_time}")), "{name}");
    }

    widget.all(".fs-time")[1].click();
    widget
        .until("the form", |w| w.find("#fs-name").is_some())
        .await;
    let chosen = widget
        .find(".fs-chosen strong")
        .unwrap()
        .text_content()
        .unwrap();
    let practice_time = format!("{} for the practice", clock_in(practice, &starts[1]));
    assert!(chosen.contains(&clock_in(&visitor, &starts[1])), "{chosen}");
    assert!(chosen.ends_with(&practice_time), "{chosen}");
    assert_eq!(
        widget.text().matches("for the practice").count(),
        1,
        "{}",
        widget.text()
    );
}

#[wasm_bindgen_test]
async fn the_practices_time_is_never_said_when_its_clock_reads_as_the_visitors() {
    books_without_the_practices_time(&browser_zone(), "en-US").await;
}

#[wasm_bindgen_test]
async fn a_locale_or_practice_zone_the_browser_refuses_still_books() {
    // `Intl` throws a RangeError for both; the widget must neither stall on
    // its placeholder nor freeze on the times, and guesses no practice time.
    books_without_the_practices_time("Mars/Olympus_Mons", "en_US").await;
}

/// A practice in `zone` shows its times in `locale`, each named without
/// the practice's time, and the chosen one leads to the form without it.
async fn books_without_the_practices_time(zone: &str, locale: &str) {
    let starts = local_starts(1, &[(9, 0), (13, 30)]);
    let _adapter = adapter_with(zone, starts);
    let widget = mount(Some(locale));
    widget
        .until("time buttons", |w| w.all(".fs-time").len() == 2)
        .await;
    for (shown, name) in time_buttons(&widget) {
        assert!(name.starts_with(&format!("{shown}, ")), "{name}");
        assert!(!name.contains("practice"), "{name}");
    }
    widget.all(".fs-time")[1].click();
    widget
        .until("the form", |w| w.find("#fs-name").is_some())
        .await;
    assert!(
        !widget.text().contains("for the practice"),
        "{}",
        widget.text()
    );
}

#[wasm_bindgen_test]
async fn the_form_asks_only_for_what_the_practice_wants_and_checks_before_sending() {
    let adapter = adapter(|_| created_json("pending"));
    let widget = mount(None);
    widget.choose_time(0).await;

    assert!(
        widget.find("#fs-phone").is_some(),
        "phone is optional here, so shown"
    );
    assert!(
        widget.find("#fs-note").is_none(),
        "notes are hidden by the practice"
    );
    assert!(widget.text().contains("If you are in crisis, call 988."));
    let honeypot = widget.find(".fs-honeypot").unwrap();
    assert_eq!(
        honeypot.get_attribute("aria-hidden").as_deref(),
        Some("true")
    );
    assert_eq!(widget.find("input[name=website]").unwrap().tab_index(), -1);
    let active = document().active_element().unwrap();
    assert_eq!(
        active.text_content().as_deref(),
        Some("Your details"),
        "focus moved to the form"
    );

    widget.type_into("#fs-email", "sam@").await;
    widget.click("button[type=submit]").await;

    let errors: Vec<String> = widget
        .all(".fs-error")
        .iter()
        .map(|e| e.text_content().unwrap())
        .collect();
    assert_eq!(
        errors,
        [
            "Please enter your name.",
            "Please enter an email address like name@example.org.",
            "Please agree so the practice can contact you."
        ]
    );
    assert_eq!(
        widget
            .find("#fs-name")
            .unwrap()
            .get_attribute("aria-invalid")
            .as_deref(),
        Some("true")
    );
    assert_eq!(
        document().active_element().unwrap().id(),
        "fs-name",
        "focus on the first field to fix"
    );
    assert!(
        adapter.sent_to("POST", "/v1/bookings").is_empty(),
        "nothing was sent"
    );
}

#[wasm_bindgen_test]
async fn a_request_is_sent_once_and_confirmed_with_a_calendar_link() {
    let adapter = adapter(|_| created_json("pending"));
    let bookings = Rc::new(Cell::new(0));
    let seen = bookings.clone();
    let widget = ready_form(None).await;
    let listener = wasm_bindgen::closure::Closure::<dyn Fn(web_sys::CustomEvent)>::new(
        move |event: web_sys::CustomEvent| {
            let detail = js_sys::JSON::stringify(&event.detail())
                .unwrap()
                .as_string()
                .unwrap();
            assert!(
                !detail.contains("Sam") && !detail.contains("example.org"),
                "no personal data: {detail}"
            );
            assert!(detail.contains("bk_AAAAAAAAAAAAAAAA"));
            seen.set(seen.get() + 1);
        },
    );
    widget
        .root
        .add_event_listener_with_callback("firststep:booking", listener.as_ref().unchecked_ref())
        .unwrap();

    widget.click("button[type=submit]").await;
    widget.until_text("Request sent").await;

    let posts = adapter.sent_to("POST", "/v1/bookings");
    assert_eq!(posts.len(), 1);
    // Read as the adapter reads it: serde, unknown fields refused.
    let body: firststep_protocol::BookingRequest = serde_json::from_str(&posts[0].body).unwrap();
    assert_eq!(body.client.name, "Sam Lee");
    let chosen: chrono::DateTime<chrono::Utc> = upcoming_starts()[1].parse().unwrap();
    assert_eq!(body.start, chosen);
    assert!(body.consent);
    assert_eq!(body.website, "");
    assert!(
        body.locale.is_some_and(|l| !l.is_empty()),
        "the visitor's language, for their emails"
    );
    assert!(posts[0]
        .idempotency_key
        .as_ref()
        .is_some_and(|k| k.len() >= 16));
    assert!(widget
        .text()
        .contains("The practice will confirm by email."));
    let link = widget
        .find("a[download]")
        .unwrap()
        .get_attribute("href")
        .unwrap();
    assert_eq!(
        link,
        "https://adapter.test/v1/bookings/bk_AAAAAAAAAAAAAAAA/calendar.ics?token=tok%2Fen"
    );
    // The same time for Google Calendar and Outlook: no token, no name, no referrer.
    let (start, end) = (
        chosen.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        (chosen + chrono::Duration::minutes(15))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string(),
    );
    let title = "Free%2015-minute%20consultation%20%E2%80%94%20Riverside%20Counselling";
    let compact = |t: &str| t.replace(['-', ':'], "");
    for (name, href) in [
        (
            "Add to Google Calendar",
            format!(
                "https://calendar.google.com/calendar/render?action=TEMPLATE&text={title}&dates={}/{}",
                compact(&start),
                compact(&end)
            ),
        ),
        (
            "Add to Outlook",
            format!(
                "https://outlook.live.com/calendar/0/action/compose?rru=addevent&subject={title}&startdt={start}&enddt={end}"
            ),
        ),
    ] {
        let link = widget
            .find(&format!("a[href=\"{href}\"]"))
            .unwrap_or_else(|| panic!("{name}: {href}"));
        assert_eq!(link.text_content().unwrap().trim(), name);
        assert_eq!(link.get_attribute("rel").unwrap(), "noopener noreferrer");
    }
    assert_eq!(bookings.get(), 1);
}

#[wasm_bindgen_test]
async fn an_instant_booking_says_booked() {
    let _adapter = adapter(|_| created_json("confirmed"));
    let widget = ready_form(None).await;
    widget.click("button[type=submit]").await;
    widget.until_text("Booked").await;
    assert!(widget.text().contains("Your consultation is booked."));
}

#[wasm_bindgen_test]
async fn a_slot_taken_meanwhile_is_said_refreshed_and_the_form_kept() {
    let adapter = adapter(|_| problem(409, "slot_unavailable", None));
    let widget = ready_form(None).await;
    let slot_fetches = adapter.sent_to("GET", "/v1/slots").len();

    widget.click("button[type=submit]").await;
    widget.until_text("that time was just taken").await;

    assert!(widget.find("[role=alert]").is_some());
    widget
        .until("a fresh slot list", |_| {
            adapter.sent_to("GET", "/v1/slots").len() > slot_fetches
        })
        .await;
    widget.choose_time(0).await;
    let name: web_sys::HtmlInputElement = widget.find("#fs-name").unwrap().unchecked_into();
    assert_eq!(name.value(), "Sam Lee", "the visitor's details are kept");
}

#[wasm_bindgen_test]
async fn the_last_time_of_a_day_taken_meanwhile_is_said_too() {
    let starts = upcoming_starts();
    let one_a_day = [starts[0].clone(), starts[2].clone()];
    let _adapter = FakeAdapter::install(move |sent| {
        if sent.url.contains("/v1/practice") {
            (200, practice_json("optional"))
        } else if sent.url.contains("/v1/slots") {
            (200, slots_json(&[&one_a_day[0], &one_a_day[1]]))
        } else {
            problem(409, "slot_unavailable", None)
        }
    });
    let widget = mount(None);
    widget.choose_and_fill(0).await;

    widget.click("button[type=submit]").await;
    widget.until_text("that time was just taken").await;
    widget
        .until("the times again", |w| !w.all(".fs-time").is_empty())
        .await;
}

#[wasm_bindgen_test]
async fn a_network_failure_offers_a_retry_with_the_same_key() {
    let attempts = Rc::new(Cell::new(0));
    let count = attempts.clone();
    let adapter = adapter(move |_| {
        count.set(count.get() + 1);
        if count.get() == 1 {
            (0, String::new())
        } else {
            created_json("pending")
        }
    });
    let widget = ready_form(None).await;

    widget.click("button[type=submit]").await;
    widget
        .until_text("couldn't reach the booking service")
        .await;
    widget.click("button[type=submit]").await;
    widget.until_text("Request sent").await;

    let keys: Vec<Option<String>> = adapter
        .sent_to("POST", "/v1/bookings")
        .into_iter()
        .map(|s| s.idempotency_key)
        .collect();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0], keys[1], "a retry can never book twice");
}

#[wasm_bindgen_test]
async fn the_adapters_field_problem_is_shown_beside_its_field() {
    let _adapter = adapter(|_| problem(422, "invalid_field", Some("client.email")));
    let widget = ready_form(None).await;
    widget.click("button[type=submit]").await;
    widget
        .until("an error at the email field", |w| {
            w.find("#fs-email-error").is_some()
        })
        .await;
    assert_eq!(
        widget
            .find("#fs-email")
            .unwrap()
            .get_attribute("aria-invalid")
            .as_deref(),
        Some("true")
    );
}

#[wasm_bindgen_test]
async fn rate_limiting_asks_the_visitor_to_wait() {
    let _adapter = adapter(|_| problem(429, "rate_limited", None));
    let widget = ready_form(None).await;
    widget.click("button[type=submit]").await;
    widget.until_text("Please wait a minute").await;
}

#[wasm_bindgen_test]
async fn no_slots_offers_the_next_open_day() {
    let tomorrow: chrono::NaiveDate = upcoming_starts()[0][..10].parse().unwrap();
    let later = format!("{}T15:00:00Z", tomorrow + chrono::Duration::days(20));
    let calls = Rc::new(Cell::new(0));
    let count = calls.clone();
    let adapter = FakeAdapter::install(move |sent| {
        if sent.url.contains("/v1/practice") {
            return (200, practice_json("optional"));
        }
        count.set(count.get() + 1);
        match count.get() {
            1 => (200, slots_json(&[])),
            _ => (200, slots_json(&[&later])),
        }
    });
    let widget = mount(None);

    widget
        .until_text("There are no open times in these two weeks.")
        .await;
    widget.until_text("The next open day is").await;
    let button = widget.all(".fs-empty button");
    assert_eq!(button.len(), 1);
    button[0].click();
    widget
        .until("the later day's times", |w| w.all(".fs-time").len() == 1)
        .await;
    assert_eq!(adapter.sent_to("GET", "/v1/slots").len(), 3);
}

#[wasm_bindgen_test]
async fn an_unreachable_adapter_offers_a_retry_that_recovers() {
    let online = Rc::new(Cell::new(false));
    let up = online.clone();
    let starts = upcoming_starts();
    let _adapter =
        FakeAdapter::install(
            move |sent| match (up.get(), sent.url.contains("/v1/practice")) {
                (false, _) => (0, String::new()),
                (true, true) => (200, practice_json("optional")),
                (true, false) => (
                    200,
                    slots_json(&starts.iter().map(String::as_str).collect::<Vec<_>>()),
                ),
            },
        );
    let widget = mount(None);

    widget
        .until_text("couldn't reach the booking service")
        .await;
    online.set(true);
    widget.click(".fs-problem button").await;

    widget
        .until("time buttons", |w| !w.all(".fs-time").is_empty())
        .await;
    // The visitor asked for it: focus goes to the step that came, not lost
    // with the button.
    let focused = document()
        .active_element()
        .map(|e| e.class_name())
        .unwrap_or_default();
    assert!(focused.contains("fs-step-heading"), "{focused:?}");
}

#[wasm_bindgen_test]
async fn speaks_spanish_when_asked() {
    let _adapter = adapter(|_| created_json("pending"));
    let widget = mount(Some("es-ES"));
    widget
        .until("time buttons", |w| !w.all(".fs-time").is_empty())
        .await;
    assert!(widget.text().contains("Elija un horario"));
    widget.all(".fs-time")[0].click();
    widget.until_text("Enviar solicitud").await;
    assert!(widget.text().contains("Correo electrónico"));
}

#[wasm_bindgen_test]
async fn the_custom_element_renders_in_its_shadow_root_and_follows_its_attributes() {
    let adapter = adapter(|_| created_json("pending"));
    define_element();
    let element = document().create_element("firststep-booking").unwrap();
    element
        .set_attribute("api", "https://adapter.test/")
        .unwrap();
    element
        .set_attribute("service", "free-consultation")
        .unwrap();
    element.set_attribute("locale", "en").unwrap();
    document().body().unwrap().append_child(&element).unwrap();
    // In view, it starts on the observer's next round.
    eventually(
        "an open shadow root",
        || element.shadow_root().is_some(),
        String::new,
    )
    .await;
    let shadow = element.shadow_root().unwrap();
    let text = || shadow.text_content().unwrap_or_default();

    eventually("the widget", || text().contains("Choose a time"), text).await;
    assert!(
        document()
            .body()
            .unwrap()
            .text_content()
            .unwrap()
            .find("Choose a time")
            .is_none(),
        "nothing leaks into the page"
    );

    element.set_attribute("locale", "es").unwrap();
    eventually("Spanish", || text().contains("Elija un horario"), text).await;

    // A manage link set later is another visit: that booking is asked for.
    element
        .set_attribute("manage", "bk_AAAAAAAAAAAAAAAA.token")
        .unwrap();
    let asked = || adapter.sent_to("GET", "/v1/bookings/bk_AAAAAAAAAAAAAAAA");
    eventually("the booking asked for", || !asked().is_empty(), text).await;
    assert_eq!(asked()[0].authorization.as_deref(), Some("Bearer token"));

    element.remove();
    yew::scheduler::flush().await;
    assert_eq!(text(), "", "removing the element tears the widget down");
}

#[wasm_bindgen_test]
async fn several_elements_on_one_page_work_independently() {
    let _adapter = adapter(|_| created_json("pending"));
    define_element();
    let make = |locale: &str| {
        let element = document().create_element("firststep-booking").unwrap();
        element
            .set_attribute("api", "https://adapter.test")
            .unwrap();
        element.set_attribute("locale", locale).unwrap();
        document().body().unwrap().append_child(&element).unwrap();
        element
    };
    let (english, spanish) = (make("en"), make("es"));
    let text = shadow_text;
    let both =
        || text(&english).contains("Choose a time") && text(&spanish).contains("Elija un horario");
    eventually("both widgets", both, || {
        format!("{} | {}", text(&english), text(&spanish))
    })
    .await;

    // Choosing a time in one leaves the other on its times.
    let has_times = || {
        english
            .shadow_root()
            .unwrap()
            .query_selector(".fs-time")
            .unwrap()
            .is_some()
    };
    eventually("times in the first", has_times, || text(&english)).await;
    let first_time: web_sys::HtmlElement = english
        .shadow_root()
        .unwrap()
        .query_selector(".fs-time")
        .unwrap()
        .unwrap()
        .unchecked_into();
    first_time.click();
    eventually(
        "the form in the first",
        || text(&english).contains("Your details"),
        || text(&english),
    )
    .await;
    assert!(
        !text(&spanish).contains("Sus datos"),
        "the second widget did not move"
    );

    english.remove();
    spanish.remove();
}

#[wasm_bindgen_test]
async fn the_page_hears_each_step_as_an_event_without_personal_data() {
    let _adapter = adapter(|_| problem(409, "slot_unavailable", None));
    let heard = std::rc::Rc::new(std::cell::RefCell::new(Vec::<(String, String)>::new()));
    let widget = mount(None);
    let mut listeners = Vec::new();
    for name in [
        "firststep:slots-loaded",
        "firststep:slot-selected",
        "firststep:error",
    ] {
        let heard = heard.clone();
        let listener = wasm_bindgen::closure::Closure::<dyn Fn(web_sys::CustomEvent)>::new(
            move |event: web_sys::CustomEvent| {
                assert!(
                    event.bubbles() && event.composed(),
                    "{} leaves the shadow root",
                    event.type_()
                );
                let detail = js_sys::JSON::stringify(&event.detail())
                    .unwrap()
                    .as_string()
                    .unwrap();
                heard.borrow_mut().push((event.type_(), detail));
            },
        );
        widget
            .root
            .add_event_listener_with_callback(name, listener.as_ref().unchecked_ref())
            .unwrap();
        listeners.push(listener);
    }

    widget.choose_and_fill(0).await;
    widget.click("button[type=submit]").await;
    widget.until_text("that time was just taken").await;

    let heard = heard.borrow();
    let names: Vec<&str> = heard.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        &names[..3],
        [
            "firststep:slots-loaded",
            "firststep:slot-selected",
            "firststep:error"
        ]
    );
    assert_eq!(heard[0].1, r#"{"count":4}"#);
    assert!(heard[1].1.contains(r#""start":"#));
    assert_eq!(heard[2].1, r#"{"code":"slot_unavailable"}"#);
    for (_, detail) in heard.iter() {
        assert!(
            !detail.contains("Sam") && !detail.contains("example.org"),
            "no personal data: {detail}"
        );
    }
}

/// A `<firststep-booking>` with `api` and `service` set, not yet on the page.
fn booking_element() -> web_sys::Element {
    let element = document().create_element("firststep-booking").unwrap();
    element
        .set_attribute("api", "https://adapter.test/")
        .unwrap();
    element
        .set_attribute("service", "free-consultation")
        .unwrap();
    element
}

fn shadow_text(element: &web_sys::Element) -> String {
    element
        .shadow_root()
        .and_then(|shadow| shadow.text_content())
        .unwrap_or_default()
}

/// A new `api` attribute is a new adapter: its practice is asked for, though
/// the last one's is on screen.
#[wasm_bindgen_test]
async fn a_new_adapter_is_asked_for_its_own_practice() {
    let starts = upcoming_starts();
    let _adapter = FakeAdapter::install(move |sent| {
        let starts: Vec<&str> = starts.iter().map(String::as_str).collect();
        if sent.url.contains("/v1/slots") {
            (200, slots_json(&starts))
        } else if sent.url.starts_with("https://other.test/") {
            let practice = practice_json("optional");
            (
                200,
                practice.replace("Free 15-minute consultation", "Intake call"),
            )
        } else {
            (200, practice_json("optional"))
        }
    });
    define_element();
    let element = booking_element();
    document().body().unwrap().append_child(&element).unwrap();
    let text = || shadow_text(&element);
    eventually(
        "the first adapter's service",
        || text().contains("Free 15-minute consultation"),
        text,
    )
    .await;

    element.set_attribute("api", "https://other.test/").unwrap();
    eventually(
        "the new adapter's service",
        || text().contains("Intake call"),
        text,
    )
    .await;
    element.remove();
}

/// What the loader (js/firststep.js) leaves on an element it asked for
/// early, its window opened `minutes_ago` minutes before the start of this
/// one: its answers (URL → promise) and that instant. Returns the slots URL
/// it asked for.
fn leave_loader_answers(
    element: &web_sys::Element,
    answers: &js_sys::Object,
    minutes_ago: f64,
) -> String {
    let now = js_sys::Date::now();
    let opened = now - now % 60_000.0 - minutes_ago * 60_000.0;
    let iso = |ms: f64| {
        let text = String::from(js_sys::Date::new(&ms.into()).to_iso_string());
        text.replace(".000Z", "Z")
    };
    js_sys::Reflect::set(element, &"firststepEarly".into(), answers).unwrap();
    js_sys::Reflect::set(element, &"firststepOpened".into(), &opened.into()).unwrap();
    format!(
        "https://adapter.test/v1/slots?from={}&to={}&service=free-consultation",
        iso(opened),
        iso(opened + 14.0 * 86_400_000.0)
    )
}

/// The practice and the first slots are drawn in one render: the practice's
/// answer alone leaves the placeholder as it is (no title and no pager drawn
/// over it, to move again when the times come).
#[wasm_bindgen_test]
async fn the_practice_is_drawn_together_with_the_first_slots() {
    let _adapter = adapter(|_| created_json("pending"));
    define_element();
    let element = booking_element();
    let answers = js_sys::Object::new();
    let slots_url = leave_loader_answers(&element, &answers, 0.0);
    let practice = Response::new_with_opt_str(Some(&practice_json("optional"))).unwrap();
    let practice = js_sys::Promise::resolve(&practice);
    js_sys::Reflect::set(
        &answers,
        &"https://adapter.test/v1/practice".into(),
        &practice,
    )
    .unwrap();
    let mut release = None;
    let slots = js_sys::Promise::new(&mut |resolve, _| release = Some(resolve));
    js_sys::Reflect::set(&answers, &slots_url.into(), &slots).unwrap();
    document().body().unwrap().append_child(&element).unwrap();

    let shadow = element.shadow_root().unwrap();
    let shown = |selector: &str| shadow.query_selector(selector).unwrap().is_some();
    for _ in 0..10 {
        yew::scheduler::flush().await;
        next_task().await;
    }
    let text = shadow_text(&element);
    assert!(
        shown(".fs-skeleton") && !shown(".fs-pager"),
        "the placeholder alone while the slots are on their way: {text}"
    );
    assert!(
        !text.contains("Free 15-minute consultation"),
        "the practice drawn before the slots: {text}"
    );

    let starts = upcoming_starts();
    let body = slots_json(&[starts[0].as_str()]);
    let slots = Response::new_with_opt_str(Some(&body)).unwrap();
    release.unwrap().call1(&JsValue::NULL, &slots).unwrap();
    eventually(
        "the practice's service and its one time",
        || shown(".fs-time") && shadow_text(&element).contains("Free 15-minute consultation"),
        || shadow_text(&element),
    )
    .await;
    element.remove();
}

/// The loader (js/firststep.js) asks for the practice and the first slots
/// while the wasm downloads and leaves the answers on the element: the
/// widget takes them instead of asking again, its window opening where the
/// loader's did (so the URLs are the same).
#[wasm_bindgen_test]
async fn answers_the_loader_asked_for_are_taken_instead_of_asking_again() {
    loader_answers_are_taken(0.0, None).await;
}

/// A phone may take longer than the rest of the minute to download the
/// wasm: the widget still opens its window in the loader's minute, and
/// takes its answers.
#[wasm_bindgen_test]
async fn answers_the_loader_asked_for_before_the_minute_turned_are_taken_all_the_same() {
    loader_answers_are_taken(1.0, None).await;
}

/// A page's script may leave anything where the loader leaves its minute:
/// what is not one is passed over (the window opens at this minute), and
/// asks nothing more. (A NaN kept as it was made the client unequal to
/// itself, so the effect keyed by it asked again on every render.)
#[wasm_bindgen_test]
async fn a_loader_minute_that_is_not_a_time_is_passed_over() {
    // The widget opens at this minute: it must not turn meanwhile.
    while js_sys::Date::now() % 60_000.0 > 59_000.0 {
        next_task().await;
    }
    loader_answers_are_taken(0.0, Some(f64::NAN)).await;
}

/// The loader's answers left on an element, its window opened `minutes_ago`
/// minutes back (the instant left replaced by `left_instead`, if given), are
/// taken, and nothing is asked of the network.
async fn loader_answers_are_taken(minutes_ago: f64, left_instead: Option<f64>) {
    let adapter = adapter(|_| created_json("pending"));
    define_element();
    let starts = upcoming_starts();
    let starts: Vec<&str> = starts.iter().map(String::as_str).collect();
    let answer = |body: String| {
        let response = Response::new_with_opt_str(Some(&body)).unwrap();
        JsValue::from(js_sys::Promise::resolve(&response))
    };
    let element = booking_element();
    let answers = js_sys::Object::new();
    let slots_url = leave_loader_answers(&element, &answers, minutes_ago);
    let add = |url: &str, body| js_sys::Reflect::set(&answers, &url.into(), &answer(body)).unwrap();
    add(
        "https://adapter.test/v1/practice",
        practice_json("optional"),
    );
    add(&slots_url, slots_json(&starts[..1]));
    if let Some(instant) = left_instead {
        js_sys::Reflect::set(&element, &"firststepOpened".into(), &instant.into()).unwrap();
    }
    document().body().unwrap().append_child(&element).unwrap();

    let one_time = || {
        element
            .shadow_root()
            .map(|shadow| shadow.query_selector_all(".fs-time").unwrap().length())
            == Some(1)
    };
    eventually("the loader's one slot", one_time, || shadow_text(&element)).await;
    for _ in 0..10 {
        yew::scheduler::flush().await;
        next_task().await;
    }
    assert!(
        adapter.sent_to("GET", "/v1/").is_empty(),
        "asked again: {:?}",
        adapter.sent.borrow()
    );
    assert_eq!(
        js_sys::Object::keys(&answers).length(),
        0,
        "both answers taken"
    );
    for left in ["firststepEarly", "firststepOpened"] {
        assert!(
            js_sys::Reflect::get(&element, &left.into())
                .unwrap()
                .is_undefined(),
            "{left} taken once: a widget mounted again asks afresh"
        );
    }
    element.remove();
}

/// Below the fold a widget costs nothing until it comes about a screen from view.
#[wasm_bindgen_test]
async fn a_widget_far_below_the_fold_starts_only_when_it_comes_near_view() {
    let adapter = adapter(|_| created_json("pending"));
    define_element();
    let spacer = document().create_element("div").unwrap();
    spacer.set_attribute("style", "height: 500vh").unwrap();
    let element = booking_element();
    let body = document().body().unwrap();
    body.append_child(&spacer).unwrap();
    body.append_child(&element).unwrap();

    // The observer has judged it after a frame or two; nothing may start.
    for _ in 0..3 {
        next_frame().await;
        yew::scheduler::flush().await;
    }
    assert!(element.shadow_root().is_none(), "started while far away");
    assert!(
        adapter.sent.borrow().is_empty(),
        "asked for data while far away"
    );

    element.scroll_into_view();
    let started = || shadow_text(&element).contains("Choose a time");
    eventually("the widget, once in view", started, || {
        shadow_text(&element)
    })
    .await;
    spacer.remove();
    element.remove();
    window().scroll_to_with_x_and_y(0.0, 0.0);
}

/// A double whose practice meets as `meeting` says, and answers bookings with `booking`.
fn adapter_meeting(meeting: &'static str, booking: Answer) -> FakeAdapter {
    let starts = upcoming_starts();
    FakeAdapter::install(move |sent| {
        if sent.url.contains("/v1/practice") {
            (200, practice_meeting_json("optional", meeting))
        } else if sent.url.contains("/v1/slots") {
            let starts: Vec<&str> = starts.iter().map(String::as_str).collect();
            (200, slots_json(&starts))
        } else {
            booking.clone()
        }
    })
}

/// The practice calls: the visitor is told so before sending, the number is
/// required (the form's "optional" notwithstanding), and afterwards the
/// success screen says which number will ring.
#[wasm_bindgen_test]
async fn a_consultation_by_phone_asks_for_the_number_and_says_it_will_ring() {
    let adapter = adapter_meeting(r#""location":"phone""#, created_json("pending"));
    let widget = ready_form(None).await;
    assert!(
        widget
            .text()
            .contains("By phone: the practice will call you."),
        "{}",
        widget.text()
    );
    widget.click("button[type=submit]").await;
    yew::scheduler::flush().await;
    assert!(
        adapter.sent_to("POST", "/v1/bookings").is_empty(),
        "sent without a number"
    );
    assert_eq!(
        widget
            .find("#fs-phone")
            .unwrap()
            .get_attribute("aria-invalid")
            .as_deref(),
        Some("true")
    );
    widget.type_into("#fs-phone", "+1 555 0100").await;
    widget.click("button[type=submit]").await;
    widget.until_text("Request sent").await;
    let posts = adapter.sent_to("POST", "/v1/bookings");
    assert!(
        posts[0].body.contains(r#""phone":"+1 555 0100""#),
        "{}",
        posts[0].body
    );
    assert!(
        widget
            .text()
            .contains("The practice will call you at +1 555 0100."),
        "{}",
        widget.text()
    );
}

/// In person: the address before committing, and again after.
#[wasm_bindgen_test]
async fn an_in_person_consultation_shows_its_address_before_and_after() {
    let _adapter = adapter_meeting(
        r#""location":"in_person","address":"12 Main Street, Springfield""#,
        created_json("pending"),
    );
    let widget = ready_form(None).await;
    let said = "In person, at 12 Main Street, Springfield.";
    assert!(widget.text().contains(said), "{}", widget.text());
    widget.click("button[type=submit]").await;
    widget.until_text("Request sent").await;
    assert!(widget.text().contains(said), "{}", widget.text());
}

/// A video request says the link comes with the confirmation; a booking
/// answered with its room offers to join it, and says nothing more.
#[wasm_bindgen_test]
async fn a_video_booking_offers_its_room_once_the_answer_carries_it() {
    let (status, body) = created_json("confirmed");
    let with_room = body.replace(
        r#""expires_at":null"#,
        r#""expires_at":null,"video_url":"https://meet.example/rc-abc""#,
    );
    let _adapter = adapter_meeting(r#""location":"video""#, (status, with_room));
    let widget = ready_form(None).await;
    assert!(widget
        .text()
        .contains("By video call: the link comes with the confirmation."));
    widget.click("button[type=submit]").await;
    widget.until_text("Booked").await;
    let join = widget
        .find(r#"a[href="https://meet.example/rc-abc"]"#)
        .expect("a way into the room");
    assert_eq!(join.text_content().unwrap().trim(), "Join the video call");
    assert_eq!(
        join.get_attribute("rel").as_deref(),
        Some("noopener noreferrer")
    );
    assert!(!widget
        .text()
        .contains("the link comes with the confirmation"));
}
