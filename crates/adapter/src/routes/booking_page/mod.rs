//! `/book` and `/book/{service}`: the practice's own booking page, a link
//! for email signatures, profiles and map listings. The widget runs on it;
//! inside the widget's element the page itself offers the same booking with
//! no JavaScript at all, which a browser shows until (and unless) the widget
//! starts and its shadow root takes the element's place. A visitor who
//! chooses on the page first (a day, more days, a zone, a time) goes on
//! without the widget: the pages from there carry none ([`Step`]), until a
//! link opens the first step again (a clinician, or "start again").
//!
//! Without script, everything is a link or a form: the days as links
//! (`?day=YYYY-MM-DD`), a day's times as links (`?time=INSTANT`), the
//! visitor's zone by a GET form (`?zone=Area/City`), then a POST form that
//! books through the API's own path ([`super::bookings::book`]): the same
//! checks, rate limit, and idempotency (the form carries its key, so a
//! second press of the button books nothing new and shows the same answer).
//!
//! # Layout
//! - `words`: the sentences in English and Spanish, the visitor's language.
//! - `render`: the page's parts as [`Html`].

mod render;
pub(super) mod words;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use chrono::{DateTime, Days, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use firststep_availability::Interval;
use firststep_protocol::{
    instant, BookingCreated, BookingRequest, ClientDetails, ErrorCode, Problem,
};

use super::bookings::{book, BookAnswer};
use super::html::Html;
use super::page::Page;
use super::slots::offered;
use super::AppState;
use crate::client_address::VisitorAddress;
use crate::config::{Clinician, Service};
use crate::domain::{BookingRefusal, FieldError, IdempotencyKey, ParsedBooking};
use crate::error::ApiError;
use crate::mail::compose::Language;
use render::FormValues;
use words::{tag, Words};

/// The demo page's policy (see [`super::DEMO_CSP`]), except that this
/// page's own forms post back here.
pub const BOOK_CSP: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; \
     style-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// How many days the day list shows at once (the widget's two weeks).
const DAYS_SHOWN: u64 = 14;

/// What a page is to the visitor, which decides whether the widget comes
/// with it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    /// The days as a visitor opens them (for a clinician, too: a link a
    /// practice shares): the widget takes the page's place once it starts.
    First,
    /// What the visitor chose on the page or was told: a day, more days, a
    /// zone, a time's form, an answer to it, the days again with a sentence
    /// why. No widget: started, it would cover that with its own first step
    /// (its first open day, in the browser's zone). Only a visitor without
    /// script, or one quicker than the widget, gets here: on a phone the
    /// page's own times show well before it starts.
    Answer,
}

/// What every part of one page is made for: the service, in the visitor's
/// language and chosen zone.
struct Visit<'a> {
    app: &'a AppState,
    service: &'a Service,
    language: Language,
    words: &'static Words,
    zone: Tz,
    /// The zone was asked for by the visitor (so links keep it).
    zone_chosen: bool,
    /// The visitor asked for a zone that does not exist.
    zone_unknown: bool,
    /// In a group practice, the clinician the visitor chose (`?clinician=`);
    /// `None`: first available.
    clinician: Option<&'a Clinician>,
}

impl<'a> Visit<'a> {
    fn new(
        app: &'a AppState,
        service: &'a Service,
        headers: &HeaderMap,
        zone: Option<&str>,
        clinician: Option<&'a Clinician>,
    ) -> Self {
        let language = words::language(headers);
        let asked = zone.map(str::trim).filter(|z| !z.is_empty());
        let parsed = asked.and_then(|z| z.parse::<Tz>().ok());
        Self {
            app,
            service,
            language,
            words: words::words(language),
            zone: parsed.unwrap_or(app.settings.practice.zone),
            zone_chosen: parsed.is_some(),
            zone_unknown: asked.is_some() && parsed.is_none(),
            clinician,
        }
    }

