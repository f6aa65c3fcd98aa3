//! `[[clinicians]]` of a group practice checked: each one's id, words,
//! address, hours (the practice's where they set none) and own calendar;
//! then which of them offer each service (`services.clinicians`).

use std::path::Path;

use firststep_availability::Rules;
use toml::Spanned;

use super::checks::{is_id, Checker};
use super::raw::{RawClinician, RawClinicianAvailability};
use super::{Clinician, Service};

/// The longest clinician id, name, pronouns and bio, in characters.
const MAX_ID: usize = 40;
const MAX_NAME: usize = 100;
const MAX_PRONOUNS: usize = 40;
const MAX_BIO: usize = 280;

impl Checker<'_> {
    /// Every clinician, each problem at its line; `practice` is the
    /// practice's rules (`None` when they have problems of their own).
    pub(super) fn clinicians(
        &mut self,
        raw: Vec<RawClinician>,
        practice: Option<&Rules>,
        base: &Path,
    ) -> Option<Vec<Clinician>> {
        let before = self.problems.len();
        let mut clinicians: Vec<Clinician> = Vec::new();
        for (i, c) in raw.into_iter().enumerate() {
            let section = format!("clinicians[{i}]");
            let id = c.id.get_ref();
            if !is_id(id, MAX_ID) {
                self.problem(
                    &c.id,
                    format!("{section}.id"),
                    format!("use 1 to {MAX_ID} lowercase letters, digits and dashes"),
                );
            } else if clinicians.iter().any(|other| &other.id == id) {
                self.problem(
                    &c.id,
                    format!("{section}.id"),
                    format!("\"{id}\" is used by an earlier clinician"),
                );
            }
            let name = self.words(&c.name, &format!("{section}.name"), MAX_NAME, true);
            let pronouns = c
                .pronouns
                .as_ref()
                .map(|p| self.words(p, &format!("{section}.pronouns"), MAX_PRONOUNS, false));
            let bio = c
                .bio
                .as_ref()
                .map(|b| self.words(b, &format!("{section}.bio"), MAX_BIO, false));
            if let Some(email) = &c.email {
                if email.get_ref().parse::<lettre::message::Mailbox>().is_err() {
                    self.problem(
                        email,
                        format!("{section}.email"),
                        format!("\"{}\" is not an email address", email.get_ref()),
                    );
                }
            }
            let rules = match c.availability {
                Some(own) => self.clinician_rules(&section, own, practice),
                None => practice.cloned(),
            };
            let calendar = c
                .calendar
                .map(|raw| self.calendar_at(&format!("{section}.calendar"), raw, base));
            let (Some(name), Some(rules)) = (name, rules) else {
                continue;
            };
            clinicians.push(Clinician {
                id: c.id.into_inner(),
                name,
                pronouns: pronouns.flatten(),
                bio: bio.flatten(),
                email: c.email.map(Spanned::into_inner),
                rules,
                calendar: calendar.flatten(),
            });
        }
        (self.problems.len() == before).then_some(clinicians)
    }

    /// Text shown to visitors: one line, at most `max` characters.
    fn words(
        &mut self,
        value: &Spanned<String>,
        key: &str,
        max: usize,
        required: bool,
    ) -> Option<String> {
        let text = value.get_ref().trim();
        let count = text.chars().count();
        if (required && count == 0) || count > max || text.chars().any(char::is_control) {
            let least = if required { 1 } else { 0 };
            self.problem(
                value,
                key,
                format!("must be {least} to {max} characters on one line"),
            );
            return None;
        }
        Some(text.to_owned())
    }

    /// A clinician's rules: the practice's, with each key they give in its place.
    fn clinician_rules(
        &mut self,
        section: &str,
        own: RawClinicianAvailability,
        practice: Option<&Rules>,
    ) -> Option<Rules> {
        let section = format!("{section}.availability");
        let weekly = own.weekly.map(|w| self.weekly(&section, w));
        let overrides = own.overrides.map(|o| self.overrides(&section, o));
        let step = own
            .step_minutes
            .map(|s| self.step(&s, &format!("{section}.step_minutes")));
        let horizon = own
            .horizon_days
            .map(|h| self.horizon(&h, &format!("{section}.horizon_days")));
        let mut rules = practice?.clone();
        if let Some(weekly) = weekly {
            rules.weekly = weekly?;
        }
        if let Some(overrides) = overrides {
            rules.overrides = overrides?;
        }
        if let Some(step) = step {
            rules.step_minutes = step?;
        }
        if let Some(horizon) = horizon {
            rules.horizon_days = horizon?;
        }
        rules.buffer_before_minutes = own
            .buffer_before_minutes
            .unwrap_or(rules.buffer_before_minutes);
        rules.buffer_after_minutes = own
            .buffer_after_minutes
            .unwrap_or(rules.buffer_after_minutes);
        rules.minimum_notice_minutes = own
            .minimum_notice_minutes
            .unwrap_or(rules.minimum_notice_minutes);
        if own.daily_cap.is_some() {
            rules.daily_cap = own.daily_cap;
        }
        Some(rules)
    }

    /// Settles who offers each service: the clinicians it names (each one
    /// the practice must have: one of `clinicians`, their ids), else every
    /// clinician.
    pub(super) fn offered_by(
        &mut self,
        mut services: Vec<Service>,
        named: &[Option<Spanned<Vec<Spanned<String>>>>],
        clinicians: &[String],
    ) -> Option<Vec<Service>> {
        let before = self.problems.len();
        for (i, (service, named)) in services.iter_mut().zip(named).enumerate() {
            let Some(named) = named else {
                service.clinicians = clinicians.to_vec();
                continue;
            };
            if named.get_ref().is_empty() && !clinicians.is_empty() {
                self.problem(
                    named,
                    format!("services[{i}].clinicians"),
                    "name at least one clinician, or leave it out for every one",
                );
            }
            for (j, id) in named.get_ref().iter().enumerate() {
                let key = format!("services[{i}].clinicians[{j}]");
                if !clinicians.contains(id.get_ref()) {
                    let message = if clinicians.is_empty() {
                        format!("\"{}\": this practice has no [[clinicians]]", id.get_ref())
                    } else {
                        format!(
                            "\"{}\" is not a clinician of this practice (they are: {})",
                            id.get_ref(),
                            clinicians.join(", ")
                        )
                    };
                    self.problem(id, key, message);
                } else if service.clinicians.contains(id.get_ref()) {
                    self.problem(id, key, format!("\"{}\" is named twice", id.get_ref()));
                } else {
                    service.clinicians.push(id.get_ref().clone());
                }
            }
        }
        (self.problems.len() == before).then_some(services)
    }
}
