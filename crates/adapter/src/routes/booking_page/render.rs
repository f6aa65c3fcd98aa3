//! The booking page's parts as [`Html`]: what the visitor typed and what the
//! configuration says only ever enters escaped.

use std::collections::BTreeMap;

use chrono::{DateTime, Days, NaiveDate, Offset, Utc};
use chrono_tz::{Tz, TZ_VARIANTS};
use firststep_availability::Interval;
use firststep_protocol::{visitor_fields, BookingCreated, BookingMode, BookingStatus, FieldRule};

use super::words::{fill, Words};
use super::{Visit, DAYS_SHOWN};
use crate::config::{Service, Settings};
use crate::domain::{FieldError, IdempotencyKey};
use crate::mail::compose::{clock_words, date_words, when};
use crate::mail::meeting::{how_we_meet, meeting_place, Reader};
use crate::routes::html::Html;
use crate::routes::AppState;

/// The form's fields by the protocol's names, in the form's order.
pub const FIELDS: [&str; 7] = [
    "client.name",
    "client.email",
    "client.phone",
    "note",
    "consent",
    "website",
    "start",
];

/// What the visitor typed, shown again beside any problem.
#[derive(Debug, Default)]
pub struct FormValues {
    pub name: String,
    pub email: String,
    pub phone: String,
    pub note: String,
    pub consent: bool,
    pub website: String,
}

fn paragraph(text: &str) -> Html {
    Html::element("p", Html::text(text))
}

/// A sentence people must not miss: read out when the page opens.
fn alert(text: &str) -> Html {
    Html::trusted_static("<p class=\"fs-alert\" role=\"alert\">")
        + Html::text(text)
        + Html::trusted_static("</p>")
}

fn link(href: &str, text: &str) -> Html {
    Html::trusted_static("<a href=\"")
        + Html::text(href)
        + Html::trusted_static("\">")
        + Html::text(text)
        + Html::trusted_static("</a>")
}

/// "UTC+01:00": the zone's offset at `instant`.
fn offset_at(instant: DateTime<Utc>, zone: Tz) -> String {
    let seconds = instant
        .with_timezone(&zone)
        .offset()
        .fix()
        .local_minus_utc();
    let sign = if seconds < 0 { '-' } else { '+' };
    let minutes = seconds.unsigned_abs() / 60;
    format!("UTC{sign}{:02}:{:02}", minutes / 60, minutes % 60)
}

pub fn services(app: &AppState, words: &Words, services: &[Service]) -> Html {
    let items: Html = services
        .iter()
        .map(|service| {
            Html::trusted_static("<li>")
                + link(
                    &app.address(&format!("/book/{}", service.id)),
                    &service.title,
                )
                + Html::trusted_static("</li>")
        })
        .collect();
    Html::element("h2", Html::text(&words.choose_service))
        + Html::trusted_static("<ul class=\"fs-services\">")
        + items
        + Html::trusted_static("</ul>")
}

pub fn sentence_and_restart(visit: &Visit<'_>, sentence: &str) -> Html {
    alert(sentence) + Html::element("p", link("?", &visit.words.start_again))
}