    /// The page around `body`: the practice's name and notice, the widget's
    /// element, and `body` inside it, shown until the widget starts (on a
    /// first step) and wherever it cannot run.
    fn page(&self, step: Step, status: StatusCode, body: Html) -> Page {
        let practice = &self.app.settings.practice;
        let mut head =
            Html::trusted_static("<link rel=\"icon\" href=\"data:,\">") + stylesheet_link(self.app);
        if step == Step::First && self.app.settings.server.widget_dir.is_some() {
            head += widget_loading(self.app);
        }
        let mut content = Html::default();
        if let Some(notice) = &practice.notice {
            content += Html::trusted_static("<p class=\"fs-notice\">")
                + Html::text(notice)
                + Html::trusted_static("</p>");
        }
        // The widget, too, books with the clinician chosen here.
        let clinician = match self.clinician {
            Some(c) => Html::trusted_static("\" clinician=\"") + Html::text(&c.id),
            None => Html::default(),
        };
        content += Html::element("h2", Html::text(&self.service.title))
            + Html::trusted_static("<firststep-booking api=\"")
            + Html::text(&self.app.address("/"))
            + Html::trusted_static("\" service=\"")
            + Html::text(&self.service.id)
            + clinician
            + Html::trusted_static("\" locale=\"")
            + Html::text(tag(self.language))
            + Html::trusted_static("\">")
            + body
            + Html::trusted_static("</firststep-booking>");
        Page::new(
            status,
            Html::text(&words::fill(&self.words.book_title, &practice.name)),
            content,
        )
        .in_language(tag(self.language))
        .loading(head, BOOK_CSP)
    }

    /// `?…&zone=…&clinician=…` for what the visitor chose (a zone, a
    /// clinician), so every link keeps it.
    fn kept_query(&self) -> String {
        let mut query = self.zone_query();
        if let Some(clinician) = self.clinician {
            // Ids are a-z, 0-9 and `-`: nothing to escape.
            query += &format!("&clinician={}", clinician.id);
        }
        query
    }

    /// `&zone=…` when the visitor chose a zone.
    fn zone_query(&self) -> String {
        if self.zone_chosen {
            // Zone names hold letters, digits and `/ _ - +`; only `+` needs escaping.
            format!("&zone={}", self.zone.name().replace('+', "%2B"))
        } else {
            String::new()
        }
    }

    /// How far ahead times are offered: as far as any clinician whose times count.
    fn horizon_days(&self) -> u32 {
        let practice = &self.app.settings.practice;
        self.with()
            .iter()
            .map(|id| practice.rules_of(Some(id)).horizon_days)
            .max()
            .unwrap_or(practice.rules.horizon_days)
    }

    /// Whose times count: the chosen clinician's, else any who offers the
    /// service (the booking is then assigned when stored).
    fn with(&self) -> Vec<String> {
        match self.clinician {
            Some(clinician) => vec![clinician.id.clone()],
            None => self.service.clinicians.clone(),
        }
    }

    fn today(&self, now: DateTime<Utc>) -> NaiveDate {
        now.with_timezone(&self.zone).date_naive()
    }

