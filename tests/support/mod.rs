//! Helpers for the browser tests: a test double of the adapter in place of
//! `window.fetch`, a mounted app, and ways to wait and to act as a visitor.
#![allow(dead_code)]

use std::cell::RefCell;
use std::rc::Rc;

use firststep_widget::{App, AppProps};
use js_sys::{Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Element, HtmlElement, HtmlInputElement, Request, Response, ResponseInit};

/// One request the widget sent.
#[derive(Debug, Clone)]
pub struct Sent {
    pub method: String,
    pub url: String,
    pub idempotency_key: Option<String>,
    pub authorization: Option<String>,
    pub body: String,
}

/// The double's answer: status, body. Status 0 means the network failed.
pub type Answer = (u16, String);

/// Stands in for the adapter by replacing `window.fetch` until dropped.
pub struct FakeAdapter {
    pub sent: Rc<RefCell<Vec<Sent>>>,
    _fetch: Closure<dyn Fn(JsValue, JsValue) -> Promise>,
}

impl FakeAdapter {
    pub fn install(answer: impl Fn(&Sent) -> Answer + 'static) -> Self {
        let sent = Rc::new(RefCell::new(Vec::new()));
        let answer = Rc::new(answer);
        let log = sent.clone();
        let fetch = Closure::<dyn Fn(JsValue, JsValue) -> Promise>::new(
            move |input: JsValue, init: JsValue| {
                // As `fetch` takes it: a Request, or a URL and its options.
                let request = match input.as_string() {
                    Some(url) if init.is_object() => {
                        Request::new_with_str_and_init(&url, init.unchecked_ref()).unwrap()
                    }
                    Some(url) => Request::new_with_str(&url).unwrap(),
                    None => input.unchecked_into::<Request>(),
                };
                let (log, answer) = (log.clone(), answer.clone());
                wasm_bindgen_futures::future_to_promise(async move {
                    let body = match request.text() {
                        Ok(text) => JsFuture::from(text).await?.as_string().unwrap_or_default(),
                        Err(_) => String::new(),
                    };
                    let record = Sent {
                        method: request.method(),
                        url: request.url(),
                        idempotency_key: request.headers().get("Idempotency-Key").ok().flatten(),
                        authorization: request.headers().get("Authorization").ok().flatten(),
                        body,
                    };
                    log.borrow_mut().push(record.clone());
                    let (status, body) = answer(&record);
                    if status == 0 {
                        return Err(js_sys::TypeError::new("Failed to fetch").into());
                    }
                    let init = ResponseInit::new();
                    init.set_status(status);
                    let headers = web_sys::Headers::new()?;
                    let kind = if status < 300 {
                        "application/json"
                    } else {
                        "application/problem+json"
                    };
                    headers.set("Content-Type", kind)?;
                    init.set_headers(&headers);
                    let body = (status != 204).then_some(body);
                    Ok(Response::new_with_opt_str_and_init(body.as_deref(), &init)?.into())
                })
            },
        );
        Reflect::set(&window(), &"fetch".into(), fetch.as_ref()).unwrap();
        Self {
            sent,
            _fetch: fetch,
        }
    }

    pub fn sent_to(&self, method: &str, path: &str) -> Vec<Sent> {
        self.sent
            .borrow()
            .iter()
            .filter(|s| s.method == method && s.url.contains(path))
            .cloned()
            .collect()
    }
}

impl Drop for FakeAdapter {
    fn drop(&mut self) {
        // The real fetch is on the prototype again.
        Reflect::delete_property(&window(), &"fetch".into()).unwrap();
    }
}

pub fn window() -> web_sys::Window {
    web_sys::window().unwrap()
}

pub fn document() -> web_sys::Document {
    window().document().unwrap()
}

/// The text of the element that has focus.
pub fn focused_text() -> String {
    document()
        .active_element()
        .and_then(|e| e.text_content())
        .unwrap_or_default()
}

