//! All HTTP to the adapter, as protocol v1 describes it. Each call returns
//! `Result<T, ApiError>`, with the protocol's error `code` mapped to the few
//! cases the widget treats differently (`ApiError::from_problem`).

use chrono::{DateTime, Utc};
use firststep_protocol::{
    BookingCreated, BookingRequest, BookingView, ErrorCode, PracticeInfo, Problem, SlotList,
    IDEMPOTENCY_KEY_HEADER,
};
use std::cell::Cell;
use std::future::Future;

use js_sys::Promise;
use wasm_bindgen::{JsCast, JsValue, UnwrapThrowExt};
use wasm_bindgen_futures::JsFuture;
use web_sys::{RequestInit, Response};

use super::json::{self, instant_text, FromJson};
use crate::model::api_error::ApiError;

/// The property `name` of `host`, deleted from it: what the loader left is
/// taken once.
fn take(host: &web_sys::Element, name: &str) -> JsValue {
    let key = JsValue::from_str(name);
    let value = js_sys::Reflect::get(host, &key).unwrap_or_default();
    let _ = js_sys::Reflect::delete_property(host, &key);
    value
}

/// The adapter at one base address (from the element's `api` attribute).
#[derive(Debug, PartialEq)]
pub struct AdapterClient {
    base: String,
    /// What the loader (`js/firststep.js`) asked for while the wasm
    /// downloaded: an object, URL → `Promise<Response>`, each taken once.
    early: Option<js_sys::Object>,
    /// When the loader's window of slots opened (ms since 1970, as it left
    /// it, unchecked but for the cast), for the widget to open its own at
    /// the same instant. An integer: the client is part of an effect's key,
    /// and a NaN, unequal to itself, would run the effect on every render.
    pub loader_opened: Option<i64>,
    /// Whether this adapter's answer to the practice has been taken: a new
    /// adapter is asked for its own, though the last one's is on screen (a
    /// run of the hook cancelled before the answer came leaves it unset).
    pub practice_answered: Cell<bool>,
}

impl AdapterClient {
    /// The client of the widget on `host`, taking what the loader left on
    /// it (`firststepEarly`, `firststepOpened`): a widget mounted again asks
    /// afresh.
    pub fn new(base: &str, host: &web_sys::Element) -> Self {
        let early = take(host, "firststepEarly");
        let opened = take(host, "firststepOpened");
        Self {
            base: base.trim_end_matches('/').to_owned(),
            loader_opened: opened
                .as_f64()
                .filter(|_| early.is_object())
                .map(|ms| ms as i64),
            early: early.is_object().then(|| early.unchecked_into()),
            practice_answered: Cell::new(false),
        }
    }

    /// The practice, asked for at once (two requests asked for one after
    /// the other travel together), awaited when the caller is ready.
    pub fn practice(&self) -> impl Future<Output = Result<PracticeInfo, ApiError>> {
        let asked = self.get(&format!("{}/v1/practice", self.base));
        async move { read(answer(asked).await) }
    }

    /// A GET, answered by the loader's request for the very same URL if it
    /// made one; later ones (a retry, a new window) go to the network.
    fn get(&self, url: &str) -> Promise {
        let url_key = JsValue::from_str(url);
        let early = self.early.as_ref().and_then(|answers| {
            let answer = js_sys::Reflect::get(answers, &url_key).ok()?;
            let _ = js_sys::Reflect::delete_property(answers, &url_key);
            (!answer.is_undefined()).then(|| Promise::from(answer))
        });
        early.unwrap_or_else(|| window().fetch_with_str(url))
    }

