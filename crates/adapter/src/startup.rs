//! Testable start-up: [`Application::build`] binds (port 0 in tests),
//! [`Application::port`] reports, [`Application::run_until_stopped`] serves.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::calendar::busy_cache::BusyCache;
use crate::calendar::caldav::CalDavCalendar;
use crate::calendar::google::{GoogleCalendar, GoogleOptions};
use crate::calendar::local::LocalCalendar;
use crate::calendar::microsoft::{self, MicrosoftCalendar, MicrosoftOptions};
use crate::calendar::{Calendar, CalendarError};
use crate::clock::Clock;
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

/// How long a stop waits, after the last request, for the delivery the
/// outbox is making (it was told to stop when the stop began).
const OUTBOX_STOP: Duration = Duration::from_secs(10);

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
        CalendarSettings::Google(google) => Arc::new(GoogleCalendar::new(
            GoogleOptions {
                api_base: &google.api_base,
                token_url: &google.token_url,
                calendar_id: &google.calendar_id,
                grant: google.grant.clone(),
            },
            settings.practice.zone,
        )),
        CalendarSettings::Microsoft(graph) => Arc::new(MicrosoftCalendar::new(
            MicrosoftOptions {
                graph_base: &graph.graph_base,
                token_url: &microsoft::token_url(&graph.authority, &graph.tenant),
                calendar_id: graph.calendar_id.as_deref(),
                user: graph.user.as_deref(),
                grant: graph.grant.clone(),
            },
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
        Self::build_with_clock(settings, Clock::system()).await
    }

    /// [`Application::build`] on `clock`: tests pass a movable one.
    pub async fn build_with_clock(settings: Settings, clock: Clock) -> anyhow::Result<Self> {
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
        if let Err(error) = busy.refresh(clock.now()).await {
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
            CalendarSettings::Google(google) => (
                EntryText {
                    title: google.event_title.clone(),
                    include_client_name: google.include_client_name,
                },
                Duration::from_secs(google.refresh_seconds),
            ),
            CalendarSettings::Microsoft(graph) => (
                EntryText {
                    title: graph.event_title.clone(),
                    include_client_name: graph.include_client_name,
                },
                Duration::from_secs(graph.refresh_seconds),
            ),
        };
        let mail = match &settings.mail {
            Some(mail) => Some(MailContext {
                mailer: Mailer::new(mail).context("setting up SMTP")?,
                settings: mail.clone(),
                practice: settings.practice.clone(),
                reminders: settings.reminders.clone(),
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
            clock,
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

    /// Serves until `shutdown` completes, then stops accepting and lets the
    /// requests under way finish (bounded, see [`ConnectionLimits`]). The
    /// outbox worker is told to stop at the same moment: it finishes the
    /// delivery it is making, and what it has not begun stays in the outbox
    /// for the next start. Busy time is refreshed, the outbox delivered and
    /// the store kept (housekeeping) meanwhile.
    ///
    /// [`ConnectionLimits`]: crate::connections::ConnectionLimits
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let clock = &self.state.clock;
        let refresher = self
            .state
            .busy
            .clone()
            .spawn_refresher(self.refresh_every, clock.clone());
        let worker = self
            .state
            .outbox
            .clone()
            .spawn_worker(OUTBOX_ROUND, clock.clone());
        let housekeeping = housekeeping::spawn(
            self.state.store.clone(),
            self.state.settings.privacy.retention_days,
            HOUSEKEEPING_ROUND,
            clock.clone(),
        );
        let metrics = self
            .metrics_listener
            .map(|listener| crate::metrics::spawn_separate(listener, self.state.clone()));
        let limits = self.state.settings.server.connections.clone();
        let outbox = self.state.outbox.clone();
        let shutdown = async move {
            shutdown.await;
            outbox.stop();
        };
        crate::connections::serve(self.listener, router(self.state), limits, shutdown).await;
        refresher.abort();
        housekeeping.abort();
        if let Some(metrics) = metrics {
            metrics.abort();
        }
        let mut worker = worker;
        match tokio::time::timeout(OUTBOX_STOP, &mut worker).await {
            Ok(_) => tracing::info!("stopped"),
            Err(_) => {
                worker.abort();
                tracing::warn!("the outbox was still delivering {OUTBOX_STOP:?} after the last request; that delivery will be retried at the next start");
            }
        }
        Ok(())
    }
}
