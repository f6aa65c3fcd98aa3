//! The practice's configuration: a TOML file parsed into [`Settings`], with
//! every problem reported at its place (`file:line: key: what is wrong`).
//!
//! Two stages: serde reads the file's shape — every unknown key is listed
//! (the known ones are the `Raw*` structs' fields, nothing to keep in step);
//! a wrong type stops it, with toml's own place — then [`Settings`] is built
//! from the raw values, collecting *every* problem at once: values, and each
//! URL against the rule for its use (`UrlUse`). Problems come in line order.
//!
//! # Layout
//! - this file: the entry points ([`Settings::load`], [`Settings::from_toml`]),
//!   the problems they report, and the bounded reading of files.
//! - `settings`: the checked types the rest of the adapter uses.
//! - `raw`: the file's shape as serde reads it, and the unknown keys.
//! - `checks`: the checker, raw values to settings, one method a section.
//! - `urls`: the rule for each URL by its use.
//! - `calendar`: the `[calendar]` section, one branch a backend.
//! - `meeting`: how each service's consultation happens (`location` and its keys).
//! - `page`: the `[page]` section, the booking page's theme.
//! - `clinicians`: `[[clinicians]]` of a group practice and the services' `clinicians`.

mod calendar;
mod checks;
mod clinicians;
mod meeting;
mod page;
mod raw;
mod settings;
mod urls;

pub use settings::{
    CalDavSettings, CalendarSettings, Clinician, FeedSettings, GoogleSettings, MailSettings,
    Meeting, MicrosoftSettings, PageSettings, PracticeSettings, PrivacySettings, ReminderSettings,
    Secret, ServerSettings, Service, Settings, SmtpTls, VideoRoom,
};

use std::fmt;
use std::path::Path;

use checks::Checker;
use raw::read_shape;

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
        Self::from_file_text(&read_config(path)?, path)
    }

    /// Checks `text`, read from `path` (its folder anchors relative paths;
    /// problems are said at `path`'s lines).
    pub fn from_file_text(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let base = path.parent().unwrap_or(Path::new("."));
        Self::from_toml(text, base).map_err(|problems| ConfigError {
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
}

/// The largest configuration file read, and the largest file a secret or
/// key is read from: a path pointing at a device or a log cannot hang or
/// exhaust the adapter.
pub(crate) const MAX_CONFIG_BYTES: u64 = 1024 * 1024;
pub(crate) const MAX_SECRET_BYTES: u64 = 64 * 1024;

/// A configuration file's text, at most [`MAX_CONFIG_BYTES`].
pub fn read_config(path: &Path) -> Result<String, ConfigError> {
    read_bounded(path, MAX_CONFIG_BYTES).map_err(|error| ConfigError {
        file: path.display().to_string(),
        problems: vec![ConfigProblem {
            line: 0,
            key: String::new(),
            message: format!("cannot read the file: {error}"),
        }],
    })
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use firststep_protocol::{BookingMode, FieldRule, FormSettings};

    /// The smallest file that passes; the other files' tests start from it too.
    pub(super) const GOOD: &str = r#"
[practice]
name = "Riverside Counselling"
time_zone = "America/New_York"

[[services]]
id = "free-consultation"
title = "Free 15-minute consultation"

[availability.weekly]
monday = ["09:00-12:00", "13:00-17:00"]
"#;

    pub(super) fn problems(text: &str) -> Vec<ConfigProblem> {
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
            crate::store::StoreLocation::Sqlite("/etc/firststep/firststep.sqlite3".into())
        );
        assert_eq!(settings.server.listen, "127.0.0.1:8787");
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
    fn the_example_file_passes() {
        let example =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/riverside-counselling.toml");
        let settings = Settings::load(&example).unwrap();
        assert_eq!(settings.practice.name, "Riverside Counselling");
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
    }
}