/// A problem+json body, as the adapter writes it.
pub fn problem(status: u16, code: &str, field: Option<&str>) -> Answer {
    let field = field.map_or("null".to_owned(), |f| format!("\"{f}\""));
    (
        status,
        format!(
            r#"{{"type":"about:blank","title":"t","status":{status},"code":"{code}","detail":"d","field":{field},"retryable":false}}"#
        ),
    )
}

/// A practice in New York with one request-mode service, by video.
pub fn practice_json(phone: &str) -> String {
    practice_json_in("America/New_York", phone)
}

/// [`practice_json`], its service meeting as `meeting` says (the JSON members
/// `location` and `address`, as `GET /v1/practice` gives them).
pub fn practice_meeting_json(phone: &str, meeting: &str) -> String {
    practice_in("America/New_York", phone, meeting)
}

/// [`practice_json`], the practice in `zone`.
pub fn practice_json_in(zone: &str, phone: &str) -> String {
    practice_in(zone, phone, r#""location":"video""#)
}

fn practice_in(zone: &str, phone: &str, meeting: &str) -> String {
    format!(
        r#"{{"name":"Riverside Counselling","time_zone":"{zone}",
        "services":[{{"id":"free-consultation","title":"Free 15-minute consultation","duration_minutes":15,
        "mode":"request",{meeting},"description":"A short call to see if we're a good fit."}}],
        "form":{{"phone":"{phone}","note":"hidden"}},
        "notice":"If you are in crisis, call 988.","privacy_url":"https://example.org/privacy"}}"#
    )
}

/// A group practice: two services (an intake call by phone everyone
/// offers, on request; couples therapy in person only Dana and Lee offer,
/// booked at once) and three
/// clinicians, as `GET /v1/practice` gives them.
pub fn group_practice_json() -> String {
    r#"{"name":"Harbour Group Practice","time_zone":"America/New_York",
    "services":[
      {"id":"intake","title":"Intake call","duration_minutes":20,"mode":"request","location":"phone","description":"A first talk about what brings you."},
      {"id":"couples","title":"Couples session","duration_minutes":50,"mode":"instant","location":"in_person","address":"4 Quay St","description":null}],
    "form":{"phone":"optional","note":"hidden"},"notice":null,"privacy_url":null,
    "clinicians":[
      {"id":"dana","name":"Dana Whitfield","pronouns":"she/her","bio":"Anxiety, grief and life changes.","services":["intake","couples"]},
      {"id":"lee","name":"Lee Okafor","pronouns":null,"bio":null,"services":["intake","couples"]},
      {"id":"sam","name":"Sam Reyes","pronouns":"they/them","bio":"Young adults.","services":["intake"]}]}"#
        .to_owned()
}

/// Slots at these instants, 15 minutes each.
pub fn slots_json(starts: &[&str]) -> String {
    let slots: Vec<String> = starts
        .iter()
        .map(|s| {
            let start: chrono::DateTime<chrono::Utc> = s.parse().unwrap();
            let end = start + chrono::Duration::minutes(15);
            format!(
                r#"{{"start":"{}","end":"{}"}}"#,
                start.format("%Y-%m-%dT%H:%M:%SZ"),
                end.format("%Y-%m-%dT%H:%M:%SZ")
            )
        })
        .collect();
    format!(
        r#"{{"service":"free-consultation","time_zone":"America/New_York","slots":[{}]}}"#,
        slots.join(",")
    )
}

/// Slots starting tomorrow and the day after, at 15:00 and 15:15 UTC.
pub fn upcoming_starts() -> Vec<String> {
    let today = chrono::DateTime::from_timestamp_millis(js_sys::Date::now() as i64)
        .unwrap()
        .date_naive();
    (1..=2)
        .flat_map(|d| {
            let day = today + chrono::Duration::days(d);
            ["15:00", "15:15"].map(|t| format!("{day}T{t}:00Z"))
        })
        .collect()
}

