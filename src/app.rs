//! The root component: turns state into requests and requests' results into
//! actions, and picks the step to show (service, clinician, times, details,
//! done). Opened by a manage link, the same steps move that booking: its
//! service's times with its clinician (its own left out), then the new time
//! to confirm, then the moved booking.

use std::cell::Cell;

use chrono::{DateTime, Utc};
use firststep_protocol::add_to_calendar::CalendarEvent;
use firststep_protocol::{
    visitor_fields, BookingMode, BookingStatus, ClinicianInfo, PracticeInfo, ServiceInfo, Slot,
};
use web_sys::{Element, HtmlElement};
use yew::prelude::*;

use crate::browser::events::HostEvents;
use crate::browser::http::AdapterClient;
use crate::browser::intl::LocalClock;
use crate::browser::json::instant_text;
use crate::components::{
    day_list, focus_field, loading_skeleton, problem_notice, time_list, BookingForm, Confirmation,
    DayChoice, FieldRefs, PickList, PickOption, TimeChoice, TimeGroup,
};
use crate::hooks::{use_practice_and_slots, use_submission};
use crate::i18n::{fill, texts, Language, Texts};
use crate::model::api_error::ApiError;
use crate::model::choices::{self, Named, Picks, Stage};
use crate::model::days::{by_part_of_day, days_after, PartOfDay};
use crate::model::form::Field;
use crate::model::state::{opening, Action, BookingState, Load, Notice, Submission, WINDOW_DAYS};

#[derive(Properties, PartialEq, Clone)]
pub struct AppProps {
    /// Base address of the adapter (the element's `api` attribute, made absolute).
    pub api: AttrValue,
    /// The service to book; left out, the visitor chooses (when the practice has several).
    #[prop_or_default]
    pub service: Option<AttrValue>,
    /// The clinician to book with; left out, the visitor chooses (in a group practice).
    #[prop_or_default]
    pub clinician: Option<AttrValue>,
    /// BCP 47 tag for texts and dates; the browser's language when absent.
    #[prop_or_default]
    pub locale: Option<AttrValue>,
    /// A manage link's `ID.TOKEN`: the widget moves that booking instead of
    /// making a new one.
    #[prop_or_default]
    pub manage: Option<AttrValue>,
    /// Where the widget's DOM events are dispatched (the custom element).
    pub host: Element,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    /// What stops the visit is shown instead (its "Try again" leads on).
    Problem,
    Services,
    Clinicians,
    Times,
    Details,
    Done,
}

/// Where focus goes, kept across renders: one hook for both moves.
#[derive(Default)]
struct Focus {
    /// The shown step's heading.
    heading: NodeRef,
    fields: FieldRefs,
    /// The step (`None` while loading) and the count of problem checks at
    /// the last render.
    seen: Cell<Option<(Option<Step>, u32)>>,
    /// Whether a step (a problem included) has been shown: the first one
    /// the page's visitor did not ask for.
    led: Cell<bool>,
}

impl Focus {
    /// Focus follows the visitor to each step after the first one shown
    /// (through a "Try again" and its loading too), and goes to
    /// `first_problem` each time the form's problems are found.
    fn follow(&self, (step, checks): (Option<Step>, u32), first_problem: Option<Field>) {
        match self.seen.replace(Some((step, checks))) {
            Some((_, seen)) if seen != checks => {
                if let Some(field) = first_problem {
                    focus_field(&self.fields, field);
                }
            }
            Some((seen, _)) if seen != step && step.is_some() && self.led.get() => {
                if let Some(element) = self.heading.cast::<HtmlElement>() {
                    let _ = element.focus();
                }
            }
            _ => {}
        }
        if step.is_some() {
            self.led.set(true);
        }
    }
}

fn browser_language() -> String {
    web_sys::window()
        .and_then(|w| w.navigator().language())
        .unwrap_or_else(|| "en".into())
}

