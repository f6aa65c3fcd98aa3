use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;

use super::AppState;

/// `GET /healthz`: 200 `ok` while the process serves and the store takes writes.
pub async fn check(State(app): State<Arc<AppState>>) -> (StatusCode, &'static str) {
    match app.store.call(|store| store.check_writable()).await {
        Ok(()) => (StatusCode::OK, "ok"),
        Err(error) => {
            tracing::error!(
                error = format!("{error:#}"),
                "health check: store not writable"
            );
            (StatusCode::SERVICE_UNAVAILABLE, "store not writable")
        }
    }
}
