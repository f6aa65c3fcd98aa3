//! Testable start-up: [`Application::build`] binds (port 0 in tests),
//! [`Application::port`] reports, [`Application::run_until_stopped`] serves.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono_tz::Tz;
use tokio::net::TcpListener;

use crate::calendar::busy_cache::BusyCache;
use crate::calendar::caldav::CalDavCalendar;
use crate::calendar::google::{GoogleCalendar, GoogleOptions};
use crate::calendar::local::LocalCalendar;
use crate::calendar::microsoft::{self, MicrosoftCalendar, MicrosoftOptions};
use crate::calendar::{Calendar, CalendarError};
use crate::clock::Clock;
use crate::config::{CalendarSettings, ServerSettings, Settings};
use crate::housekeeping;
use crate::mail::Mailer;
use crate::outbox::{EntryText, MailContext, Outbox};
use crate::practices::Practices;
use crate::rate_limit::RateLimiter;
use crate::routes::{router, AppState};
use crate::sealing::payload_key;
use crate::store::Store;

/// How often the outbox looks for due writes when nothing wakes it.
pub(crate) const OUTBOX_ROUND: Duration = Duration::from_secs(5);
/// How often retention and the outbox's age are looked at.
pub(crate) const HOUSEKEEPING_ROUND: Duration = Duration::from_secs(60);

/// How long a stop waits, after the last request, for the delivery the
/// outbox is making (it was told to stop when the stop began).
const OUTBOX_STOP: Duration = Duration::from_secs(10);

pub struct Application {
    listener: TcpListener,
    /// `/metrics` on its own address, when `server.metrics_listen` is set.
    metrics_listener: Option<TcpListener>,
    served: Served,
}

/// What the process serves: one practice (`--config`), or each of a
/// folder's under `/p/{id}/` (`--config-dir`).
enum Served {
    One(Practice),
    Many(Arc<Practices>),
}

/// One practice's state and its calendars' busy time to keep fresh.
pub(crate) struct Practice {
    pub state: Arc<AppState>,
    /// Each calendar's busy time (the practice's, the clinicians' own) and
    /// how often it is read.
    pub refreshers: Vec<(Arc<BusyCache>, Duration)>,
}

/// The configured calendar backend (the practice's).
pub fn calendar_of(settings: &Settings) -> Arc<dyn Calendar> {
    calendar_from(&settings.calendar, settings.practice.zone)
}

/// The calendar `calendar` configures, read in the practice's `zone`.
pub fn calendar_from(calendar: &CalendarSettings, zone: Tz) -> Arc<dyn Calendar> {
    match calendar {
        CalendarSettings::Local { busy_feeds, .. } => {
            Arc::new(LocalCalendar::new(busy_feeds, zone))
        }
        CalendarSettings::CalDav(caldav) => Arc::new(CalDavCalendar::new(
            &caldav.url,
            &caldav.user,
            caldav.password.clone(),
            zone,
        )),
        CalendarSettings::Google(google) => Arc::new(GoogleCalendar::new(
            GoogleOptions {
                api_base: &google.api_base,
                token_url: &google.token_url,
                calendar_id: &google.calendar_id,
                grant: google.grant.clone(),
            },
            zone,
        )),
        CalendarSettings::Microsoft(graph) => Arc::new(MicrosoftCalendar::new(
            MicrosoftOptions {
                graph_base: &graph.graph_base,
                token_url: &microsoft::token_url(&graph.authority, &graph.tenant),
                calendar_id: graph.calendar_id.as_deref(),
                user: graph.user.as_deref(),
                grant: graph.grant.clone(),
            },
            zone,
        )),
    }
}

/// Every calendar of the practice, each one once: the practice's
/// `[calendar]` (`None`) and each clinician's own (`Some(id)`).
pub fn calendars(settings: &Settings) -> Vec<(Option<&str>, &CalendarSettings)> {
    let own = settings
        .practice
        .clinicians
        .iter()
        .filter_map(|c| Some((Some(c.id.as_str()), c.calendar.as_ref()?)));
    std::iter::once((None, &settings.calendar))
        .chain(own)
        .collect()
}

