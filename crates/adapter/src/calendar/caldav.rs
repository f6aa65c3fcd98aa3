//! CalDAV (RFC 4791): Nextcloud, iCloud, Fastmail, Radicale, Baïkal.
//!
//! Busy time comes from a `calendar-query` REPORT with a time range, asking
//! the server to expand recurrences. Each booking is one resource named after
//! its id, created with `If-None-Match: *` (two writers cannot both create it)
//! and changed or removed with `If-Match` on the stored ETag.
//!
//! Answers are read with a size cap ([`MAX_BODY_BYTES`]) and a timeout; events
//! in them that cannot be read are skipped and counted, and so are events in
//! a zone not known here (read in the practice's).

use std::time::{Duration, Instant};

use chrono_tz::Tz;
use firststep_availability::Interval;
use quick_xml::events::Event as XmlEvent;
use reqwest::{Method, StatusCode};

use super::capped_body::{body_text, MAX_BODY_BYTES};
use super::ical_read::{busy_events_until, BusyRead, LastCount, MAX_EXPANSION_TIME};
use super::{Calendar, CalendarEntry, CalendarError, CalendarFuture, Placement};
use crate::config::Secret;
use crate::ical;

/// Our own entries' UIDs end so; the store already counts them as busy.
const UID_SUFFIX: &str = "@firststep";

pub struct CalDavCalendar {
    client: reqwest::Client,
    /// The calendar collection, ending in `/`.
    url: String,
    user: String,
    password: Secret,
    /// The practice's zone, for all-day and floating events.
    zone: Tz,
    /// Events of the last busy-time read that could not be read, so a change is logged once.
    skipped: LastCount,
    /// Events of the last read in a zone not known here, likewise.
    unknown_zones: LastCount,
}

impl CalDavCalendar {
    pub fn new(url: &str, user: &str, password: Secret, zone: Tz) -> Self {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(15))
            .build()
            .expect("an HTTP client");
        let url = if url.ends_with('/') {
            url.to_owned()
        } else {
            format!("{url}/")
        };
        Self {
            client,
            url,
            user: user.to_owned(),
            password,
            zone,
            skipped: LastCount::default(),
            unknown_zones: LastCount::default(),
        }
    }

    fn resource(&self, booking_id: &str) -> String {
        format!("{}{booking_id}.ics", self.url)
    }

    fn request(&self, method: Method, url: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, url)
            .basic_auth(&self.user, Some(self.password.expose()))
    }

    /// A write answered with an unexpected status: a 4xx other than 404
    /// (a wrong collection address) is about the write itself.
    fn write_refused(&self, what: &str, status: StatusCode) -> CalendarError {
        let reason = format!("{what}: {} answered {status}", self.url);
        if status.is_client_error() && status != StatusCode::NOT_FOUND {
            CalendarError::Refused(reason)
        } else {
            CalendarError::Misconfigured(reason)
        }
    }

    /// Sends, and sorts failures into the three kinds.
    async fn send(
        &self,
        what: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, CalendarError> {
        let response = request.send().await.map_err(|error| {
            CalendarError::Unreachable(format!("{what} at {}: {error}", self.url))
        })?;
        match response.status() {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(CalendarError::Misconfigured(format!(
                "{what}: the CalDAV server at {} refused user \"{}\" (check the user name and password)",
                self.url, self.user
            ))),
            status if status.is_server_error() => {
                Err(CalendarError::Unreachable(format!("{what} at {}: the server answered {status}", self.url)))
            }
            _ => Ok(response),
        }
    }

    async fn events(&self, range: Interval) -> Result<BusyRead, CalendarError> {
        let (start, end) = (caldav_time(range.start), caldav_time(range.end));
        let body = format!(
            r#"<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><C:calendar-data><C:expand start="{start}" end="{end}"/></C:calendar-data></D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
    <C:time-range start="{start}" end="{end}"/>
  </C:comp-filter></C:comp-filter></C:filter>
</C:calendar-query>"#
        );
        let request = self
            .request(Method::from_bytes(b"REPORT").expect("a method"), &self.url)
            .header("Depth", "1")
            .header("Content-Type", "application/xml; charset=utf-8")
            .body(body);
        let response = self.send("reading busy time", request).await?;
        let status = response.status();
        if status != StatusCode::MULTI_STATUS {
            return Err(CalendarError::Misconfigured(format!(
                "reading busy time: {} answered {status}, not a calendar's 207 (is the URL a calendar collection?)",
                self.url
            )));
        }
        let xml = body_text(response, MAX_BODY_BYTES).await.map_err(|error| {
            CalendarError::Unreachable(format!("reading busy time from {}: {error}", self.url))
        })?;
        let zone = self.zone;
        tokio::task::spawn_blocking(move || {
            let deadline = Instant::now() + MAX_EXPANSION_TIME;
            let mut all = BusyRead::default();
            for data in calendar_data(&xml) {
                let read = busy_events_until(&data, zone, range, deadline);
                all.events.extend(read.events);
                all.skipped += read.skipped;
                all.unknown_zones += read.unknown_zones;
            }
            all
        })
        .await
        .map_err(|_| {
            CalendarError::Unreachable(format!("reading busy time from {} failed", self.url))
        })
    }

    async fn put(
        &self,
        entry: &CalendarEntry,
        condition: (&str, &str),
    ) -> Result<reqwest::Response, CalendarError> {
        let uid = format!("{}{UID_SUFFIX}", entry.booking_id);
        let text = ical::calendar(&[ical::Event {
            uid: &uid,
            stamp: entry.stamp,
            start: entry.slot.start,
            end: entry.slot.end,
            summary: &entry.title,
            description: Some(&entry.description),
            location: None,
            url: None,
            status: if entry.confirmed {
                "CONFIRMED"
            } else {
                "TENTATIVE"
            },
        }]);
        let request = self
            .request(Method::PUT, &self.resource(&entry.booking_id))
            .header("Content-Type", "text/calendar; charset=utf-8")
            .header(condition.0, condition.1)
            .body(text);
        self.send("writing a booking", request).await
    }

    async fn current_etag(&self, booking_id: &str) -> Result<Option<String>, CalendarError> {
        let response = self
            .send(
                "reading a booking's entry",
                self.request(Method::GET, &self.resource(booking_id)),
            )
            .await?;
        Ok(etag(&response))
    }
}

