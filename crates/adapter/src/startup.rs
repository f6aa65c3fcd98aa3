//! Testable start-up: [`Application::build`] binds (port 0 in tests),
//! [`Application::port`] reports, [`Application::run_until_stopped`] serves.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::serve::ListenerExt;
use chrono::Utc;
use tokio::net::TcpListener;

use crate::calendar::busy_cache::BusyCache;
use crate::calendar::caldav::CalDavCalendar;
use crate::calendar::local::LocalCalendar;
use crate::calendar::{Calendar, CalendarError};
use crate::config::{CalendarSettings, Settings};
use crate::housekeeping;
use crate::mail::Mailer;
use crate::outbox::{EntryText, MailContext, Outbox};
use crate::rate_limit::RateLimiter;
use crate::routes::{router, AppState};
use crate::sealing::payload_key;
use crate::store::Store;

/// How often the outbox looks for due writes when nothing wakes it.
const OUTBOX_ROUND: Duration = Duration::from_secs(5);
/// How often retention and the outbox's age are looked at.
const HOUSEKEEPING_ROUND: Duration = Duration::from_secs(60);

pub struct Application {
    listener: TcpListener,
    /// `/metrics` on its own address, when `server.metrics_listen` is set.
    metrics_listener: Option<TcpListener>,
    state: Arc<AppState>,
    refresh_every: Duration,
}

/// The configured calendar backend.
pub fn calendar_of(settings: &Settings) -> Arc<dyn Calendar> {
    match &settings.calendar {
        CalendarSettings::Local { busy_feeds, .. } => {
            Arc::new(LocalCalendar::new(busy_feeds, settings.practice.zone))
        }
        CalendarSettings::CalDav(caldav) => Arc::new(CalDavCalendar::new(
            &caldav.url,
            &caldav.user,
            caldav.password.clone(),
            settings.practice.zone,
        )),
    }
}

impl Application {
    /// Checks the calendar, opens the store and binds the listener at
    /// `settings.server.listen`. A calendar that refuses the credentials stops
    /// the start; one that is merely unreachable does not (bookings are kept
    /// and delivered when it answers again).
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let calendar = calendar_of(&settings);
        match calendar.check().await {
            Err(error @ CalendarError::Misconfigured(_)) => {
                return Err(error).context("checking the calendar")
            }
            Err(error) => {
                tracing::warn!(%error, "the calendar does not answer yet; bookings will be delivered later")
            }
            Ok(()) => {}
        }
        let store = Store::open(&settings.server.store)?;
        store.seal_clear_payloads(settings.mail.as_ref().map(payload_key).as_ref())?;
        let busy = Arc::new(BusyCache::new(
            calendar.clone(),
            settings.practice.rules.horizon_days,
        ));
        if let Err(error) = busy.refresh(Utc::now()).await {
            tracing::warn!(%error, "reading busy time at start failed; will retry");
        }
        let (text, refresh_every) = match &settings.calendar {
            CalendarSettings::Local {
                refresh_seconds, ..
            } => (
                EntryText {
                    title: String::new(),
                    include_client_name: false,
                },
                Duration::from_secs(*refresh_seconds),
            ),
            CalendarSettings::CalDav(caldav) => (
                EntryText {
                    title: caldav.event_title.clone(),
                    include_client_name: caldav.include_client_name,
                },
                Duration::from_secs(caldav.refresh_seconds),
            ),
        };
        let mail = match &settings.mail {
            Some(mail) => Some(MailContext {
                mailer: Mailer::new(mail).context("setting up SMTP")?,
                settings: mail.clone(),
                practice: settings.practice.clone(),
            }),
            None => None,
        };
        let outbox = Arc::new(Outbox::new(store.clone(), calendar, text, mail));
        let listener = TcpListener::bind(&settings.server.listen)
            .await
            .with_context(|| format!("listening on {}", settings.server.listen))?;
        let metrics_listener = crate::metrics::bind_separate(&settings.server).await?;
        let state = Arc::new(AppState {
            booking_limiter: RateLimiter::per_minute(settings.server.bookings_per_minute),
            practice_body: crate::routes::practice_body(&settings.practice),
            request_counts: Default::default(),
            store,
            busy,
            outbox,
            settings,
        });
        Ok(Self {
            listener,
            metrics_listener,
            state,
            refresh_every,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn port(&self) -> u16 {
        self.address().port()
    }

    /// Where `/metrics` is served apart, if it is.
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    /// Serves until `shutdown` completes, then finishes the requests under
    /// way. Busy time is refreshed and the outbox delivered meanwhile.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let refresher = self.state.busy.clone().spawn_refresher(self.refresh_every);
        let worker = self.state.outbox.clone().spawn_worker(OUTBOX_ROUND);
        let housekeeping = housekeeping::spawn(
            self.state.store.clone(),
            self.state.settings.privacy.retention_days,
            HOUSEKEEPING_ROUND,
        );
        let metrics = self
            .metrics_listener
            .map(|listener| crate::metrics::spawn_separate(listener, self.state.clone()));
        let app = router(self.state).into_make_service_with_connect_info::<SocketAddr>();
        // Responses go out at once: with Nagle's algorithm on, a response
        // written in two parts on a kept-alive connection (headers, then a
        // file's body) waited for the client's delayed ACK, some 40 ms.
        let listener = self.listener.tap_io(|tcp| {
            if let Err(error) = tcp.set_nodelay(true) {
                tracing::warn!(%error, "could not turn off Nagle's algorithm");
            }
        });
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
            .context("serving HTTP");
        refresher.abort();
        worker.abort();
        housekeeping.abort();
        if let Some(metrics) = metrics {
            metrics.abort();
        }
        served
    }
}
