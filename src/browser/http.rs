//! All HTTP to the adapter, as protocol v1 describes it. Each call returns
//! `Result<T, ApiError>`, with the protocol's error `code` mapped to the few
//! cases the widget treats differently (`ApiError::from_problem`).

use chrono::{DateTime, Utc};
use firststep_protocol::{
    BookingCreated, BookingRequest, ErrorCode, PracticeInfo, Problem, SlotList,
    IDEMPOTENCY_KEY_HEADER,
};
use gloo_net::http::{Request, Response};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

use super::json::{self, instant_text, FromJson};
use crate::model::api_error::ApiError;

/// The adapter at one base address (from the element's `api` attribute).
#[derive(Debug, Clone, PartialEq)]
pub struct AdapterClient {
    base: String,
}

impl AdapterClient {
    pub fn new(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    pub async fn practice(&self) -> Result<PracticeInfo, ApiError> {
        answer(
            Request::get(&format!("{}/v1/practice", self.base))
                .send()
                .await,
        )
        .await
    }

    pub async fn slots(
        &self,
        service: Option<&str>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<SlotList, ApiError> {
        let mut url = format!(
            "{}/v1/slots?from={}&to={}",
            self.base,
            instant_text(from),
            instant_text(to)
        );
        if let Some(service) = service {
            url.push_str("&service=");
            url.push_str(&String::from(js_sys::encode_uri_component(service)));
        }
        answer(Request::get(&url).send().await).await
    }

    pub async fn book(
        &self,
        request: &BookingRequest,
        key: &str,
    ) -> Result<BookingCreated, ApiError> {
        let sent = Request::post(&format!("{}/v1/bookings", self.base))
            .header(IDEMPOTENCY_KEY_HEADER, key)
            .header("Content-Type", "application/json")
            .body(json::booking_request(request))
            .map_err(|_| ApiError::Unexpected(ErrorCode::Other))?
            .send()
            .await;
        answer(sent).await
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

async fn answer<T: FromJson>(sent: Result<Response, gloo_net::Error>) -> Result<T, ApiError> {
    let response = sent.map_err(|_| ApiError::Offline)?;
    let (ok, status) = (response.ok(), response.status());
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.parse().ok());
    // A body cut off mid-way, or not JSON, reads as no body: judged by the status alone below.
    let body = json_body(response.into()).await;
    if ok {
        return body
            .and_then(json::read)
            .ok_or(ApiError::Unexpected(ErrorCode::Other));
    }
    match body.and_then(json::read::<Problem>) {
        Some(problem) => Err(ApiError::from_problem(problem, retry_after)),
        // Not the adapter speaking (a proxy, say): judge by the status alone.
        None if status == 429 => Err(ApiError::RateLimited { retry_after }),
        None if status >= 500 => Err(ApiError::Unavailable),
        None => Err(ApiError::Unexpected(ErrorCode::Other)),
    }
}

/// The body parsed by the browser itself: a slots list is some 80 KB, and
/// taking it into the wasm as text only to hand it back to `JSON.parse`
/// copied it twice.
async fn json_body(response: web_sys::Response) -> Option<JsValue> {
    JsFuture::from(response.json().ok()?).await.ok()
}
