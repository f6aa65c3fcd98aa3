//! The practice's configuration: a TOML file parsed into [`Settings`], with
//! every problem reported at its place (`file:line: key: what is wrong`).
//!
//! Two stages: serde reads the file's shape — every unknown key is listed
//! (the known ones are the `Raw*` structs' fields, nothing to keep in step);
//! a wrong type stops it, with toml's own place — then [`Settings`] is built
//! from the raw values, collecting *every* problem at once: values, and each
//! URL against the rule for its use (`UrlUse`). Problems come in line order.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use chrono_tz::Tz;
use firststep_availability::{DayHours, OpeningRange, Rules};
use firststep_protocol::{BookingMode, FieldRule, FormSettings};
use serde::Deserialize;
use toml::de::{DeTable, DeValue};
use toml::Spanned;
use url::Url;

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
    pub services: Vec<Service>,
    pub form: FormSettings,
    pub notice: Option<String>,
    pub privacy_url: Option<String>,
    pub rules: Rules,
    /// How long an unanswered request holds its slot.
    pub request_expiry_hours: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub id: String,
    pub title: String,
    pub duration_minutes: u32,
    pub mode: BookingMode,
    pub location: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub listen: String,
    pub store: PathBuf,
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

/// One thing wrong with a configuration file, at its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// 1-based line in the file; 0 when the problem has no single place.
    pub line: usize,
    pub key: String,
    pub message: String,
}

/// All the problems of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub problems: Vec<ConfigProblem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            match (p.line, p.key.is_empty()) {
                (0, _) => write!(f, "{}: {}", self.file, p.message)?,
                (line, true) => write!(f, "{}:{line}: {}", self.file, p.message)?,
                (line, false) => write!(f, "{}:{line}: {}: {}", self.file, p.key, p.message)?,
            }
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

impl Settings {
    /// Reads and checks a configuration file. Relative paths in it are taken
    /// relative to the file's own folder.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = read_bounded(path, MAX_CONFIG_BYTES).map_err(|error| ConfigError {
            file: path.display().to_string(),
            problems: vec![ConfigProblem {
                line: 0,
                key: String::new(),
                message: format!("cannot read the file: {error}"),
            }],
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::from_toml(&text, base).map_err(|problems| ConfigError {
            file: path.display().to_string(),
            problems,
        })
    }

    /// Parses configuration text; `base` anchors relative paths.
    pub fn from_toml(text: &str, base: &Path) -> Result<Self, Vec<ConfigProblem>> {
        let (raw, unknown_keys) = read_shape(text);
        let mut check = Checker {
            text,
            problems: unknown_keys,
        };
        let settings = match raw {
            Ok(raw) => check.settings(raw, base),
            Err(problem) => {
                check.problems.push(problem);
                None
            }
        };
        match settings {
            Some(settings) if check.problems.is_empty() => Ok(settings),
            _ => {
                // In the file's order; problems with no single place last.
                check.problems.sort_by_key(|p| (p.line == 0, p.line));
                Err(check.problems)
            }
        }
    }

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

/// Reads the file's shape with serde. Every unknown key is reported and
/// taken out first (serde alone stops at the first); then a wrong type or a
/// missing key ends the reading with one problem.
fn read_shape(text: &str) -> (Result<RawConfig, ConfigProblem>, Vec<ConfigProblem>) {
    let shape_problem = |error: &toml::de::Error| ConfigProblem {
        line: error.span().map_or(0, |span| line_of(text, span.start)),
        key: String::new(),
        message: error.message().to_owned(),
    };
    let mut document = match DeTable::parse(text) {
        Ok(document) => document,
        Err(error) => return (Err(shape_problem(&error)), Vec::new()),
    };
    let mut unknown = Vec::new();
    take_unknown_keys(text, document.get_mut(), &mut Vec::new(), "", &mut unknown);
    let raw = RawConfig::deserialize(toml::de::Deserializer::from(document))
        .map_err(|error| shape_problem(&error));
    (raw, unknown)
}

/// One step from the file's top to a table: a key, or an item of an array of tables.
enum Step {
    Key(String),
    Item,
}

/// A key no raw struct has, so asking for it makes serde list the ones they do.
const PROBE: &str = "firststep-probe";

/// Removes from `table` (at `path`, shown as `section`) and the tables in it
/// every key the raw structs do not know, with a problem for each in `found`.
fn take_unknown_keys(
    text: &str,
    table: &mut DeTable<'_>,
    path: &mut Vec<Step>,
    section: &str,
    found: &mut Vec<ConfigProblem>,
) {
    // Not a struct of ours (or not a table at all): its type check says what is wrong.
    let Some(expected) = keys_known_at(path) else {
        return;
    };
    let dotted = |key: &str| match section {
        "" => key.to_owned(),
        section => format!("{section}.{key}"),
    };
    let place = match section {
        "" => "at the top level".to_owned(),
        section => format!("in [{section}]"),
    };
    let unknown: Vec<_> = table
        .keys()
        .filter(|key| !expected.contains(&format!("`{}`", key.get_ref())))
        .cloned()
        .collect();
    for key in unknown {
        found.push(ConfigProblem {
            line: line_of(text, key.span().start),
            key: dotted(key.get_ref()),
            message: format!("unknown key `{}` {place}; {expected}", key.get_ref()),
        });
        table.remove(&key);
    }
    for (key, value) in table.iter_mut() {
        path.push(Step::Key(key.get_ref().to_string()));
        match value.get_mut() {
            DeValue::Table(inner) => {
                take_unknown_keys(text, inner, path, &dotted(key.get_ref()), found)
            }
            DeValue::Array(items) => {
                path.push(Step::Item);
                for (i, item) in items.iter_mut().enumerate() {
                    if let DeValue::Table(inner) = item.get_mut() {
                        let section = format!("{}[{i}]", dotted(key.get_ref()));
                        take_unknown_keys(text, inner, path, &section, found);
                    }
                }
                path.pop();
            }
            _ => {}
        }
        path.pop();
    }
}

/// serde's own words for the keys the raw structs know at `path`, like
/// "expected one of `name`, `time_zone`" — found by reading a document that
/// holds only `path` and an unknown key, so the list is always the structs'
/// current fields. `None` where that is not a struct of ours.
fn keys_known_at(path: &[Step]) -> Option<String> {
    let entry = |key: &str, value: DeValue<'static>| {
        let mut table = DeTable::new();
        table.insert(
            Spanned::new(0..0, key.to_owned().into()),
            Spanned::new(0..0, value),
        );
        DeValue::Table(table)
    };
    let mut value = entry(PROBE, DeValue::Boolean(true));
    for step in path.iter().rev() {
        value = match step {
            Step::Key(key) => entry(key, value),
            Step::Item => {
                let mut items = toml::de::DeArray::new();
                items.push(Spanned::new(0..0, value));
                DeValue::Array(items)
            }
        };
    }
    let DeValue::Table(document) = value else {
        return None;
    };
    let error =
        RawConfig::deserialize(toml::de::Deserializer::from(Spanned::new(0..0, document))).err()?;
    // "unknown field `firststep-probe`, expected one of `a`, `b`" (or "there are no fields").
    error
        .message()
        .strip_prefix(&format!("unknown field `{PROBE}`, "))
        .map(str::to_owned)
}

/// The longest span (horizon, expiry, link validity) a configuration may set:
/// ten years, far beyond any practice's need and far inside chrono's dates.
const MAX_SPAN_DAYS: u32 = 3660;

/// The largest configuration file read, and the largest file a secret or
/// key is read from: a path pointing at a device or a log cannot hang or
/// exhaust the adapter.
pub(crate) const MAX_CONFIG_BYTES: u64 = 1024 * 1024;
pub(crate) const MAX_SECRET_BYTES: u64 = 64 * 1024;

