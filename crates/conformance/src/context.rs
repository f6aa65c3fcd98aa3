//! What the checks of one run share: the options, the [`Probe`], the
//! practice as `GET /v1/practice` describes it, open slots to book, fresh
//! idempotency keys, and booking bodies that follow the practice's form.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{json, Value};
use tokio::sync::OnceCell;

use crate::http::{Answer, Method, Probe};
use crate::verdict::{self, failed, NotPassed};

/// What the command line says.
#[derive(Debug, Clone)]
pub struct Options {
    /// The server, like `https://adapter.example.org`.
    pub base_url: String,
    /// The service to book and list; the practice's first when `None`.
    pub service: Option<String>,
    /// Whether bookings may be made (each is cancelled by the check that made it).
    pub allow_writes: bool,
    /// An origin the server lists for CORS; the CORS checks of allowed
    /// origins are skipped without one.
    pub origin: Option<String>,
}

/// The visitor every booking of the kit is made for; the calendar file must
/// hold none of it.
pub(crate) const VISITOR_NAME: &str = "Quinn Conformance";
pub(crate) const VISITOR_EMAIL: &str = "quinn.conformance@example.org";
pub(crate) const VISITOR_PHONE: &str = "+1 555 010 4477";

pub struct Context {
    pub(crate) options: Options,
    pub(crate) probe: Probe,
    practice: OnceCell<Result<Practice, NotPassed>>,
    /// Open slots of the service not yet handed to a check.
    free: OnceCell<Mutex<Vec<DateTime<Utc>>>>,
    keys: AtomicU64,
}

/// What the checks need to know of the practice.
#[derive(Debug, Clone)]
pub(crate) struct Practice {
    pub name: String,
    pub time_zone: String,
    pub service_count: usize,
    /// The service the run books and lists.
    pub service: Service,
    /// `form.phone` and `form.note`: `hidden`, `optional` or `required`.
    pub phone: String,
    pub note: String,
    /// In a group practice, the ids of the clinicians who offer the service.
    pub clinicians: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Service {
    pub id: String,
    pub title: String,
    pub duration: Duration,
    /// `request` or `instant`.
    pub mode: String,
}

/// A booking a check made: cancel it when done ([`Context::cancel`]).
#[derive(Debug, Clone)]
pub(crate) struct Booked {
    pub id: String,
    pub manage_token: String,
    pub start: DateTime<Utc>,
    pub answer: Answer,
}

impl Context {
    pub(crate) fn new(options: Options) -> Result<Self, String> {
        Ok(Self {
            probe: Probe::new(&options.base_url)?,
            options,
            practice: OnceCell::new(),
            free: OnceCell::new(),
            keys: AtomicU64::new(0),
        })
    }

    /// The practice, read once; a check that needs it fails when it cannot be read.
    pub(crate) async fn practice(&self) -> Result<&Practice, NotPassed> {
        self.practice
            .get_or_init(|| self.read_practice())
            .await
            .as_ref()
            .map_err(Clone::clone)
    }

