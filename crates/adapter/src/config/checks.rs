//! The checker: builds [`Settings`] from the raw values, writing down
//! *every* problem it meets at its line and key (`file:line: key: what is
//! wrong`), so one run of `check-config` lists them all. One method a
//! section or value; URLs are checked in `urls.rs`, the calendar section in
//! `calendar.rs`.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use chrono_tz::Tz;
use firststep_availability::{DayHours, OpeningRange, Rules};
use firststep_protocol::visitor_fields::Language;
use firststep_protocol::{FieldRule, FormSettings};
use toml::Spanned;

use super::raw::{RawConfig, RawMail, RawOverride, RawReminders, RawService, RawWeekly};
use super::urls::UrlUse;
use super::{
    line_of, read_bounded, ConfigProblem, FeedSettings, MailSettings, PracticeSettings,
    PrivacySettings, ReminderSettings, Secret, ServerSettings, Service, Settings, MAX_SECRET_BYTES,
};
use crate::store::StoreLocation;

/// The longest `services.change_until_hours`: 30 days.
const MAX_CHANGE_UNTIL_HOURS: u32 = 30 * 24;

/// The longest span (horizon, expiry, link validity) a configuration may set:
/// ten years, far beyond any practice's need and far inside chrono's dates.
const MAX_SPAN_DAYS: u32 = 3660;

/// The furthest ahead a reminder may be sent: 30 days. Further, it reminds
/// of nothing (and may come before the booking is even made).
const MAX_REMINDER_HOURS: i64 = 720;

/// Whether `id` is 1 to `max` of a-z, 0-9 and `-` (a service's, a
/// clinician's): safe in paths, links and file names as it is.
pub(super) fn is_id(id: &str, max: usize) -> bool {
    (1..=max).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Builds [`Settings`] from raw values, writing down every problem it meets.
pub(super) struct Checker<'a> {
    pub(super) text: &'a str,
    pub(super) problems: Vec<ConfigProblem>,
}