/// Reads a whole text file of at most `limit` bytes.
pub(crate) fn read_bounded(path: &Path, limit: u64) -> std::io::Result<String> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(limit.saturating_add(1))
        .read_to_string(&mut text)?;
    if text.len() as u64 > limit {
        return Err(std::io::Error::other(format!(
            "it is larger than {} KiB",
            limit / 1024
        )));
    }
    Ok(text)
}

fn line_of(text: &str, offset: usize) -> usize {
    // Bytes, not a slice: an offset inside a character must not panic.
    text.bytes().take(offset).filter(|b| *b == b'\n').count() + 1
}

/// Builds [`Settings`] from raw values, writing down every problem it meets.
struct Checker<'a> {
    text: &'a str,
    problems: Vec<ConfigProblem>,
}

impl Checker<'_> {
    fn problem<T>(&mut self, at: &Spanned<T>, key: impl Into<String>, message: impl Into<String>) {
        self.problems.push(ConfigProblem {
            line: line_of(self.text, at.span().start),
            key: key.into(),
            message: message.into(),
        });
    }

    /// A span the adapter adds to today's date: bounded, so the sum is a date.
    fn at_most(&mut self, value: &Spanned<u32>, key: &str, max: u32, unit: &str) -> Option<u32> {
        let given = *value.get_ref();
        if given > max {
            self.problem(value, key, format!("must be at most {max} {unit}"));
            return None;
        }
        Some(given)
    }

    fn settings(&mut self, raw: RawConfig, base: &Path) -> Option<Settings> {
        let zone = self.zone(&raw.practice.time_zone);
        let services = self.services(raw.services);
        let weekly = self.weekly(raw.availability.weekly);
        let overrides = self.overrides(raw.availability.overrides);
        let step = *raw.availability.step_minutes.get_ref();
        let step_minutes = match std::num::NonZeroU32::new(step) {
            Some(step) if step.get() <= 24 * 60 => Some(step),
            _ => {
                self.problem(
                    &raw.availability.step_minutes,
                    "availability.step_minutes",
                    "must be from 1 to 1440 minutes",
                );
                None
            }
        };
        let horizon_days = self.at_most(
            &raw.availability.horizon_days,
            "availability.horizon_days",
            MAX_SPAN_DAYS,
            "days",
        );
        let request_expiry_hours = self.at_most(
            &raw.availability.request_expiry_hours,
            "availability.request_expiry_hours",
            MAX_SPAN_DAYS * 24,
            "hours",
        );
        let origins = self.origins(raw.server.allowed_origins);
        let privacy_url = self.optional_url(
            raw.practice.privacy_url,
            "practice.privacy_url",
            UrlUse::Public,
        );
        let trusted_proxies = self.trusted_proxies(raw.server.trusted_proxies);
        let calendar = self.calendar(raw.calendar, base);
        let mail = match raw.mail {
            None => Some(None),
            Some(mail) => self.mail(mail, base).map(Some),
        };
        let feed = match raw.feed {
            None => Some(None),
            Some(feed) => self.secret(feed.token_env, feed.token_file, base, "feed.token").map(|token| {
                if token.expose().len() < 20 {
                    self.problems.push(ConfigProblem {
                        line: 0,
                        key: String::new(),
                        message: "feed: the token must be at least 20 characters (it is the feed's only lock)".into(),
                    });
                }
                Some(FeedSettings { token, include_client_name: feed.include_client_name })
            }),
        };
        let metrics_listen = match &raw.server.metrics_listen {
            None => Some(None),
            Some(address) => match address.get_ref().parse::<std::net::SocketAddr>() {
                Ok(address) => Some(Some(address)),
                Err(_) => {
                    self.problem(
                        address,
                        "server.metrics_listen",
                        "must be an IP address and port, like \"127.0.0.1:9187\"",
                    );
                    None
                }
            },
        };
        let retention = raw.privacy.retention_days;
        if !(1..=3650).contains(retention.get_ref()) {
            self.problem(
                &retention,
                "privacy.retention_days",
                "must be from 1 to 3650 days",
            );
        }
        if raw.server.bookings_per_minute == 0 {
            self.problems.push(ConfigProblem {
                line: 0,
                key: String::new(),
                message: "server.bookings_per_minute must be at least 1".into(),
            });
        }

        let zone = zone?;
        let rules = Rules {
            zone,
            weekly: weekly?,
            overrides: overrides?,
            step_minutes: step_minutes?,
            buffer_before_minutes: raw.availability.buffer_before_minutes,
            buffer_after_minutes: raw.availability.buffer_after_minutes,
            minimum_notice_minutes: raw.availability.minimum_notice_minutes,
            horizon_days: horizon_days?,
            daily_cap: raw.availability.daily_cap,
        };
        let resolve = |path: PathBuf| {
            if path.is_absolute() {
                path
            } else {
                base.join(path)
            }
        };
        Some(Settings {
            practice: PracticeSettings {
                name: raw.practice.name,
                zone,
                services: services?,
                form: FormSettings {
                    phone: raw.form.phone,
                    note: raw.form.note,
                },
                notice: raw.practice.notice,
                privacy_url: privacy_url?,
                rules,
                request_expiry_hours: request_expiry_hours?,
            },
            server: ServerSettings {
                listen: raw.server.listen,
                store: resolve(raw.server.store),
                allowed_origins: origins?,
                widget_dir: raw.server.widget_dir.map(resolve),
                demo_dir: raw.server.demo_dir.map(resolve),
                bookings_per_minute: raw.server.bookings_per_minute,
                metrics: raw.server.metrics,
                metrics_listen: metrics_listen?,
                trusted_proxies: trusted_proxies?,
                connections: Default::default(),
            },
            calendar: calendar?,
            feed: feed?,
            mail: mail?,
            privacy: PrivacySettings {
                retention_days: *retention.get_ref(),
            },
        })
    }

    fn mail(&mut self, raw: RawMail, base: &Path) -> Option<MailSettings> {
        let password = match (
            &raw.user,
            raw.password_env.is_some() || raw.password_file.is_some(),
        ) {
            (Some(_), true) => {
                Some(self.secret(raw.password_env, raw.password_file, base, "mail.password")?)
            }
            (None, false) => None,
            _ => {
                self.problems.push(ConfigProblem {
                    line: 0,
                    key: String::new(),
                    message: "mail: give user and a password together, or neither".into(),
                });
                return None;
            }
        };
        let link_secret = self.secret(
            raw.link_secret_env,
            raw.link_secret_file,
            base,
            "mail.link_secret",
        )?;
        if link_secret.expose().len() < 32 {
            self.problems.push(ConfigProblem {
                line: 0,
                key: String::new(),
                message: "mail.link_secret must be at least 32 characters (it signs confirm and decline links)".into(),
            });
            return None;
        }
        let link_valid_hours = self.at_most(
            &raw.link_valid_hours,
            "mail.link_valid_hours",
            MAX_SPAN_DAYS * 24,
            "hours",
        );
        let mut ok = true;
        for (key, value) in [
            ("mail.from", &raw.from),
            ("mail.practice_to", &raw.practice_to),
        ] {
            if value.get_ref().parse::<lettre::message::Mailbox>().is_err() {
                self.problem(
                    value,
                    key,
                    format!("\"{}\" is not an email address", value.get_ref()),
                );
                ok = false;
            }
        }
        // Links to the adapter are made by appending to it, and carry secrets.
        match self.url(&raw.public_url, "mail.public_url", UrlUse::Secret) {
            Some(url) if url.query().is_some() || url.fragment().is_some() => {
                self.problem(
                    &raw.public_url,
                    "mail.public_url",
                    "the adapter's public address, like \"https://booking.example.org\", without ? or #",
                );
                ok = false;
            }
            Some(_) => {}
            None => ok = false,
        }
        let booking_page_url = self.optional_url(
            raw.booking_page_url,
            "mail.booking_page_url",
            UrlUse::Public,
        );
        let (true, Some(booking_page_url), Some(link_valid_hours)) =
            (ok, booking_page_url, link_valid_hours)
        else {
            return None;
        };
        Some(MailSettings {
            smtp_host: raw.smtp_host,
            smtp_port: raw.smtp_port,
            tls: raw.tls,
            user: raw.user,
            password,
            from: raw.from.into_inner(),
            practice_to: raw.practice_to.into_inner(),
            public_url: raw.public_url.into_inner().trim_end_matches('/').to_owned(),
            booking_page_url,
            link_secret,
            link_valid_hours,
        })
    }

    /// A secret given as an environment variable's name or a file (relative to the configuration).
    fn secret(
        &mut self,
        env: Option<Spanned<String>>,
        file: Option<Spanned<String>>,
        base: &Path,
        key: &str,
    ) -> Option<Secret> {
        match (env, file) {
            (Some(variable), None) => match std::env::var(variable.get_ref()) {
                Ok(value) if !value.is_empty() => Some(Secret::new(value)),
                _ => self.missing(
                    &variable,
                    format!("{key}_env"),
                    format!("the environment variable {} is not set", variable.get_ref()),
                ),
            },
            (None, Some(file)) => {
                let path = base.join(file.get_ref());
                match read_bounded(&path, MAX_SECRET_BYTES) {
                    Ok(text) => Some(Secret::new(text.trim_end_matches(['\r', '\n']))),
                    Err(error) => self.missing(
                        &file,
                        format!("{key}_file"),
                        format!("cannot read {}: {error}", path.display()),
                    ),
                }
            }
            _ => {
                self.problems.push(ConfigProblem {
                    line: 0,
                    key: String::new(),
                    message: format!(
                        "{key}: give either {key}_env (a variable's name) or {key}_file, once"
                    ),
                });
                None
            }
        }
    }

    fn calendar(&mut self, raw: Option<RawCalendar>, base: &Path) -> Option<CalendarSettings> {
        let Some(raw) = raw else {
            return Some(CalendarSettings::Local {
                busy_feeds: Vec::new(),
                refresh_seconds: defaults::refresh(),
            });
        };
        let key = |name: &str| format!("calendar.{name}");
        match raw.backend.get_ref().as_str() {
            "local" => {
                let mut feeds = Vec::new();
                for (i, url) in raw.busy_feeds.iter().enumerate() {
                    let key = format!("calendar.busy_feeds[{i}]");
                    if self.url(url, &key, UrlUse::SecretAddress).is_some() {
                        feeds.push(Secret::new(url.get_ref().clone()));
                    }
                }
                return (feeds.len() == raw.busy_feeds.len()).then(|| CalendarSettings::Local {
                    busy_feeds: feeds,
                    refresh_seconds: raw.refresh_seconds.max(5),
                });
            }
            "caldav" => {}
            "google" => return self.google(raw, base),
            other => {
                self.problem(
                    &raw.backend,
                    key("backend"),
                    format!(
                        "\"{other}\" is not a backend: use \"local\", \"caldav\" or \"google\""
                    ),
                );
                return None;
            }
        }
        let url = match raw.url {
            Some(url) => {
                self.url(&url, &key("url"), UrlUse::Secret)?;
                url.into_inner()
            }
            None => {
                return self.missing(
                    &raw.backend,
                    key("url"),
                    "the CalDAV calendar's address is needed",
                )
            }
        };
        let Some(user) = raw.user else {
            return self.missing(&raw.backend, key("user"), "the CalDAV user name is needed");
        };
        let password = self.secret(
            raw.password_env,
            raw.password_file,
            base,
            "calendar.password",
        )?;
        Some(CalendarSettings::CalDav(CalDavSettings {
            url,
            user,
            password,
            refresh_seconds: raw.refresh_seconds.max(5),
            event_title: raw
                .event_title
                .unwrap_or_else(|| "Consultation request".into()),
            include_client_name: raw.include_client_name,
        }))
    }

    fn google(&mut self, raw: RawCalendar, base: &Path) -> Option<CalendarSettings> {
        use crate::calendar::oauth::{Grant, ServiceAccountKey};
        let key = |name: &str| format!("calendar.{name}");
        let mut endpoint = |raw: Option<Spanned<String>>, name: &str, default: &str| match raw {
            Some(url) => self.url(&url, &key(name), UrlUse::Secret).map(String::from),
            None => Some(default.to_owned()),
        };
        let api_base = endpoint(
            raw.api_base,
            "api_base",
            "https://www.googleapis.com/calendar/v3",
        );
        let token_url = endpoint(
            raw.token_url,
            "token_url",
            "https://oauth2.googleapis.com/token",
        );
        let auth_url = endpoint(
            raw.auth_url,
            "auth_url",
            "https://accounts.google.com/o/oauth2/v2/auth",
        );
        let calendar_id = raw
            .calendar_id
            .unwrap_or_else(|| Spanned::new(0..0, "primary".into()));
        let grant = match raw.service_account_file {
            Some(file) => {
                if let Some(other) = raw.client_id.as_ref().or(raw.token_file.as_ref()) {
                    return self.missing(
                        other,
                        key("service_account_file"),
                        "give either service_account_file or client_id with token_file, not both",
                    );
                }
                if calendar_id.get_ref() == "primary" {
                    return self.missing(
                        &file,
                        key("calendar_id"),
                        "with a service account, calendar_id is the shared calendar's id (its address), not \"primary\"",
                    );
                }
                let path = base.join(file.get_ref());
                let parsed = read_bounded(&path, MAX_SECRET_BYTES)
                    .map_err(|error| format!("cannot read {}: {error}", path.display()))
                    .and_then(|text| ServiceAccountKey::parse(&text));
                match parsed {
                    Ok(key) => Grant::ServiceAccount(key),
                    Err(problem) => {
                        return self.missing(&file, key("service_account_file"), problem)
                    }
                }
            }
            None => {
                let Some(client_id) = raw.client_id else {
                    return self.missing(
                        &raw.backend,
                        key("client_id"),
                        "the OAuth client's id is needed (or service_account_file)",
                    );
                };
                let Some(token_file) = raw.token_file else {
                    return self.missing(
                        &raw.backend,
                        key("token_file"),
                        "where `firststep-adapter connect google` keeps the token is needed",
                    );
                };
                let client_secret = self.secret(
                    raw.client_secret_env,
                    raw.client_secret_file,
                    base,
                    "calendar.client_secret",
                )?;
                Grant::RefreshToken {
                    client_id: client_id.into_inner(),
                    client_secret,
                    token_file: base.join(token_file.get_ref()),
                }
            }
        };
        Some(CalendarSettings::Google(GoogleSettings {
            calendar_id: calendar_id.into_inner(),
            grant,
            refresh_seconds: raw.refresh_seconds.max(5),
            event_title: raw
                .event_title
                .unwrap_or_else(|| "Consultation request".into()),
            include_client_name: raw.include_client_name,
            api_base: api_base?,
            token_url: token_url?,
            auth_url: auth_url?,
        }))
    }

    fn missing<T, U>(
        &mut self,
        at: &Spanned<U>,
        key: String,
        message: impl Into<String>,
    ) -> Option<T> {
        self.problem(at, key, message);
        None
    }

    fn zone(&mut self, name: &Spanned<String>) -> Option<Tz> {
        let parsed = name.get_ref().parse::<Tz>();
        if parsed.is_err() {
            self.problem(
                name,
                "practice.time_zone",
                format!(
                    "\"{}\" is not an IANA time zone (like \"America/New_York\")",
                    name.get_ref()
                ),
            );
        }
        parsed.ok()
    }

    fn services(&mut self, raw: Vec<RawService>) -> Option<Vec<Service>> {
        if raw.is_empty() {
            self.problems.push(ConfigProblem {
                line: 0,
                key: String::new(),
                message: "at least one [[services]] is needed".into(),
            });
            return None;
        }
        let before = self.problems.len();
        let mut services: Vec<Service> = Vec::new();
        for (i, s) in raw.into_iter().enumerate() {
            let id = s.id.get_ref();
            let id_ok = !id.is_empty()
                && id.len() <= 64
                && id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !id_ok {
                self.problem(
                    &s.id,
                    format!("services[{i}].id"),
                    "use 1 to 64 lowercase letters, digits and dashes",
                );
            } else if services.iter().any(|other| &other.id == id) {
                self.problem(
                    &s.id,
                    format!("services[{i}].id"),
                    format!("\"{id}\" is used by an earlier service"),
                );
            }
            let minutes = *s.duration_minutes.get_ref();
            if !(5..=24 * 60).contains(&minutes) {
                self.problem(
                    &s.duration_minutes,
                    format!("services[{i}].duration_minutes"),
                    "must be from 5 to 1440 minutes",
                );
            }
            services.push(Service {
                id: s.id.into_inner(),
                title: s.title,
                duration_minutes: minutes,
                mode: s.mode,
                location: s.location,
                description: s.description,
            });
        }
        (self.problems.len() == before).then_some(services)
    }

    fn day_hours(&mut self, key: &str, ranges: Vec<Spanned<String>>) -> Option<DayHours> {
        let mut parsed = Vec::new();
        let mut ok = true;
        for (i, range) in ranges.iter().enumerate() {
            match OpeningRange::parse(range.get_ref()) {
                Ok(r) => parsed.push(r),
                Err(error) => {
                    self.problem(range, format!("{key}[{i}]"), error.to_string());
                    ok = false;
                }
            }
        }
        if !ok {
            return None;
        }
        DayHours::new(parsed)
            .map_err(|error| match ranges.first() {
                Some(first) => self.problem(first, key, error.to_string()),
                None => unreachable!("an empty day cannot overlap"),
            })
            .ok()
    }

    fn weekly(&mut self, raw: RawWeekly) -> Option<[DayHours; 7]> {
        let days = [
            ("monday", raw.monday),
            ("tuesday", raw.tuesday),
            ("wednesday", raw.wednesday),
            ("thursday", raw.thursday),
            ("friday", raw.friday),
            ("saturday", raw.saturday),
            ("sunday", raw.sunday),
        ];
        let parsed: Vec<Option<DayHours>> = days
            .into_iter()
            .map(|(day, ranges)| self.day_hours(&format!("availability.weekly.{day}"), ranges))
            .collect();
        let parsed: Option<Vec<DayHours>> = parsed.into_iter().collect();
        parsed.map(|days| days.try_into().expect("seven days"))
    }

    fn overrides(&mut self, raw: Vec<RawOverride>) -> Option<BTreeMap<NaiveDate, DayHours>> {
        let mut overrides = BTreeMap::new();
        let mut ok = true;
        for (i, o) in raw.into_iter().enumerate() {
            let key = format!("availability.overrides[{i}]");
            let date = NaiveDate::parse_from_str(o.date.get_ref(), "%Y-%m-%d");
            if date.is_err() {
                self.problem(
                    &o.date,
                    format!("{key}.date"),
                    format!("\"{}\" is not a date like \"2026-12-24\"", o.date.get_ref()),
                );
            }
            let hours = self.day_hours(&format!("{key}.hours"), o.hours);
            match (date, hours) {
                (Ok(date), Some(hours)) => {
                    if overrides.insert(date, hours).is_some() {
                        self.problem(
                            &o.date,
                            format!("{key}.date"),
                            format!("{date} is overridden twice"),
                        );
                        ok = false;
                    }
                }
                _ => ok = false,
            }
        }
        ok.then_some(overrides)
    }

    fn trusted_proxies(
        &mut self,
        raw: Vec<Spanned<String>>,
    ) -> Option<Vec<crate::client_address::Cidr>> {
        let mut blocks = Vec::new();
        let mut ok = true;
        for (i, block) in raw.iter().enumerate() {
            match block.get_ref().parse() {
                Ok(cidr) => blocks.push(cidr),
                Err(reason) => {
                    self.problem(
                        block,
                        format!("server.trusted_proxies[{i}]"),
                        format!("{reason}; write an address block like \"10.0.0.0/8\""),
                    );
                    ok = false;
                }
            }
        }
        ok.then_some(blocks)
    }

    fn origins(&mut self, raw: Vec<Spanned<String>>) -> Option<Vec<String>> {
        let mut origins = Vec::new();
        let mut ok = true;
        for (i, origin) in raw.iter().enumerate() {
            let key = format!("server.allowed_origins[{i}]");
            match self.url(origin, &key, UrlUse::Public) {
                // Written as browsers send it in `Origin` (lowercase host, no default port).
                Some(url)
                    if url.path() == "/" && url.query().is_none() && url.fragment().is_none() =>
                {
                    origins.push(url.origin().ascii_serialization());
                }
                Some(_) => {
                    self.problem(
                        origin,
                        key,
                        "an origin is a scheme and host, like \"https://example.org\"",
                    );
                    ok = false;
                }
                None => ok = false,
            }
        }
        ok.then_some(origins)
    }

    /// Checks a URL against the rule for its use; on a problem, says what
    /// is wrong (never repeating a secret address) and gives `None`.
    fn url(&mut self, at: &Spanned<String>, key: &str, usage: UrlUse) -> Option<Url> {
        let problem = match Url::parse(at.get_ref()) {
            Err(error) => format!("not a URL ({error}): write it like \"https://example.org/…\""),
            Ok(url) if !matches!(url.scheme(), "https" | "http") => {
                "must start with https:// (or http://)".to_owned()
            }
            Ok(url)
                if usage != UrlUse::SecretAddress
                    && (!url.username().is_empty() || url.password().is_some()) =>
            {
                "must not hold a user name or password (they would show wherever the address does)"
                    .to_owned()
            }
            Ok(url)
                if usage != UrlUse::Public && url.scheme() == "http" && !on_this_machine(&url) =>
            {
                "must start with https:// (secrets travel with it; http:// only to this machine)"
                    .to_owned()
            }
            Ok(url) => return Some(url),
        };
        self.problem(at, key, problem);
        None
    }

    /// An optional URL: `Some(None)` when absent, `None` when it has a problem.
    fn optional_url(
        &mut self,
        raw: Option<Spanned<String>>,
        key: &str,
        usage: UrlUse,
    ) -> Option<Option<String>> {
        match raw {
            None => Some(None),
            Some(raw) => self.url(&raw, key, usage).map(|_| Some(raw.into_inner())),
        }
    }
}

