//! Delivers what is owed after a booking changes: writes to the practice's
//! calendar (place, confirm, move, release) and emails. Each is an outbox row
//! stored in the same transaction as the change, so nothing is lost; this
//! worker delivers right away when woken, retries with backoff when a
//! calendar or mail server does not answer, and carries on after restarts.
//! Each round also expires requests left unanswered past their time, and
//! queues the visitors' reminders that fell due (`store/reminders.rs`).
//!
//! A row that can never succeed is set aside rather than retried for ever:
//! after [`PERMANENT_TRIES`] tries refused for good (an address that is not
//! one, an SMTP 5xx, a calendar refusing the write itself), or after
//! [`TRANSIENT_LIMIT`] of failing for passing reasons (by then the request
//! has lapsed and the email is stale, and an endless queue would hide the
//! fault from the operator). `requests list` shows what was set aside.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use firststep_protocol::BookingStatus;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::calendar::{Calendar, CalendarEntry, CalendarError, Placement};
use crate::clock::Clock;
use crate::config::{MailSettings, PracticeSettings, ReminderSettings};
use crate::mail::compose::compose;
use crate::mail::Mailer;
use crate::sealing::delivery_token;
use crate::store::{Action, BookingRecord, Delivery, Mail, Store};

/// Tries before a row refused for good is set aside: a few, since a relay
/// may answer 5xx for a fault of its own that is soon mended.
pub const PERMANENT_TRIES: u32 = 5;
/// How long a row failing for passing reasons is tried (at most hourly).
pub const TRANSIENT_LIMIT: Duration = Duration::days(7);

/// Why a delivery failed, and whether trying again may help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// For the log and the operator; no personal data.
    pub reason: String,
    /// The other side refused this item itself: the same try will fail again.
    pub permanent: bool,
}

impl Failure {
    pub fn transient(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            permanent: false,
        }
    }

    pub fn permanent(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            permanent: true,
        }
    }

    /// Whether `delivery`, failing now with this, is to be set aside.
    fn ends(&self, delivery: &Delivery, now: DateTime<Utc>) -> bool {
        let tries = delivery.attempts.saturating_add(1);
        (self.permanent && tries >= PERMANENT_TRIES)
            || now.signed_duration_since(delivery.created_at) >= TRANSIENT_LIMIT
    }
}

/// Failures reading or writing the store: worth another try.
impl From<String> for Failure {
    fn from(reason: String) -> Self {
        Self::transient(reason)
    }
}

/// A calendar that refuses a write, or reports it lost a race, will refuse
/// it again; one out of reach or misconfigured may be back or fixed.
impl From<CalendarError> for Failure {
    fn from(error: CalendarError) -> Self {
        let permanent = matches!(
            error,
            CalendarError::Refused(_) | CalendarError::Conflict(_)
        );
        Self {
            reason: error.to_string(),
            permanent,
        }
    }
}

/// How long deliveries may take. A server that accepts and then trickles
/// (each of the mailer's reads and writes alone may wait 20 s) is cut off
/// at `delivery`, a passing failure: an email whose server had it whole but
/// had not yet said so may then go twice. A round starts deliveries for
/// `round`, and lets the rest go to the next. So a round ends after about
/// 3 minutes at most (with its store calls, under 4), inside the 5-minute
/// lease a replica holds its items for on PostgreSQL
/// (`store::postgres::outbox::LEASE`): no other replica takes an item
/// while it is being sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub delivery: StdDuration,
    pub round: StdDuration,
}

pub const LIMITS: Limits = Limits {
    delivery: StdDuration::from_secs(60),
    round: StdDuration::from_secs(120),
};

/// Expires the requests lapsed by `now`, then takes the outbox items due
/// of `practices` (those this process serves, each item marked with its
/// own; another's are left to the process serving it, and never crowd
/// these out), at most a round's worth; none when the store cannot be read
/// (logged).
pub async fn take_due(store: &Store, now: DateTime<Utc>, practices: Vec<String>) -> Vec<Delivery> {
    if let Err(error) = store.call(move |s| s.expire_lapsed(now)).await {
        tracing::error!(error = format!("{error:#}"), "expiring lapsed requests");
    }
    match store
        .call(move |s| s.due_deliveries(now, 50, &practices))
        .await
    {
        Ok(due) => due,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "reading the outbox");
            Vec::new()
        }
    }
}

