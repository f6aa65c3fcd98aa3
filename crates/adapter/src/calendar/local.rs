//! The embedded default: bookings live in the store, which is the calendar.
//! Nothing is written elsewhere. Busy time may come from ICS feeds (a
//! calendar's secret iCal address), fetched with conditional GETs; a feed that
//! breaks (unreachable, too slow, over [`MAX_BODY_BYTES`]) keeps its last good
//! copy in force and is reported, never fatal. Events in a feed that cannot be
//! read are skipped and counted; events in a zone not known here are read in
//! the practice's and counted.

use std::sync::Mutex;
use std::time::Duration;

use chrono_tz::Tz;
use firststep_availability::Interval;
use reqwest::StatusCode;

use super::capped_body::{body_text, MAX_BODY_BYTES};
use super::ical_read::{busy_events, LastCount};
use super::{Calendar, CalendarEntry, CalendarError, CalendarFuture, Placement};
use crate::config::Secret;

pub struct LocalCalendar {
    client: reqwest::Client,
    feeds: Vec<Feed>,
    /// The practice's zone, for all-day and floating events.
    zone: Tz,
}

struct Feed {
    /// The feed's address is a secret (it grants reading the calendar): never logged.
    url: Secret,
    /// Its number in the configuration, for messages.
    number: usize,
    last_good: Mutex<Option<FeedCopy>>,
    /// Events of the last read that could not be read, so a change is logged once.
    skipped: LastCount,
    /// Events of the last read in a zone not known here, likewise.
    unknown_zones: LastCount,
}

#[derive(Clone)]
struct FeedCopy {
    text: String,
    etag: Option<String>,
    last_modified: Option<String>,
}

impl LocalCalendar {
    pub fn new(feeds: &[Secret], zone: Tz) -> Self {
        // The whole download, body included, within the timeout.
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(20))
            .build()
            .expect("an HTTP client");
        let feeds = feeds
            .iter()
            .enumerate()
            .map(|(i, url)| Feed {
                url: url.clone(),
                number: i + 1,
                last_good: Mutex::new(None),
                skipped: LastCount::default(),
                unknown_zones: LastCount::default(),
            })
            .collect();
        Self {
            client,
            feeds,
            zone,
        }
    }

    /// The feed's current text: fetched anew, unchanged (304), or the last good copy.
    async fn read(&self, feed: &Feed) -> Option<String> {
        let previous = feed
            .last_good
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let mut request = self.client.get(feed.url.expose());
        if let Some(copy) = &previous {
            if let Some(etag) = &copy.etag {
                request = request.header("If-None-Match", etag);
            }
            if let Some(modified) = &copy.last_modified {
                request = request.header("If-Modified-Since", modified);
            }
        }
        let fresh = match request.send().await {
            Ok(response) if response.status() == StatusCode::NOT_MODIFIED => {
                return previous.map(|c| c.text)
            }
            Ok(response) if response.status().is_success() => {
                let header = |name: &str| {
                    response
                        .headers()
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned)
                };
                let (etag, last_modified) = (header("etag"), header("last-modified"));
                match body_text(response, MAX_BODY_BYTES).await {
                    Ok(text) if text.contains("BEGIN:VCALENDAR") => Ok(FeedCopy {
                        text,
                        etag,
                        last_modified,
                    }),
                    Ok(_) => Err("the answer is not an iCalendar file".to_owned()),
                    Err(error) => Err(error.to_string()),
                }
            }
            Ok(response) => Err(format!("the server answered {}", response.status())),
            Err(error) => Err(format!(
                "the server could not be reached ({})",
                error.without_url()
            )),
        };
        match fresh {
            Ok(copy) => {
                let text = copy.text.clone();
                *feed.last_good.lock().unwrap_or_else(|p| p.into_inner()) = Some(copy);
                Some(text)
            }
            Err(reason) => {
                tracing::warn!(
                    feed = feed.number,
                    reason,
                    "busy feed failed; keeping its last good copy"
                );
                previous.map(|c| c.text)
            }
        }
    }
}

impl Calendar for LocalCalendar {
    fn check(&self) -> CalendarFuture<'_, ()> {
        Box::pin(async { Ok(()) })
    }

    fn busy(&self, range: Interval) -> CalendarFuture<'_, Vec<Interval>> {
        Box::pin(async move {
            let mut busy = Vec::new();
            for feed in &self.feeds {
                if let Some(text) = self.read(feed).await {
                    let zone = self.zone;
                    let read = tokio::task::spawn_blocking(move || busy_events(&text, zone, range))
                        .await
                        .map_err(|_| {
                            CalendarError::Unreachable(format!(
                                "reading busy feed {} failed",
                                feed.number
                            ))
                        })?;
                    if let Some(skipped) = feed.skipped.changed(read.skipped) {
                        tracing::warn!(
                            feed = feed.number,
                            skipped,
                            "busy feed: events that cannot be read were skipped"
                        );
                    }
                    if let Some(unknown_zones) = feed.unknown_zones.changed(read.unknown_zones) {
                        tracing::warn!(
                            feed = feed.number,
                            unknown_zones,
                            "busy feed: events in a time zone not known here were read in the practice's zone"
                        );
                    }
                    busy.extend(read.events.into_iter().map(|e| e.interval));
                }
            }
            Ok(busy)
        })
    }

    fn place<'a>(&'a self, _entry: &'a CalendarEntry) -> CalendarFuture<'a, Placement> {
        Box::pin(async { Ok(Placement { etag: None }) })
    }

    fn confirm<'a>(
        &'a self,
        _entry: &'a CalendarEntry,
        placed: &'a Placement,
    ) -> CalendarFuture<'a, Placement> {
        Box::pin(async { Ok(placed.clone()) })
    }

    fn move_entry<'a>(
        &'a self,
        _entry: &'a CalendarEntry,
        _placed: &'a Placement,
    ) -> CalendarFuture<'a, Placement> {
        Box::pin(async { Ok(Placement { etag: None }) })
    }

    fn release<'a>(
        &'a self,
        _booking_id: &'a str,
        _placed: &'a Placement,
    ) -> CalendarFuture<'a, ()> {
        Box::pin(async { Ok(()) })
    }

    fn foreign_overlap<'a>(
        &'a self,
        _booking_id: &'a str,
        _slot: Interval,
    ) -> CalendarFuture<'a, bool> {
        Box::pin(async { Ok(false) })
    }
}
