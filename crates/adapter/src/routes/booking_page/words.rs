//! The visitor's pages' words — the booking page's and the manage page's —
//! from `templates/page/{en,es}.toml` (compiled in), and the visitor's
//! language from `Accept-Language`.

use std::sync::LazyLock;

use axum::http::{header, HeaderMap};
use firststep_protocol::BookingStatus;
use serde::Deserialize;

use crate::mail::compose::Language;

/// Every sentence of the page; `{}` is filled with [`fill`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Words {
    pub book_title: String,
    pub choose_service: String,
    pub choose_day: String,
    pub choose_clinician: String,
    pub first_available: String,
    pub with_clinician: String,
    pub days_label: String,
    pub open_times: String,
    pub times_on: String,
    pub times_in_zone: String,
    pub times_in_zone_days: String,
    pub zone_label: String,
    pub show_zone: String,
    pub unknown_zone: String,
    pub no_times: String,
    pub earlier: String,
    pub later: String,
    pub your_details: String,
    pub chosen_time: String,
    pub change_time: String,
    pub meeting: String,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub note: String,
    pub optional: String,
    pub required: String,
    pub consent: String,
    pub privacy_notice: String,
    pub website: String,
    pub send_request: String,
    pub book_now: String,
    pub fix_fields: String,
    pub slot_taken: String,
    pub time_gone: String,
    pub request_sent: String,
    pub request_sent_detail: String,
    pub booked: String,
    pub booked_detail: String,
    pub manage: String,
    pub keep_link: String,
    pub add_to_calendar: String,
    pub rate_limited: String,
    pub in_progress: String,
    pub unavailable: String,
    pub not_found: String,
    pub form_unreadable: String,
    pub start_again: String,
    pub problem_name: String,
    pub problem_email: String,
    pub problem_phone: String,
    pub problem_note: String,
    pub problem_consent: String,
    pub problem_website: String,
    pub problem_other: String,
    /// The manage page's (`routes/manage_page.rs`).
    pub manage_title: String,
    pub manage_status: String,
    pub manage_pending: String,
    pub manage_confirmed: String,
    pub manage_declined: String,
    pub manage_cancelled: String,
    pub manage_expired: String,
    pub manage_change: String,
    pub manage_cancel: String,
    pub manage_cancelled_notice: String,
    pub manage_moved_request: String,
    pub manage_moved: String,
    pub manage_time_taken: String,
    pub manage_not_changed: String,
    pub manage_in_progress: String,
    pub manage_choose_one: String,
    pub manage_too_late: String,
    pub manage_times_title: String,
    pub manage_back: String,
    pub manage_now: String,
    pub manage_closed: String,
    pub manage_no_times: String,
    pub manage_times_in: String,
    pub manage_move: String,
    pub manage_wait_title: String,
    pub manage_wait: String,
    pub manage_not_found_title: String,
    pub manage_not_found: String,
}

impl Words {
    /// A booking's status, in a word.
    pub fn status(&self, status: BookingStatus) -> &str {
        match status {
            BookingStatus::Pending => &self.manage_pending,
            BookingStatus::Confirmed => &self.manage_confirmed,
            BookingStatus::Declined => &self.manage_declined,
            BookingStatus::Cancelled => &self.manage_cancelled,
            BookingStatus::Expired => &self.manage_expired,
        }
    }

    /// The sentence for a problem with the form field named `field` (the
    /// protocol's dotted name).
    pub fn problem(&self, field: &str) -> &str {
        match field {
            "client.name" => &self.problem_name,
            "client.email" => &self.problem_email,
            "client.phone" => &self.problem_phone,
            "note" => &self.problem_note,
            "consent" => &self.problem_consent,
            "website" => &self.problem_website,
            _ => &self.problem_other,
        }
    }
}

fn load(file: &'static str) -> Words {
    // The files are the program's own; a unit test reads both.
    toml::from_str(file).expect("the booking page's words parse")
}

static ENGLISH: LazyLock<Words> =
    LazyLock::new(|| load(include_str!("../../../templates/page/en.toml")));
static SPANISH: LazyLock<Words> =
    LazyLock::new(|| load(include_str!("../../../templates/page/es.toml")));

pub fn words(language: Language) -> &'static Words {
    match language {
        Language::English => &ENGLISH,
        Language::Spanish => &SPANISH,
    }
}

/// The page's `lang` and the locale a booking from it is made in.
pub fn tag(language: Language) -> &'static str {
    match language {
        Language::English => "en",
        Language::Spanish => "es",
    }
}

/// The first `{}` of `text`, filled.
pub fn fill(text: &str, value: &str) -> String {
    text.replacen("{}", value, 1)
}

/// The language the visitor's browser prefers most among those the page is
/// written in (`Accept-Language`, by `q`); English when none is.
pub fn language(headers: &HeaderMap) -> Language {
    let Some(accepted) = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|value| value.to_str().ok())
    else {
        return Language::English;
    };
    let mut best: Option<(f32, Language)> = None;
    // A browser names a handful; a longer list is cut, never a cost.
    for item in accepted.split(',').take(32) {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or_default().trim();
        let weight = match parts.find_map(|part| part.trim().strip_prefix("q=")) {
            Some(q) => q.trim().parse::<f32>().unwrap_or(0.0),
            None => 1.0,
        };
        let known = match Language::from_tag(tag) {
            Language::Spanish => Some(Language::Spanish),
            Language::English => tag
                .get(..2)
                .filter(|primary| primary.eq_ignore_ascii_case("en"))
                .map(|_| Language::English),
        };
        if let Some(language) = known {
            if weight > 0.0 && best.is_none_or(|(so_far, _)| weight > so_far) {
                best = Some((weight, language));
            }
        }
    }
    best.map_or(Language::English, |(_, language)| language)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn both_languages_have_every_sentence() {
        assert_eq!(words(Language::English).booked, "Booked");
        assert_eq!(words(Language::Spanish).booked, "Reservado");
        assert_eq!(
            words(Language::Spanish).status(BookingStatus::Cancelled),
            "cancelada"
        );
    }

    #[test]
    fn the_most_preferred_known_language_wins() {
        let of = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::ACCEPT_LANGUAGE,
                HeaderValue::from_str(value).unwrap(),
            );
            language(&headers)
        };
        assert_eq!(of("es-MX,es;q=0.9,en;q=0.8"), Language::Spanish);
        assert_eq!(of("en-GB,en;q=0.9,es;q=0.8"), Language::English);
        assert_eq!(of("de-DE,de;q=0.9,es;q=0.5"), Language::Spanish);
        assert_eq!(of("en;q=0.2,es;q=0.7"), Language::Spanish);
        assert_eq!(of("es;q=0,en;q=0.1"), Language::English);
        assert_eq!(of("fr"), Language::English);
        assert_eq!(of(";;;,q=,es;q=abc"), Language::English);
        assert_eq!(language(&HeaderMap::new()), Language::English);
    }
}