#[component]
pub fn App(props: &AppProps) -> Html {
    let client = use_memo(props.api.clone(), |api| {
        AdapterClient::new(api, &props.host)
    });
    let manage = props.manage.clone();
    let opened = opening(js_sys::Date::now(), client.loader_opened);
    let state = use_reducer(|| match manage {
        Some(link) => BookingState::managing(opened, link.to_string()),
        None => BookingState::new(opened),
    });
    let locale = props
        .locale
        .as_ref()
        .map_or_else(browser_language, |l| l.to_string());
    let language = Language::from_tag(&locale);
    let texts = texts(language);
    let clock = use_memo(locale.clone(), |locale| LocalClock::in_browser_zone(locale));
    let events = HostEvents(props.host.clone());
    let practice = state.loaded_practice();
    let current = state.current_booking();
    let managing = state.managed.is_some();
    let named = Named {
        service: props.service.as_deref(),
        clinician: props.clinician.as_deref(),
    };
    let stage = match (practice, current) {
        (Some(practice), Some(booking)) => Some(choices::of_booking(practice, booking)),
        (Some(practice), None) if !managing => Some(choices::stage(practice, named, &state.picks)),
        _ => None,
    };
    let (service, clinician) = match &stage {
        Some(Ok(Stage::Book(service, clinician))) => (Some(*service), *clinician),
        Some(Ok(Stage::Clinicians(service, _))) => (Some(*service), None),
        _ => (None, None),
    };

    // Before the practice is known (and when the element names what it
    // lacks, so the adapter's refusal reaches the page as an event), the
    // times of what the element names, as the loader asks for them; none
    // while a step asks the visitor to choose, or a manage link's booking
    // is on its way.
    let query = match (&stage, practice) {
        (Some(Ok(Stage::Book(service, clinician))), Some(practice)) => {
            // The service is left out, as the loader leaves it out, only
            // where the adapter knows it too: the practice's only one.
            let only = named.service.is_none() && practice.services.len() == 1;
            Some(((!only).then_some(service.id.as_str()), *clinician))
        }
        (Some(Ok(_)), _) => None,
        _ if managing => None,
        _ => Some((named.service, named.clinician)),
    };
    let query = query
        .map(|(service, clinician)| (service.map(str::to_owned), clinician.map(str::to_owned)));
    use_practice_and_slots(&client, query, &state, &events, &clock);
    use_submission(
        &client,
        service.map(|service| (service.id.clone(), clinician.map(str::to_owned))),
        locale.clone(),
        &state,
        &events,
        &clock,
    );

    let problem = state
        .blocking_problem()
        .or_else(|| stage.as_ref()?.as_ref().err().cloned());
    let step = match &stage {
        _ if problem.is_some() => Some(Step::Problem),
        Some(Ok(Stage::Services(_))) => Some(Step::Services),
        Some(Ok(Stage::Clinicians(..))) => Some(Step::Clinicians),
        Some(Ok(Stage::Book(..))) => Some(match (&state.submission, state.selected_slot) {
            (Submission::Done(_), _) => Step::Done,
            (_, Some(_)) => Step::Details,
            _ => Step::Times,
        }),
        _ => None,
    };
    let focus = use_memo((), |_| Focus::default());
    {
        let (focus, first) = (
            focus.clone(),
            state.problems.first().map(|(field, _)| *field),
        );
        use_effect_with((step, state.problem_checks), move |&now| {
            focus.follow(now, first)
        });
    }

    let view = View {
        state: &state,
        texts,
        clock: &clock,
        practice,
        service,
        step,
        heading: focus.heading.clone(),
        field_refs: &focus.fields,
    };
    // A problem is said by its own alert; the live region then says nothing
    // (not "Loading" over a link that opens no booking).
    let status = match &problem {
        Some(_) => String::new(),
        None => view.status(),
    };
    let body = match (problem, stage.as_ref().and_then(|s| s.as_ref().ok())) {
        (Some(error), _) => view.problem(&error),
        (None, None) => loading_skeleton(),
        (None, Some(Stage::Services(services))) => view.pick_service(services),
        (None, Some(Stage::Clinicians(_, clinicians))) => view.pick_clinician(clinicians),
        (None, Some(Stage::Book(..))) => match step {
            Some(Step::Done) => view.confirmation(&client),
            Some(Step::Details) => view.details(),
            _ => view.times(&events),
        },
    };
    // The booking being moved, until it has moved.
    let current_line = current.filter(|_| step != Some(Step::Done)).map(|booking| {
        let status = match booking.status {
            BookingStatus::Confirmed => texts.status_confirmed,
            BookingStatus::Pending => texts.status_pending,
            _ => "",
        };
        let time = view.time_in_words(booking.start) + " " + status;
        html! { <p class="fs-current">{ fill(texts.current_time, &time) }</p> }
    });
    let title = service
        .map(|s| &s.title)
        .or(practice.map(|p| &p.name))
        .map_or(texts.choose_time, String::as_str);
    html! {
        <div class="fs-root" lang={locale}>
            <h2 class="fs-title">{ title }</h2>
            { service.and_then(|s| s.description.clone()).map(|d| html! { <p class="fs-description">{ d }</p> }) }
            <p class="fs-visually-hidden" role="status" aria-live="polite">{ status }</p>
            { current_line }
            { body }
        </div>
    }
}