/// How entries read in `calendar`, and how often its busy time is read.
fn entry_text_of(calendar: &CalendarSettings) -> (EntryText, Duration) {
    match calendar {
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
    }
}

/// One calendar at start: checked (a refusal of the credentials stops the
/// start), its busy time read once and kept fresh by a refresher later.
async fn start_calendar(
    settings: &CalendarSettings,
    practice: &crate::config::PracticeSettings,
    horizon_days: u32,
    clock: &Clock,
) -> anyhow::Result<(Arc<dyn Calendar>, Arc<BusyCache>, EntryText, Duration)> {
    let calendar = calendar_from(settings, practice.zone);
    match calendar.check().await {
        Err(error @ CalendarError::Misconfigured(_)) => {
            return Err(error).context("checking the calendar")
        }
        Err(error) => {
            tracing::warn!(%error, "the calendar does not answer yet; bookings will be delivered later")
        }
        Ok(()) => {}
    }
    let busy = Arc::new(BusyCache::new(calendar.clone(), horizon_days));
    if let Err(error) = busy.refresh(clock.now()).await {
        tracing::warn!(%error, "reading busy time at start failed; will retry");
    }
    let (text, refresh_every) = entry_text_of(settings);
    Ok((calendar, busy, text, refresh_every))
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
        let store = Store::open(&settings.server.store)?;
        let (listener, metrics_listener) = bind(&settings.server).await?;
        let practice = Practice::start(settings, store, "", None, clock).await?;
        Ok(Self {
            listener,
            metrics_listener,
            served: Served::One(practice),
        })
    }

    /// Serves every practice of the folder `dir` (`serve --config-dir`),
    /// each under `/p/{id}/`, on the server settings `server` (the files'
    /// `[server]`, which must agree, with `--listen` and `--store` applied).
    pub async fn build_practices(
        dir: &std::path::Path,
        overrides: crate::practices::ServerOverrides,
        clock: Clock,
    ) -> anyhow::Result<Self> {
        let practices = Practices::start(dir, overrides, clock).await?;
        let (listener, metrics_listener) = bind(practices.server()).await?;
        Ok(Self {
            listener,
            metrics_listener,
            served: Served::Many(practices),
        })
    }

    /// The practices served, with `--config-dir` (to reload them on SIGHUP).
    pub fn practices(&self) -> Option<Arc<Practices>> {
        match &self.served {
            Served::Many(practices) => Some(practices.clone()),
            Served::One(_) => None,
        }
    }
}

/// The listener at `server.listen`, and `/metrics`'s own when set.
async fn bind(server: &ServerSettings) -> anyhow::Result<(TcpListener, Option<TcpListener>)> {
    let listener = TcpListener::bind(&server.listen)
        .await
        .with_context(|| format!("listening on {}", server.listen))?;
    let metrics_listener = crate::metrics::bind_separate(server).await?;
    Ok((listener, metrics_listener))
}