impl Checker<'_> {
    pub(super) fn problem<T>(
        &mut self,
        at: &Spanned<T>,
        key: impl Into<String>,
        message: impl Into<String>,
    ) {
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

    pub(super) fn settings(&mut self, mut raw: RawConfig, base: &Path) -> Option<Settings> {
        let zone = self.zone(&raw.practice.time_zone);
        // Who offers each service is settled once the clinicians are read.
        let service_clinicians: Vec<_> = raw
            .services
            .iter_mut()
            .map(|s| s.clinicians.take())
            .collect();
        let services = self.services(raw.services, raw.form.phone);
        let weekly = self.weekly("availability", raw.availability.weekly);
        let overrides = self.overrides("availability", raw.availability.overrides);
        let step_minutes = self.step(&raw.availability.step_minutes, "availability.step_minutes");
        let horizon_days =
            self.horizon(&raw.availability.horizon_days, "availability.horizon_days");
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
        let language = match &raw.practice.locale {
            None => Some(Language::English),
            Some(locale) => match locale.get_ref().as_str() {
                "en" => Some(Language::English),
                "es" => Some(Language::Spanish),
                _ => {
                    self.problem(locale, "practice.locale", "must be \"en\" or \"es\"");
                    None
                }
            },
        };
        let trusted_proxies = self.trusted_proxies(raw.server.trusted_proxies);
        let reminders = self.reminders(raw.reminders);
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
        let store = match StoreLocation::parse(raw.server.store.get_ref()) {
            Ok(location) => Some(location),
            Err(message) => {
                self.problem(&raw.server.store, "server.store", message);
                None
            }
        };
        let page = self.page(raw.page);
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

        let rules = match (zone, weekly, overrides, step_minutes, horizon_days) {
            (Some(zone), Some(weekly), Some(overrides), Some(step_minutes), Some(horizon_days)) => {
                Some(Rules {
                    zone,
                    weekly,
                    overrides,
                    step_minutes,
                    buffer_before_minutes: raw.availability.buffer_before_minutes,
                    buffer_after_minutes: raw.availability.buffer_after_minutes,
                    minimum_notice_minutes: raw.availability.minimum_notice_minutes,
                    horizon_days,
                    daily_cap: raw.availability.daily_cap,
                })
            }
            _ => None,
        };
        let clinician_ids: Vec<String> = raw
            .clinicians
            .iter()
            .map(|c| c.id.get_ref().clone())
            .collect();
        let clinicians = self.clinicians(raw.clinicians, rules.as_ref(), base);
        let services =
            services.and_then(|s| self.offered_by(s, &service_clinicians, &clinician_ids));
        let zone = zone?;
        let rules = rules?;
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
                language: language?,
                services: services?,
                form: FormSettings {
                    phone: raw.form.phone,
                    note: raw.form.note,
                },
                notice: raw.practice.notice,
                privacy_url: privacy_url?,
                rules,
                request_expiry_hours: request_expiry_hours?,
                clinicians: clinicians?,
            },
            server: ServerSettings {
                listen: raw.server.listen,
                store: match store? {
                    StoreLocation::Sqlite(path) => StoreLocation::Sqlite(resolve(path)),
                    url => url,
                },
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
            page: page?,
            reminders: reminders?,
        })
    }

    fn reminders(&mut self, raw: RawReminders) -> Option<ReminderSettings> {
        let mut hours_before: Vec<u32> = Vec::new();
        let mut ok = true;
        for (i, hours) in raw.hours_before.iter().enumerate() {
            let key = format!("reminders.hours_before[{i}]");
            let given = *hours.get_ref();
            match u32::try_from(given) {
                Ok(h) if (1..=MAX_REMINDER_HOURS).contains(&given) => {
                    if hours_before.contains(&h) {
                        self.problem(
                            hours,
                            key,
                            format!("{h} is given twice; each reminder is sent once"),
                        );
                        ok = false;
                    }
                    hours_before.push(h);
                }
                _ => {
                    self.problem(
                        hours,
                        key,
                        format!(
                            "must be from 1 to {MAX_REMINDER_HOURS} hours: a reminder goes out that many \
                             hours before the start, at most 30 days ahead (further, it reminds of nothing)"
                        ),
                    );
                    ok = false;
                }
            }
        }
        hours_before.sort_unstable();
        ok.then_some(ReminderSettings { hours_before })
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
            cc_practice: raw.cc_practice,
            public_url: raw.public_url.into_inner().trim_end_matches('/').to_owned(),
            booking_page_url,
            link_secret,
            link_valid_hours,
        })
    }

    /// A secret given as an environment variable's name or a file (relative to the configuration).
    pub(super) fn secret(
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

    pub(super) fn missing<T, U>(
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

    fn services(&mut self, raw: Vec<RawService>, form_phone: FieldRule) -> Option<Vec<Service>> {
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
            if !is_id(id, 64) {
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
            let meeting = self.meeting(i, &s, form_phone);
            let change_until_hours = self.at_most(
                &s.change_until_hours,
                &format!("services[{i}].change_until_hours"),
                MAX_CHANGE_UNTIL_HOURS,
                "hours (30 days)",
            );
            services.push(Service {
                id: s.id.into_inner(),
                title: s.title,
                duration_minutes: minutes,
                mode: s.mode,
                meeting: meeting.flatten(),
                reschedule: s.reschedule.unwrap_or(s.mode),
                change_until_hours: change_until_hours.unwrap_or_default(),
                description: s.description,
                clinicians: Vec::new(),
            });
        }
        (self.problems.len() == before).then_some(services)
    }

    /// `availability.step_minutes` (or a clinician's): 1 to 1440.
    pub(super) fn step(&mut self, value: &Spanned<u32>, key: &str) -> Option<NonZeroU32> {
        match NonZeroU32::new(*value.get_ref()) {
            Some(step) if step.get() <= 24 * 60 => Some(step),
            _ => {
                self.problem(value, key, "must be from 1 to 1440 minutes");
                None
            }
        }
    }

    /// `availability.horizon_days` (or a clinician's).
    pub(super) fn horizon(&mut self, value: &Spanned<u32>, key: &str) -> Option<u32> {
        self.at_most(value, key, MAX_SPAN_DAYS, "days")
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

    /// The week of `{section}.weekly`.
    pub(super) fn weekly(&mut self, section: &str, raw: RawWeekly) -> Option<[DayHours; 7]> {
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
            .map(|(day, ranges)| self.day_hours(&format!("{section}.weekly.{day}"), ranges))
            .collect();
        let parsed: Option<Vec<DayHours>> = parsed.into_iter().collect();
        parsed.map(|days| days.try_into().expect("seven days"))
    }

    /// The dates of `{section}.overrides`.
    pub(super) fn overrides(
        &mut self,
        section: &str,
        raw: Vec<RawOverride>,
    ) -> Option<BTreeMap<NaiveDate, DayHours>> {
        let mut overrides = BTreeMap::new();
        let mut ok = true;
        for (i, o) in raw.into_iter().enumerate() {
            let key = format!("{section}.overrides[{i}]");
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::{problems, GOOD};

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

    /// These spans are added to today's date; a huge one would overflow it.
    #[test]
    fn the_practice_reads_its_emails_in_english_or_spanish() {
        let with = |locale: &str| {
            GOOD.replace(
                "[practice]\n",
                &format!("[practice]\nlocale = \"{locale}\"\n"),
            )
        };
        let language = |text: &str| {
            Settings::from_toml(text, Path::new("/etc/firststep"))
                .unwrap()
                .practice
                .language
        };
        assert_eq!(language(GOOD), Language::English);
        assert_eq!(language(&with("es")), Language::Spanish);
        assert_eq!(language(&with("en")), Language::English);
        for wrong in ["fr", "es-MX", ""] {
            let found = problems(&with(wrong));
            let summary: Vec<(usize, &str)> =
                found.iter().map(|p| (p.line, p.key.as_str())).collect();
            assert_eq!(summary, [(3, "practice.locale")], "{wrong:?}");
            assert!(
                found[0].message.contains("\"en\" or \"es\""),
                "{}",
                found[0].message
            );
        }
    }

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
    fn reminders_default_to_a_day_before_and_each_hour_is_checked_at_its_line() {
        let hours = |text: &str| {
            Settings::from_toml(text, Path::new("/etc/firststep"))
                .unwrap()
                .reminders
                .hours_before
        };
        assert_eq!(hours(GOOD), [24]);
        assert_eq!(
            hours(&format!("{GOOD}\n[reminders]\nhours_before = [24, 2]\n")),
            [2, 24]
        );
        assert_eq!(
            hours(&format!("{GOOD}\n[reminders]\nhours_before = []\n")),
            [] as [u32; 0]
        );
        assert_eq!(hours(&format!("{GOOD}\n[reminders]\n")), [24]);

        let wrong = format!(
            "{GOOD}\n[reminders]\nhours_before = [\n  24,\n  0,\n  721,\n  24,\n  -3,\n  720,\n]\n"
        );
        let first = GOOD.lines().count() + 5;
        let found = problems(&wrong);
        let summary: Vec<(usize, &str)> = found.iter().map(|p| (p.line, p.key.as_str())).collect();
        assert_eq!(
            summary,
            [
                (first, "reminders.hours_before[1]"),
                (first + 1, "reminders.hours_before[2]"),
                (first + 2, "reminders.hours_before[3]"),
                (first + 3, "reminders.hours_before[4]"),
            ]
        );
        for out_of_range in [&found[0], &found[1], &found[3]] {
            assert!(
                out_of_range
                    .message
                    .starts_with("must be from 1 to 720 hours")
                    && out_of_range.message.contains("30 days"),
                "{}",
                out_of_range.message
            );
        }
        assert!(
            found[2].message.contains("24 is given twice"),
            "{}",
            found[2].message
        );

        let half = problems(&format!("{GOOD}\n[reminders]\nhours_before = [1.5]\n"));
        assert_eq!(half[0].line, GOOD.lines().count() + 3, "{half:?}");
        let typo = problems(&format!("{GOOD}\n[reminders]\nhour_before = [2]\n"));
        assert_eq!(typo[0].key, "reminders.hour_before", "{typo:?}");
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

    #[test]
    fn store_is_a_path_from_the_files_folder_or_a_postgres_url_reported_at_its_line() {
        let path = format!("{GOOD}\n[server]\nstore = \"data/bookings.sqlite3\"\n");
        let settings = Settings::from_toml(&path, Path::new("/etc/firststep")).unwrap();
        assert_eq!(
            settings.server.store,
            StoreLocation::Sqlite("/etc/firststep/data/bookings.sqlite3".into())
        );
        for (store, says) in [
            (
                "postgres://firststep@db.example.org:nope/firststep",
                "is not a PostgreSQL URL",
            ),
            (
                "mysql://db.example.org/firststep",
                "no other database is known",
            ),
            ("", "must be a SQLite file's path or a postgres:// URL"),
        ] {
            let text = format!("{GOOD}\n[server]\nstore = \"{store}\"\nlisten = \"127.0.0.1:0\"\n");
            let found = problems(&text);
            assert_eq!(found.len(), 1, "{store}: {found:?}");
            assert_eq!(
                (found[0].line, found[0].key.as_str()),
                (text.lines().count() - 1, "server.store"),
                "{store}"
            );
            assert!(
                found[0].message.contains(says),
                "{store}: {}",
                found[0].message
            );
            assert!(!found[0].message.contains("secret"), "{}", found[0].message);
        }
    }
}
