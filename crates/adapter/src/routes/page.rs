//! Small server-rendered pages (answering a request, managing a booking):
//! plain HTML, no script, no third-party anything, a strict policy. Every
//! page goes out through [`Page`], so each carries the same headers.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::html::Html;

/// Nothing loads, nothing frames the page, forms post only back here.
pub const PAGE_CSP: &str =
    "default-src 'none'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// A page: `title` (also its heading) and `body`, sent with `status`.
pub struct Page {
    status: StatusCode,
    title: Html,
    body: Html,
    /// The `lang` of the whole page (a BCP 47 tag of the program's own).
    language: &'static str,
    /// Stylesheets and scripts, which the policy must allow.
    head: Html,
    policy: &'static str,
}

impl Page {
    pub fn new(status: StatusCode, title: Html, body: Html) -> Self {
        Self {
            status,
            title,
            body,
            language: "en",
            head: Html::default(),
            policy: PAGE_CSP,
        }
    }

    /// The page in another language than English.
    pub fn in_language(mut self, language: &'static str) -> Self {
        self.language = language;
        self
    }

    /// A page that loads things (`head`), under the `policy` that allows them.
    pub fn loading(mut self, head: Html, policy: &'static str) -> Self {
        self.head = head;
        self.policy = policy;
        self
    }

    /// The store failed; the person may try again.
    pub fn store_busy() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            Html::text("Please try again"),
            Html::trusted_static("<p>The booking store is busy.</p>"),
        )
    }
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let title = self.title.as_str();
        let html = format!(
            "<!doctype html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <meta name=\"robots\" content=\"noindex\"><title>{title}</title>{}</head>\
             <body><main><h1>{title}</h1>{}</main></body></html>\n",
            self.language,
            self.head.as_str(),
            self.body.as_str()
        );
        let mut response = (self.status, html).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(self.policy),
        );
        // The pages' addresses carry secrets (a signed link, a manage token):
        // never cached, never sent on as a Referer.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        response
    }
}