/// Slots `days` days from today at these hours and minutes by the
/// browser's own clock (the visitor's), as UTC instants.
pub fn local_starts(days: u32, times: &[(u32, u32)]) -> Vec<String> {
    let today = js_sys::Date::new_0();
    times
        .iter()
        .map(|&(hour, minute)| {
            let local = js_sys::Date::new_with_year_month_day_hr_min(
                today.get_full_year(),
                today.get_month() as i32,
                (today.get_date() + days) as i32,
                hour as i32,
                minute as i32,
            );
            String::from(local.to_iso_string())
        })
        .collect()
}

/// The zone the browser runs in: the visitor's.
pub fn browser_zone() -> String {
    js_sys::Reflect::get(
        &js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new())
            .resolved_options(),
        &"timeZone".into(),
    )
    .unwrap()
    .as_string()
    .unwrap()
}

/// "3:00 PM": the instant `iso` on the clock of `zone`, as en-US writes it.
pub fn clock_in(zone: &str, iso: &str) -> String {
    let options = js_sys::Object::new();
    for (key, value) in [
        ("hour", "numeric"),
        ("minute", "2-digit"),
        ("timeZone", zone),
    ] {
        Reflect::set(&options, &key.into(), &value.into()).unwrap();
    }
    let format = js_sys::Intl::DateTimeFormat::new(&js_sys::Array::of1(&"en-US".into()), &options);
    let date = js_sys::Date::new(&iso.into());
    format
        .format()
        .call1(&JsValue::NULL, &date)
        .unwrap()
        .as_string()
        .unwrap()
}

/// The app mounted into its own element; unmounted when dropped.
pub struct Mounted {
    pub root: Element,
    handle: Option<yew::AppHandle<App>>,
}

pub fn mount(locale: Option<&str>) -> Mounted {
    mount_naming(locale, Some("free-consultation"), None)
}

/// The app mounted as an element naming this service and clinician (each
/// attribute left out when `None`).
pub fn mount_naming(
    locale: Option<&str>,
    service: Option<&str>,
    clinician: Option<&str>,
) -> Mounted {
    mount_with(locale, service, clinician, None)
}

/// The app opened by a manage link, `ID.TOKEN`, to move that booking.
pub fn mount_managing(link: &str, locale: Option<&str>) -> Mounted {
    mount_with(locale, Some("free-consultation"), None, Some(link))
}

fn mount_with(
    locale: Option<&str>,
    service: Option<&str>,
    clinician: Option<&str>,
    manage: Option<&str>,
) -> Mounted {
    let root = document().create_element("div").unwrap();
    document().body().unwrap().append_child(&root).unwrap();
    let props = AppProps {
        api: "https://adapter.test".into(),
        service: service.map(|s| s.to_owned().into()),
        clinician: clinician.map(|c| c.to_owned().into()),
        locale: locale.map(Into::into),
        manage: manage.map(Into::into),
        host: root.clone(),
    };
    let handle = yew::Renderer::<App>::with_root_and_props(root.clone(), props).render();
    Mounted {
        root,
        handle: Some(handle),
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            handle.destroy();
        }
        self.root.remove();
    }
}

/// The codes of the `firststep:error` events the page hears from the
/// widget, in order; listening while this lives.
pub struct ErrorCodes {
    codes: Rc<RefCell<Vec<String>>>,
    _listener: Closure<dyn Fn(web_sys::CustomEvent)>,
}

impl ErrorCodes {
    pub fn heard(&self) -> Vec<String> {
        self.codes.borrow().clone()
    }
}

impl Mounted {
    /// Listens, as the page would, for the widget's `firststep:error` events.
    pub fn error_codes(&self) -> ErrorCodes {
        let codes = Rc::new(RefCell::new(Vec::new()));
        let heard = codes.clone();
        let listener =
            Closure::<dyn Fn(web_sys::CustomEvent)>::new(move |event: web_sys::CustomEvent| {
                let code = Reflect::get(&event.detail(), &"code".into()).unwrap();
                heard.borrow_mut().push(code.as_string().unwrap());
            });
        self.root
            .add_event_listener_with_callback("firststep:error", listener.as_ref().unchecked_ref())
            .unwrap();
        ErrorCodes {
            codes,
            _listener: listener,
        }
    }

