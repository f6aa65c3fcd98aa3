//! The file's shape, as serde reads it: the `Raw*` structs (one per table,
//! absent keys taking their `defaults`), and `read_shape`, which lists every
//! unknown key at its line before serde reads the rest.
//!
//! Each table's struct has `deny_unknown_fields`: that is also how
//! `keys_known_at` learns its keys, so a new field is known at once.

use std::path::PathBuf;

use firststep_protocol::{BookingMode, FieldRule};
use serde::Deserialize;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::{line_of, ConfigProblem, SmtpTls};

/// Reads the file's shape with serde. Every unknown key is reported and
/// taken out first (serde alone stops at the first); then a wrong type or a
/// missing key ends the reading with one problem.
pub(super) fn read_shape(text: &str) -> (Result<RawConfig, ConfigProblem>, Vec<ConfigProblem>) {
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) practice: RawPractice,
    pub(super) services: Vec<RawService>,
    #[serde(default)]
    pub(super) form: RawForm,
    pub(super) availability: RawAvailability,
    #[serde(default)]
    pub(super) server: RawServer,
    pub(super) calendar: Option<RawCalendar>,
    pub(super) feed: Option<RawFeed>,
    pub(super) mail: Option<RawMail>,
    #[serde(default)]
    pub(super) privacy: RawPrivacy,
    #[serde(default)]
    pub(super) page: RawPage,
    #[serde(default)]
    pub(super) reminders: RawReminders,
    #[serde(default)]
    pub(super) clinicians: Vec<RawClinician>,
}

/// `[[clinicians]]`: one person of a group practice.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawClinician {
    pub(super) id: Spanned<String>,
    pub(super) name: Spanned<String>,
    pub(super) pronouns: Option<Spanned<String>>,
    pub(super) bio: Option<Spanned<String>>,
    /// Where their requests go; the practice's address when absent.
    pub(super) email: Option<Spanned<String>>,
    pub(super) availability: Option<RawClinicianAvailability>,
    /// Their own calendar; the practice's `[calendar]` when absent.
    pub(super) calendar: Option<RawCalendar>,
}

/// `[clinicians.availability]`: the keys of `[availability]`, each left
/// out being the practice's. `weekly`, when given, is the whole week.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawClinicianAvailability {
    pub(super) weekly: Option<RawWeekly>,
    pub(super) overrides: Option<Vec<RawOverride>>,
    pub(super) step_minutes: Option<Spanned<u32>>,
    pub(super) buffer_before_minutes: Option<u32>,
    pub(super) buffer_after_minutes: Option<u32>,
    pub(super) minimum_notice_minutes: Option<u32>,
    pub(super) horizon_days: Option<Spanned<u32>>,
    pub(super) daily_cap: Option<u32>,
}

/// `[page]`: the hosted booking page's theme, each the value of the
/// widget's custom property of the same name (`--firststep-accent`, …).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPage {
    pub(super) accent: Option<Spanned<String>>,
    pub(super) background: Option<Spanned<String>>,
    pub(super) text: Option<Spanned<String>>,
    pub(super) muted: Option<Spanned<String>>,
    pub(super) error: Option<Spanned<String>>,
    pub(super) radius: Option<Spanned<String>>,
    pub(super) font: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawReminders {
    /// Whole hours before a booking's start; wide, so a wrong value is
    /// refused by the checker with its reason rather than by serde.
    #[serde(default = "defaults::hours_before")]
    pub(super) hours_before: Vec<Spanned<i64>>,
}

