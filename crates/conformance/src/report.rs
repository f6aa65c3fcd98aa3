//! The outcome of a run: a line per check for a person, JSON for machines.

use std::fmt::Write as _;

use serde_json::json;

use crate::verdict::{NotPassed, Verdict};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail { expected: String, got: String },
    Skip { reason: String },
}

impl From<Verdict> for Outcome {
    fn from(verdict: Verdict) -> Self {
        match verdict {
            Ok(()) => Self::Pass,
            Err(NotPassed::Failed { expected, got }) => Self::Fail { expected, got },
            Err(NotPassed::Skipped(reason)) => Self::Skip { reason },
        }
    }
}

/// One check's outcome.
#[derive(Debug, Clone)]
pub struct Result {
    pub id: &'static str,
    pub section: &'static str,
    pub title: &'static str,
    pub outcome: Outcome,
}

#[derive(Debug, Clone)]
pub struct Report {
    /// The server checked.
    pub base: String,
    pub results: Vec<Result>,
}

impl Report {
    fn count(&self, matches: fn(&Outcome) -> bool) -> usize {
        self.results.iter().filter(|r| matches(&r.outcome)).count()
    }

    pub fn passed(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Pass))
    }

    pub fn failed(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Fail { .. }))
    }

    pub fn skipped(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Skip { .. }))
    }

    /// Whether no check failed (skipped checks are listed, not failures).
    pub fn all_passed(&self) -> bool {
        self.failed() == 0
    }

    /// The outcome of the check `id`, if it ran.
    pub fn outcome(&self, id: &str) -> Option<&Outcome> {
        self.results.iter().find(|r| r.id == id).map(|r| &r.outcome)
    }

    /// A line per check, the failures with expected and got, then a summary.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let width = self.results.iter().map(|r| r.id.len()).max().unwrap_or(0);
        for result in &self.results {
            let (word, detail) = match &result.outcome {
                Outcome::Pass => ("pass", String::new()),
                Outcome::Fail { expected, got } => (
                    "FAIL",
                    format!("\n       expected: {expected}\n       got:      {got}"),
                ),
                Outcome::Skip { reason } => ("skip", format!("\n       {reason}")),
            };
            let _ = writeln!(
                out,
                "{word}  {:width$}  {}  [docs/protocol.md § {}]{detail}",
                result.id, result.title, result.section
            );
        }
        let _ = writeln!(
            out,
            "\n{}: {} checks, {} passed, {} failed, {} skipped{}",
            self.base,
            self.results.len(),
            self.passed(),
            self.failed(),
            self.skipped(),
            if self.all_passed() {
                ""
            } else {
                " — the server differs from protocol v1"
            }
        );
        out
    }

    pub fn json(&self) -> serde_json::Value {
        let checks: Vec<_> = self
            .results
            .iter()
            .map(|result| {
                let mut entry = json!({
                    "id": result.id,
                    "section": result.section,
                    "title": result.title,
                });
                let fields = match &result.outcome {
                    Outcome::Pass => json!({"outcome": "pass"}),
                    Outcome::Fail { expected, got } => {
                        json!({"outcome": "fail", "expected": expected, "got": got})
                    }
                    Outcome::Skip { reason } => json!({"outcome": "skip", "reason": reason}),
                };
                if let (Some(entry), Some(fields)) = (entry.as_object_mut(), fields.as_object()) {
                    entry.extend(fields.clone());
                }
                entry
            })
            .collect();
        json!({
            "server": self.base,
            "passed": self.passed(),
            "failed": self.failed(),
            "skipped": self.skipped(),
            "checks": checks,
        })
    }
}
