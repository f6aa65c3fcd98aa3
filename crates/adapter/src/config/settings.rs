//! The checked settings the rest of the adapter runs on: each value here
//! has passed its check (`checks.rs`, `urls.rs`, `calendar.rs`), so a reader
//! takes it as known-good. Secrets are wrapped in [`Secret`] and never print.

use std::fmt;
use std::path::PathBuf;

use chrono_tz::Tz;
use firststep_availability::Rules;
use firststep_protocol::visitor_fields::Language;
use firststep_protocol::{BookingMode, BookingStatus, FormSettings};
use serde::Deserialize;

use crate::store::StoreLocation;

/// Everything the adapter runs on, known-good.
#[derive(Debug, Clone)]
pub struct Settings {
    pub practice: PracticeSettings,
    pub server: ServerSettings,
    pub calendar: CalendarSettings,
    /// The practice's private feed of requests and bookings, when configured.
    pub feed: Option<FeedSettings>,
    /// Email to the practice and to visitors, when configured.
    pub mail: Option<MailSettings>,
    pub privacy: PrivacySettings,
    pub page: PageSettings,
    pub reminders: ReminderSettings,
}

/// The hosted booking page's theme: the widget's custom properties, each
/// value checked to be only a colour, a length or font names, so nothing
/// can be written into the page's stylesheet but the property.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageSettings {
    /// `(property, value)`, such as `("--firststep-accent", "#2f6b57")`.
    pub theme: Vec<(&'static str, String)>,
}

impl PageSettings {
    /// The theme as CSS declarations (`--firststep-accent: #2f6b57;`).
    pub fn theme_declarations(&self) -> String {
        self.theme
            .iter()
            .map(|(property, value)| format!(" {property}: {value};"))
            .collect()
    }
}

/// The visitors' reminders before a confirmed booking (sent only with mail).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReminderSettings {
    /// Whole hours before the start, each from 1 to 720, no two alike,
    /// ascending; empty: no reminders.
    pub hours_before: Vec<u32>,
}

/// How long visitors' personal data is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrivacySettings {
    /// Days after a booking is over (past, declined, expired, cancelled)
    /// until its personal fields are erased.
    pub retention_days: u32,
}

/// Email through SMTP, and the signed links the emails carry.
#[derive(Debug, Clone)]
pub struct MailSettings {
    pub smtp_host: String,
    pub smtp_port: u16,
    pub tls: SmtpTls,
    /// SMTP login, when the server asks for one.
    pub user: Option<String>,
    pub password: Option<Secret>,
    /// The sender, like `Riverside Counselling <bookings@example.org>`.
    pub from: String,
    /// Where the practice's emails go.
    pub practice_to: String,
    /// `practice_to` in copy of the emails that go to a clinician's own address.
    pub cc_practice: bool,
    /// The adapter's public address, for the links in emails.
    pub public_url: String,
    /// The practice's page with the widget, for "choose another time".
    pub booking_page_url: Option<String>,
    /// Key of the HMAC that signs confirm and decline links.
    pub link_secret: Secret,
    pub link_valid_hours: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain SMTP (a local relay only).
    None,
    /// STARTTLS on the submission port (587).
    Starttls,
    /// TLS from the first byte (465).
    Tls,
}

/// A private iCalendar feed a practice subscribes to from any calendar app.
#[derive(Debug, Clone)]
pub struct FeedSettings {
    /// The secret in the feed's address (`/feeds/bookings.ics?token=…`).
    pub token: Secret,
    /// Whether entries show the client's name (off by default).
    pub include_client_name: bool,
}

/// Where bookings are written and busy time is read.
#[derive(Debug, Clone)]
pub enum CalendarSettings {
    /// The embedded default: bookings stay in the store; busy time may come
    /// from ICS feeds (their addresses are secrets).
    Local {
        busy_feeds: Vec<Secret>,
        refresh_seconds: u64,
    },
    CalDav(CalDavSettings),
    Google(GoogleSettings),
    Microsoft(MicrosoftSettings),
}