impl Practice {
    /// Checks the practice's calendars (a refusal of the credentials stops
    /// the start; a calendar merely unreachable does not) and makes its
    /// state on `store` (a handle for this practice), served at `base_path`
    /// (`""`, or `/p/{id}`); its outbox wakes `wake` when given (the worker
    /// of several practices).
    pub(crate) async fn start(
        settings: Settings,
        store: Store,
        base_path: &str,
        wake: Option<Arc<tokio::sync::Notify>>,
        clock: Clock,
    ) -> anyhow::Result<Self> {
        // The practice's calendar is read as far as anyone sharing it offers times.
        let shared_horizon = settings
            .practice
            .clinicians
            .iter()
            .filter(|c| c.calendar.is_none())
            .map(|c| c.rules.horizon_days)
            .fold(settings.practice.rules.horizon_days, u32::max);
        let (calendar, busy, text, refresh_every) = start_calendar(
            &settings.calendar,
            &settings.practice,
            shared_horizon,
            &clock,
        )
        .await?;
        let mut refreshers = vec![(busy.clone(), refresh_every)];
        let (mut clinician_busy, mut clinician_calendars) = (HashMap::new(), HashMap::new());
        for clinician in &settings.practice.clinicians {
            let Some(own) = &clinician.calendar else {
                continue;
            };
            let (calendar, busy, text, every) = start_calendar(
                own,
                &settings.practice,
                clinician.rules.horizon_days,
                &clock,
            )
            .await
            .with_context(|| format!("the calendar of clinician {}", clinician.id))?;
            refreshers.push((busy.clone(), every));
            clinician_busy.insert(clinician.id.clone(), busy);
            clinician_calendars.insert(clinician.id.clone(), (calendar, text));
        }
        let mail_key = settings.mail.as_ref().map(payload_key);
        store
            .call(move |s| s.seal_clear_payloads(mail_key.as_ref()))
            .await?;
        let mail = match &settings.mail {
            Some(mail) => Some(MailContext {
                mailer: Mailer::new(mail).context("setting up SMTP")?,
                settings: mail.clone(),
                practice: settings.practice.clone(),
                reminders: settings.reminders.clone(),
            }),
            None => None,
        };
        let mut outbox = Outbox::new(store.clone(), calendar, text, mail)
            .with_clinician_calendars(clinician_calendars);
        if let Some(wake) = wake {
            outbox = outbox.with_wake(wake);
        }
        let outbox = Arc::new(outbox);
        let state = Arc::new(AppState {
            base_path: base_path.to_owned(),
            booking_limiter: RateLimiter::per_minute(settings.server.bookings_per_minute),
            practice_body: crate::routes::practice_body(&settings.practice),
            request_counts: Default::default(),
            store,
            busy,
            clinician_busy,
            outbox,
            settings,
            clock,
        });
        Ok(Self { state, refreshers })
    }

    /// Keeps each of its calendars' busy time fresh, until aborted.
    pub(crate) fn spawn_refreshers(&self, clock: &Clock) -> Vec<tokio::task::JoinHandle<()>> {
        self.refreshers
            .iter()
            .map(|(busy, every)| busy.clone().spawn_refresher(*every, clock.clone()))
            .collect()
    }
}

impl Application {
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
        let (listener, metrics_listener) = (self.listener, self.metrics_listener);
        let practice = match self.served {
            Served::One(practice) => practice,
            Served::Many(practices) => {
                if metrics_listener.is_some() {
                    tracing::warn!("server.metrics_listen is not served with --config-dir; each practice's /p/{{id}}/metrics is, with server.metrics");
                }
                return practices.run_until_stopped(listener, shutdown).await;
            }
        };
        let clock = &practice.state.clock.clone();
        let refreshers = practice.spawn_refreshers(clock);
        let state = practice.state;
        let worker = state
            .outbox
            .clone()
            .spawn_worker(OUTBOX_ROUND, clock.clone());
        let housekeeping = housekeeping::spawn(
            state.store.clone(),
            state.settings.privacy.retention_days,
            HOUSEKEEPING_ROUND,
            clock.clone(),
        );
        let metrics = metrics_listener
            .map(|listener| crate::metrics::spawn_separate(listener, state.clone()));
        let limits = state.settings.server.connections.clone();
        let outbox = state.outbox.clone();
        let shutdown = async move {
            shutdown.await;
            outbox.stop();
        };
        crate::connections::serve(listener, router(state), limits, shutdown).await;
        refreshers.iter().for_each(|refresher| refresher.abort());
        housekeeping.abort();
        if let Some(metrics) = metrics {
            metrics.abort();
        }
        wait_for_outbox(worker).await;
        Ok(())
    }
}

/// Waits [`OUTBOX_STOP`] at most for the outbox worker told to stop.
pub(crate) async fn wait_for_outbox(mut worker: tokio::task::JoinHandle<()>) {
    match tokio::time::timeout(OUTBOX_STOP, &mut worker).await {
        Ok(_) => tracing::info!("stopped"),
        Err(_) => {
            worker.abort();
            tracing::warn!("the outbox was still delivering {OUTBOX_STOP:?} after the last request; that delivery will be retried at the next start");
        }
    }
}