impl Default for RawReminders {
    fn default() -> Self {
        Self {
            hours_before: defaults::hours_before(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPrivacy {
    #[serde(default = "defaults::retention_days")]
    pub(super) retention_days: Spanned<u32>,
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
pub(super) struct RawMail {
    pub(super) smtp_host: String,
    #[serde(default = "defaults::smtp_port")]
    pub(super) smtp_port: u16,
    #[serde(default = "defaults::tls")]
    pub(super) tls: SmtpTls,
    pub(super) user: Option<String>,
    pub(super) password_env: Option<Spanned<String>>,
    pub(super) password_file: Option<Spanned<String>>,
    pub(super) from: Spanned<String>,
    pub(super) practice_to: Spanned<String>,
    #[serde(default)]
    pub(super) cc_practice: bool,
    pub(super) public_url: Spanned<String>,
    pub(super) booking_page_url: Option<Spanned<String>>,
    pub(super) link_secret_env: Option<Spanned<String>>,
    pub(super) link_secret_file: Option<Spanned<String>>,
    #[serde(default = "defaults::link_valid_hours")]
    pub(super) link_valid_hours: Spanned<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFeed {
    pub(super) token_env: Option<Spanned<String>>,
    pub(super) token_file: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) include_client_name: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCalendar {
    pub(super) backend: Spanned<String>,
    /// ICS feeds whose events count as busy time (local backend).
    #[serde(default)]
    pub(super) busy_feeds: Vec<Spanned<String>>,
    pub(super) url: Option<Spanned<String>>,
    /// CalDAV: the user name; Microsoft with client credentials: the mailbox.
    pub(super) user: Option<Spanned<String>>,
    /// The name of an environment variable holding the password.
    pub(super) password_env: Option<Spanned<String>>,
    /// A file holding the password (relative to the configuration file).
    pub(super) password_file: Option<Spanned<String>>,
    #[serde(default = "defaults::refresh")]
    pub(super) refresh_seconds: u64,
    pub(super) event_title: Option<String>,
    #[serde(default)]
    pub(super) include_client_name: bool,
    /// Google: "primary" or the calendar's id; Microsoft: a calendar's id
    /// (left out: the default calendar).
    pub(super) calendar_id: Option<Spanned<String>>,
    /// The OAuth client of `connect google`; the app registration (Microsoft).
    pub(super) client_id: Option<Spanned<String>>,
    pub(super) client_secret_env: Option<Spanned<String>>,
    pub(super) client_secret_file: Option<Spanned<String>>,
    /// Where `connect google` / `connect microsoft` stores the refresh token.
    pub(super) token_file: Option<Spanned<String>>,
    /// Google: a service account's key file, instead of client_id/token_file.
    pub(super) service_account_file: Option<Spanned<String>>,
    pub(super) api_base: Option<Spanned<String>>,
    pub(super) token_url: Option<Spanned<String>>,
    pub(super) auth_url: Option<Spanned<String>>,
    /// Microsoft: "common", "organizations" or a tenant id.
    pub(super) tenant: Option<Spanned<String>>,
    pub(super) graph_base: Option<Spanned<String>>,
    pub(super) authority: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPractice {
    pub(super) name: String,
    pub(super) time_zone: Spanned<String>,
    pub(super) notice: Option<String>,
    pub(super) privacy_url: Option<Spanned<String>>,
    pub(super) locale: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawService {
    pub(super) id: Spanned<String>,
    pub(super) title: String,
    #[serde(default = "defaults::duration")]
    pub(super) duration_minutes: Spanned<u32>,
    #[serde(default = "defaults::mode")]
    pub(super) mode: BookingMode,
    /// What a confirmed booking moved by its visitor becomes; `mode` when absent.
    pub(super) reschedule: Option<BookingMode>,
    #[serde(default = "defaults::change_until")]
    pub(super) change_until_hours: Spanned<u32>,
    pub(super) location: Option<Spanned<String>>,
    pub(super) video_url: Option<Spanned<String>>,
    pub(super) video_url_template: Option<Spanned<String>>,
    pub(super) address: Option<Spanned<String>>,
    pub(super) description: Option<String>,
    /// The ids of the clinicians who offer it; absent: every clinician.
    pub(super) clinicians: Option<Spanned<Vec<Spanned<String>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawForm {
    #[serde(default = "defaults::phone")]
    pub(super) phone: FieldRule,
    #[serde(default = "defaults::note")]
    pub(super) note: FieldRule,
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
pub(super) struct RawAvailability {
    pub(super) weekly: RawWeekly,
    #[serde(default)]
    pub(super) overrides: Vec<RawOverride>,
    #[serde(default = "defaults::step")]
    pub(super) step_minutes: Spanned<u32>,
    #[serde(default)]
    pub(super) buffer_before_minutes: u32,
    #[serde(default)]
    pub(super) buffer_after_minutes: u32,
    #[serde(default = "defaults::notice")]
    pub(super) minimum_notice_minutes: u32,
    #[serde(default = "defaults::horizon")]
    pub(super) horizon_days: Spanned<u32>,
    pub(super) daily_cap: Option<u32>,
    #[serde(default = "defaults::expiry")]
    pub(super) request_expiry_hours: Spanned<u32>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWeekly {
    #[serde(default)]
    pub(super) monday: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) tuesday: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) wednesday: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) thursday: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) friday: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) saturday: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) sunday: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOverride {
    pub(super) date: Spanned<String>,
    /// Empty: closed that day.
    pub(super) hours: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServer {
    #[serde(default = "defaults::listen")]
    pub(super) listen: String,
    /// A SQLite file's path, or a `postgres://` URL.
    #[serde(default = "defaults::store")]
    pub(super) store: Spanned<String>,
    #[serde(default)]
    pub(super) allowed_origins: Vec<Spanned<String>>,
    pub(super) widget_dir: Option<PathBuf>,
    pub(super) demo_dir: Option<PathBuf>,
    #[serde(default = "defaults::bookings_per_minute")]
    pub(super) bookings_per_minute: u32,
    #[serde(default)]
    pub(super) metrics: bool,
    pub(super) metrics_listen: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) trusted_proxies: Vec<Spanned<String>>,
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

pub(super) mod defaults {
    use super::*;

    pub fn duration() -> Spanned<u32> {
        Spanned::new(0..0, 15)
    }
    pub fn mode() -> BookingMode {
        BookingMode::Request
    }
    pub fn change_until() -> Spanned<u32> {
        Spanned::new(0..0, 24)
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
    pub fn store() -> Spanned<String> {
        Spanned::new(0..0, "firststep.sqlite3".into())
    }
    pub fn retention_days() -> Spanned<u32> {
        Spanned::new(0..0, 30)
    }
    pub fn hours_before() -> Vec<Spanned<i64>> {
        vec![Spanned::new(0..0, 24)]
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
    use crate::config::tests::{problems, GOOD};

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

    proptest::proptest! {
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
}