/// Whether a reminder queued for `booking` is still to be sent at `now`:
/// never for a booking cancelled, declined or expired meanwhile (the outbox
/// may have been down), nor once it has begun.
fn reminds_of(booking: &BookingRecord, now: DateTime<Utc>) -> bool {
    booking.status == BookingStatus::Confirmed && now < booking.slot.start
}

/// How entries read in the practice's calendar.
#[derive(Debug, Clone)]
pub struct EntryText {
    pub title: String,
    /// Off by default: calendars sync to third-party servers.
    pub include_client_name: bool,
}

/// What sending email needs.
pub struct MailContext {
    pub mailer: Mailer,
    pub settings: MailSettings,
    pub practice: PracticeSettings,
    pub reminders: ReminderSettings,
}

pub struct Outbox {
    store: Store,
    calendar: Arc<dyn Calendar>,
    text: EntryText,
    /// The calendars of clinicians who have their own, by id; the others'
    /// bookings go to the practice's.
    clinician_calendars: HashMap<String, (Arc<dyn Calendar>, EntryText)>,
    /// `None` when no mail is configured: emails owed are then dropped.
    mail: Option<MailContext>,
    /// Woken when a change adds work, so delivery does not wait for the next
    /// round; shared by every practice of a `--config-dir`, whose one worker
    /// delivers them all.
    wake: Arc<Notify>,
    /// Failed deliveries since start, for `/metrics`.
    failed_calendar: AtomicU64,
    failed_mail: AtomicU64,
    /// Set when the process stops: the worker ends after the delivery under way.
    stopping: AtomicBool,
    limits: Limits,
}

/// Failed deliveries since the process started, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryFailures {
    pub calendar: u64,
    pub mail: u64,
}

impl Outbox {
    pub fn new(
        store: Store,
        calendar: Arc<dyn Calendar>,
        text: EntryText,
        mail: Option<MailContext>,
    ) -> Self {
        Self {
            store,
            calendar,
            text,
            clinician_calendars: HashMap::new(),
            mail,
            wake: Arc::new(Notify::new()),
            stopping: AtomicBool::new(false),
            failed_calendar: AtomicU64::new(0),
            failed_mail: AtomicU64::new(0),
            limits: LIMITS,
        }
    }

    /// With other limits than [`LIMITS`] (tests shorten them). A folder's
    /// shared round (`practices.rs`) ends at [`LIMITS`]' round for all.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// With the clinicians' own calendars (by id), where their bookings are written.
    pub fn with_clinician_calendars(
        mut self,
        calendars: HashMap<String, (Arc<dyn Calendar>, EntryText)>,
    ) -> Self {
        self.clinician_calendars = calendars;
        self
    }

    /// Woken by `wake`, that of the one worker delivering for several practices.
    pub fn with_wake(mut self, wake: Arc<Notify>) -> Self {
        self.wake = wake;
        self
    }

    /// Failed deliveries since start.
    pub fn failures(&self) -> DeliveryFailures {
        DeliveryFailures {
            calendar: self.failed_calendar.load(Ordering::Relaxed),
            mail: self.failed_mail.load(Ordering::Relaxed),
        }
    }

