//! Delivers the writes owed to the practice's calendar: placing each booking,
//! removing cancelled ones. A booking is stored (with its outbox row) before
//! the visitor's 201; this worker then delivers right away when the calendar
//! answers, and retries with backoff when it does not — across restarts too,
//! since the outbox is in the store.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use tokio::sync::Notify;

use crate::calendar::{Calendar, CalendarEntry, CalendarError, Placement};
use crate::store::{Delivery, Store};

/// How entries read in the practice's calendar.
#[derive(Debug, Clone)]
pub struct EntryText {
    pub title: String,
    /// Off by default: calendars sync to third-party servers.
    pub include_client_name: bool,
}

pub struct Outbox {
    store: Store,
    calendar: Arc<dyn Calendar>,
    text: EntryText,
    /// Woken when a booking adds work, so delivery does not wait for the next round.
    wake: Notify,
}

impl Outbox {
    pub fn new(store: Store, calendar: Arc<dyn Calendar>, text: EntryText) -> Self {
        Self {
            store,
            calendar,
            text,
            wake: Notify::new(),
        }
    }

    /// Asks the worker to deliver now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Delivers every due write once; returns how many were delivered.
    pub async fn deliver_due(&self, now: DateTime<Utc>) -> usize {
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
            match self.deliver(&delivery, now).await {
                Ok(()) => delivered += 1,
                Err(error) => {
                    let wait = Duration::seconds(5 * 2i64.pow(delivery.attempts.min(10)))
                        .min(Duration::hours(1));
                    tracing::warn!(booking = delivery.booking_id, action = delivery.action, %error, retry_in_s = wait.num_seconds(), "calendar write failed");
                    let (store, reason) = (self.store.clone(), error.to_string());
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

    async fn deliver(&self, delivery: &Delivery, now: DateTime<Utc>) -> Result<(), CalendarError> {
        let id = delivery.booking_id.clone();
        let store = self.store.clone();
        let booking = store
            .call(move |s| s.calendar_booking(&id, now))
            .await
            .map_err(|e| CalendarError::Unreachable(format!("reading the store: {e:#}")))?
            .ok_or_else(|| {
                CalendarError::Misconfigured(format!("no booking {}", delivery.booking_id))
            })?;
        let placed = Placement {
            etag: booking.calendar_etag.clone(),
        };
        let (state, etag) = if delivery.action == Delivery::RELEASE || !booking.status.holds_slot()
        {
            self.calendar.release(&delivery.booking_id, &placed).await?;
            ("released", None)
        } else {
            let mut title = self.text.title.clone();
            if self.text.include_client_name {
                title = format!("{title}: {}", booking.client_name);
            }
            let entry = CalendarEntry {
                booking_id: delivery.booking_id.clone(),
                slot: booking.slot,
                title,
                description: format!(
                    "Booked through First Step ({}, booking {}).",
                    booking.service, delivery.booking_id
                ),
                confirmed: booking.status == firststep_protocol::BookingStatus::Confirmed,
                stamp: now,
            };
            let placement = self.calendar.place(&entry).await?;
            // Someone may have put an appointment there meanwhile: then the hold goes.
            if self
                .calendar
                .foreign_overlap(&delivery.booking_id, booking.slot)
                .await?
            {
                self.calendar
                    .release(&delivery.booking_id, &placement)
                    .await?;
                tracing::warn!(
                    booking = delivery.booking_id,
                    "the calendar had another event in this slot; hold withdrawn"
                );
                ("conflicted", None)
            } else {
                ("placed", placement.etag)
            }
        };
        let (store, delivery) = (self.store.clone(), delivery.clone());
        store
            .call(move |s| s.delivered(&delivery, state, etag.as_deref(), now))
            .await
            .map_err(|e| CalendarError::Unreachable(format!("recording a delivery: {e:#}")))
    }

    /// Delivers due writes now and then, and whenever woken, until the process ends.
    pub fn spawn_worker(self: Arc<Self>, every: StdDuration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                self.deliver_due(Utc::now()).await;
                tokio::select! {
                    _ = self.wake.notified() => {}
                    _ = tokio::time::sleep(every) => {}
                }
            }
        })
    }
}