    /// The open times of the days from `first`, by day in the visitor's zone.
    async fn open_days(
        &self,
        first: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<BTreeMap<NaiveDate, Vec<Interval>>, ApiError> {
        let out_of_range = || ApiError::InvalidRange("the days are out of range".into());
        let last = first
            .checked_add_days(Days::new(DAYS_SHOWN))
            .ok_or_else(out_of_range)?;
        let window = Interval::new(
            start_of(first, self.zone).ok_or_else(out_of_range)?,
            start_of(last, self.zone).ok_or_else(out_of_range)?,
        );
        let mut days: BTreeMap<NaiveDate, Vec<Interval>> = BTreeMap::new();
        for slot in offered(self.app, self.service, window, now, None, &self.with()).await? {
            let day = slot.start.with_timezone(&self.zone).date_naive();
            days.entry(day).or_default().push(slot);
        }
        Ok(days)
    }

    /// The days from `from` (or the chosen `day`'s fortnight) and the times of
    /// `day` (or of the first open day), with `message` above them.
    async fn days_page(
        &self,
        step: Step,
        from: Option<NaiveDate>,
        day: Option<NaiveDate>,
        message: Option<&str>,
        status: StatusCode,
        now: DateTime<Utc>,
    ) -> Page {
        let today = self.today(now);
        let mut first = from.unwrap_or(today).max(today);
        if let Some(day) = day {
            let shown = first.checked_add_days(Days::new(DAYS_SHOWN));
            if day < first || shown.is_some_and(|end| day >= end) {
                first = day.max(today);
            }
        }
        match self.open_days(first, now).await {
            Ok(days) => self.page(
                step,
                status,
                render::days(self, today, first, &days, day, message),
            ),
            Err(error) => self.refused(step, &error.problem()),
        }
    }

    /// A page for a refusal the booking path gave (fresh or kept for its key).
    fn refused(&self, step: Step, problem: &Problem) -> Page {
        let (status, sentence) = match problem.code {
            ErrorCode::RateLimited => (StatusCode::TOO_MANY_REQUESTS, &self.words.rate_limited),
            ErrorCode::RequestInProgress => (StatusCode::CONFLICT, &self.words.in_progress),
            ErrorCode::BackendUnavailable => {
                (StatusCode::SERVICE_UNAVAILABLE, &self.words.unavailable)
            }
            ErrorCode::UnknownService | ErrorCode::NotFound => {
                (StatusCode::NOT_FOUND, &self.words.not_found)
            }
            _ => (StatusCode::BAD_REQUEST, &self.words.form_unreadable),
        };
        self.page(step, status, render::sentence_and_restart(self, sentence))
    }
}

/// The widget's loader, and the hints that fetch its code beside it (as the
/// demo page's do): without them the wasm is asked for only once the loader
/// has arrived and run, a round trip and more later on a phone.
fn widget_loading(app: &AppState) -> Html {
    let widget = |file: &str| Html::text(&app.address(&format!("/widget/{file}")));
    Html::trusted_static("<script type=\"module\" src=\"")
        + widget("firststep.js")
        + Html::trusted_static("\"></script><link rel=\"modulepreload\" href=\"")
        + widget("firststep-widget.js")
        + Html::trusted_static("\"><link rel=\"preload\" href=\"")
        + widget("firststep-widget_bg.wasm")
        + Html::trusted_static("\" as=\"fetch\" type=\"application/wasm\" crossorigin>")
}

/// The first instant of `date` in `zone` (the first that exists, where a
/// clock change skips midnight).
fn start_of(date: NaiveDate, zone: Tz) -> Option<DateTime<Utc>> {
    [NaiveTime::MIN, NaiveTime::from_hms_opt(1, 0, 0)?]
        .into_iter()
        .find_map(|time| zone.from_local_datetime(&date.and_time(time)).earliest())
        .map(|start| start.with_timezone(&Utc))
}

fn date_param(params: &HashMap<String, String>, name: &str) -> Option<NaiveDate> {
    params
        .get(name)
        .and_then(|text| NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok())
}

/// `GET /book`: the only service's page, or the list to choose from.
pub async fn choose(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Page {
    match app.settings.service(None) {
        Some(service) => show_service(&app, service, &headers, &params).await,
        None => {
            let language = words::language(&headers);
            let words = words::words(language);
            let practice = &app.settings.practice;
            Page::new(
                StatusCode::OK,
                Html::text(&words::fill(&words.book_title, &practice.name)),
                render::services(&app, words, &practice.services),
            )
            .in_language(tag(language))
            .loading(stylesheet_link(&app), BOOK_CSP)
        }
    }
}

/// `GET /book/{service}`.
pub async fn show(
    State(app): State<Arc<AppState>>,
    Path(service): Path<String>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Page {
    match app.settings.service(Some(&service)) {
        Some(service) => show_service(&app, service, &headers, &params).await,
        None => unknown_service(&app, &headers),
    }
}

/// The page's styles ([`stylesheet`]).
fn stylesheet_link(app: &AppState) -> Html {
    Html::trusted_static("<link rel=\"stylesheet\" href=\"")
        + Html::text(&app.address("/book.css"))
        + Html::trusted_static("\">")
}

fn unknown_service(app: &AppState, headers: &HeaderMap) -> Page {
    let language = words::language(headers);
    Page::new(
        StatusCode::NOT_FOUND,
        Html::text(&words::words(language).not_found),
        Html::trusted_static("<p><a href=\"")
            + Html::text(&app.address("/book"))
            + Html::trusted_static("\">")
            + Html::text(&words::words(language).start_again)
            + Html::trusted_static("</a></p>"),
    )
    .in_language(tag(language))
}

/// The clinician `id` names, if it offers `service`: `Ok(None)` for none
/// named (first available), `Err` for one the practice does not have there.
fn chosen_clinician<'a>(
    app: &'a AppState,
    service: &Service,
    id: Option<&String>,
) -> Result<Option<&'a Clinician>, ()> {
    let practice = &app.settings.practice;
    match id.map(|id| id.trim()).filter(|id| !id.is_empty()) {
        None => Ok(None),
        Some(id) => practice
            .clinician(id)
            .filter(|c| service.clinicians.contains(&c.id))
            .map(Some)
            .ok_or(()),
    }
}

async fn show_service(
    app: &AppState,
    service: &Service,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
) -> Page {
    let Ok(clinician) = chosen_clinician(app, service, params.get("clinician")) else {
        return unknown_service(app, headers);
    };
    let visit = Visit::new(
        app,
        service,
        headers,
        params.get("zone").map(String::as_str),
        clinician,
    );
    let now = app.clock.now();
    let unknown_zone = visit
        .zone_unknown
        .then_some(visit.words.unknown_zone.as_str());
    let chosen = params
        .get("time")
        .and_then(|t| instant::parse(t.trim()).ok());
    if let Some(start) = chosen {
        let day = start.with_timezone(&visit.zone).date_naive();
        let still_open = match visit.open_days(day, now).await {
            Ok(days) => days
                .get(&day)
                .is_some_and(|times| times.iter().any(|slot| slot.start == start)),
            Err(error) => return visit.refused(Step::Answer, &error.problem()),
        };
        if still_open {
            let key = IdempotencyKey::generate();
            let form = render::form(&visit, start, &key, &FormValues::default(), &[]);
            return visit.page(Step::Answer, StatusCode::OK, form);
        }
        let gone = visit.words.time_gone.as_str();
        return visit
            .days_page(
                Step::Answer,
                None,
                Some(day),
                Some(gone),
                StatusCode::OK,
                now,
            )
            .await;
    }
    // A day, later days or a zone: a choice made on the page's own links or
    // zone form (unreadable values are shown as none, and count as none).
    let chosen_on_page = date_param(params, "day").is_some()
        || date_param(params, "from").is_some()
        || params
            .get("zone")
            .is_some_and(|zone| !zone.trim().is_empty());
    let step = if chosen_on_page {
        Step::Answer
    } else {
        Step::First
    };
    visit
        .days_page(
            step,
            date_param(params, "from"),
            date_param(params, "day"),
            unknown_zone,
            StatusCode::OK,
            now,
        )
        .await
}

/// `POST /book/{service}`: the form's booking, through the API's own path.
pub async fn send(
    State(app): State<Arc<AppState>>,
    VisitorAddress(visitor): VisitorAddress,
    Path(service): Path<String>,
    headers: HeaderMap,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Page {
    let Some(service) = app.settings.service(Some(&service)) else {
        return unknown_service(&app, &headers);
    };
    let field =
        |form: &HashMap<String, String>, name: &str| form.get(name).cloned().unwrap_or_default();
    let form = form.map(|Form(form)| form).unwrap_or_default();
    let Ok(clinician) = chosen_clinician(&app, service, form.get("clinician")) else {
        return unknown_service(&app, &headers);
    };
    let visit = Visit::new(
        &app,
        service,
        &headers,
        form.get("zone").map(String::as_str),
        clinician,
    );
    if let Err(error) = app.booking_limiter.check(visitor) {
        return visit.refused(Step::Answer, &error.problem());
    }
    let key = form
        .get("key")
        .and_then(|key| IdempotencyKey::parse(key).ok());
    let start = form
        .get("start")
        .and_then(|start| instant::parse(start).ok());
    let (Some(key), Some(start)) = (key, start) else {
        return visit.refused(
            Step::Answer,
            &ApiError::MalformedJson(String::new()).problem(),
        );
    };
    let values = FormValues {
        name: field(&form, "name"),
        email: field(&form, "email"),
        phone: field(&form, "phone"),
        note: field(&form, "note"),
        consent: form.get("consent").is_some_and(|value| value == "yes"),
        website: field(&form, "website"),
    };
    let practice = &app.settings.practice;
    let request = BookingRequest {
        service: service.id.clone(),
        clinician: clinician.map(|c| c.id.clone()),
        start,
        client: ClientDetails {
            name: values.name.clone(),
            email: values.email.clone(),
            phone: Some(values.phone.clone()),
        },
        client_time_zone: Some(visit.zone.name().to_owned()),
        locale: Some(tag(visit.language).to_owned()),
        note: Some(values.note.clone()),
        consent: values.consent,
        website: values.website.clone(),
    };
    // Checked here first so every wrong field is shown at once (the API
    // names only the first); nothing is claimed for a form that cannot book.
    match ParsedBooking::parse(&request, practice) {
        Ok(_) => {}
        Err(BookingRefusal::Fields(errors)) => {
            let form = render::form(&visit, start, &key, &values, &errors);
            return visit.page(Step::Answer, StatusCode::UNPROCESSABLE_ENTITY, form);
        }
        Err(BookingRefusal::UnknownService(_) | BookingRefusal::UnknownClinician(_)) => {
            return unknown_service(&app, &headers)
        }
    }
    let body = match serde_json::to_vec(&request) {
        Ok(body) => body,
        Err(_) => return visit.refused(Step::Answer, &ApiError::Internal.problem()),
    };
    let now = app.clock.now();
    let problem = match book(&app, &key, &body, now).await {
        Ok(BookAnswer { stored, .. }) if stored.status == StatusCode::CREATED.as_u16() => {
            return match serde_json::from_slice::<BookingCreated>(&stored.body) {
                Ok(created) => visit.page(
                    Step::Answer,
                    StatusCode::OK,
                    render::booked(&visit, &created, &values.phone),
                ),
                Err(_) => visit.refused(Step::Answer, &ApiError::Internal.problem()),
            };
        }
        // A refusal kept for this key: the first press got it too.
        Ok(BookAnswer { stored, .. }) => match serde_json::from_slice::<Problem>(&stored.body) {
            Ok(problem) => problem,
            Err(_) => ApiError::Internal.problem(),
        },
        Err(error) => error.problem(),
    };
    let day = start.with_timezone(&visit.zone).date_naive();
    match problem.code {
        ErrorCode::SlotUnavailable => {
            visit
                .days_page(
                    Step::Answer,
                    None,
                    Some(day),
                    Some(&visit.words.slot_taken),
                    StatusCode::CONFLICT,
                    now,
                )
                .await
        }
        ErrorCode::InvalidField => {
            // Only a refusal kept for this key gets here (the form was
            // checked above): a new key, so the corrected form books.
            let named = problem.field.as_deref().unwrap_or_default();
            let field = render::FIELDS
                .into_iter()
                .find(|field| *field == named)
                .unwrap_or("form");
            let errors = [FieldError::new(field, problem.detail)];
            let form = render::form(&visit, start, &IdempotencyKey::generate(), &values, &errors);
            visit.page(Step::Answer, StatusCode::UNPROCESSABLE_ENTITY, form)
        }
        _ => visit.refused(Step::Answer, &problem),
    }
}

/// `GET /book.css`: the page's styles, in the theme the configuration sets.
pub async fn stylesheet(State(app): State<Arc<AppState>>) -> Response {
    let css = render::stylesheet(&app.settings);
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        css,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One difference from the demo page's policy: the forms post here.
    #[test]
    fn the_policy_is_the_demo_pages_with_forms_posting_back() {
        assert_eq!(
            BOOK_CSP,
            super::super::DEMO_CSP.replace("form-action 'none'", "form-action 'self'")
        );
    }

    #[test]
    fn a_day_starts_at_its_first_existing_instant() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let london: Tz = "Europe/London".parse().unwrap();
        assert_eq!(
            start_of(day, london).unwrap().to_rfc3339(),
            "2026-12-01T00:00:00+00:00"
        );
        // Santiago skips from midnight to 1:00 when summer time starts.
        let santiago: Tz = "America/Santiago".parse().unwrap();
        let skipped = NaiveDate::from_ymd_opt(2026, 9, 6).unwrap();
        assert_eq!(
            start_of(skipped, santiago).unwrap().to_rfc3339(),
            "2026-09-06T04:00:00+00:00"
        );
    }
}
