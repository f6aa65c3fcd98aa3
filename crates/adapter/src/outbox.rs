//! Delivers what is owed after a booking changes: writes to the practice's
//! calendar (place, confirm, release) and emails. Each is an outbox row
//! stored in the same transaction as the change, so nothing is lost; this
//! worker delivers right away when woken, retries with backoff when a
//! calendar or mail server does not answer, and carries on after restarts.
//! Each round also expires requests left unanswered past their time.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use firststep_protocol::BookingStatus;
use tokio::sync::Notify;

use crate::calendar::{Calendar, CalendarEntry, Placement};
use crate::config::{MailSettings, PracticeSettings};
use crate::mail::compose::compose;
use crate::mail::Mailer;
use crate::sealing::first_mail_token;
use crate::store::{Delivery, Store};

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
}

pub struct Outbox {
    store: Store,
    calendar: Arc<dyn Calendar>,
    text: EntryText,
    /// `None` when no mail is configured: emails owed are then dropped.
    mail: Option<MailContext>,
    /// Woken when a change adds work, so delivery does not wait for the next round.
    wake: Notify,
    /// Failed deliveries since start, for `/metrics`.
    failed_calendar: AtomicU64,
    failed_mail: AtomicU64,
    /// Set when the process stops: the worker ends after the delivery under way.
    stopping: AtomicBool,
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
            mail,
            wake: Notify::new(),
            stopping: AtomicBool::new(false),
            failed_calendar: AtomicU64::new(0),
            failed_mail: AtomicU64::new(0),
        }
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

    /// Expires lapsed requests, then delivers every due row once; returns how
    /// many were delivered.
    pub async fn deliver_due(&self, now: DateTime<Utc>) -> usize {
        let store = self.store.clone();
        if let Err(error) = store.call(move |s| s.expire_lapsed(now)).await {
            tracing::error!(error = format!("{error:#}"), "expiring lapsed requests");
        }
        let store = self.store.clone();
        let due = match store.call(move |s| s.due_deliveries(now, 50)).await {
            Ok(due) => due,
            Err(error) => {
                tracing::error!(error = format!("{error:#}"), "reading the outbox");
                return 0;
            }
        };
        let mut delivered = 0;
        for delivery in due {
            if self.stopping() {
                break;
            }
            match self.deliver(&delivery, now).await {
                Ok(()) => delivered += 1,
                Err(reason) => {
                    let failed = match delivery.mail() {
                        Some(_) => &self.failed_mail,
                        None => &self.failed_calendar,
                    };
                    failed.fetch_add(1, Ordering::Relaxed);
                    let wait = Duration::seconds(5 * 2i64.pow(delivery.attempts.min(10)))
                        .min(Duration::hours(1));
                    tracing::warn!(
                        booking = delivery.booking_id,
                        action = delivery.action,
                        reason,
                        retry_in_s = wait.num_seconds(),
                        "delivery failed"
                    );
                    let store = self.store.clone();
                    let retry_at = now + wait;
                    if let Err(e) = store
                        .call(move |s| s.delivery_failed(&delivery, &reason, retry_at))
                        .await
                    {
                        tracing::error!(error = format!("{e:#}"), "postponing a delivery");
                    }
                }
            }
        }
        delivered
    }

    /// Delivers one row; the error is a reason to log and retry (no personal data).
    async fn deliver(&self, delivery: &Delivery, now: DateTime<Utc>) -> Result<(), String> {
        let (state, etag) = match delivery.mail() {
            Some(kind) => {
                if let Some(mail) = &self.mail {
                    let (store, id) = (self.store.clone(), delivery.booking_id.clone());
                    let details = store
                        .call(move |s| s.booking(&id, now))
                        .await
                        .map_err(|e| format!("reading the store: {e:#}"))?
                        .ok_or("no such booking")?;
                    let email = compose(
                        kind,
                        &details,
                        first_mail_token(&mail.settings, delivery).as_deref(),
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
        let (store, delivery) = (self.store.clone(), delivery.clone());
        store
            .call(move |s| s.delivered(&delivery, state, etag.as_deref(), now))
            .await
            .map_err(|e| format!("recording a delivery: {e:#}"))
    }

    /// Places, confirms or releases the booking's calendar entry; returns the
    /// booking's new calendar state and entry tag.
    async fn write_calendar(
        &self,
        delivery: &Delivery,
        now: DateTime<Utc>,
    ) -> Result<(&'static str, Option<String>), String> {
        let (store, id) = (self.store.clone(), delivery.booking_id.clone());
        let booking = store
            .call(move |s| s.booking(&id, now))
            .await
            .map_err(|e| format!("reading the store: {e:#}"))?
            .ok_or("no such booking")?;
        let placed = Placement {
            etag: booking.calendar_etag.clone(),
        };
        let id = delivery.booking_id.as_str();
        if delivery.action == Delivery::RELEASE || !booking.status.holds_slot() {
            self.calendar
                .release(id, &placed)
                .await
                .map_err(|e| e.to_string())?;
            return Ok(("released", None));
        }
        let mut title = self.text.title.clone();
        if self.text.include_client_name {
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
        if delivery.action == Delivery::CONFIRM {
            let placement = self
                .calendar
                .confirm(&entry, &placed)
                .await
                .map_err(|e| e.to_string())?;
            return Ok(("placed", placement.etag));
        }
        let placement = self
            .calendar
            .place(&entry)
            .await
            .map_err(|e| e.to_string())?;
        // Someone may have put an appointment there meanwhile: then the hold goes.
        if self
            .calendar
            .foreign_overlap(id, booking.slot)
            .await
            .map_err(|e| e.to_string())?
        {
            self.calendar
                .release(id, &placement)
                .await
                .map_err(|e| e.to_string())?;
            tracing::warn!(
                booking = id,
                "the calendar had another event in this slot; hold withdrawn"
            );
            return Ok(("conflicted", None));
        }
        Ok(("placed", placement.etag))
    }

    /// Delivers due rows now and then, and whenever woken, until [`Outbox::stop`].
    pub fn spawn_worker(self: Arc<Self>, every: StdDuration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            while !self.stopping() {
                self.deliver_due(Utc::now()).await;
                tokio::select! {
                    _ = self.wake.notified() => {}
                    _ = tokio::time::sleep(every) => {}
                }
            }
        })
    }
}