/// What a URL in the file is for, which sets what it may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UrlUse {
    /// Shown to visitors or browsers (the privacy page, the booking page, an
    /// origin): http(s), no user name or password in it.
    Public,
    /// Secrets travel with it (CalDAV with its password, the adapter's own
    /// address in links that carry tokens): https, or http to this machine;
    /// no user name or password in it (those are keys of their own).
    Secret,
    /// The address itself is the secret (a private busy feed, never shown):
    /// https, or http to this machine; a user name and password may be in it.
    SecretAddress,
}

/// A loopback host (127.0.0.0/8, ::1, localhost): http never leaves the machine.
fn on_this_machine(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name == "localhost",
        None => false,
    }
}

// ---- The file's shape, as serde reads it. ----
// Each table's struct has `deny_unknown_fields`: that is also how
// `keys_known_at` learns its keys, so a new field is known at once.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    practice: RawPractice,
    services: Vec<RawService>,
    #[serde(default)]
    form: RawForm,
    availability: RawAvailability,
    #[serde(default)]
    server: RawServer,
    calendar: Option<RawCalendar>,
    feed: Option<RawFeed>,
    mail: Option<RawMail>,
    #[serde(default)]
    privacy: RawPrivacy,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrivacy {
    #[serde(default = "defaults::retention_days")]
    retention_days: Spanned<u32>,
}