/// The days with open times from `first` as links, the chosen (or first
/// open) day's times as links, and the zone they are in, said in words
/// and changeable.
pub fn days(
    visit: &Visit<'_>,
    today: NaiveDate,
    first: NaiveDate,
    days: &BTreeMap<NaiveDate, Vec<Interval>>,
    chosen: Option<NaiveDate>,
    message: Option<&str>,
) -> Html {
    let words = visit.words;
    let kept_query = visit.kept_query();
    let mut html = message.map(alert).unwrap_or_default();
    let shown_day = chosen.or_else(|| days.keys().next().copied());

    html += clinicians(visit);
    html += Html::trusted_static("<section aria-labelledby=\"fs-days\"><h3 id=\"fs-days\">")
        + Html::text(&words.choose_day)
        + Html::trusted_static("</h3>")
        + paragraph(&fill(&words.times_in_zone_days, visit.zone.name()));
    if days.is_empty() {
        html += paragraph(&words.no_times);
    } else {
        html += Html::trusted_static("<nav aria-label=\"")
            + Html::text(&words.days_label)
            + Html::trusted_static("\"><ul class=\"fs-days\">");
        for (day, times) in days {
            let current = if Some(*day) == shown_day {
                Html::trusted_static(" aria-current=\"date\"")
            } else {
                Html::default()
            };
            let label = format!(
                "{} ({})",
                date_words(*day, visit.language),
                fill(&words.open_times, &times.len().to_string())
            );
            html += Html::trusted_static("<li><a")
                + current
                + Html::trusted_static(" href=\"")
                + Html::text(&format!("?day={day}{kept_query}"))
                + Html::trusted_static("\">")
                + Html::text(&label)
                + Html::trusted_static("</a></li>");
        }
        html += Html::trusted_static("</ul></nav>");
    }
    let mut pages = Html::default();
    if first > today {
        let back = first
            .checked_sub_days(Days::new(DAYS_SHOWN))
            .unwrap_or(first);
        pages +=
            link(&format!("?from={back}{kept_query}"), &words.earlier) + Html::trusted_static(" ");
    }
    // Later dates only while some are inside the practice's horizon.
    let horizon = u64::from(visit.horizon_days());
    let last_open = today.checked_add_days(Days::new(horizon));
    if let Some(next) = first.checked_add_days(Days::new(DAYS_SHOWN)) {
        if last_open.is_some_and(|last| next <= last) {
            pages += link(&format!("?from={next}{kept_query}"), &words.later);
        }
    }
    html += Html::trusted_static("<p class=\"fs-pages\">")
        + pages
        + Html::trusted_static("</p></section>");

    if let Some(day) = shown_day {
        let times = days.get(&day).map(Vec::as_slice).unwrap_or_default();
        html += Html::trusted_static("<section aria-labelledby=\"fs-times\"><h3 id=\"fs-times\">")
            + Html::text(&fill(&words.times_on, &date_words(day, visit.language)))
            + Html::trusted_static("</h3>");
        if let Some(slot) = times.first() {
            let zone = visit.zone.name();
            let sentence = fill(
                &fill(&words.times_in_zone, zone),
                &offset_at(slot.start, visit.zone),
            );
            html += paragraph(&sentence) + Html::trusted_static("<ul class=\"fs-times\">");
            for slot in times {
                let local = slot.start.with_timezone(&visit.zone).time();
                let href = format!(
                    "?time={}{kept_query}",
                    slot.start.format("%Y-%m-%dT%H:%M:%SZ")
                );
                html += Html::trusted_static("<li>")
                    + link(&href, &clock_words(local, visit.language))
                    + Html::trusted_static("</li>");
            }
            html += Html::trusted_static("</ul>");
        } else {
            html += paragraph(&words.no_times);
        }
        html += Html::trusted_static("</section>");
        html += zone_form(visit, Some(day));
    } else {
        html += zone_form(visit, None);
    }
    html
}

/// In a group practice, whom to book with: "first available" and each
/// clinician offering the service (name, pronouns, bio), as links; the
/// current choice marked.
fn clinicians(visit: &Visit<'_>) -> Html {
    let practice = &visit.app.settings.practice;
    let offering: Vec<_> = practice.offering(visit.service).collect();
    if offering.is_empty() {
        return Html::default();
    }
    let words = visit.words;
    let zone = visit.zone_query();
    // The link names the person; their bio follows it, outside the link's name.
    let choice = |href: String, current: bool, label: &str, bio: Option<&str>| {
        let current = if current {
            Html::trusted_static(" aria-current=\"true\"")
        } else {
            Html::default()
        };
        let bio = bio
            .map(|bio| {
                Html::trusted_static("<br><small>")
                    + Html::text(bio)
                    + Html::trusted_static("</small>")
            })
            .unwrap_or_default();
        Html::trusted_static("<li><a")
            + current
            + Html::trusted_static(" href=\"")
            + Html::text(&href)
            + Html::trusted_static("\">")
            + Html::text(label)
            + Html::trusted_static("</a>")
            + bio
            + Html::trusted_static("</li>")
    };
    let mut html = Html::trusted_static("<section aria-labelledby=\"fs-who\"><h3 id=\"fs-who\">")
        + Html::text(&words.choose_clinician)
        + Html::trusted_static("</h3><ul class=\"fs-clinicians\">")
        + choice(
            format!("?{}", zone.trim_start_matches('&')),
            visit.clinician.is_none(),
            &words.first_available,
            None,
        );
    for clinician in offering {
        let label = match &clinician.pronouns {
            Some(pronouns) => format!("{} ({pronouns})", clinician.name),
            None => clinician.name.clone(),
        };
        let current = visit.clinician.is_some_and(|c| c.id == clinician.id);
        html += choice(
            format!("?clinician={}{zone}", clinician.id),
            current,
            &label,
            clinician.bio.as_deref(),
        );
    }
    html + Html::trusted_static("</ul></section>")
}