/// Google Calendar (`backend = "google"`).
#[derive(Debug, Clone)]
pub struct GoogleSettings {
    /// "primary" (the account's own) or a calendar's id (its address).
    pub calendar_id: String,
    /// The practice's account (refresh token from `connect google`) or a service account.
    pub grant: crate::calendar::oauth::Grant,
    pub refresh_seconds: u64,
    pub event_title: String,
    pub include_client_name: bool,
    /// Endpoints: Google's public ones unless set (tests, sovereign clouds).
    pub api_base: String,
    pub token_url: String,
    /// The consent page `connect google` sends the practice to.
    pub auth_url: String,
}

/// Microsoft 365 / Outlook through Graph (`backend = "microsoft"`).
#[derive(Debug, Clone)]
pub struct MicrosoftSettings {
    /// `None`: the mailbox's default calendar.
    pub calendar_id: Option<String>,
    /// The mailbox, with client credentials; `None`: the signed-in account.
    pub user: Option<String>,
    /// "common", "organizations", "consumers", or the tenant's id or domain.
    pub tenant: String,
    /// The practice's account (refresh token from `connect microsoft`) or
    /// the tenant's app registration (client credentials).
    pub grant: crate::calendar::oauth::Grant,
    pub refresh_seconds: u64,
    pub event_title: String,
    pub include_client_name: bool,
    /// Endpoints: Microsoft's public ones unless set (tests, national clouds).
    pub graph_base: String,
    pub authority: String,
}

#[derive(Debug, Clone)]
pub struct CalDavSettings {
    /// The calendar collection's URL.
    pub url: String,
    pub user: String,
    pub password: Secret,
    /// How often busy time is read again.
    pub refresh_seconds: u64,
    /// The entries' title; private by default.
    pub event_title: String,
    /// Whether the client's name may appear in the entry (off by default:
    /// calendars sync to third-party servers).
    pub include_client_name: bool,
}

/// A secret that never prints: `Debug` shows `Secret(…)`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

#[derive(Debug, Clone)]
pub struct PracticeSettings {
    pub name: String,
    pub zone: Tz,
    /// The language of the practice's own emails (`practice.locale`).
    pub language: Language,
    pub services: Vec<Service>,
    pub form: FormSettings,
    pub notice: Option<String>,
    pub privacy_url: Option<String>,
    pub rules: Rules,
    /// How long an unanswered request holds its slot.
    pub request_expiry_hours: u32,
    /// The people of a group practice, in its order; empty: the practice
    /// books as one person.
    pub clinicians: Vec<Clinician>,
}

/// One clinician of a group practice (`[[clinicians]]`).
#[derive(Debug, Clone)]
pub struct Clinician {
    /// 1–40 of a-z, 0-9 and `-`; unique.
    pub id: String,
    pub name: String,
    pub pronouns: Option<String>,
    pub bio: Option<String>,
    /// Where their requests go; `None`: the practice's address.
    pub email: Option<String>,
    /// Their hours, buffers and cap: the practice's where they set none.
    pub rules: Rules,
    /// Their own calendar; `None`: they share the practice's `[calendar]`.
    pub calendar: Option<CalendarSettings>,
}

impl PracticeSettings {
    /// The clinician `id`, if the practice has them.
    pub fn clinician(&self, id: &str) -> Option<&Clinician> {
        self.clinicians.iter().find(|c| c.id == id)
    }

    /// The clinicians who offer `service`, in the practice's order.
    pub fn offering<'a>(&'a self, service: &'a Service) -> impl Iterator<Item = &'a Clinician> {
        self.clinicians
            .iter()
            .filter(|c| service.clinicians.contains(&c.id))
    }

    /// Whom a booking of `service` may be with, in the practice's order:
    /// `chosen` alone, or (none chosen) each clinician offering it; empty in
    /// a practice without clinicians. `None`: `chosen` is not a clinician
    /// of the practice offering `service`.
    pub fn candidates(&self, service: &Service, chosen: Option<&str>) -> Option<Vec<String>> {
        let offering = self.offering(service).map(|c| c.id.clone());
        match chosen {
            None => Some(offering.collect()),
            Some(id) => offering.filter(|c| c == id).map(|c| vec![c]).next(),
        }
    }

