//! The HTTP surface: protocol v1 under `/v1`, `/healthz`, the practice's
//! private feed at `/feeds/bookings.ics`, the pages that emails link to
//! (`/requests/…` to answer a request, `/manage/…` for a visitor's booking),
//! the hosted booking page (`/book`, `/book/{service}`, with and without
//! JavaScript), and — when configured — the built widget under `/widget/` and a demo page at `/`.
//! One file per endpoint.
//!
//! Around them all ([`edge`]): every response says `X-Content-Type-Options:
//! nosniff`; every error under `/v1` is problem+json, the router's own 404 and
//! 405 included; a declared body over [`BODY_LIMIT`] is refused before it is
//! read (so `Expect: 100-continue` gets 413, never `100 Continue`); a
//! handler's panic is answered 500 and logged, and the process goes on.

mod answer_request;
mod booking_page;
mod bookings;
mod calendar_file;
mod health;
mod html;
mod manage_page;
mod page;
mod practice;
mod practice_feed;

pub use practice::practice_body;
mod slots;

use std::any::Any;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use firststep_protocol::PROBLEM_JSON;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

use crate::calendar::busy_cache::BusyCache;
use crate::config::{ServerSettings, Settings};
use crate::error::ApiError;
use crate::outbox::Outbox;
use crate::rate_limit::RateLimiter;
use crate::store::Store;

/// The largest request body taken (the protocol's 16 KiB).
pub const BODY_LIMIT: usize = 16 * 1024;

/// What every handler shares.
pub struct AppState {
    /// Where the practice is served: `""` at the root (`--config`), or
    /// `/p/{id}` (`--config-dir`); every in-site address the practice
    /// writes carries it ([`AppState::address`]).
    pub base_path: String,
    pub settings: Settings,
    pub store: Store,
    /// The calendar's busy time, kept fresh in the background.
    pub busy: Arc<BusyCache>,
    /// The busy time of each clinician with a calendar of their own, by id
    /// (the others share the practice's).
    pub clinician_busy: HashMap<String, Arc<BusyCache>>,
    /// Calendar writes owed; woken after each booking or cancellation.
    pub outbox: Arc<Outbox>,
    pub booking_limiter: RateLimiter,
    /// `GET /v1/practice` never changes while the process runs: made once.
    pub practice_body: Vec<u8>,
    /// Requests answered, for `/metrics`.
    pub request_counts: crate::metrics::RequestCounts,
    /// The present, for every route (the system clock but in tests).
    pub clock: crate::clock::Clock,
}

impl AppState {
    /// The address of `path` (from the practice's root, `/…`) as its pages
    /// and `Location`s write it: under the practice's base path.
    pub fn address(&self, path: &str) -> String {
        format!("{}{path}", self.base_path)
    }

    /// The busy time that hides the slots of `clinician` (their own
    /// calendar's, else the practice's), as last read.
    pub fn busy_of(&self, clinician: Option<&str>) -> Arc<Vec<firststep_availability::Interval>> {
        clinician
            .and_then(|id| self.clinician_busy.get(id))
            .unwrap_or(&self.busy)
            .current()
    }
}

/// The page policy the demo is served with: the same a practice's own site
/// can use with the widget.
const DEMO_CSP: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; \
     style-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

pub fn router(state: Arc<AppState>) -> Router {
    let api = Router::new()
        .route("/v1/practice", get(practice::show))
        .route("/v1/slots", get(slots::list))
        .route("/v1/bookings", axum::routing::post(bookings::create))
        .route(
            "/v1/bookings/{id}",
            get(bookings::show).delete(bookings::cancel),
        )
        .route(
            "/v1/bookings/{id}/reschedule",
            axum::routing::post(bookings::reschedule),
        )
        .route(
            "/v1/bookings/{id}/calendar.ics",
            get(calendar_file::download),
        )
        .route("/healthz", get(health::check))
        .route("/feeds/bookings.ics", get(practice_feed::bookings))
        .route(
            "/requests/{id}/{action}",
            get(answer_request::show).post(answer_request::act),
        )
        .route("/book", get(booking_page::choose))
        .route(
            "/book/{service}",
            get(booking_page::show).post(booking_page::send),
        )
        .route("/book.css", get(booking_page::stylesheet))
        .route("/manage/{id}", get(manage_page::show))
        .route(
            "/manage/{id}/cancel",
            axum::routing::post(manage_page::cancel),
        )
        .route(
            "/manage/{id}/times",
            get(manage_page::times).post(manage_page::reschedule),
        )
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(CompressionLayer::new())
        .with_state(state.clone());

    let mut app = api;
    let server = &state.settings.server;
    if let Some(widget) = &server.widget_dir {
        // Trunk writes a .br and a .gz beside each file: a browser gets the
        // Brotli copy if it takes br (the smaller), else gzip, else the file.
        let files = ServeDir::new(widget)
            .precompressed_br()
            .precompressed_gzip();
        // Its quick-look page (Trunk's index.html) is not to be framed; the
        // widget's files themselves still load on any practice's page.
        let unframed = SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("frame-ancestors 'none'"),
        );
        // The copy depends on Accept-Encoding: a shared cache must know it.
        let varies = SetResponseHeaderLayer::appending(
            header::VARY,
            HeaderValue::from_static("accept-encoding"),
        );
        let files = tower::Layer::layer(&varies, tower::Layer::layer(&unframed, files));
        app = app.nest_service("/widget", files);
    }
    if let Some(demo) = &server.demo_dir {
        let demo = Router::new().fallback_service(ServeDir::new(demo)).layer(
            SetResponseHeaderLayer::overriding(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(DEMO_CSP),
            ),
        );
        app = app.merge(demo);
    }
    if server.metrics && server.metrics_listen.is_none() {
        app = app.merge(crate::metrics::router(state.clone()));
    }
    // Counted outermost, so refusals, panics and preflights are counted too.
    edge(app, server).layer(middleware::from_fn_with_state(
        state.clone(),
        crate::metrics::track,
    ))
}