impl Calendar for CalDavCalendar {
    fn check(&self) -> CalendarFuture<'_, ()> {
        Box::pin(async move {
            let body = r#"<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/></D:prop></D:propfind>"#;
            let request = self
                .request(
                    Method::from_bytes(b"PROPFIND").expect("a method"),
                    &self.url,
                )
                .header("Depth", "0")
                .header("Content-Type", "application/xml; charset=utf-8")
                .body(body);
            let response = self.send("checking the calendar", request).await?;
            let status = response.status();
            let text = body_text(response, MAX_BODY_BYTES)
                .await
                .unwrap_or_default();
            if status != StatusCode::MULTI_STATUS || !text.contains("calendar") {
                return Err(CalendarError::Misconfigured(format!(
                    "{} is not a CalDAV calendar (the server answered {status})",
                    self.url
                )));
            }
            Ok(())
        })
    }

    fn busy(&self, range: Interval) -> CalendarFuture<'_, Vec<Interval>> {
        Box::pin(async move {
            let read = self.events(range).await?;
            if let Some(skipped) = self.skipped.changed(read.skipped) {
                tracing::warn!(
                    skipped,
                    "CalDAV calendar: events that cannot be read were skipped"
                );
            }
            if let Some(unknown_zones) = self.unknown_zones.changed(read.unknown_zones) {
                tracing::warn!(
                    unknown_zones,
                    "CalDAV calendar: events in a time zone not known here were read in the practice's zone"
                );
            }
            Ok(read
                .events
                .into_iter()
                .filter(|e| !e.uid.ends_with(UID_SUFFIX))
                .map(|e| e.interval)
                .collect())
        })
    }

    fn place<'a>(&'a self, entry: &'a CalendarEntry) -> CalendarFuture<'a, Placement> {
        Box::pin(async move {
            let response = self.put(entry, ("If-None-Match", "*")).await?;
            match response.status() {
                status if status.is_success() => Ok(Placement {
                    etag: etag(&response),
                }),
                // Already there: an earlier attempt succeeded before its answer was lost.
                StatusCode::PRECONDITION_FAILED => Ok(Placement {
                    etag: self.current_etag(&entry.booking_id).await?,
                }),
                status => Err(self.write_refused("writing a booking", status)),
            }
        })
    }

    fn confirm<'a>(
        &'a self,
        entry: &'a CalendarEntry,
        placed: &'a Placement,
    ) -> CalendarFuture<'a, Placement> {
        Box::pin(async move {
            let condition = match &placed.etag {
                Some(etag) => ("If-Match", etag.as_str()),
                None => ("If-Match", "*"),
            };
            let response = self.put(entry, condition).await?;
            match response.status() {
                status if status.is_success() => Ok(Placement {
                    etag: etag(&response),
                }),
                StatusCode::PRECONDITION_FAILED => Err(CalendarError::Conflict(format!(
                    "the entry of {} changed in the calendar",
                    entry.booking_id
                ))),
                status => Err(self.write_refused("confirming a booking", status)),
            }
        })
    }

    fn move_entry<'a>(
        &'a self,
        entry: &'a CalendarEntry,
        _placed: &'a Placement,
    ) -> CalendarFuture<'a, Placement> {
        Box::pin(async move {
            // Over whatever is there (the new time wins); if nothing is, anew.
            let response = self.put(entry, ("If-Match", "*")).await?;
            match response.status() {
                status if status.is_success() => Ok(Placement {
                    etag: etag(&response),
                }),
                StatusCode::PRECONDITION_FAILED => self.place(entry).await,
                status => Err(self.write_refused("moving a booking", status)),
            }
        })
    }

    fn release<'a>(&'a self, booking_id: &'a str, placed: &'a Placement) -> CalendarFuture<'a, ()> {
        Box::pin(async move {
            let mut request = self.request(Method::DELETE, &self.resource(booking_id));
            if let Some(etag) = &placed.etag {
                request = request.header("If-Match", etag);
            }
            let response = self.send("removing a booking", request).await?;
            match response.status() {
                status if status.is_success() || status == StatusCode::NOT_FOUND => Ok(()),
                StatusCode::PRECONDITION_FAILED => Err(CalendarError::Conflict(format!(
                    "the entry of {booking_id} changed in the calendar"
                ))),
                status => Err(self.write_refused("removing a booking", status)),
            }
        })
    }

    fn foreign_overlap<'a>(
        &'a self,
        booking_id: &'a str,
        slot: Interval,
    ) -> CalendarFuture<'a, bool> {
        Box::pin(async move {
            let own = format!("{booking_id}{UID_SUFFIX}");
            let events = self.events(slot).await?.events;
            Ok(events
                .iter()
                .any(|e| *e.uid != *own && !e.uid.ends_with(UID_SUFFIX)))
        })
    }
}

