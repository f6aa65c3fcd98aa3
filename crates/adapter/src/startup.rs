//! Testable start-up: [`Application::build`] binds (port 0 in tests),
//! [`Application::port`] reports, [`Application::run_until_stopped`] serves.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::config::Settings;
use crate::rate_limit::RateLimiter;
use crate::routes::{router, AppState};
use crate::store::Store;

pub struct Application {
    listener: TcpListener,
    state: Arc<AppState>,
}

impl Application {
    /// Opens the store and binds the listener at `settings.server.listen`.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let store = Store::open(&settings.server.store)?;
        let listener = TcpListener::bind(&settings.server.listen)
            .await
            .with_context(|| format!("listening on {}", settings.server.listen))?;
        let state = Arc::new(AppState {
            booking_limiter: RateLimiter::per_minute(settings.server.bookings_per_minute),
            practice_body: crate::routes::practice_body(&settings.practice),
            store,
            settings,
        });
        Ok(Self { listener, state })
    }

    pub fn address(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn port(&self) -> u16 {
        self.address().port()
    }

    /// Serves until `shutdown` completes, then finishes the requests under way.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let app = router(self.state).into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown)
            .await
            .context("serving HTTP")
    }
}