    async fn read_practice(&self) -> Result<Practice, NotPassed> {
        let needed = "GET /v1/practice to describe the practice (other checks need it)";
        let answer = self.probe.get("/v1/practice").await?;
        verdict::status(&answer, 200, needed)?;
        let body = verdict::json_object(&answer, needed)?;
        let services = body
            .get("services")
            .and_then(Value::as_array)
            .ok_or_else(|| failed(needed, answer.describe()))?;
        let wanted = self.options.service.as_deref();
        let chosen = services
            .iter()
            .find(|s| wanted.is_none_or(|id| s.get("id").and_then(Value::as_str) == Some(id)))
            .ok_or_else(|| {
                failed(
                    format!("{needed}, with the service {}", wanted.unwrap_or("(any)")),
                    answer.describe(),
                )
            })?;
        let text =
            |value: Option<&Value>| value.and_then(Value::as_str).unwrap_or_default().to_owned();
        let minutes = chosen
            .get("duration_minutes")
            .and_then(Value::as_i64)
            .filter(|minutes| (1..=24 * 60).contains(minutes))
            .ok_or_else(|| {
                failed(
                    format!("{needed}: a duration in minutes"),
                    answer.describe(),
                )
            })?;
        let form = body.get("form");
        let service_id = text(chosen.get("id"));
        let offers = |clinician: &&Value| {
            clinician
                .get("services")
                .and_then(Value::as_array)
                .is_some_and(|ids| ids.iter().any(|id| id.as_str() == Some(&service_id)))
        };
        let clinicians = body
            .get("clinicians")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter(offers)
                    .filter_map(|c| c.get("id")?.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Practice {
            name: text(body.get("name")),
            time_zone: text(body.get("time_zone")),
            service_count: services.len(),
            service: Service {
                id: service_id,
                title: text(chosen.get("title")),
                duration: Duration::minutes(minutes),
                mode: text(chosen.get("mode")),
            },
            phone: text(form.and_then(|f| f.get("phone"))),
            note: text(form.and_then(|f| f.get("note"))),
            clinicians,
        })
    }