    /// Asks the worker to deliver now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Asks the worker to end once the delivery under way is recorded; the
    /// rest stay due for the next start.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::Relaxed);
        self.wake.notify_one();
    }

    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }

    /// Queues the reminders due, expires lapsed requests, then delivers
    /// every due row once; returns how many were delivered.
    pub async fn deliver_due(&self, now: DateTime<Utc>) -> usize {
        self.queue_reminders(now).await;
        let until = Instant::now() + self.limits.round;
        let due = take_due(&self.store, now, vec![self.store.practice().to_owned()]).await;
        self.deliver_each(due, now, until).await
    }

    /// Queues this practice's reminders that fell due.
    pub async fn queue_reminders(&self, now: DateTime<Utc>) {
        // Without mail no reminder goes, and the tokens kept for them go too.
        let hours = self
            .mail
            .as_ref()
            .map_or_else(Vec::new, |m| m.reminders.hours_before.clone());
        let store = self.store.clone();
        match store
            .call(move |s| s.queue_due_reminders(&hours, now))
            .await
        {
            Ok(0) => {}
            Ok(queued) => tracing::info!(reminders = queued, "reminders queued"),
            Err(error) => tracing::error!(error = format!("{error:#}"), "queueing reminders"),
        }
    }

    /// Delivers each of `due` (taken from the outbox, this practice's) once,
    /// each within the delivery limit, unless told to stop or `until` (the
    /// round's end) has come: what is left is let go. Returns how many were
    /// delivered.
    pub async fn deliver_each(
        &self,
        due: Vec<Delivery>,
        now: DateTime<Utc>,
        until: Instant,
    ) -> usize {
        let mut delivered = 0;
        let mut due = due.into_iter();
        while let Some(delivery) = due.next() {
            let out_of_time = Instant::now() >= until;
            if self.stopping() || out_of_time {
                // Taken but not tried: left to the next round, start or another replica at once.
                let left: Vec<Delivery> = std::iter::once(delivery).chain(due).collect();
                if out_of_time {
                    tracing::warn!(
                        left = left.len(),
                        "the outbox round ran out of time; the rest is left to the next round"
                    );
                }
                let store = self.store.clone();
                if let Err(e) = store.call(move |s| s.let_go(&left)).await {
                    tracing::error!(error = format!("{e:#}"), "letting outbox items go");
                }
                break;
            }
            match self.deliver(&delivery, now).await {
                Ok(()) => delivered += 1,
                Err(failure) => {
                    let failed = match delivery.action.mail() {
                        Some(_) => &self.failed_mail,
                        None => &self.failed_calendar,
                    };
                    failed.fetch_add(1, Ordering::Relaxed);
                    if failure.ends(&delivery, now) {
                        self.set_aside(delivery, failure, now).await;
                    } else {
                        let wait = Duration::seconds(5 * 2i64.pow(delivery.attempts.min(10)))
                            .min(Duration::hours(1));
                        tracing::warn!(
                            booking = delivery.booking_id,
                            action = delivery.action.as_str(),
                            reason = failure.reason,
                            permanent = failure.permanent,
                            retry_in_s = wait.num_seconds(),
                            "delivery failed"
                        );
                        let store = self.store.clone();
                        let retry_at = now + wait;
                        if let Err(e) = store
                            .call(move |s| s.delivery_failed(&delivery, &failure.reason, retry_at))
                            .await
                        {
                            tracing::error!(error = format!("{e:#}"), "postponing a delivery");
                        }
                    }
                }
            }
        }
        delivered
    }

    /// Gives up on a row that cannot succeed; `requests list` shows it.
    async fn set_aside(&self, delivery: Delivery, failure: Failure, now: DateTime<Utc>) {
        tracing::error!(
            booking = delivery.booking_id,
            action = delivery.action.as_str(),
            reason = failure.reason,
            attempts = delivery.attempts.saturating_add(1),
            "delivery set aside: it cannot succeed (see `requests list`)"
        );
        let store = self.store.clone();
        if let Err(e) = store
            .call(move |s| s.set_aside(&delivery, &failure.reason, now))
            .await
        {
            tracing::error!(error = format!("{e:#}"), "setting a delivery aside");
        }
    }

    /// Delivers one row within the delivery limit, then records it (the
    /// record is not cut off: a write cut off would go on in the store
    /// regardless). The failure's reason is for the log (no personal data).
    async fn deliver(&self, delivery: &Delivery, now: DateTime<Utc>) -> Result<(), Failure> {
        let limit = self.limits.delivery;
        let (state, etag) = tokio::time::timeout(limit, self.attempt(delivery, now))
            .await
            .unwrap_or_else(|_| {
                // A calendar write is idempotent; an email is not.
                let after = match delivery.action.mail() {
                    Some(_) => "the email may have gone all the same",
                    None => "the calendar write is tried again, unharmed",
                };
                Err(Failure::transient(format!(
                    "cut off after {} s ({after})",
                    limit.as_secs_f64()
                )))
            })?;
        self.record(delivery, state, etag, now).await
    }

    /// Sends the row's email or writes its calendar entry; returns the
    /// booking's new calendar state and entry tag, if any.
    async fn attempt(
        &self,
        delivery: &Delivery,
        now: DateTime<Utc>,
    ) -> Result<(Option<&'static str>, Option<String>), Failure> {
        let done = match delivery.action.mail() {
            Some(kind) => {
                if let Some(mail) = &self.mail {
                    let (store, id) = (self.store.clone(), delivery.booking_id.clone());
                    let details = store
                        .call(move |s| s.booking(&id, now))
                        .await
                        .map_err(|e| format!("reading the store: {e:#}"))?
                        .ok_or_else(|| Failure::permanent("no such booking"))?;
                    if kind == Mail::VisitorReminder && !reminds_of(&details, now) {
                        tracing::info!(
                            booking = delivery.booking_id,
                            "reminder not sent: the booking is no longer confirmed, or has begun"
                        );
                        return Ok((None, None));
                    }
                    let email = compose(
                        kind,
                        &details,
                        delivery_token(&mail.settings, delivery).as_deref(),
                        &mail.practice,
                        &mail.settings,
                        now,
                    );
                    mail.mailer.send(&email).await?;
                }
                (None, None)
            }
            None => {
                let (state, etag) = self.write_calendar(delivery, now).await?;
                (Some(state), etag)
            }
        };
        Ok(done)
    }

    /// Records `delivery` as done, with the booking's new calendar state.
    async fn record(
        &self,
        delivery: &Delivery,
        state: Option<&'static str>,
        etag: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<(), Failure> {
        let (store, delivery) = (self.store.clone(), delivery.clone());
        store
            .call(move |s| s.delivered(&delivery, state, etag.as_deref(), now))
            .await
            .map_err(|e| Failure::transient(format!("recording a delivery: {e:#}")))
    }

    /// Places, confirms or releases the booking's calendar entry; returns the
    /// booking's new calendar state and entry tag.
    async fn write_calendar(
        &self,
        delivery: &Delivery,
        now: DateTime<Utc>,
    ) -> Result<(&'static str, Option<String>), Failure> {
        let (store, id) = (self.store.clone(), delivery.booking_id.clone());
        let booking = store
            .call(move |s| s.booking(&id, now))
            .await
            .map_err(|e| format!("reading the store: {e:#}"))?
            .ok_or_else(|| Failure::permanent("no such booking"))?;
        let placed = Placement {
            etag: booking.calendar_etag.clone(),
        };
        let id = delivery.booking_id.as_str();
        // The clinician's own calendar, else the practice's.
        let (calendar, text) = booking
            .clinician
            .as_deref()
            .and_then(|c| self.clinician_calendars.get(c))
            .map_or((&self.calendar, &self.text), |(calendar, text)| {
                (calendar, text)
            });
        if delivery.action == Action::Release || !booking.status.holds_slot() {
            calendar.release(id, &placed).await?;
            return Ok(("released", None));
        }
        let mut title = text.title.clone();
        if text.include_client_name {
            title = format!("{title}: {}", booking.visitor.name);
        }
        let entry = CalendarEntry {
            booking_id: id.to_owned(),
            slot: booking.slot,
            title,
            description: format!(
                "Booked through First Step ({}, booking {id}).",
                booking.service
            ),
            confirmed: booking.status == BookingStatus::Confirmed,
            stamp: now,
        };
        if delivery.action == Action::Confirm {
            let placement = calendar.confirm(&entry, &placed).await?;
            return Ok(("placed", placement.etag));
        }
        let placement = match delivery.action {
            Action::Move => calendar.move_entry(&entry, &placed).await?,
            _ => calendar.place(&entry).await?,
        };
        // Someone may have put an appointment there meanwhile: then the hold goes.
        if calendar.foreign_overlap(id, booking.slot).await? {
            calendar.release(id, &placement).await?;
            tracing::warn!(
                booking = id,
                "the calendar had another event in this slot; hold withdrawn"
            );
            return Ok(("conflicted", None));
        }
        Ok(("placed", placement.etag))
    }

    /// Delivers due rows now and then, and whenever woken or `clock` jumps,
    /// until [`Outbox::stop`].
    pub fn spawn_worker(
        self: Arc<Self>,
        every: StdDuration,
        mut clock: Clock,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            while !self.stopping() {
                let (outbox, now) = (self.clone(), clock.now());
                crate::background::round("outbox deliveries", async move {
                    outbox.deliver_due(now).await
                })
                .await;
                tokio::select! {
                    _ = self.wake.notified() => {}
                    _ = tokio::time::sleep(every) => {}
                    _ = clock.jumped() => {}
                }
            }
        })
    }
}