    /// The rules slots are counted by: the clinician's, else the practice's.
    pub fn rules_of(&self, clinician: Option<&str>) -> &Rules {
        clinician
            .and_then(|id| self.clinician(id))
            .map_or(&self.rules, |c| &c.rules)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub id: String,
    pub title: String,
    pub duration_minutes: u32,
    pub mode: BookingMode,
    /// `Instant`: a confirmed booking its visitor moves stays confirmed;
    /// `Request`: it waits for the practice again.
    pub reschedule: BookingMode,
    /// Visitors may move a booking until this many hours before it starts.
    pub change_until_hours: u32,
    /// How the consultation happens (`location` and its keys).
    pub meeting: Option<Meeting>,
    pub description: Option<String>,
    /// The ids of the clinicians who offer it (every one unless the service
    /// names them); empty in a practice without clinicians.
    pub clinicians: Vec<String>,
}

impl Service {
    /// The video room a booking of this service is given: only once it is
    /// confirmed, never for a request that may yet be declined.
    pub fn video_url_of(&self, status: BookingStatus, room_token: Option<&str>) -> Option<String> {
        let meeting = self
            .meeting
            .as_ref()
            .filter(|_| status == BookingStatus::Confirmed)?;
        meeting.video_url(room_token)
    }

    /// How long before its start a booking can no longer be moved by its visitor.
    pub fn change_until(&self) -> chrono::Duration {
        chrono::Duration::hours(self.change_until_hours.into())
    }
}

/// How a consultation happens, per service (`services.location`).
#[derive(Debug, Clone, PartialEq)]
pub enum Meeting {
    /// The practice calls the number the visitor gives (so it is required).
    Phone,
    /// A video call. The room is never public: it goes only to a booked
    /// visitor (a request's, once confirmed), in the answer, emails and `.ics`.
    Video(VideoRoom),
    InPerson {
        address: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum VideoRoom {
    /// `video_url`: one room for every consultation.
    Fixed(String),
    /// `video_url_template`: a fresh room per booking, `{token}` replaced by
    /// an unguessable token kept with the booking.
    PerBooking(String),
}

/// The placeholder of `video_url_template`.
pub const ROOM_TOKEN: &str = "{token}";

impl Meeting {
    /// The protocol's name of the kind (`GET /v1/practice`'s `location`).
    pub fn kind(&self) -> &'static str {
        match self {
            Meeting::Phone => "phone",
            Meeting::Video(_) => "video",
            Meeting::InPerson { .. } => "in_person",
        }
    }

    /// Whether each booking needs a room token of its own.
    pub fn needs_room_token(&self) -> bool {
        matches!(self, Meeting::Video(VideoRoom::PerBooking(_)))
    }

    /// The room of one booking, by its room token (per-booking rooms only).
    pub fn video_url(&self, room_token: Option<&str>) -> Option<String> {
        match (self, room_token) {
            (Meeting::Video(VideoRoom::Fixed(url)), _) => Some(url.clone()),
            (Meeting::Video(VideoRoom::PerBooking(template)), Some(token)) => {
                Some(template.replace(ROOM_TOKEN, token))
            }
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub listen: String,
    /// Where the bookings are kept (a relative SQLite path is from the file's folder).
    pub store: StoreLocation,
    /// Origins whose pages may call the API from a browser (CORS).
    pub allowed_origins: Vec<String>,
    /// The built widget (Trunk's `dist/`), served under `/widget/` when set.
    pub widget_dir: Option<PathBuf>,
    /// A demo practice page, served at `/` when set.
    pub demo_dir: Option<PathBuf>,
    /// Booking attempts allowed per client address per minute.
    pub bookings_per_minute: u32,
    /// `GET /metrics` on the public listener (off by default).
    pub metrics: bool,
    /// A separate address for `/metrics` (then not on the public listener).
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Reverse proxies whose `X-Forwarded-For` / `Forwarded` name the visitor.
    pub trusted_proxies: Vec<crate::client_address::Cidr>,
    /// Timeouts and the connection cap; not in the file (the defaults suit
    /// any practice), changed by tests.
    pub connections: crate::connections::ConnectionLimits,
}

impl Settings {
    /// The service a request names, or the only one when it names none.
    pub fn service(&self, id: Option<&str>) -> Option<&Service> {
        let services = &self.practice.services;
        match id {
            Some(id) => services.iter().find(|s| s.id == id),
            None if services.len() == 1 => services.first(),
            None => None,
        }
    }
}