/// What one render needs to draw its parts.
struct View<'a> {
    state: &'a UseReducerHandle<BookingState>,
    texts: &'static Texts,
    clock: &'a LocalClock,
    practice: Option<&'a PracticeInfo>,
    /// The service to book, once the practice is known.
    service: Option<&'a ServiceInfo>,
    /// `None` until the practice is known.
    step: Option<Step>,
    heading: NodeRef,
    field_refs: &'a FieldRefs,
}

impl View<'_> {
    fn dispatch(&self, action: impl Fn() -> Action + 'static) -> Callback<()> {
        let handle = self.state.dispatcher();
        Callback::from(move |_| handle.dispatch(action()))
    }

    /// What went wrong, in words (the practice named where the visitor must
    /// turn to it).
    fn message(&self, error: &ApiError) -> String {
        let texts = self.texts;
        let words = match error {
            ApiError::Offline => texts.offline,
            ApiError::Unavailable => texts.unavailable,
            ApiError::RateLimited { .. } => texts.rate_limited,
            ApiError::SlotTaken => texts.slot_taken,
            ApiError::Invalid { .. } => texts.fix_fields,
            ApiError::NotFound => texts.not_found,
            ApiError::ChangeWindowClosed => texts.change_window_closed,
            ApiError::BookingClosed => texts.booking_closed,
            ApiError::UnknownService | ApiError::UnknownClinician | ApiError::Unexpected(_) => {
                texts.misconfigured
            }
        };
        fill(words, self.practice.map_or("", |p| &p.name))
    }

    fn problem(&self, error: &ApiError) -> Html {
        let retryable = matches!(
            error,
            ApiError::Offline | ApiError::Unavailable | ApiError::RateLimited { .. }
        );
        let retry = retryable.then(|| (self.texts.try_again, self.dispatch(|| Action::Retry)));
        problem_notice(&self.message(error), retry)
    }

    /// What the live region announces.
    fn status(&self) -> String {
        let state = &**self.state;
        match (&state.submission, &state.days) {
            (Submission::Sending { .. }, _) => self.texts.sending.to_owned(),
            (Submission::Done(created), _) => self.outcome(created.booking.status).0.to_owned(),
            // Times load behind the service and clinician steps too: not said there.
            (_, Load::Loading) if !matches!(self.step, Some(Step::Services | Step::Clinicians)) => {
                self.texts.loading.to_owned()
            }
            _ => String::new(),
        }
    }

    fn location(&self) -> Option<&str> {
        self.service?.location.as_deref()
    }

    /// How the chosen service's consultation happens, in one sentence, before the visitor commits.
    fn how_we_meet(&self) -> Option<String> {
        self.meeting(self.service?)
    }

    /// How `service`'s consultation happens, in one sentence.
    fn meeting(&self, service: &ServiceInfo) -> Option<String> {
        let texts = self.texts;
        match service.location.as_deref()? {
            "phone" => Some(texts.meet_phone.to_owned()),
            "video" => Some(texts.meet_video.to_owned()),
            "in_person" => Some(fill(texts.meet_in_person, service.address.as_deref()?)),
            _ => None,
        }
    }

    /// "Back" to the step of the visitor's latest pick, once they made one.
    fn back(&self) -> Option<Html> {
        (self.state.picks != Picks::default()).then(|| {
            let on_click = self.dispatch(|| Action::Back);
            html! { <button type="button" class="fs-link-button" onclick={move |_| on_click.emit(())}>{ self.texts.back }</button> }
        })
    }

    /// The service step: each service with its length, how it happens and what it is.
    fn pick_service(&self, services: &[&ServiceInfo]) -> Html {
        let mut options = Vec::new();
        for service in services {
            let mut detail = fill(self.texts.minutes, &service.duration_minutes.to_string());
            if let Some(how) = self.meeting(service) {
                detail = detail + " " + &how;
            }
            if let Some(description) = &service.description {
                detail = detail + " " + description;
            }
            options.push(PickOption {
                id: Some(service.id.clone()),
                label: service.title.clone(),
                detail: Some(detail),
            });
        }
        self.pick_list(self.texts.choose_service, options, |id| {
            Action::PickService(id.unwrap_or_default())
        })
    }

    /// The clinician step: "first available", then each who offers the service.
    fn pick_clinician(&self, clinicians: &[&ClinicianInfo]) -> Html {
        let mut options = vec![PickOption {
            id: None,
            label: self.texts.first_available.to_owned(),
            detail: Some(self.texts.first_available_detail.to_owned()),
        }];
        for clinician in clinicians {
            let mut label = clinician.name.clone();
            if let Some(pronouns) = &clinician.pronouns {
                label = label + " (" + pronouns + ")";
            }
            options.push(PickOption {
                id: Some(clinician.id.clone()),
                label,
                detail: clinician.bio.clone(),
            });
        }
        self.pick_list(self.texts.choose_clinician, options, Action::PickClinician)
    }

    /// A step's radio group; "Continue" dispatches `pick` of the marked option's id.
    fn pick_list(
        &self,
        legend: &'static str,
        options: Vec<PickOption>,
        pick: fn(Option<String>) -> Action,
    ) -> Html {
        let handle = self.state.dispatcher();
        let on_mark = {
            let handle = handle.clone();
            Callback::from(move |option| handle.dispatch(Action::Mark(option)))
        };
        let list = PickList {
            legend,
            options,
            marked: self.state.marked,
            continue_label: self.texts.continue_label,
            heading: self.heading.clone(),
            on_mark,
            on_pick: Callback::from(move |id| handle.dispatch(pick(id))),
        };
        html! { <>{ self.back() }{ list.view() }</> }
    }

    /// The end's heading and what happens next: a move says it moved.
    fn outcome(&self, status: BookingStatus) -> (&'static str, &'static str) {
        let texts = self.texts;
        let (title, detail) = match status {
            BookingStatus::Confirmed => (texts.booked, texts.booked_detail),
            _ => (texts.request_sent, texts.request_sent_detail),
        };
        let moved = self.state.managed.is_some();
        (if moved { texts.moved } else { title }, detail)
    }

    /// The practice's clock at `instant`, when it reads otherwise than the visitor's.
    fn practice_time(&self, instant: DateTime<Utc>) -> Option<String> {
        let zone = &self.practice?.time_zone;
        if zone == self.clock.visitor_zone() {
            return None; // no formatter made for it, no time written twice
        }
        let theirs = self.clock.time_in(instant, zone)?;
        (theirs != self.clock.time(instant)).then_some(theirs)
    }

    /// `words`, then `separator` and "3:00 AM for the practice" when the
    /// practice's clock reads otherwise than the visitor's at `instant`.
    fn with_practice_time(
        &self,
        mut words: String,
        separator: &str,
        instant: DateTime<Utc>,
    ) -> String {
        if let Some(theirs) = self.practice_time(instant) {
            words.push_str(separator);
            words.push_str(&fill(self.texts.practice_time, &theirs));
        }
        words
    }

    /// "Tuesday, December 1, 9:00 AM (Central European Standard Time) · 3:00 AM for the practice".
    fn time_in_words(&self, instant: DateTime<Utc>) -> String {
        let words = format!(
            "{}, {} ({})",
            self.clock.day(instant),
            self.clock.time(instant),
            self.clock.zone_name(instant)
        );
        self.with_practice_time(words, " · ", instant)
    }

    fn times(&self, events: &HostEvents) -> Html {
        let state = &**self.state;
        let texts = self.texts;
        let (window_start, window_end) = state.window();
        let zone_line = fill(texts.your_zone, &self.clock.zone_name(window_start));
        let taken = match state.managed {
            Some(_) => texts.moved_slot_taken,
            None => texts.slot_taken,
        };
        let notice = (state.notice == Some(Notice::SlotTaken)).then(|| problem_notice(taken, None));
        let content = match &state.days {
            Load::Loading => loading_skeleton(),
            Load::Failed(error) => self.problem(error),
            Load::Loaded(days) if days.is_empty() => self.no_slots(),
            Load::Loaded(days) => {
                let visible = state.visible_day();
                let day_choices = days
                    .iter()
                    .filter_map(|day| {
                        let first = day.slots.first()?.start;
                        Some(DayChoice {
                            date: day.date,
                            label: self.clock.short_day(first),
                            detail: format!(
                                ", {}",
                                fill(texts.open_times, &day.slots.len().to_string())
                            ),
                        })
                    })
                    .collect::<Vec<_>>();
                let time_groups = visible
                    .and_then(|day| {
                        // One local date: its words are every time's.
                        let date = self.clock.day(day.slots.first()?.start);
                        let groups =
                            by_part_of_day(&day.slots, |t| self.clock.local_date_and_time(t).1)
                                .into_iter()
                                .map(|(part, slots)| self.time_group(part, &slots, &date));
                        Some(groups.collect::<Vec<_>>())
                    })
                    .unwrap_or_default();
                let on_day = {
                    let handle = self.state.dispatcher();
                    Callback::from(move |date| handle.dispatch(Action::ChooseDay(date)))
                };
                let on_time = {
                    let (handle, events) = (self.state.dispatcher(), events.clone());
                    Callback::from(move |slot: Slot| {
                        events.slot_selected(slot);
                        handle.dispatch(Action::ChooseSlot(slot));
                    })
                };
                html! {
                    <>
                        { day_list(&day_choices, visible.map(|d| d.date), texts.days_label, &on_day) }
                        { time_list(&time_groups, &on_time) }
                    </>
                }
            }
        };
        let earlier = (window_start > state.opened_at).then(|| {
            let start = days_after(window_start, -WINDOW_DAYS).max(state.opened_at);
            let on_click = self.dispatch(move || Action::ShowFrom(start));
            html! { <button type="button" class="fs-link-button" onclick={move |_| on_click.emit(())}>{ texts.earlier }</button> }
        });
        let on_later = self.dispatch(move || Action::ShowFrom(window_end));
        html! {
            <section class="fs-step" aria-labelledby="fs-times-heading">
                { self.back() }
                <h3 id="fs-times-heading" class="fs-step-heading" tabindex="-1" ref={self.heading.clone()}>{ texts.choose_time }</h3>
                <p class="fs-zone">{ zone_line }</p>
                { notice }
                // Above the times, whose height changes as they arrive: below
                // them it would move, and move the page (layout shift).
                <nav class="fs-pager" aria-label={texts.times_label}>
                    { earlier }
                    <button type="button" class="fs-link-button" onclick={move |_| on_later.emit(())}>{ texts.later }</button>
                </nav>
                { content }
            </section>
        }
    }

    /// The times of one part of the day `date` ("Tuesday, December 1").
    fn time_group(&self, part: PartOfDay, slots: &[Slot], date: &str) -> TimeGroup {
        let label = match part {
            PartOfDay::Morning => self.texts.morning,
            PartOfDay::Afternoon => self.texts.afternoon,
            PartOfDay::Evening => self.texts.evening,
        };
        TimeGroup {
            label,
            times: slots
                .iter()
                .map(|slot| self.time_choice(*slot, date))
                .collect(),
        }
    }

    fn time_choice(&self, slot: Slot, date: &str) -> TimeChoice {
        let label = self.clock.time(slot.start);
        let name = format!("{label}, {date}, {}", self.clock.zone_name(slot.start));
        TimeChoice {
            slot,
            label,
            name: self.with_practice_time(name, ", ", slot.start).into(),
        }
    }

    fn no_slots(&self) -> Html {
        let texts = self.texts;
        let next = self.state.next_available.map(|slot| {
            let day = self.clock.day(slot.start);
            let on_click = self.dispatch(move || Action::ShowFrom(slot.start));
            html! {
                <>
                    <p>{ fill(texts.next_open_day, &day) }</p>
                    <button type="button" class="fs-button fs-secondary" onclick={move |_| on_click.emit(())}>
                        { fill(texts.show_from, &day) }
                    </button>
                </>
            }
        });
        html! { <div class="fs-notice fs-empty"><p>{ texts.no_slots }</p>{ next }</div> }
    }

    fn details(&self) -> Html {
        let state = &**self.state;
        // Details follow the practice and a chosen slot.
        let (Some(practice), Some(slot)) = (self.practice, state.selected_slot) else {
            return Html::default();
        };
        let handle = self.state.dispatcher();
        let on_edit = {
            let handle = handle.clone();
            Callback::from(move |(field, value)| handle.dispatch(Action::Edit(field, value)))
        };
        let on_consent = {
            let handle = handle.clone();
            Callback::from(move |agreed| handle.dispatch(Action::SetConsent(agreed)))
        };
        let on_submit = {
            let handle = handle.clone();
            let location = self.location().map(str::to_owned);
            Callback::from(move |_| {
                handle.dispatch(Action::Submit {
                    fresh_key: new_key(),
                    location: location.clone(),
                })
            })
        };
        let failure = match &state.submission {
            Submission::Failed(error) => Some(self.message(error)),
            _ => None,
        };
        let moving = state.managed.is_some();
        let request_mode = self.service.is_some_and(|s| s.mode == BookingMode::Request);
        BookingForm {
            texts: self.texts,
            form: &state.form,
            problems: &state.problems,
            phone: visitor_fields::phone_rule(practice.form.phone, self.location()),
            note: practice.form.note,
            chosen_time: self.time_in_words(slot.start),
            how_we_meet: self.how_we_meet().filter(|_| !moving),
            privacy_url: practice.privacy_url.as_deref(),
            notice: practice.notice.as_deref().filter(|_| !moving),
            request_mode,
            moving,
            sending: matches!(state.submission, Submission::Sending { .. }),
            failure,
            heading: self.heading.clone(),
            refs: self.field_refs,
            on_edit,
            on_consent,
            on_submit,
            on_change_time: Callback::from(move |_| handle.dispatch(Action::BackToTimes)),
        }
        .view()
    }

    fn confirmation(&self, client: &AdapterClient) -> Html {
        let Submission::Done(created) = &self.state.submission else {
            return Html::default();
        };
        let (title, detail) = self.outcome(created.booking.status);
        let booking = &created.booking;
        // "Free consultation — Riverside Counselling", as the calendar will show it.
        let event_title = self.practice.map_or_else(String::new, |practice| {
            let service = practice.services.iter().find(|s| s.id == booking.service);
            format!("{} — {}", service.map_or("", |s| &s.title), practice.name)
        });
        let encoded_title = String::from(js_sys::encode_uri_component(&event_title));
        let (start, end) = (instant_text(booking.start), instant_text(booking.end));
        let event = CalendarEvent {
            encoded_title: &encoded_title,
            start: &start,
            end: &end,
        };
        // What happens next, in plain words: the call, the room, the place.
        let how = match self.location() {
            Some("phone") => Some(fill(self.texts.call_at, self.state.form.phone.trim())),
            Some("video") if booking.video_url.is_some() => None,
            _ => self.how_we_meet(),
        };
        Confirmation {
            title,
            detail,
            how,
            video_url: booking.video_url.clone(),
            time: self.time_in_words(booking.start),
            clinician: booking
                .clinician
                .as_ref()
                .map(|clinician| fill(self.texts.with_clinician, &clinician.name)),
            calendar_url: client.calendar_file_url(created),
            google_url: event.google_url(),
            outlook_url: event.outlook_url(),
            texts: self.texts,
            heading: self.heading.clone(),
        }
        .view()
    }
}

/// A fresh Idempotency-Key from the browser's random source.
fn new_key() -> String {
    web_sys::window()
        .and_then(|w| w.crypto().ok())
        .map(|crypto| crypto.random_uuid())
        .unwrap_or_else(|| format!("fs-{}", js_sys::Math::random().to_bits()))
}