/// A GET form to show the times in another zone: every zone of the world
/// named `Area/City` (a visitor abroad must find theirs; browsers and text
/// browsers both search a list as one types), the current one chosen.
fn zone_form(visit: &Visit<'_>, day: Option<NaiveDate>) -> Html {
    let words = visit.words;
    let mut html = Html::trusted_static("<form method=\"get\" class=\"fs-zone\">");
    if let Some(clinician) = visit.clinician {
        html += hidden("clinician", &clinician.id);
    }
    if let Some(day) = day {
        html += Html::trusted_static("<input type=\"hidden\" name=\"day\" value=\"")
            + Html::text(&day.to_string())
            + Html::trusted_static("\">");
    }
    html += Html::trusted_static("<label for=\"fs-zone\">")
        + Html::text(&words.zone_label)
        + Html::trusted_static("</label> <select id=\"fs-zone\" name=\"zone\">");
    let current = visit.zone;
    let zones = TZ_VARIANTS
        .iter()
        .filter(|zone| zone.name().contains('/') && !zone.name().starts_with("Etc/"))
        .chain(TZ_VARIANTS.iter().filter(|zone| zone.name() == "UTC"));
    for zone in zones {
        let selected = if *zone == current {
            Html::trusted_static(" selected")
        } else {
            Html::default()
        };
        html += Html::trusted_static("<option")
            + selected
            + Html::trusted_static(">")
            + Html::text(zone.name())
            + Html::trusted_static("</option>");
    }
    html + Html::trusted_static("</select> <button type=\"submit\">")
        + Html::text(&words.show_zone)
        + Html::trusted_static("</button></form>")
}