/// What every response goes through, outermost last (on the separate
/// `/metrics` listener too).
pub(crate) fn edge(app: Router, server: &ServerSettings) -> Router {
    app.layer(TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        server.connections.request_timeout,
    ))
    .layer(middleware::from_fn(problems_under_v1))
    .layer(CatchPanicLayer::custom(answer_panic))
    .layer(middleware::from_fn(refuse_large_bodies))
    .layer(middleware::from_fn(log_request))
    // CORS next to last: preflights are answered before anything else runs.
    .layer(cors(&server.allowed_origins))
    .layer(SetResponseHeaderLayer::overriding(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    ))
}

/// Turns the errors made outside the handlers under `/v1` (the router's 404
/// and 405, an extractor's plain-text rejection) into problem+json, keeping
/// their status and `Allow`.
async fn problems_under_v1(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let under_v1 = path == "/v1" || path.starts_with("/v1/");
    let response = next.run(request).await;
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|kind| kind == PROBLEM_JSON);
    if !under_v1 || is_problem || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let mut problem = ApiError::for_status(status).into_response();
    if let Some(allow) = response.headers().get(header::ALLOW) {
        problem.headers_mut().insert(header::ALLOW, allow.clone());
    }
    problem
}

/// A declared body over [`BODY_LIMIT`] is answered 413 before anything reads
/// it: hyper sends `100 Continue` only once the body is read, so a client
/// that asked first never sends it.
async fn refuse_large_bodies(request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|length| length.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|length| length > BODY_LIMIT as u64) {
        return ApiError::PayloadTooLarge.into_response();
    }
    next.run(request).await
}

/// A handler panicked: the visitor gets 500 problem+json, the log a line
/// (the panic's message and place are printed just before, by the panic hook).
fn answer_panic(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    tracing::error!(panic = message, "a request handler panicked; answered 500");
    ApiError::Internal.into_response()
}

fn cors(origins: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST, Method::DELETE])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            HeaderName::from_static("idempotency-key"),
        ])
        .expose_headers([
            header::LOCATION,
            header::RETRY_AFTER,
            HeaderName::from_static("idempotent-replayed"),
        ])
        .max_age(Duration::from_secs(3600))
}

/// One line per request: method, path (never the query, which may hold a
/// token), status and time. No bodies, so no personal data.
pub(crate) async fn log_request(request: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    tracing::info!(%method, path, status = response.status().as_u16(), micros = started.elapsed().as_micros() as u64);
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connections::{serve, ConnectionLimits};

    /// Serves `app` behind the real edge layers and connection loop.
    async fn serve_with_edge(app: Router) -> String {
        let settings = Settings::from_toml(
            "[practice]\nname = \"P\"\ntime_zone = \"UTC\"\n[[services]]\nid = \"s\"\ntitle = \"S\"\n[availability.weekly]\n",
            std::path::Path::new("/tmp"),
        )
        .expect("a valid configuration");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let app = edge(app, &settings.server);
        tokio::spawn(serve(
            listener,
            app,
            ConnectionLimits::default(),
            std::future::pending(),
        ));
        format!("http://{address}")
    }

    /// The test above runs in the test profile, which always unwinds; in the
    /// release build a panic stays one 500 only while that profile unwinds too.
    #[test]
    fn the_release_profile_unwinds() {
        let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.toml");
        let text = std::fs::read_to_string(manifest).unwrap();
        let workspace: toml::Table = toml::from_str(&text).unwrap();
        let release = &workspace["profile"]["release"];
        assert!(
            release
                .get("panic")
                .is_none_or(|p| p.as_str() == Some("unwind")),
            "[profile.release] must unwind: {release:?}"
        );
    }

    #[tokio::test]
    async fn a_panicking_handler_is_answered_500_and_the_server_goes_on() {
        let app = Router::new()
            .route(
                "/v1/panic",
                get(|| async {
                    if true {
                        panic!("a handler bug");
                    }
                    "unreached"
                }),
            )
            .route("/v1/fine", get(|| async { "fine" }));
        let base = serve_with_edge(app).await;
        let client = reqwest::Client::new();

        let panicked = client.get(format!("{base}/v1/panic")).send().await.unwrap();
        assert_eq!(panicked.status(), 500);
        assert_eq!(panicked.headers()["content-type"], PROBLEM_JSON);
        assert_eq!(panicked.headers()["x-content-type-options"], "nosniff");
        let problem: firststep_protocol::Problem = panicked.json().await.unwrap();
        assert_eq!(problem.code, firststep_protocol::ErrorCode::Internal);
        assert!(
            !problem.detail.contains("handler bug"),
            "no internals shown"
        );

        for _ in 0..3 {
            let next = client.get(format!("{base}/v1/fine")).send().await.unwrap();
            assert_eq!(next.status(), 200);
            assert_eq!(next.text().await.unwrap(), "fine");
        }
    }
}