fn caldav_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

fn etag(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The text of every `calendar-data` element in a multistatus answer.
fn calendar_data(xml: &str) -> Vec<String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut found = Vec::new();
    let mut inside: Option<String> = None;
    loop {
        match reader.read_event() {
            Ok(XmlEvent::Start(e)) if e.local_name().as_ref() == b"calendar-data" => {
                inside = Some(String::new())
            }
            Ok(XmlEvent::End(e)) if e.local_name().as_ref() == b"calendar-data" => {
                found.extend(inside.take())
            }
            Ok(XmlEvent::Text(text)) => {
                if let (Some(data), Ok(text)) = (inside.as_mut(), text.decode()) {
                    data.push_str(&quick_xml::escape::unescape(&text).unwrap_or(text.clone()));
                }
            }
            Ok(XmlEvent::CData(text)) => {
                if let Some(data) = inside.as_mut() {
                    data.push_str(&String::from_utf8_lossy(&text));
                }
            }
            Ok(XmlEvent::GeneralRef(reference)) => {
                if let Some(data) = inside.as_mut() {
                    let name = String::from_utf8_lossy(&reference);
                    data.push_str(match name.as_ref() {
                        "lt" => "<",
                        "gt" => ">",
                        "amp" => "&",
                        "quot" => "\"",
                        "apos" => "'",
                        "#13" | "#xD" | "#xd" => "\r",
                        _ => "",
                    });
                }
            }
            Ok(XmlEvent::Eof) | Err(_) => break,
            _ => {}
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_calendar_data_out_of_a_multistatus() {
        let xml = r#"<?xml version="1.0"?>
<multistatus xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <response><href>/a.ics</href><propstat><prop>
    <C:calendar-data>BEGIN:VCALENDAR&#13;
SUMMARY:Tom &amp; Jerry&#13;
END:VCALENDAR</C:calendar-data></prop></propstat></response>
  <response><href>/b.ics</href><propstat><prop><C:calendar-data><![CDATA[BEGIN:VCALENDAR]]></C:calendar-data></prop></propstat></response>
</multistatus>"#;
        let found = calendar_data(xml);
        assert_eq!(found.len(), 2);
        assert!(
            found[0].contains("SUMMARY:Tom & Jerry\r\n"),
            "{:?}",
            found[0]
        );
        assert_eq!(found[1], "BEGIN:VCALENDAR");
    }

    mod never_panics {
        use super::*;
        use proptest::prelude::*;

        /// Pieces of a multistatus answer, shuffled and cut anywhere.
        fn piece() -> impl Strategy<Value = String> {
            prop_oneof![
                Just("<C:calendar-data>".to_owned()),
                Just("</C:calendar-data>".to_owned()),
                Just("<![CDATA[".to_owned()),
                Just("]]>".to_owned()),
                Just("<multistatus xmlns=\"DAV:\">".to_owned()),
                Just("</multistatus>".to_owned()),
                "&(#[0-9]{1,12}|#x[0-9a-fA-F]{1,10}|[a-z]{0,6});?",
                "BEGIN:VEVENT\r\nDTSTART:[0-9]{8}T[0-9]{6}Z\r\nDURATION:P[0-9]{1,20}W\r\nEND:VEVENT\r\n",
                any::<String>(),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn on_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
                let _ = calendar_data(&String::from_utf8_lossy(&bytes));
            }

            #[test]
            fn on_multistatus_like_text(pieces in prop::collection::vec(piece(), 0..24)) {
                let xml = pieces.concat();
                for data in calendar_data(&xml) {
                    prop_assert!(data.len() <= xml.len());
                }
            }
        }
    }
}