    /// `GET /v1/slots` of the run's service for `[from, to)`.
    pub(crate) async fn slots(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Answer, NotPassed> {
        let service = &self.practice().await?.service.id;
        let path = format!(
            "/v1/slots?service={}&from={}&to={}",
            escape(service),
            instant(from),
            instant(to)
        );
        self.probe.get(&path).await
    }

    /// The starts of `GET /v1/slots` for `[from, to)`, which must answer 200.
    pub(crate) async fn slot_starts(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<DateTime<Utc>>, NotPassed> {
        let answer = self.slots(from, to).await?;
        let needed = "GET /v1/slots to list open slots (this check books one)";
        verdict::status(&answer, 200, needed)?;
        let body = verdict::json_object(&answer, needed)?;
        body.get("slots")
            .and_then(Value::as_array)
            .ok_or_else(|| failed(needed, answer.describe()))?
            .iter()
            .map(|slot| verdict::utc_instant(slot.get("start"), "a slot's start"))
            .collect()
    }

    /// An open slot no other check of this run was given; skips the check
    /// when the practice offers none in the next two weeks.
    pub(crate) async fn free_slot(&self) -> Result<DateTime<Utc>, NotPassed> {
        self.free_slots()
            .await?
            .lock()
            .ok()
            .and_then(|mut starts| starts.pop())
            .ok_or_else(|| {
                NotPassed::Skipped("no open slot left in the next two weeks to book".into())
            })
    }

    /// The latest open slot not after `latest` that no other check was
    /// given: far enough ahead to be changed by its visitor (moves close to
    /// the start may be refused).
    pub(crate) async fn free_late_slot(
        &self,
        latest: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, NotPassed> {
        self.free_slots()
            .await?
            .lock()
            .ok()
            .and_then(|mut starts| {
                // Latest first: the pool is kept in descending order.
                let at = starts.iter().position(|start| *start <= latest)?;
                Some(starts.remove(at))
            })
            .ok_or_else(|| {
                NotPassed::Skipped("no open slot left in the next two weeks to book".into())
            })
    }

    /// A start to put in bodies the server must refuse for another reason:
    /// the next open slot, left for others (so the slot is not what is
    /// wrong), or tomorrow at noon when none is open.
    pub(crate) async fn some_start(&self) -> DateTime<Utc> {
        let next = match self.free_slots().await {
            Ok(pool) => pool.lock().ok().and_then(|starts| starts.last().copied()),
            Err(_) => None,
        };
        next.unwrap_or_else(|| {
            let tomorrow = Utc::now() + Duration::days(1);
            tomorrow
                .date_naive()
                .and_hms_opt(12, 0, 0)
                .map_or(tomorrow, |noon| noon.and_utc())
        })
    }

    async fn free_slots(&self) -> Result<&Mutex<Vec<DateTime<Utc>>>, NotPassed> {
        self.free
            .get_or_try_init(|| async {
                // From an hour on, so minimum notice does not close a slot mid-run.
                let from = Utc::now() + Duration::hours(1);
                let mut starts = self.slot_starts(from, from + Duration::days(14)).await?;
                starts.reverse();
                Ok::<_, NotPassed>(Mutex::new(starts))
            })
            .await
    }

    /// A fresh `Idempotency-Key`, unique to this run and its moment.
    pub(crate) fn new_key(&self) -> String {
        let count = self.keys.fetch_add(1, Ordering::Relaxed);
        let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
        format!("conformance-{}-{nanos:x}-{count}", std::process::id())
    }

    /// A booking request the server must take for `start`, as JSON (the
    /// phone and note as the practice's form asks).
    pub(crate) async fn booking_value(&self, start: DateTime<Utc>) -> Result<Value, NotPassed> {
        let practice = self.practice().await?;
        let phone = (practice.phone == "required").then_some(VISITOR_PHONE);
        let note = (practice.note == "required").then_some("Checked by firststep-conformance.");
        Ok(json!({
            "service": practice.service.id,
            "start": instant(start),
            "client": {"name": VISITOR_NAME, "email": VISITOR_EMAIL, "phone": phone},
            "client_time_zone": "Europe/Berlin",
            "locale": "en",
            "note": note,
            "consent": true,
            "website": ""
        }))
    }

    /// [`Self::booking_value`] changed by `change`, as the bytes to send.
    pub(crate) async fn booking_body(
        &self,
        start: DateTime<Utc>,
        change: impl FnOnce(&mut Value),
    ) -> Result<Vec<u8>, NotPassed> {
        let mut value = self.booking_value(start).await?;
        change(&mut value);
        Ok(value.to_string().into_bytes())
    }

    /// Books `start` with a fresh key; anything but a 201 with an id and a
    /// manage token fails the check.
    pub(crate) async fn book(&self, start: DateTime<Utc>) -> Result<Booked, NotPassed> {
        let body = self.booking_body(start, |_| {}).await?;
        let answer = self
            .probe
            .post_booking(Some(&self.new_key()), &body)
            .await?;
        booked(answer, start)
    }

    /// `POST /v1/bookings/{id}/reschedule` of `booking` to `start`, with
    /// `token` as its Bearer token and the key if given.
    pub(crate) async fn reschedule(
        &self,
        booking: &Booked,
        token: &str,
        key: Option<&str>,
        body: &[u8],
    ) -> Result<Answer, NotPassed> {
        let path = format!("/v1/bookings/{}/reschedule", escape(&booking.id));
        let mut request = self
            .probe
            .request(Method::POST, &path)
            .header("content-type", "application/json")
            .bearer_auth(token)
            .body(body.to_vec());
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        self.probe.send(request).await
    }

    /// Cancels a booking the check made (the run leaves no booking behind).
    pub(crate) async fn cancel(&self, booking: &Booked) -> Result<Answer, NotPassed> {
        self.probe
            .send(
                self.probe
                    .request(
                        Method::DELETE,
                        &format!("/v1/bookings/{}", escape(&booking.id)),
                    )
                    .bearer_auth(&booking.manage_token),
            )
            .await
    }
}

/// Reads a `201` of `POST /v1/bookings` for `start`.
pub(crate) fn booked(answer: Answer, start: DateTime<Utc>) -> Result<Booked, NotPassed> {
    let what = "POST /v1/bookings of an open slot";
    verdict::status(&answer, 201, what)?;
    let body = verdict::json_object(&answer, what)?;
    Ok(Booked {
        id: verdict::text(&body, "id", what)?.to_owned(),
        manage_token: verdict::text(&body, "manage_token", what)?.to_owned(),
        start,
        answer,
    })
}

/// An instant as the protocol writes it.
pub(crate) fn instant(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Percent-encodes everything but unreserved characters (RFC 3986 §2.3), for
/// a query value or a path segment.
pub(crate) fn escape(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