    /// The open times of `service` (left out: the practice's only one) with
    /// `clinician` (left out: first available) in `[from, to)`, asked for at
    /// once, awaited when the caller is ready.
    pub fn slots(
        &self,
        service: Option<&str>,
        clinician: Option<&str>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Future<Output = Result<SlotList, ApiError>> {
        let mut url = format!(
            "{}/v1/slots?from={}&to={}",
            self.base,
            instant_text(from),
            instant_text(to)
        );
        // In this order, as the loader (js/firststep.js) writes the same URL.
        for (name, value) in [("&service=", service), ("&clinician=", clinician)] {
            if let Some(value) = value {
                url.push_str(name);
                url.push_str(&String::from(js_sys::encode_uri_component(value)));
            }
        }
        let asked = self.get(&url);
        async move { read(answer(asked).await) }
    }

    pub async fn book(
        &self,
        request: &BookingRequest,
        key: &str,
    ) -> Result<BookingCreated, ApiError> {
        let url = format!("{}/v1/bookings", self.base);
        let body = json::booking_request(request);
        read(answer(self.send(&url, None, Some((key, body)))).await)
    }

    /// The booking a manage link opens (`GET /v1/bookings/{id}`).
    pub async fn booking(&self, id: &str, token: &str) -> Result<BookingView, ApiError> {
        read(answer(self.send(&self.booking_url(id), Some(token), None)).await)
    }

    /// Moves the booking to `start` (`POST /v1/bookings/{id}/reschedule`).
    pub async fn reschedule(
        &self,
        (id, token): (&str, &str),
        start: DateTime<Utc>,
        key: &str,
    ) -> Result<BookingCreated, ApiError> {
        let url = format!("{}/reschedule", self.booking_url(id));
        let body = json::reschedule_request(start);
        read(answer(self.send(&url, Some(token), Some((key, body)))).await)
    }

    fn booking_url(&self, id: &str) -> String {
        let id = String::from(js_sys::encode_uri_component(id));
        format!("{}/v1/bookings/{id}", self.base)
    }

    /// A request with the manage `token` as Bearer, if given; with a JSON
    /// body and its Idempotency-Key, a POST.
    fn send(&self, url: &str, token: Option<&str>, post: Option<(&str, String)>) -> Promise {
        // The headers as a plain object, which `fetch` takes as it is: no
        // `Headers` to construct and fill through bindings.
        let headers = js_sys::Object::new();
        let header = |name: &str, value: &str| {
            let _ = js_sys::Reflect::set(&headers, &name.into(), &value.into());
        };
        let init = RequestInit::new();
        if let Some(token) = token {
            header("Authorization", &format!("Bearer {token}"));
        }
        if let Some((key, body)) = post {
            header(IDEMPOTENCY_KEY_HEADER, key);
            header("Content-Type", "application/json");
            init.set_method("POST");
            init.set_body(&body.into());
        }
        init.set_headers(&headers);
        window().fetch_with_str_and_init(url, &init)
    }

    /// The booking's .ics file, for "Add to calendar".
    pub fn calendar_file_url(&self, created: &BookingCreated) -> String {
        let token = String::from(js_sys::encode_uri_component(&created.manage_token));
        format!(
            "{}/v1/bookings/{}/calendar.ics?token={token}",
            self.base, created.booking.id
        )
    }
}

fn window() -> web_sys::Window {
    web_sys::window().unwrap_throw()
}

/// A successful answer's body as the documented type.
fn read<T: FromJson>(body: Result<JsValue, ApiError>) -> Result<T, ApiError> {
    json::read(body?).ok_or(ApiError::Unexpected(ErrorCode::Other))
}

/// The parsed body of a successful answer to `asked` (a `fetch`), or what
/// went wrong. One function for every request, not one per answer's type,
/// and one future: each copy of this (and each future) weighed on the download.
async fn answer(asked: Promise) -> Result<JsValue, ApiError> {
    // No response at all: offline, refused, blocked.
    let response: Response = JsFuture::from(asked)
        .await
        .map_err(|_| ApiError::Offline)?
        .unchecked_into();
    let (ok, status) = (response.ok(), response.status());
    let retry_after = response
        .headers()
        .get("retry-after")
        .ok()
        .flatten()
        .and_then(|v| v.parse().ok());
    // Parsed by the browser itself: a slots list is some 80 KB, and taking
    // it into the wasm as text only to hand it back to `JSON.parse` copied it
    // twice. A body cut off mid-way, or not JSON, reads as no body: judged by
    // the status alone below.
    let body = match response.json() {
        Ok(parsing) => JsFuture::from(parsing).await.ok(),
        Err(_) => None,
    };
    if ok {
        return body.ok_or(ApiError::Unexpected(ErrorCode::Other));
    }
    match body.and_then(json::read::<Problem>) {
        Some(problem) => Err(ApiError::from_problem(problem, retry_after)),
        // Not the adapter speaking (a proxy, say): judge by the status alone.
        None if status == 429 => Err(ApiError::RateLimited { retry_after }),
        None if status >= 500 => Err(ApiError::Unavailable),
        None => Err(ApiError::Unexpected(ErrorCode::Other)),
    }
}
