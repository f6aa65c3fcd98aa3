//! The HTTP surface: protocol v1 under `/v1`, `/healthz`, the practice's
//! private feed at `/feeds/bookings.ics`, the pages that emails link to
//! (`/requests/…` to answer a request, `/manage/…` for a visitor's booking),
//! and — when configured — the built widget under `/widget/` and a demo page at `/`.
//! One file per endpoint.

mod answer_request;
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

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::calendar::busy_cache::BusyCache;
use crate::config::Settings;
use crate::outbox::Outbox;
use crate::rate_limit::RateLimiter;
use crate::store::Store;

/// The largest request body taken (the protocol's 16 KiB).
pub const BODY_LIMIT: usize = 16 * 1024;

/// What every handler shares.
pub struct AppState {
    pub settings: Settings,
    pub store: Store,
    /// The calendar's busy time, kept fresh in the background.
    pub busy: Arc<BusyCache>,
    /// Calendar writes owed; woken after each booking or cancellation.
    pub outbox: Arc<Outbox>,
    pub booking_limiter: RateLimiter,
    /// `GET /v1/practice` never changes while the process runs: made once.
    pub practice_body: Vec<u8>,
    /// Requests answered, for `/metrics`.
    pub request_counts: crate::metrics::RequestCounts,
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
            "/v1/bookings/{id}/calendar.ics",
            get(calendar_file::download),
        )
        .route("/healthz", get(health::check))
        .route("/feeds/bookings.ics", get(practice_feed::bookings))
        .route(
            "/requests/{id}/{action}",
            get(answer_request::show).post(answer_request::act),
        )
        .route("/manage/{id}", get(manage_page::show))
        .route(
            "/manage/{id}/cancel",
            axum::routing::post(manage_page::cancel),
        )
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(CompressionLayer::new())
        .with_state(state.clone());

    let mut app = api;
    let server = &state.settings.server;
    if let Some(widget) = &server.widget_dir {
        // Trunk writes a .gz beside each file; those are sent to browsers that take gzip.
        let files = ServeDir::new(widget).precompressed_gzip();
        // Its quick-look page (Trunk's index.html) is not to be framed; the
        // widget's files themselves still load on any practice's page.
        let unframed = SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("frame-ancestors 'none'"),
        );
        app = app.nest_service("/widget", tower::Layer::layer(&unframed, files));
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
    // CORS is outermost: preflights are answered before anything else runs.
    app.layer(middleware::from_fn_with_state(
        state.clone(),
        crate::metrics::track,
    ))
    .layer(middleware::from_fn(log_request))
    .layer(cors(&server.allowed_origins))
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
async fn log_request(request: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    tracing::info!(%method, path, status = response.status().as_u16(), micros = started.elapsed().as_micros() as u64);
    response
}
