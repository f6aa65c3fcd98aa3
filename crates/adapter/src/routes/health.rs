use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;

use super::AppState;

/// `GET /healthz`: 200 `ok` while the process serves, the store takes
/// writes and the calendar takes the adapter's credentials (a calendar that
/// refuses them — a revoked token — is failing even while bookings are
/// still taken into the outbox; one that is merely down is not).
pub async fn check(State(app): State<Arc<AppState>>) -> (StatusCode, &'static str) {
    match app.store.call(|store| store.check_writable()).await {
        // The practice's calendar or any clinician's own.
        Ok(()) => match std::iter::once(&app.busy)
            .chain(app.clinician_busy.values())
            .find_map(|busy| busy.misconfigured())
        {
            None => (StatusCode::OK, "ok"),
            Some(problem) => {
                tracing::error!(problem, "health check: the calendar refuses the adapter");
                (StatusCode::SERVICE_UNAVAILABLE, "calendar misconfigured")
            }
        },
        Err(error) => {
            tracing::error!(
                error = format!("{error:#}"),
                "health check: store not writable"
            );
            (StatusCode::SERVICE_UNAVAILABLE, "store not writable")
        }
    }
}