/// The details form for the slot at `start`, with what was typed and the
/// problems found, each beside its field.
pub fn form(
    visit: &Visit<'_>,
    start: DateTime<Utc>,
    key: &IdempotencyKey,
    values: &FormValues,
    errors: &[FieldError],
) -> Html {
    let words = visit.words;
    let practice = &visit.app.settings.practice;
    let problem = |field: &str| {
        errors
            .iter()
            .any(|e| e.field == field)
            .then(|| words.problem(field))
    };
    let day = start.with_timezone(&visit.zone).date_naive();
    let meeting = visit.service.meeting.as_ref();

    let mut html = Html::default();
    if !errors.is_empty() {
        html += alert(&words.fix_fields);
        // A problem with no field of its own (a time out of range) is said here.
        for error in errors.iter().filter(|e| !FIELDS[..6].contains(&e.field)) {
            html += paragraph(words.problem(error.field));
        }
    }
    html += Html::trusted_static("<section aria-labelledby=\"fs-details\"><h3 id=\"fs-details\">")
        + Html::text(&words.your_details)
        + Html::trusted_static("</h3>")
        + paragraph(&fill(
            &words.chosen_time,
            &when(start, visit.zone, visit.language),
        ))
        + meeting_place(meeting, None, visit.language)
            .map(|place| paragraph(&fill(&words.meeting, &place)))
            .unwrap_or_default()
        + Html::element(
            "p",
            link(
                &format!("?day={day}{}", visit.kept_query()),
                &words.change_time,
            ),
        )
        + Html::trusted_static("<form method=\"post\" action=\"")
        + Html::text(&visit.app.address(&format!("/book/{}", visit.service.id)))
        + Html::trusted_static("\" novalidate>")
        + hidden("start", &start.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        + hidden("zone", visit.zone.name())
        + hidden("key", key.as_str());
    if let Some(clinician) = visit.clinician {
        html += hidden("clinician", &clinician.id);
    }

    html += text_field(
        "name",
        &words.name,
        None,
        "text\" required autocomplete=\"name",
        &values.name,
        problem("client.name"),
    );
    html += text_field(
        "email",
        &words.email,
        None,
        "email\" required autocomplete=\"email",
        &values.email,
        problem("client.email"),
    );
    // A service by phone needs the number, whatever the form's rule.
    let phone_rule = visitor_fields::phone_rule(practice.form.phone, meeting.map(|m| m.kind()));
    if phone_rule != FieldRule::Hidden {
        let kind = if phone_rule == FieldRule::Required {
            "tel\" required autocomplete=\"tel"
        } else {
            "tel\" autocomplete=\"tel"
        };
        html += text_field(
            "phone",
            &words.phone,
            need(phone_rule, words),
            kind,
            &values.phone,
            problem("client.phone"),
        );
    }
    if practice.form.note != FieldRule::Hidden {
        html += field_start("note", &words.note, need(practice.form.note, words))
            + Html::trusted_static("<textarea id=\"fs-note\" name=\"note\" rows=\"4\"")
            + if practice.form.note == FieldRule::Required {
                Html::trusted_static(" required")
            } else {
                Html::default()
            }
            + described_by("note", problem("note"))
            + Html::trusted_static(">")
            + Html::text(&values.note)
            + Html::trusted_static("</textarea>")
            + problem_line("note", problem("note"))
            + Html::trusted_static("</div>");
    }

    let checked = if values.consent {
        Html::trusted_static(" checked")
    } else {
        Html::default()
    };
    html += Html::trusted_static(
        "<div class=\"fs-field fs-consent\"><input type=\"checkbox\" id=\"fs-consent\" name=\"consent\" value=\"yes\" required",
    ) + checked
        + described_by("consent", problem("consent"))
        + Html::trusted_static("> <label for=\"fs-consent\">")
        + Html::text(&words.consent)
        + Html::trusted_static("</label>");
    if let Some(privacy) = &practice.privacy_url {
        html += Html::trusted_static(" ") + link(privacy, &words.privacy_notice);
    }
    html += problem_line("consent", problem("consent")) + Html::trusted_static("</div>");

    // The honeypot: off screen for people (a text browser shows its label,
    // which says to leave it empty); bots fill it.
    html += Html::trusted_static("<div class=\"fs-hp\" aria-hidden=\"true\">")
        + Html::trusted_static("<label for=\"fs-website\">")
        + Html::text(&words.website)
        + Html::trusted_static(
            "</label> <input type=\"text\" id=\"fs-website\" name=\"website\" tabindex=\"-1\" autocomplete=\"off\" value=\"",
        )
        + Html::text(&values.website)
        + Html::trusted_static("\">")
        + problem_line("website", problem("website"))
        + Html::trusted_static("</div>");

    let send = match visit.service.mode {
        BookingMode::Request => &words.send_request,
        BookingMode::Instant => &words.book_now,
    };
    html + Html::trusted_static("<p><button type=\"submit\">")
        + Html::text(send)
        + Html::trusted_static("</button></p></form></section>")
}

/// "(optional)" or "(required)" after a label the practice decides on.
fn need(rule: FieldRule, words: &Words) -> Option<&str> {
    match rule {
        FieldRule::Required => Some(&words.required),
        _ => Some(&words.optional),
    }
}

fn hidden(name: &'static str, value: &str) -> Html {
    Html::trusted_static("<input type=\"hidden\" name=\"")
        + Html::trusted_static(name)
        + Html::trusted_static("\" value=\"")
        + Html::text(value)
        + Html::trusted_static("\">")
}

fn field_start(name: &'static str, label: &str, need: Option<&str>) -> Html {
    let label = match need {
        Some(need) => format!("{label} ({need})"),
        None => label.to_owned(),
    };
    Html::trusted_static("<div class=\"fs-field\"><label for=\"fs-")
        + Html::trusted_static(name)
        + Html::trusted_static("\">")
        + Html::text(&label)
        + Html::trusted_static("</label>")
}

fn described_by(name: &'static str, problem: Option<&str>) -> Html {
    if problem.is_some() {
        Html::trusted_static(" aria-invalid=\"true\" aria-describedby=\"fs-")
            + Html::trusted_static(name)
            + Html::trusted_static("-problem\"")
    } else {
        Html::default()
    }
}

fn problem_line(name: &'static str, problem: Option<&str>) -> Html {
    match problem {
        Some(problem) => {
            Html::trusted_static("<p class=\"fs-problem\" id=\"fs-")
                + Html::trusted_static(name)
                + Html::trusted_static("-problem\">")
                + Html::text(problem)
                + Html::trusted_static("</p>")
        }
        None => Html::default(),
    }
}

/// A one-line field; `kind` is the input's type (and any attribute after it).
fn text_field(
    name: &'static str,
    label: &str,
    need: Option<&str>,
    kind: &'static str,
    value: &str,
    problem: Option<&str>,
) -> Html {
    field_start(name, label, need)
        + Html::trusted_static("<input id=\"fs-")
        + Html::trusted_static(name)
        + Html::trusted_static("\" name=\"")
        + Html::trusted_static(name)
        + Html::trusted_static("\" type=\"")
        + Html::trusted_static(kind)
        + Html::trusted_static("\" value=\"")
        + Html::text(value)
        + Html::trusted_static("\"")
        + described_by(name, problem)
        + Html::trusted_static(">")
        + problem_line(name, problem)
        + Html::trusted_static("</div>")
}

/// The answer to a booking: what happens next, the link to see or cancel
/// it, and the calendar file.
pub fn booked(visit: &Visit<'_>, created: &BookingCreated, phone: &str) -> Html {
    let words = visit.words;
    let booking = &created.booking;
    let (heading, detail) = match booking.status {
        BookingStatus::Pending => (&words.request_sent, &words.request_sent_detail),
        _ => (&words.booked, &words.booked_detail),
    };
    let token = &created.manage_token;
    Html::trusted_static("<section aria-labelledby=\"fs-done\"><h3 id=\"fs-done\">")
        + Html::text(heading)
        + Html::trusted_static("</h3>")
        + paragraph(&when(booking.start, visit.zone, visit.language))
        + booking
            .clinician
            .as_ref()
            .map(|c| paragraph(&fill(&words.with_clinician, &c.name)))
            .unwrap_or_default()
        + paragraph(&how_we_meet(
            visit.service.meeting.as_ref(),
            booking.video_url.as_deref(),
            Some(phone.trim()).filter(|p| !p.is_empty()),
            Reader::Visitor,
            visit.language,
        ))
        + paragraph(detail)
        + paragraph(&words.keep_link)
        + Html::trusted_static("<ul><li>")
        + link(
            &visit
                .app
                .address(&format!("/manage/{}?token={token}", booking.id)),
            &words.manage,
        )
        + Html::trusted_static("</li><li>")
        + link(
            &visit.app.address(&format!(
                "/v1/bookings/{}/calendar.ics?token={token}",
                booking.id
            )),
            &words.add_to_calendar,
        )
        + Html::trusted_static("</li></ul></section>")
}

/// The page's own styles; the widget's theme properties are set on the
/// root, so the page and the widget (which inherits them) look alike.
pub fn stylesheet(settings: &Settings) -> String {
    let mut css = String::from(include_str!("book.css"));
    let theme = settings.page.theme_declarations();
    if !theme.is_empty() {
        css.push_str(":root {");
        css.push_str(&theme);
        css.push_str(" }\n");
    }
    css
}
