//! `GET /metrics`: what an operator watches, in Prometheus' text format.
//!
//! Off unless `server.metrics = true` (then on the public listener), or
//! served on its own address (`server.metrics_listen`, then only there).
//! Gauges are read from the store at each scrape; counters are kept in
//! memory since the start. HTTP requests are counted by the route's template
//! (`/v1/bookings/{id}`), never the raw path: ids and tokens are secrets.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;

use crate::config::ServerSettings;
use crate::routes::AppState;
use crate::store::Figures;

/// The exposition format's media type.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// HTTP requests answered, by route template, method and status.
#[derive(Default)]
pub struct RequestCounts {
    counts: Mutex<BTreeMap<(String, &'static str, u16), u64>>,
}

impl RequestCounts {
    fn count(&self, route: String, method: &'static str, status: u16) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let entry = counts.entry((route, method, status)).or_default();
        *entry = entry.saturating_add(1);
    }

    fn snapshot(&self) -> Vec<((String, &'static str, u16), u64)> {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.iter().map(|(k, v)| (k.clone(), *v)).collect()
    }
}

/// The route's template; requests that matched none share one label.
fn route_label(matched: Option<&MatchedPath>) -> String {
    match matched.map(MatchedPath::as_str) {
        // A nested service's tail (`/widget/{*…}`) is one route.
        Some(path) => match path.split_once("{*") {
            Some((prefix, _)) => format!("{prefix}*"),
            None => path.to_owned(),
        },
        None => "unmatched".to_owned(),
    }
}

/// The method, from a fixed list, so a client cannot grow the label set.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

/// Middleware: counts each request by route template, method and status.
pub async fn track(State(app): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let route = route_label(request.extensions().get::<MatchedPath>());
    let method = method_label(request.method());
    let response = next.run(request).await;
    app.request_counts
        .count(route, method, response.status().as_u16());
    response
}

/// The `/metrics` route, for the public listener or a separate one.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(state)
}

/// Binds `server.metrics_listen`, when set.
pub async fn bind_separate(server: &ServerSettings) -> anyhow::Result<Option<TcpListener>> {
    match server.metrics_listen {
        None => Ok(None),
        Some(address) => TcpListener::bind(address)
            .await
            .map(Some)
            .with_context(|| format!("listening for /metrics on {address}")),
    }
}

/// Serves `/metrics` alone on `listener` until aborted, behind the same edge
/// and connection limits as the public listener (a scraper's address may be
/// reachable by others too).
pub fn spawn_separate(listener: TcpListener, state: Arc<AppState>) -> tokio::task::JoinHandle<()> {
    let server = &state.settings.server;
    let limits = server.connections.clone();
    let app = crate::routes::edge(router(state.clone()), server);
    tokio::spawn(crate::connections::serve(
        listener,
        app,
        limits,
        std::future::pending(),
    ))
}

async fn scrape(State(app): State<Arc<AppState>>) -> Response {
    let now = app.clock.now();
    match app.store.call(move |s| s.figures(now)).await {
        Ok(figures) => (
            [(header::CONTENT_TYPE, TEXT_FORMAT)],
            render(&app, &figures),
        )
            .into_response(),
        Err(error) => {
            tracing::error!(
                error = format!("{error:#}"),
                "reading the store for /metrics"
            );
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "the store cannot be read\n",
            )
                .into_response()
        }
    }
}

/// One metric family: its help, type and samples (`labels` already rendered).
fn family(out: &mut String, name: &str, kind: &str, help: &str, samples: &[(String, String)]) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    for (labels, value) in samples {
        if labels.is_empty() {
            let _ = writeln!(out, "{name} {value}");
        } else {
            let _ = writeln!(out, "{name}{{{labels}}} {value}");
        }
    }
}

/// A label value with `\`, `"` and line breaks escaped, as the format asks.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn render(app: &AppState, figures: &Figures) -> String {
    let mut out = String::new();
    let by_kind = |value: fn(&crate::store::QueueFigures) -> i64| -> Vec<(String, String)> {
        figures
            .queues
            .iter()
            .map(|q| (format!("kind=\"{}\"", q.kind), value(q).to_string()))
            .collect()
    };
    family(
        &mut out,
        "firststep_bookings",
        "gauge",
        "Bookings in the store by status (requests past their expiry count as expired).",
        &figures
            .bookings_by_status
            .iter()
            .map(|(status, n)| (format!("status=\"{status}\""), n.to_string()))
            .collect::<Vec<_>>(),
    );
    family(
        &mut out,
        "firststep_outbox_depth",
        "gauge",
        "Outbox items waiting for delivery, by kind.",
        &by_kind(|q| q.depth),
    );
    family(
        &mut out,
        "firststep_outbox_oldest_age_seconds",
        "gauge",
        "Age of the oldest outbox item waiting for delivery, by kind (0 when none waits).",
        &by_kind(|q| q.oldest_age_seconds),
    );
    family(
        &mut out,
        "firststep_outbox_set_aside",
        "gauge",
        "Outbox items set aside after failing for good, by kind.",
        &by_kind(|q| q.set_aside),
    );
    let refreshed = app.busy.last_refreshed().map_or(0, |t| t.timestamp());
    family(
        &mut out,
        "firststep_busy_refresh_timestamp_seconds",
        "gauge",
        "Unix time of the last successful read of the calendar's busy time (0: none since start).",
        &[(String::new(), refreshed.to_string())],
    );
    let failures = app.outbox.failures();
    family(
        &mut out,
        "firststep_smtp_failures_total",
        "counter",
        "Email deliveries that failed since start (each is retried).",
        &[(String::new(), failures.mail.to_string())],
    );
    family(
        &mut out,
        "firststep_calendar_failures_total",
        "counter",
        "Calendar writes that failed since start (each is retried).",
        &[(String::new(), failures.calendar.to_string())],
    );
    family(
        &mut out,
        "firststep_http_requests_total",
        "counter",
        "HTTP requests answered since start, by route template, method and status.",
        &app.request_counts
            .snapshot()
            .into_iter()
            .map(|((route, method, status), n)| {
                (
                    format!(
                        "route=\"{}\",method=\"{method}\",status=\"{status}\"",
                        escape(&route)
                    ),
                    n.to_string(),
                )
            })
            .collect::<Vec<_>>(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape(r#"a\b"c"#), r#"a\\b\"c"#);
        assert_eq!(escape("x\ny"), "x\\ny");
    }

    #[test]
    fn unknown_methods_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        let odd = Method::from_bytes(b"BREW").unwrap();
        assert_eq!(method_label(&odd), "other");
    }

    #[test]
    fn a_samples_family_has_help_type_and_lines() {
        let mut out = String::new();
        family(
            &mut out,
            "x_total",
            "counter",
            "Xs.",
            &[("a=\"1\"".into(), "2".into())],
        );
        assert_eq!(
            out,
            "# HELP x_total Xs.\n# TYPE x_total counter\nx_total{a=\"1\"} 2\n"
        );
    }
}