    pub fn text(&self) -> String {
        self.root.text_content().unwrap_or_default()
    }

    pub fn find(&self, selector: &str) -> Option<HtmlElement> {
        self.root
            .query_selector(selector)
            .unwrap()
            .map(|e| e.unchecked_into())
    }

    pub fn all(&self, selector: &str) -> Vec<HtmlElement> {
        let list = self.root.query_selector_all(selector).unwrap();
        (0..list.length())
            .map(|i| list.get(i).unwrap().unchecked_into())
            .collect()
    }

    /// Waits (yielding to the browser and Yew, never sleeping a fixed time)
    /// until `condition` holds; panics with the widget's text if it never does.
    pub async fn until(&self, what: &str, condition: impl Fn(&Mounted) -> bool) {
        eventually(what, || condition(self), || self.text()).await;
    }

    pub async fn until_text(&self, text: &str) {
        self.until(text, |m| m.text().contains(text)).await;
    }

    /// Waits for the times, chooses the `nth`, and fills in the form as Sam.
    pub async fn choose_and_fill(&self, nth: usize) {
        self.choose_time(nth).await;
        self.type_into("#fs-name", "Sam Lee").await;
        self.type_into("#fs-email", "sam@example.org").await;
        self.click("#fs-consent").await;
    }

    /// Waits for the times, chooses the `nth`, and waits for the form.
    pub async fn choose_time(&self, nth: usize) {
        self.until("time buttons", |w| w.all(".fs-time").len() > nth)
            .await;
        self.all(".fs-time")[nth].click();
        self.until("the form", |w| w.find("#fs-name").is_some())
            .await;
    }

    pub async fn click(&self, selector: &str) {
        self.find(selector)
            .unwrap_or_else(|| panic!("no {selector} in: {}", self.text()))
            .click();
        yew::scheduler::flush().await;
    }

    pub async fn type_into(&self, selector: &str, value: &str) {
        let input: HtmlInputElement = self.find(selector).unwrap().unchecked_into();
        input.set_value(value);
        let init = web_sys::InputEventInit::new();
        init.set_bubbles(true);
        input
            .dispatch_event(&web_sys::InputEvent::new_with_event_init_dict("input", &init).unwrap())
            .unwrap();
        yew::scheduler::flush().await;
    }
}

/// Waits (yielding to the browser and Yew, never sleeping a fixed time) until
/// `condition` holds; panics with `shown()` if it never does.
pub async fn eventually(what: &str, condition: impl Fn() -> bool, shown: impl Fn() -> String) {
    for _ in 0..200 {
        yew::scheduler::flush().await;
        if condition() {
            return;
        }
        next_task().await;
    }
    panic!("never saw {what}; the widget shows: {}", shown());
}

/// Resolves on the browser's next task, after pending network callbacks.
pub async fn next_task() {
    let promise = Promise::new(&mut |resolve, _| {
        window()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0)
            .unwrap();
    });
    JsFuture::from(promise).await.unwrap();
}

/// Resolves at the browser's next frame, after observers' callbacks.
pub async fn next_frame() {
    let promise = Promise::new(&mut |resolve, _| {
        window().request_animation_frame(&resolve).unwrap();
    });
    JsFuture::from(promise).await.unwrap();
}

#[wasm_bindgen(module = "/js/element.js")]
extern "C" {
    #[wasm_bindgen(js_name = defineBookingElement)]
    fn define_booking_element(mount: &Closure<dyn Fn(HtmlElement) -> JsValue>);
}

/// Defines `<firststep-booking>` with the element class that firststep.js
/// defines it with (once a page, as there).
pub fn define_element() {
    let mount =
        Closure::<dyn Fn(HtmlElement) -> JsValue>::new(|host| firststep_widget::mount(host).into());
    define_booking_element(&mount);
    // The class calls it for every element, for as long as the page lives.
    mount.forget();
}