impl Default for RawPrivacy {
    fn default() -> Self {
        Self {
            retention_days: defaults::retention_days(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMail {
    smtp_host: String,
    #[serde(default = "defaults::smtp_port")]
    smtp_port: u16,
    #[serde(default = "defaults::tls")]
    tls: SmtpTls,
    user: Option<String>,
    password_env: Option<Spanned<String>>,
    password_file: Option<Spanned<String>>,
    from: Spanned<String>,
    practice_to: Spanned<String>,
    public_url: Spanned<String>,
    booking_page_url: Option<Spanned<String>>,
    link_secret_env: Option<Spanned<String>>,
    link_secret_file: Option<Spanned<String>>,
    #[serde(default = "defaults::link_valid_hours")]
    link_valid_hours: Spanned<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFeed {
    token_env: Option<Spanned<String>>,
    token_file: Option<Spanned<String>>,
    #[serde(default)]
    include_client_name: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCalendar {
    backend: Spanned<String>,
    /// ICS feeds whose events count as busy time (local backend).
    #[serde(default)]
    busy_feeds: Vec<Spanned<String>>,
    url: Option<Spanned<String>>,
    user: Option<String>,
    /// The name of an environment variable holding the password.
    password_env: Option<Spanned<String>>,
    /// A file holding the password (relative to the configuration file).
    password_file: Option<Spanned<String>>,
    #[serde(default = "defaults::refresh")]
    refresh_seconds: u64,
    event_title: Option<String>,
    #[serde(default)]
    include_client_name: bool,
    /// Google: "primary" or the calendar's id.
    calendar_id: Option<Spanned<String>>,
    /// Google: the OAuth client of `connect google`.
    client_id: Option<Spanned<String>>,
    client_secret_env: Option<Spanned<String>>,
    client_secret_file: Option<Spanned<String>>,
    /// Google: where `connect google` stores the refresh token.
    token_file: Option<Spanned<String>>,
    /// Google: a service account's key file, instead of client_id/token_file.
    service_account_file: Option<Spanned<String>>,
    api_base: Option<Spanned<String>>,
    token_url: Option<Spanned<String>>,
    auth_url: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPractice {
    name: String,
    time_zone: Spanned<String>,
    notice: Option<String>,
    privacy_url: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawService {
    id: Spanned<String>,
    title: String,
    #[serde(default = "defaults::duration")]
    duration_minutes: Spanned<u32>,
    #[serde(default = "defaults::mode")]
    mode: BookingMode,
    location: Option<String>,
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawForm {
    #[serde(default = "defaults::phone")]
    phone: FieldRule,
    #[serde(default = "defaults::note")]
    note: FieldRule,
}

impl Default for RawForm {
    fn default() -> Self {
        Self {
            phone: defaults::phone(),
            note: defaults::note(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAvailability {
    weekly: RawWeekly,
    #[serde(default)]
    overrides: Vec<RawOverride>,
    #[serde(default = "defaults::step")]
    step_minutes: Spanned<u32>,
    #[serde(default)]
    buffer_before_minutes: u32,
    #[serde(default)]
    buffer_after_minutes: u32,
    #[serde(default = "defaults::notice")]
    minimum_notice_minutes: u32,
    #[serde(default = "defaults::horizon")]
    horizon_days: Spanned<u32>,
    daily_cap: Option<u32>,
    #[serde(default = "defaults::expiry")]
    request_expiry_hours: Spanned<u32>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawWeekly {
    #[serde(default)]
    monday: Vec<Spanned<String>>,
    #[serde(default)]
    tuesday: Vec<Spanned<String>>,
    #[serde(default)]
    wednesday: Vec<Spanned<String>>,
    #[serde(default)]
    thursday: Vec<Spanned<String>>,
    #[serde(default)]
    friday: Vec<Spanned<String>>,
    #[serde(default)]
    saturday: Vec<Spanned<String>>,
    #[serde(default)]
    sunday: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOverride {
    date: Spanned<String>,
    /// Empty: closed that day.
    hours: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    #[serde(default = "defaults::listen")]
    listen: String,
    #[serde(default = "defaults::store")]
    store: PathBuf,
    #[serde(default)]
    allowed_origins: Vec<Spanned<String>>,
    widget_dir: Option<PathBuf>,
    demo_dir: Option<PathBuf>,
    #[serde(default = "defaults::bookings_per_minute")]
    bookings_per_minute: u32,
    #[serde(default)]
    metrics: bool,
    metrics_listen: Option<Spanned<String>>,
    #[serde(default)]
    trusted_proxies: Vec<Spanned<String>>,
}

impl Default for RawServer {
    fn default() -> Self {
        Self {
            listen: defaults::listen(),
            store: defaults::store(),
            allowed_origins: Vec::new(),
            widget_dir: None,
            demo_dir: None,
            bookings_per_minute: defaults::bookings_per_minute(),
            metrics: false,
            metrics_listen: None,
            trusted_proxies: Vec::new(),
        }
    }
}

mod defaults {
    use super::*;

    pub fn duration() -> Spanned<u32> {
        Spanned::new(0..0, 15)
    }
    pub fn mode() -> BookingMode {
        BookingMode::Request
    }
    pub fn phone() -> FieldRule {
        FieldRule::Optional
    }
    pub fn note() -> FieldRule {
        FieldRule::Hidden
    }
    pub fn step() -> Spanned<u32> {
        Spanned::new(0..0, 15)
    }
    pub fn notice() -> u32 {
        12 * 60
    }
    pub fn horizon() -> Spanned<u32> {
        Spanned::new(0..0, 60)
    }
    pub fn expiry() -> Spanned<u32> {
        Spanned::new(0..0, 48)
    }
    pub fn listen() -> String {
        "127.0.0.1:8787".into()
    }
    pub fn store() -> PathBuf {
        "firststep.sqlite3".into()
    }
    pub fn retention_days() -> Spanned<u32> {
        Spanned::new(0..0, 30)
    }

    pub fn bookings_per_minute() -> u32 {
        10
    }
    pub fn refresh() -> u64 {
        60
    }
    pub fn smtp_port() -> u16 {
        587
    }
    pub fn tls() -> SmtpTls {
        SmtpTls::Starttls
    }
    pub fn link_valid_hours() -> Spanned<u32> {
        Spanned::new(0..0, 72)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[practice]
name = "Riverside Counselling"
time_zone = "America/New_York"

[[services]]
id = "free-consultation"
title = "Free 15-minute consultation"

[availability.weekly]
monday = ["09:00-12:00", "13:00-17:00"]
"#;

    fn problems(text: &str) -> Vec<ConfigProblem> {
        Settings::from_toml(text, Path::new("/etc/firststep")).unwrap_err()
    }

    #[test]
    fn a_small_file_gets_the_defaults() {
        let settings = Settings::from_toml(GOOD, Path::new("/etc/firststep")).unwrap();
        let service = settings.service(None).unwrap();
        assert_eq!(
            (service.duration_minutes, service.mode),
            (15, BookingMode::Request)
        );
        assert_eq!(
            settings.practice.form,
            FormSettings {
                phone: FieldRule::Optional,
                note: FieldRule::Hidden
            }
        );
        assert_eq!(settings.practice.rules.weekly[0].ranges().len(), 2);
        assert_eq!(
            settings.server.store,
            Path::new("/etc/firststep/firststep.sqlite3")
        );
        assert_eq!(settings.server.listen, "127.0.0.1:8787");
    }

    #[test]
    fn every_problem_is_reported_with_its_line_and_key() {
        let text = GOOD
            .replace("America/New_York", "America/Nowhere")
            .replace("\"13:00-17:00\"", "\"13:00-17:00\", \"09:00-08:00\"")
            + "tuesday = [\"08:00-12:00\", \"11:00-13:00\"]\n";
        let found = problems(&text);
        let summary: Vec<(usize, &str)> = found.iter().map(|p| (p.line, p.key.as_str())).collect();
        assert_eq!(
            summary,
            [
                (4, "practice.time_zone"),
                (11, "availability.weekly.monday[2]"),
                (12, "availability.weekly.tuesday"),
            ]
        );
        assert!(found[1].message.contains("ends before it starts"));
        assert!(found[2].message.contains("overlap"));
    }

    #[test]
    fn every_unknown_key_is_reported_at_its_line_with_the_keys_known_there() {
        let text =
            GOOD.replace(
                "time_zone = \"America/New_York\"",
                "time_zone = \"America/New_York\"\ncolour = \"blue\"",
            )
            .replace(
                "title = \"Free 15-minute consultation\"",
                "title = \"Free 15-minute consultation\"\nprice = 0",
            ) + "tuesday = [\"09:00-12:00\"]\nsundae = [\"09:00-12:00\"]\n[extras]\nx = 1\n";
        let found = problems(&text);
        let summary: Vec<(usize, &str)> = found.iter().map(|p| (p.line, p.key.as_str())).collect();
        assert_eq!(
            summary,
            [
                (5, "practice.colour"),
                (10, "services[0].price"),
                (15, "availability.weekly.sundae"),
                (16, "extras"),
            ]
        );
        assert!(
            found[0].message.starts_with(
                "unknown key `colour` in [practice]; expected one of `name`, `time_zone`, "
            ),
            "{}",
            found[0].message
        );
        assert!(
            found[1]
                .message
                .starts_with("unknown key `price` in [services[0]]; expected one of `id`, `title`"),
            "{}",
            found[1].message
        );
        assert!(
            found[2].message.contains("`sunday`"),
            "{}",
            found[2].message
        );
        assert!(
            found[3]
                .message
                .starts_with("unknown key `extras` at the top level; expected one of `practice`"),
            "{}",
            found[3].message
        );
    }

    #[test]
    fn unknown_keys_and_wrong_values_are_reported_together_in_line_order() {
        let text = GOOD.replace("America/New_York", "America/Nowhere")
            + "tuesday = [\"25:00-26:00\"]\n[server]\nlisten = \"127.0.0.1:0\"\nlisen = \"typo\"\n";
        let found = problems(&text);
        let summary: Vec<(usize, &str)> = found.iter().map(|p| (p.line, p.key.as_str())).collect();
        assert_eq!(
            summary,
            [
                (4, "practice.time_zone"),
                (12, "availability.weekly.tuesday[0]"),
                (15, "server.lisen"),
            ]
        );
        let error = ConfigError {
            file: "practice.toml".into(),
            problems: found,
        };
        assert!(
            error.to_string().contains(
                "\npractice.toml:15: server.lisen: unknown key `lisen` in [server]; expected one of `listen`, "
            ),
            "{error}"
        );
    }

    #[test]
    fn a_wrong_type_does_not_hide_the_unknown_keys() {
        let text = GOOD.replace(
            "name = \"Riverside Counselling\"",
            "name = \"Riverside Counselling\"\nnickname = \"R\"",
        ) + "tuesday = 5\nsundae = []\n";
        let found = problems(&text);
        let summary: Vec<(usize, &str)> = found.iter().map(|p| (p.line, p.key.as_str())).collect();
        assert_eq!(
            summary,
            [
                (4, "practice.nickname"),
                (13, ""),
                (14, "availability.weekly.sundae")
            ]
        );
        assert!(
            found[1].message.contains("expected a sequence"),
            "{}",
            found[1].message
        );
    }

    #[test]
    fn every_url_must_parse_and_be_http_or_https() {
        let text = GOOD.replace(
            "time_zone = \"America/New_York\"",
            "time_zone = \"America/New_York\"\nprivacy_url = \"javascript:alert(1)\"",
        ) + "[server]\nallowed_origins = [\"https://Example.org:443/\", \"https://example.org/app\", \"https://user:pw@example.org\", \"not a url\"]\n";
        let found = problems(&text);
        let summary: Vec<(usize, &str)> = found.iter().map(|p| (p.line, p.key.as_str())).collect();
        assert_eq!(
            summary,
            [
                (5, "practice.privacy_url"),
                (14, "server.allowed_origins[1]"),
                (14, "server.allowed_origins[2]"),
                (14, "server.allowed_origins[3]"),
            ]
        );
        assert!(
            found[0].message.contains("https://"),
            "{}",
            found[0].message
        );
        assert!(
            found[2].message.contains("user name or password"),
            "{}",
            found[2].message
        );
        assert!(
            found[3].message.starts_with("not a URL"),
            "{}",
            found[3].message
        );

        let fixed = text
            .replace("javascript:alert(1)", "http://example.org/privacy")
            .replace(
                ", \"https://example.org/app\", \"https://user:pw@example.org\", \"not a url\"",
                "",
            );
        let settings = Settings::from_toml(&fixed, Path::new("/etc")).unwrap();
        assert_eq!(
            settings.server.allowed_origins,
            ["https://example.org"],
            "as browsers send it"
        );
        assert_eq!(
            settings.practice.privacy_url.as_deref(),
            Some("http://example.org/privacy")
        );
    }

    #[test]
    fn addresses_that_carry_secrets_need_https_except_on_this_machine() {
        let feeds = |list: &str| {
            format!("{GOOD}[calendar]\nbackend = \"local\"\nbusy_feeds = [\n{list}]\n")
        };
        let good = feeds(
            "\"https://calendar.example.org/private-abc/basic.ics\",\n\
             \"https://user:secret@cloud.example.org/export.ics\",\n\
             \"http://127.0.0.1:8080/busy.ics\",\n\"http://[::1]/busy.ics\",\n\"http://localhost/busy.ics\",\n",
        );
        assert!(Settings::from_toml(&good, Path::new("/etc")).is_ok());
        let found = problems(&feeds("\"http://calendar.example.org/private-abc/basic.ics\",\n\"calendar.example.org/x.ics\",\n"));
        let summary: Vec<(usize, &str)> = found.iter().map(|p| (p.line, p.key.as_str())).collect();
        assert_eq!(
            summary,
            [
                (15, "calendar.busy_feeds[0]"),
                (16, "calendar.busy_feeds[1]")
            ]
        );
        assert!(
            found[0].message.contains("https://"),
            "{}",
            found[0].message
        );
        for problem in &found {
            assert!(
                !problem.message.contains("private-abc") && !problem.message.contains("x.ics"),
                "a feed's address is a secret: {}",
                problem.message
            );
        }

        std::env::set_var("FIRSTSTEP_TEST_URL_PASSWORD", "hunter2");
        let caldav = |url: &str| {
            format!("{GOOD}[calendar]\nbackend = \"caldav\"\nurl = \"{url}\"\nuser = \"therapist\"\npassword_env = \"FIRSTSTEP_TEST_URL_PASSWORD\"\n")
        };
        assert!(
            Settings::from_toml(&caldav("http://127.0.0.1:5232/cal/"), Path::new("/etc")).is_ok()
        );
        for (url, says) in [
            ("http://dav.example.org/cal/", "https://"),
            (
                "https://therapist:hunter2@dav.example.org/cal/",
                "user name or password",
            ),
            ("ftp://dav.example.org/cal/", "https://"),
        ] {
            let found = problems(&caldav(url));
            assert_eq!(
                (found.len(), found[0].line, found[0].key.as_str()),
                (1, 14, "calendar.url"),
                "{url}"
            );
            assert!(
                found[0].message.contains(says),
                "{url}: {}",
                found[0].message
            );
        }
    }

    #[test]
    fn the_mail_addresses_are_checked_as_urls() {
        std::env::set_var(
            "FIRSTSTEP_TEST_LINK_SECRET",
            "a-link-secret-of-more-than-32-characters",
        );
        let mail = |public: &str, booking: &str| {
            format!(
                "{GOOD}[mail]\nsmtp_host = \"127.0.0.1\"\nfrom = \"P <p@example.org>\"\npractice_to = \"t@example.org\"\n\
                 public_url = \"{public}\"\nbooking_page_url = \"{booking}\"\nlink_secret_env = \"FIRSTSTEP_TEST_LINK_SECRET\"\n"
            )
        };
        let settings = Settings::from_toml(
            &mail("https://booking.example.org/", "http://example.org/#book"),
            Path::new("/etc"),
        )
        .unwrap();
        let mail_settings = settings.mail.unwrap();
        assert_eq!(mail_settings.public_url, "https://booking.example.org");
        assert_eq!(
            mail_settings.booking_page_url.as_deref(),
            Some("http://example.org/#book")
        );
        assert!(Settings::from_toml(
            &mail("http://127.0.0.1:8787", "https://example.org/"),
            Path::new("/etc")
        )
        .is_ok());

        for (public, booking, key, says) in [
            (
                "http://booking.example.org",
                "https://example.org/",
                "mail.public_url",
                "https://",
            ),
            (
                "https://booking.example.org/?x=1",
                "https://example.org/",
                "mail.public_url",
                "without ? or #",
            ),
            (
                "booking.example.org",
                "https://example.org/",
                "mail.public_url",
                "not a URL",
            ),
            (
                "https://booking.example.org",
                "https://user:pw@example.org/",
                "mail.booking_page_url",
                "user name or password",
            ),
            (
                "https://booking.example.org",
                "mailto:book@example.org",
                "mail.booking_page_url",
                "https://",
            ),
        ] {
            let found = problems(&mail(public, booking));
            let line = if key == "mail.public_url" { 16 } else { 17 };
            assert_eq!(
                (found.len(), found[0].line, found[0].key.as_str()),
                (1, line, key),
                "{public} {booking}"
            );
            assert!(found[0].message.contains(says), "{}", found[0].message);
        }
    }

    proptest::proptest! {
        #[test]
        fn any_text_gives_settings_or_problems_in_line_order(text in "(?s).{0,400}") {
            if let Err(found) = Settings::from_toml(&text, Path::new("/etc")) {
                proptest::prop_assert!(!found.is_empty());
                let lines: Vec<usize> = found.iter().map(|p| p.line).collect();
                let mut sorted = lines.clone();
                sorted.sort_by_key(|line| (*line == 0, *line));
                proptest::prop_assert_eq!(lines, sorted);
            }
        }

        #[test]
        fn an_unknown_key_on_any_line_of_any_table_is_reported_there(
            after in 2usize..=11,
            name in "[a-z_]{1,12}",
        ) {
            let mut lines: Vec<&str> = GOOD.lines().collect();
            let key = format!("x_{name} = 1");
            lines.insert(after, &key);
            let found = problems(&lines.join("\n"));
            proptest::prop_assert_eq!(found.len(), 1, "{:?}", found);
            proptest::prop_assert_eq!(found[0].line, after + 1);
            let expected = format!("x_{name}");
            proptest::prop_assert!(found[0].key.ends_with(&expected), "{:?}", found);
        }
    }

    #[test]
    fn the_example_file_passes() {
        let example =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/riverside-counselling.toml");
        let settings = Settings::load(&example).unwrap();
        assert_eq!(settings.practice.name, "Riverside Counselling");
    }

    /// These spans are added to today's date; a huge one would overflow it.
    #[test]
    fn spans_added_to_dates_are_bounded() {
        let text = GOOD.replace(
            "[availability.weekly]",
            "[availability]\nhorizon_days = 4294967295\nrequest_expiry_hours = 87841\n[availability.weekly]",
        );
        let found: Vec<(usize, String)> = problems(&text)
            .into_iter()
            .map(|p| (p.line, format!("{}: {}", p.key, p.message)))
            .collect();
        assert_eq!(
            found,
            [
                (
                    11,
                    "availability.horizon_days: must be at most 3660 days".into()
                ),
                (
                    12,
                    "availability.request_expiry_hours: must be at most 87840 hours".into()
                ),
            ]
        );
    }

    #[test]
    fn services_need_unique_well_formed_ids() {
        let text = format!("{GOOD}\n[[services]]\nid = \"free-consultation\"\ntitle = \"Again\"\n[[services]]\nid = \"Bad Id\"\ntitle = \"x\"\nduration_minutes = 0\n");
        let keys: Vec<String> = problems(&text).into_iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            [
                "services[1].id",
                "services[2].id",
                "services[2].duration_minutes"
            ]
        );
    }

    #[test]
    fn overrides_and_origins_are_checked() {
        let text = format!(
            "{GOOD}\n[[availability.overrides]]\ndate = \"2026-02-30\"\nhours = []\n[server]\nallowed_origins = [\"https://example.org/\", \"example.org\"]\n"
        );
        let keys: Vec<String> = problems(&text).into_iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            [
                "availability.overrides[0].date",
                "server.allowed_origins[1]"
            ]
        );
    }

    #[test]
    fn trusted_proxies_are_address_blocks_checked_at_their_line() {
        let text = format!(
            "{GOOD}\n[server]\ntrusted_proxies = [\n  \"127.0.0.1/32\",\n  \"10.0.0.1/8\",\n  \"proxy.local\",\n  \"::1\",\n]\n"
        );
        let found = problems(&text);
        let summary: Vec<(usize, &str)> = found.iter().map(|p| (p.line, p.key.as_str())).collect();
        assert_eq!(
            summary,
            [
                (16, "server.trusted_proxies[1]"),
                (17, "server.trusted_proxies[2]")
            ]
        );
        assert!(
            found[0].message.contains("10.0.0.0/8"),
            "{}",
            found[0].message
        );

        let fine = Settings::from_toml(
            &format!("{GOOD}\n[server]\ntrusted_proxies = [\"127.0.0.1/32\", \"::1\"]\n"),
            Path::new("/etc/firststep"),
        )
        .unwrap();
        let blocks: Vec<String> = fine
            .server
            .trusted_proxies
            .iter()
            .map(|c| c.to_string())
            .collect();
        assert_eq!(blocks, ["127.0.0.1/32", "::1/128"]);
        let default = Settings::from_toml(GOOD, Path::new("/etc/firststep")).unwrap();
        assert!(default.server.trusted_proxies.is_empty());
    }

    #[test]
    fn a_caldav_calendar_needs_its_address_user_and_a_password_that_never_prints() {
        std::env::set_var("FIRSTSTEP_TEST_CALDAV_PASSWORD", "hunter2");
        let text = format!(
            "{GOOD}\n[calendar]\nbackend = \"caldav\"\nurl = \"https://dav.example.org/cal/\"\nuser = \"therapist\"\npassword_env = \"FIRSTSTEP_TEST_CALDAV_PASSWORD\"\n"
        );
        let settings = Settings::from_toml(&text, Path::new("/etc")).unwrap();
        let CalendarSettings::CalDav(caldav) = &settings.calendar else {
            panic!("a CalDAV calendar")
        };
        assert_eq!(caldav.password.expose(), "hunter2");
        assert_eq!(caldav.event_title, "Consultation request");
        assert!(!format!("{settings:?}").contains("hunter2"));

        let unset = text.replace(
            "FIRSTSTEP_TEST_CALDAV_PASSWORD",
            "FIRSTSTEP_TEST_UNSET_VARIABLE",
        );
        let found = problems(&unset);
        assert_eq!(found[0].key, "calendar.password_env");
        assert!(found[0]
            .message
            .contains("FIRSTSTEP_TEST_UNSET_VARIABLE is not set"));
        let found = problems(&format!("{GOOD}\n[calendar]\nbackend = \"exchange\"\n"));
        assert_eq!(found[0].key, "calendar.backend");
    }

    #[test]
    fn a_secret_file_that_never_ends_is_a_problem_not_a_hang() {
        let text = format!(
            "{GOOD}\n[calendar]\nbackend = \"caldav\"\nurl = \"https://dav.example.org/cal/\"\nuser = \"therapist\"\npassword_file = \"/dev/zero\"\n"
        );
        let found = problems(&text);
        assert_eq!(found[0].key, "calendar.password_file");
        assert!(found[0].message.contains("larger than 64 KiB"), "{found:?}");
    }

    #[test]
    fn a_google_calendar_takes_the_issues_keys_and_never_prints_the_client_secret() {
        let folder = tempfile::tempdir().unwrap();
        std::fs::write(
            folder.path().join("oauth-client-secret"),
            "GOCSPX-hunter2\n",
        )
        .unwrap();
        let text = format!(
            "{GOOD}\n[calendar]\nbackend = \"google\"\nclient_id = \"123.apps.googleusercontent.com\"\n\
             client_secret_file = \"oauth-client-secret\"\ntoken_file = \"calendar-token.json\"\n\
             refresh_seconds = 30\nevent_title = \"Hold\"\n"
        );
        let settings = Settings::from_toml(&text, folder.path()).unwrap();
        let CalendarSettings::Google(google) = &settings.calendar else {
            panic!("a Google calendar")
        };
        assert_eq!(google.calendar_id, "primary");
        assert_eq!(google.api_base, "https://www.googleapis.com/calendar/v3");
        assert_eq!(google.token_url, "https://oauth2.googleapis.com/token");
        assert_eq!(
            google.auth_url,
            "https://accounts.google.com/o/oauth2/v2/auth"
        );
        assert_eq!(
            (google.refresh_seconds, google.event_title.as_str()),
            (30, "Hold")
        );
        let crate::calendar::oauth::Grant::RefreshToken {
            client_secret,
            token_file,
            ..
        } = &google.grant
        else {
            panic!("the practice's own account")
        };
        assert_eq!(client_secret.expose(), "GOCSPX-hunter2");
        assert_eq!(token_file, &folder.path().join("calendar-token.json"));
        assert!(!format!("{settings:?}").contains("hunter2"));
    }

    #[test]
    fn google_problems_are_reported_at_their_keys() {
        let folder = tempfile::tempdir().unwrap();
        let base = format!("{GOOD}\n[calendar]\nbackend = \"google\"\n");
        let at = |text: &str| -> Vec<(usize, String)> {
            Settings::from_toml(text, folder.path())
                .unwrap_err()
                .into_iter()
                .map(|p| (p.line, p.key))
                .collect()
        };
        let line = |text: &str, needle: &str| {
            text.lines().position(|l| l.starts_with(needle)).unwrap() + 1
        };

        let no_client = base.clone();
        assert_eq!(
            at(&no_client),
            [(line(&no_client, "backend"), "calendar.client_id".to_owned())]
        );

        let bad_key = format!("{base}calendar_id = \"therapist@practice.example\"\nservice_account_file = \"sa.json\"\n");
        std::fs::write(folder.path().join("sa.json"), r#"{"client_email": "a@b.iam.gserviceaccount.com", "private_key": "-----BEGIN PRIVATE KEY-----\nnot base64!\n-----END PRIVATE KEY-----\n"}"#).unwrap();
        assert_eq!(
            at(&bad_key),
            [(
                line(&bad_key, "service_account_file"),
                "calendar.service_account_file".to_owned()
            )]
        );

        let primary = format!("{base}service_account_file = \"sa.json\"\n");
        assert_eq!(
            at(&primary),
            [(
                line(&primary, "service_account_file"),
                "calendar.calendar_id".to_owned()
            )]
        );

        let both = format!("{base}calendar_id = \"x@y.example\"\nclient_id = \"c\"\nservice_account_file = \"sa.json\"\n");
        assert_eq!(
            at(&both),
            [(
                line(&both, "client_id"),
                "calendar.service_account_file".to_owned()
            )]
        );

        let plain = format!("{base}client_id = \"c\"\nclient_secret_env = \"PATH\"\ntoken_file = \"t\"\ntoken_url = \"http://oauth.example.org/token\"\n");
        assert_eq!(
            at(&plain),
            [(line(&plain, "token_url"), "calendar.token_url".to_owned())]
        );
    }

    #[test]
    fn the_error_prints_one_problem_a_line() {
        let error = ConfigError {
            file: "practice.toml".into(),
            problems: vec![
                ConfigProblem {
                    line: 4,
                    key: "practice.time_zone".into(),
                    message: "bad".into(),
                },
                ConfigProblem {
                    line: 0,
                    key: String::new(),
                    message: "missing".into(),
                },
            ],
        };
        assert_eq!(
            error.to_string(),
            "practice.toml:4: practice.time_zone: bad\npractice.toml: missing"
        );
    }

    #[test]
    fn retention_defaults_to_30_days_and_is_checked_at_its_line() {
        let settings = Settings::from_toml(GOOD, Path::new("/etc/firststep")).unwrap();
        assert_eq!(settings.privacy.retention_days, 30);
        assert!(!settings.server.metrics);
        assert_eq!(settings.server.metrics_listen, None);

        let set = format!("{GOOD}\n[privacy]\nretention_days = 90\n");
        let settings = Settings::from_toml(&set, Path::new("/etc/firststep")).unwrap();
        assert_eq!(settings.privacy.retention_days, 90);

        let zero = format!("{GOOD}\n[privacy]\nretention_days = 0\n");
        let found = problems(&zero);
        assert_eq!(found[0].key, "privacy.retention_days");
        assert_eq!(found[0].line, zero.lines().count());
        let unknown = problems(&format!("{GOOD}\n[privacy]\nkeep_days = 3\n"));
        assert!(unknown[0].message.contains("keep_days"), "{unknown:?}");
    }

    #[test]
    fn metrics_listen_must_be_an_address_and_port() {
        let good = format!("{GOOD}\n[server]\nmetrics_listen = \"127.0.0.1:9187\"\n");
        let settings = Settings::from_toml(&good, Path::new("/etc/firststep")).unwrap();
        assert_eq!(
            settings.server.metrics_listen,
            Some("127.0.0.1:9187".parse().unwrap())
        );
        let bad = format!("{GOOD}\n[server]\nmetrics = true\nmetrics_listen = \"localhost\"\n");
        let found = problems(&bad);
        assert_eq!(found[0].key, "server.metrics_listen");
        assert_eq!(found[0].line, bad.lines().count());
    }
}
