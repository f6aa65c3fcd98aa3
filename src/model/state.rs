//! All of the widget's state, in one [`Reducible`]. `reduce` does no I/O: the
//! app turns state into requests (keyed on the counters below) and requests'
//! results back into [`Action`]s. Unit-tested natively.

use std::rc::Rc;

use chrono::{DateTime, NaiveDate, Utc};
use firststep_protocol::{
    visitor_fields, BookingCreated, BookingView, FieldRule, PracticeInfo, ServiceInfo, Slot,
};
use yew::Reducible;

use super::api_error::ApiError;
use super::choices::Picks;
use super::days::{days_after, Day};
use crate::model::form::{Field, FieldProblem, FormFields};

/// How many days of slots one request asks for.
pub const WINDOW_DAYS: i64 = 14;

/// Something that arrives over the network.
#[derive(Debug, Clone, PartialEq)]
pub enum Load<T> {
    Loading,
    Loaded(T),
    Failed(ApiError),
}

/// Where sending the booking request stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Submission {
    Idle,
    /// A request is on its way; `attempt` keys the effect that sends it.
    Sending {
        attempt: u32,
        key: String,
    },
    /// A passing failure (offline, rate limited, unavailable): the same
    /// request may be sent again with the same key.
    Failed(ApiError),
    Done(BookingCreated),
}

/// A message about something that happened, shown above the slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// The visitor's chosen slot was taken meanwhile (409).
    SlotTaken,
}

/// A booking opened by a manage link.
#[derive(Debug, Clone, PartialEq)]
pub struct Managed {
    /// The link's `ID.TOKEN` (see [`manage_link`]).
    pub link: String,
    pub booking: Load<BookingView>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BookingState {
    /// When the widget opened: the earliest window it shows.
    pub opened_at: DateTime<Utc>,
    /// Shared, not copied: the state is cloned on every action.
    pub practice: Load<Rc<PracticeInfo>>,
    /// Bumped whenever the practice must be (re)fetched.
    pub practice_request: u32,
    /// The start of the window of slots being shown.
    pub window_start: DateTime<Utc>,
    pub days: Load<Vec<Day>>,
    /// Bumped whenever the slots must be (re)fetched; the app's effect is keyed on it.
    pub slots_request: u32,
    /// When the window holds nothing: the first slot after it, if any.
    pub next_available: Option<Slot>,
    pub selected_day: Option<NaiveDate>,
    pub selected_slot: Option<Slot>,
    pub form: FormFields,
    pub problems: Vec<(Field, FieldProblem)>,
    /// Bumped each time problems are found, so the form can take the visitor to the first.
    pub problem_checks: u32,
    pub submission: Submission,
    /// The key of the request last sent, kept while the same request may be
    /// retried, so a retry can never book twice.
    pub retry_key: Option<String>,
    pub notice: Option<Notice>,
    /// The visitor's service and clinician, in the steps before the times.
    pub picks: Picks,
    /// The option marked in the step's radio group (0: the first), until
    /// "Continue" picks it.
    pub marked: usize,
    /// Opened by a manage link: the booking to move (`None` when booking anew).
    /// Its service's times are the offer, its own start left out; sending moves it.
    pub managed: Option<Managed>,
    attempts: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    PracticeLoaded(PracticeInfo),
    PracticeFailed(ApiError),
    /// Fetch again what failed to arrive (the practice, the slots).
    Retry,
    SlotsLoaded(Vec<Day>),
    SlotsFailed(ApiError),
    NextAvailableFound(Option<Slot>),
    /// Show the window starting at this instant.
    ShowFrom(DateTime<Utc>),
    /// Mark an option of the step's radio group.
    Mark(usize),
    PickService(String),
    /// `None` is "first available".
    PickClinician(Option<String>),
    /// Undo the latest pick (the clinician, else the service), showing its step again.
    Back,
    ChooseDay(NaiveDate),
    ChooseSlot(Slot),
    /// Back from the form to the times, keeping what was typed.
    BackToTimes,
    Edit(Field, String),
    SetConsent(bool),
    /// Send the request, with a fresh key to use if no retry key is kept;
    /// `location` is how the chosen service meets (a call needs the number).
    Submit {
        fresh_key: String,
        location: Option<String>,
    },
    Booked(BookingCreated),
    BookingFailed(ApiError),
    /// The booking a manage link opens, or why it could not be read.
    CurrentLoaded(BookingView),
    CurrentFailed(ApiError),
}

/// When the widget's first window of slots opens, given the clock `now_ms`
/// and the instant the loader (js/firststep.js) opened its own, if it asked
/// before the wasm arrived: the loader's, so the widget's first URL is the
/// one the loader asked for and its answer is taken, even when a minute has
/// turned in between; else the start of this minute, as the loader opens it.
/// An instant from the future or over five minutes old is not the loader's,
/// or its answer too stale to show (the adapter checks each time again when
/// it books, all the same).
pub fn opening(now_ms: f64, loader_opened_ms: Option<i64>) -> DateTime<Utc> {
    const MINUTE_MS: i64 = 60_000;
    // A saturating cast: NaN is 0, the infinities the ends of i64.
    let now = now_ms as i64;
    let this_minute = now.saturating_sub(now.rem_euclid(MINUTE_MS));
    let ms = loader_opened_ms
        .filter(|ms| (now.saturating_sub(5 * MINUTE_MS)..=now).contains(ms))
        .unwrap_or(this_minute);
    DateTime::from_timestamp_millis(ms).unwrap_or(DateTime::UNIX_EPOCH)
}

impl BookingState {
    pub fn new(now: DateTime<Utc>) -> Self {
        Self {
            opened_at: now,
            practice: Load::Loading,
            practice_request: 0,
            window_start: now,
            days: Load::Loading,
            slots_request: 0,
            next_available: None,
            selected_day: None,
            selected_slot: None,
            form: FormFields::default(),
            problems: Vec::new(),
            problem_checks: 0,
            submission: Submission::Idle,
            retry_key: None,
            notice: None,
            picks: Picks::default(),
            marked: 0,
            managed: None,
            attempts: 0,
        }
    }

    /// The state of a widget opened by a manage link (`ID.TOKEN`), to move its booking.
    pub fn managing(now: DateTime<Utc>, link: String) -> Self {
        Self {
            managed: Some(Managed {
                link,
                booking: Load::Loading,
            }),
            ..Self::new(now)
        }
    }

    /// The booking being moved, once it has arrived.
    pub fn current_booking(&self) -> Option<&BookingView> {
        match &self.managed.as_ref()?.booking {
            Load::Loaded(booking) => Some(booking),
            _ => None,
        }
    }

    /// What stops the visit, shown in place of any step: the practice or the
    /// booking not read, a booking that can no longer move, a final refusal.
    pub fn blocking_problem(&self) -> Option<ApiError> {
        let booking = self.managed.as_ref().map(|m| &m.booking);
        match (&self.practice, booking, &self.submission) {
            (Load::Failed(error), ..) | (_, Some(Load::Failed(error)), _) => Some(error.clone()),
            (_, _, Submission::Failed(error)) if error.is_final() => Some(error.clone()),
            (_, Some(Load::Loaded(booking)), _) if !booking.status.holds_slot() => {
                Some(ApiError::BookingClosed)
            }
            _ => None,
        }
    }

    /// The practice, once it has arrived.
    pub fn loaded_practice(&self) -> Option<&PracticeInfo> {
        match &self.practice {
            Load::Loaded(practice) => Some(practice),
            _ => None,
        }
    }

    /// The service the element names (`id`), or the practice's only one.
    pub fn chosen_service(&self, id: Option<&str>) -> Option<&ServiceInfo> {
        let services = &self.loaded_practice()?.services;
        match id {
            Some(id) => services.iter().find(|s| s.id == id),
            None => services.first().filter(|_| services.len() == 1),
        }
    }

    /// The window of slots being shown, `[start, end)`.
    pub fn window(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        (
            self.window_start,
            days_after(self.window_start, WINDOW_DAYS),
        )
    }

    /// The slots of the selected day (or of the first day, before any choice).
    pub fn visible_day(&self) -> Option<&Day> {
        let Load::Loaded(days) = &self.days else {
            return None;
        };
        self.selected_day
            .and_then(|date| days.iter().find(|d| d.date == date))
            .or_else(|| days.first())
    }

    /// After a pick: the times of someone or something else, from the
    /// first window, none chosen; the radio group marks its first option again.
    fn start_over(&mut self) {
        self.window_start = self.opened_at;
        self.days = Load::Loading;
        self.slots_request += 1;
        self.next_available = None;
        self.selected_day = None;
        self.selected_slot = None;
        self.notice = None;
        self.marked = 0;
    }

    fn set_managed(&mut self, booking: Load<BookingView>) {
        if let Some(managed) = &mut self.managed {
            managed.booking = booking;
        }
    }

    fn rules(&self, location: Option<&str>) -> (FieldRule, FieldRule) {
        match &self.practice {
            Load::Loaded(p) => (
                visitor_fields::phone_rule(p.form.phone, location),
                p.form.note,
            ),
            _ => (FieldRule::Optional, FieldRule::Hidden),
        }
    }
}

/// A manage link's booking id and token, written `ID.TOKEN` (the element's
/// `manage` attribute, or the page's `#manage=` fragment): the pair the
/// manage page's address carries (`/manage/ID?token=TOKEN`).
pub fn manage_link(text: &str) -> Option<(&str, &str)> {
    // By byte: `split_once` would link a pattern searcher into the wasm.
    let dot = text.bytes().position(|b| b == b'.')?;
    // `get`, not indexing: '.' is ASCII, so both ends are char boundaries,
    // and a panic's location would ship in the download for nothing.
    let (id, token) = (text.get(..dot)?, text.get(dot + 1..)?);
    (!id.is_empty() && !token.is_empty()).then_some((id, token))
}

/// `days` without the time starting at `start`.
fn without(days: &mut Vec<Day>, start: DateTime<Utc>) {
    for day in days.iter_mut() {
        day.slots.retain(|slot| slot.start != start);
    }
    // A day is listed only while it has a time (the view reads its first).
    days.retain(|day| !day.slots.is_empty());
}

impl Reducible for BookingState {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            Action::PracticeLoaded(practice) => next.practice = Load::Loaded(Rc::new(practice)),
            Action::PracticeFailed(error) => next.practice = Load::Failed(error),
            Action::Retry => {
                // The practice and the booking are asked for on the same counter.
                let mut again = false;
                if let Some(Managed {
                    booking: booking @ Load::Failed(_),
                    ..
                }) = &mut next.managed
                {
                    *booking = Load::Loading;
                    again = true;
                }
                if matches!(next.practice, Load::Failed(_)) {
                    next.practice = Load::Loading;
                    again = true;
                }
                next.practice_request += u32::from(again);
                next.days = Load::Loading;
                next.slots_request += 1;
            }
            Action::SlotsLoaded(mut days) => {
                // The booking's own time is shown as its current one, not offered.
                if let Some(booking) = next.current_booking() {
                    without(&mut days, booking.start);
                }
                // Keep the visitor's choices when they are still on offer.
                next.selected_day = next
                    .selected_day
                    .filter(|date| days.iter().any(|d| d.date == *date));
                next.selected_slot = next
                    .selected_slot
                    .filter(|slot| days.iter().any(|d| d.slots.contains(slot)));
                next.next_available = None;
                next.days = Load::Loaded(days);
            }
            Action::SlotsFailed(error) => next.days = Load::Failed(error),
            Action::NextAvailableFound(slot) => next.next_available = slot,
            Action::ShowFrom(start) => {
                next.window_start = start;
                next.selected_day = None;
                next.days = Load::Loading;
                next.slots_request += 1;
            }
            Action::Mark(option) => next.marked = option,
            Action::PickService(id) => {
                next.picks.service = Some(id);
                next.start_over();
            }
            Action::PickClinician(id) => {
                next.picks.clinician = Some(id);
                next.start_over();
            }
            Action::Back => {
                if next.picks.clinician.take().is_none() {
                    next.picks.service = None;
                }
                next.marked = 0;
            }
            Action::ChooseDay(date) => next.selected_day = Some(date),
            Action::ChooseSlot(slot) => {
                next.selected_slot = Some(slot);
                next.notice = None;
                next.retry_key = None;
                if matches!(next.submission, Submission::Failed(_)) {
                    next.submission = Submission::Idle;
                }
            }
            Action::BackToTimes => next.selected_slot = None,
            Action::Edit(field, value) => {
                next.form.set(field, value);
                next.problems.retain(|(f, _)| *f != field);
                next.retry_key = None;
            }
            Action::SetConsent(agreed) => {
                next.form.consent = agreed;
                next.problems.retain(|(f, _)| *f != Field::Consent);
                next.retry_key = None;
            }
            Action::Submit {
                fresh_key,
                location,
            } => {
                if next.selected_slot.is_none()
                    || matches!(next.submission, Submission::Sending { .. })
                {
                    return self;
                }
                let (phone, note) = next.rules(location.as_deref());
                // A move sends only the new time: the form is not asked for.
                if next.managed.is_none() {
                    next.problems = next.form.problems(phone, note);
                }
                if !next.problems.is_empty() {
                    next.problem_checks += 1;
                } else {
                    let key = next.retry_key.clone().unwrap_or(fresh_key);
                    next.retry_key = Some(key.clone());
                    next.attempts += 1;
                    next.submission = Submission::Sending {
                        attempt: next.attempts,
                        key,
                    };
                }
            }
            Action::Booked(created) => {
                next.retry_key = None;
                next.submission = Submission::Done(created);
            }
            Action::BookingFailed(error) => match error {
                ApiError::SlotTaken => {
                    // Say so, take the slot off the list, fetch fresh slots; keep the form.
                    let taken = next.selected_slot.take();
                    if let (Load::Loaded(days), Some(taken)) = (&mut next.days, taken) {
                        without(days, taken.start);
                        next.selected_day = next
                            .selected_day
                            .filter(|date| days.iter().any(|d| d.date == *date));
                    }
                    next.notice = Some(Notice::SlotTaken);
                    next.retry_key = None;
                    next.submission = Submission::Idle;
                    next.slots_request += 1;
                }
                ApiError::Invalid { field } => {
                    next.retry_key = None;
                    next.submission = Submission::Idle;
                    let field = Field::from_protocol(&field);
                    next.problems.retain(|(f, _)| *f != field);
                    next.problems.push((field, FieldProblem::Invalid));
                    next.problem_checks += 1;
                }
                passing => next.submission = Submission::Failed(passing),
            },
            Action::CurrentLoaded(booking) => next.set_managed(Load::Loaded(booking)),
            Action::CurrentFailed(error) => next.set_managed(Load::Failed(error)),
        }
        Rc::new(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use firststep_protocol::{BookingStatus, BookingView, FormSettings};

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn ms(text: &str) -> i64 {
        at(text).timestamp_millis()
    }

    #[test]
    fn the_window_opens_at_the_start_of_the_minute_or_where_the_loader_opened_its_own() {
        let now = ms("2026-12-01T10:00:00.400Z");
        let clock = now as f64;
        // No loader: the start of this minute, as the loader would open it.
        assert_eq!(opening(clock, None), at("2026-12-01T10:00:00Z"));
        assert_eq!(
            opening(ms("2026-12-01T10:00:59.999Z") as f64, None),
            at("2026-12-01T10:00:00Z")
        );
        // The loader opened its window in the minute before, which has
        // turned since: its minute, so the widget asks for the same URL.
        let before = ms("2026-12-01T09:59:00Z");
        assert_eq!(opening(clock, Some(before)), at("2026-12-01T09:59:00Z"));
        assert_eq!(opening(clock, Some(now - 400)), at("2026-12-01T10:00:00Z"));
        assert_eq!(
            opening(clock, Some(ms("2026-12-01T09:56:00Z"))),
            at("2026-12-01T09:56:00Z"),
            "four minutes back is still the loader's"
        );
        // Anything else is not the loader's, or its answer is stale; what
        // the element carried is cast as the client casts it (NaN is 0).
        for other in [
            ms("2026-12-01T09:54:00Z") as f64, // more than five minutes old
            ms("2026-12-01T10:01:00Z") as f64, // ahead of the clock
            f64::NAN,
            f64::INFINITY,
            -f64::INFINITY,
            1e300,
            -1e300,
        ] {
            assert_eq!(
                opening(clock, Some(other as i64)),
                at("2026-12-01T10:00:00Z"),
                "{other}"
            );
        }
        // A clock beyond any date falls back rather than panicking.
        assert_eq!(opening(f64::NAN, None), DateTime::UNIX_EPOCH);
        assert_eq!(opening(1e300, Some(i64::MAX)), DateTime::UNIX_EPOCH);
    }

    fn slot(start: &str) -> Slot {
        Slot {
            start: at(start),
            end: at(start) + Duration::minutes(15),
        }
    }

    fn day(date: &str, starts: &[&str]) -> Day {
        Day {
            date: date.parse().unwrap(),
            slots: starts.iter().map(|s| slot(s)).collect(),
        }
    }

    fn practice(phone: FieldRule) -> PracticeInfo {
        PracticeInfo {
            name: "Riverside".into(),
            time_zone: "America/New_York".into(),
            services: vec![],
            form: FormSettings {
                phone,
                note: FieldRule::Hidden,
            },
            notice: None,
            privacy_url: None,
            clinicians: vec![],
        }
    }

    fn problem(state: &BookingState, field: Field) -> Option<FieldProblem> {
        state
            .problems
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, p)| *p)
    }

    fn apply(state: BookingState, actions: impl IntoIterator<Item = Action>) -> BookingState {
        let mut state = Rc::new(state);
        for action in actions {
            state = state.reduce(action);
        }
        (*state).clone()
    }

    /// Practice and two days loaded, a slot chosen, the form filled in.
    /// The practice calls for a phone consultation: the number is required
    /// there, though the form leaves it optional; elsewhere it stays optional.
    #[test]
    fn a_consultation_by_phone_is_not_sent_without_the_number() {
        let submit = |location: Option<&str>| Action::Submit {
            fresh_key: "k1".into(),
            location: location.map(str::to_owned),
        };
        let by_phone = apply(ready_to_send(), [submit(Some("phone"))]);
        assert_eq!(by_phone.problems, [(Field::Phone, FieldProblem::Missing)]);
        assert_eq!(by_phone.submission, Submission::Idle);
        let by_video = apply(ready_to_send(), [submit(Some("video"))]);
        assert!(matches!(by_video.submission, Submission::Sending { .. }));
    }

    fn ready_to_send() -> BookingState {
        apply(
            BookingState::new(at("2026-12-01T00:00:00Z")),
            [
                Action::PracticeLoaded(practice(FieldRule::Optional)),
                Action::SlotsLoaded(vec![
                    day(
                        "2026-12-01",
                        &["2026-12-01T14:00:00Z", "2026-12-01T14:15:00Z"],
                    ),
                    day("2026-12-02", &["2026-12-02T14:00:00Z"]),
                ]),
                Action::ChooseDay("2026-12-01".parse().unwrap()),
                Action::ChooseSlot(slot("2026-12-01T14:15:00Z")),
                Action::Edit(Field::Name, "Sam Lee".into()),
                Action::Edit(Field::Email, "sam@example.org".into()),
                Action::SetConsent(true),
            ],
        )
    }

    fn created() -> BookingCreated {
        BookingCreated {
            booking: BookingView {
                id: "bk_1".into(),
                status: BookingStatus::Pending,
                service: "free-consultation".into(),
                start: at("2026-12-01T14:15:00Z"),
                end: at("2026-12-01T14:30:00Z"),
                expires_at: None,
                video_url: None,
                clinician: None,
            },
            manage_token: "t".into(),
        }
    }

    #[test]
    fn starts_loading_and_shows_the_first_day_until_one_is_chosen() {
        let state = BookingState::new(at("2026-12-01T00:00:00Z"));
        assert_eq!(
            (state.practice.clone(), state.days.clone()),
            (Load::Loading, Load::Loading)
        );
        assert_eq!(
            state.window(),
            (at("2026-12-01T00:00:00Z"), at("2026-12-15T00:00:00Z"))
        );
        let state = apply(
            state,
            [Action::SlotsLoaded(vec![
                day("2026-12-01", &["2026-12-01T14:00:00Z"]),
                day("2026-12-02", &["2026-12-02T14:00:00Z"]),
            ])],
        );
        assert_eq!(state.visible_day().unwrap().date.to_string(), "2026-12-01");
        let state = apply(state, [Action::ChooseDay("2026-12-02".parse().unwrap())]);
        assert_eq!(state.visible_day().unwrap().date.to_string(), "2026-12-02");
    }

    #[test]
    fn submitting_an_incomplete_form_names_each_problem_and_sends_nothing() {
        let state = apply(
            ready_to_send(),
            [
                Action::Edit(Field::Name, " ".into()),
                Action::Edit(Field::Email, "sam@".into()),
                Action::SetConsent(false),
                Action::Submit {
                    fresh_key: "k1".into(),
                    location: None,
                },
            ],
        );
        assert_eq!(state.submission, Submission::Idle);
        assert_eq!(
            state.problems,
            [
                (Field::Name, FieldProblem::Missing),
                (Field::Email, FieldProblem::Invalid),
                (Field::Consent, FieldProblem::Missing)
            ]
        );
        let state = apply(state, [Action::Edit(Field::Name, "Sam".into())]);
        assert_eq!(
            problem(&state, Field::Name),
            None,
            "editing a field clears its problem"
        );
    }

    #[test]
    fn a_required_phone_is_asked_for() {
        let state = apply(
            ready_to_send(),
            [
                Action::PracticeLoaded(practice(FieldRule::Required)),
                Action::Submit {
                    fresh_key: "k".into(),
                    location: None,
                },
            ],
        );
        assert_eq!(problem(&state, Field::Phone), Some(FieldProblem::Missing));
    }

    #[test]
    fn a_retry_after_a_passing_failure_reuses_the_key() {
        let state = apply(
            ready_to_send(),
            [Action::Submit {
                fresh_key: "k1".into(),
                location: None,
            }],
        );
        assert_eq!(
            state.submission,
            Submission::Sending {
                attempt: 1,
                key: "k1".into()
            }
        );
        let state = apply(
            state,
            [
                Action::BookingFailed(ApiError::Offline),
                Action::Submit {
                    fresh_key: "k2".into(),
                    location: None,
                },
            ],
        );
        assert_eq!(
            state.submission,
            Submission::Sending {
                attempt: 2,
                key: "k1".into()
            }
        );
    }

    #[test]
    fn changing_the_request_after_a_failure_takes_a_new_key() {
        let state = apply(
            ready_to_send(),
            [
                Action::Submit {
                    fresh_key: "k1".into(),
                    location: None,
                },
                Action::BookingFailed(ApiError::Unavailable),
                Action::Edit(Field::Name, "Sam Leigh".into()),
                Action::Submit {
                    fresh_key: "k2".into(),
                    location: None,
                },
            ],
        );
        assert_eq!(
            state.submission,
            Submission::Sending {
                attempt: 2,
                key: "k2".into()
            }
        );
    }

    #[test]
    fn a_second_submit_while_sending_is_ignored() {
        let state = apply(
            ready_to_send(),
            [
                Action::Submit {
                    fresh_key: "k1".into(),
                    location: None,
                },
                Action::Submit {
                    fresh_key: "k2".into(),
                    location: None,
                },
            ],
        );
        assert_eq!(
            state.submission,
            Submission::Sending {
                attempt: 1,
                key: "k1".into()
            }
        );
    }

    #[test]
    fn a_taken_slot_is_announced_removed_and_refetched_and_the_form_is_kept() {
        let before = apply(
            ready_to_send(),
            [Action::Submit {
                fresh_key: "k1".into(),
                location: None,
            }],
        );
        let state = apply(before.clone(), [Action::BookingFailed(ApiError::SlotTaken)]);
        assert_eq!(state.notice, Some(Notice::SlotTaken));
        assert_eq!(state.selected_slot, None);
        assert_eq!(state.slots_request, before.slots_request + 1);
        assert_eq!(state.form, before.form);
        assert!(!state
            .visible_day()
            .unwrap()
            .slots
            .contains(&slot("2026-12-01T14:15:00Z")));
        assert_eq!(state.retry_key, None, "the next request is a new one");
        let state = apply(state, [Action::ChooseSlot(slot("2026-12-01T14:00:00Z"))]);
        assert_eq!(state.notice, None);
    }

    #[test]
    fn a_day_whose_last_time_was_taken_leaves_the_list() {
        let state = apply(
            ready_to_send(),
            [
                Action::ChooseDay("2026-12-02".parse().unwrap()),
                Action::ChooseSlot(slot("2026-12-02T14:00:00Z")),
                Action::Submit {
                    fresh_key: "k1".into(),
                    location: None,
                },
                Action::BookingFailed(ApiError::SlotTaken),
            ],
        );
        let Load::Loaded(days) = &state.days else {
            panic!("the days stay loaded");
        };
        let dates: Vec<String> = days.iter().map(|d| d.date.to_string()).collect();
        assert_eq!(dates, ["2026-12-01"]);
        assert_eq!(state.selected_day, None);
        assert_eq!(state.visible_day().unwrap().slots.len(), 2);
        assert_eq!(state.notice, Some(Notice::SlotTaken));
    }

    #[test]
    fn a_server_side_field_problem_is_shown_at_its_field() {
        let state = apply(
            ready_to_send(),
            [
                Action::Submit {
                    fresh_key: "k1".into(),
                    location: None,
                },
                Action::BookingFailed(ApiError::Invalid {
                    field: "client.email".into(),
                }),
            ],
        );
        assert_eq!(problem(&state, Field::Email), Some(FieldProblem::Invalid));
        assert_eq!(state.submission, Submission::Idle);
    }

    #[test]
    fn success_ends_the_request() {
        let state = apply(
            ready_to_send(),
            [
                Action::Submit {
                    fresh_key: "k1".into(),
                    location: None,
                },
                Action::Booked(created()),
            ],
        );
        assert_eq!(state.submission, Submission::Done(created()));
        assert_eq!(state.retry_key, None);
    }

    #[test]
    fn fresh_slots_keep_the_choice_while_it_is_still_offered() {
        let state = apply(
            ready_to_send(),
            [
                Action::BackToTimes,
                Action::ChooseSlot(slot("2026-12-01T14:15:00Z")),
                Action::SlotsLoaded(vec![day(
                    "2026-12-01",
                    &["2026-12-01T14:00:00Z", "2026-12-01T14:15:00Z"],
                )]),
            ],
        );
        assert_eq!(state.selected_slot, Some(slot("2026-12-01T14:15:00Z")));
        let state = apply(
            state,
            [Action::SlotsLoaded(vec![day(
                "2026-12-02",
                &["2026-12-02T14:00:00Z"],
            )])],
        );
        assert_eq!((state.selected_slot, state.selected_day), (None, None));
    }

    #[test]
    fn moving_the_window_refetches() {
        let state = apply(
            ready_to_send(),
            [Action::ShowFrom(at("2026-12-20T00:00:00Z"))],
        );
        assert_eq!(state.days, Load::Loading);
        assert_eq!(state.window().0, at("2026-12-20T00:00:00Z"));
        assert_eq!(state.selected_day, None);
        let reloaded = apply(state.clone(), [Action::Retry]);
        assert_eq!(reloaded.slots_request, state.slots_request + 1);
        assert_eq!(
            reloaded.practice_request, state.practice_request,
            "the practice had arrived"
        );
    }

    fn booking_at(start: &str, status: BookingStatus) -> BookingView {
        BookingView {
            status,
            start: at(start),
            end: at(start) + Duration::minutes(15),
            ..created().booking
        }
    }

    /// A widget opened by a manage link, its booking (14:15, confirmed) and
    /// the practice arrived.
    fn managing() -> BookingState {
        apply(
            BookingState::managing(at("2026-12-01T00:00:00Z"), "bk_1.t".into()),
            [
                Action::PracticeLoaded(practice(FieldRule::Required)),
                Action::CurrentLoaded(booking_at("2026-12-01T14:15:00Z", BookingStatus::Confirmed)),
            ],
        )
    }

    #[test]
    fn a_manage_link_is_an_id_and_a_token() {
        assert_eq!(manage_link("bk_1.tok-en_"), Some(("bk_1", "tok-en_")));
        for broken in ["", "bk_1", "bk_1.", ".token", "."] {
            assert_eq!(manage_link(broken), None, "{broken:?}");
        }
    }

    #[test]
    fn a_managed_booking_is_read_before_anything_shows_and_its_own_time_is_not_offered() {
        let opened = BookingState::managing(at("2026-12-01T00:00:00Z"), "bk_1.t".into());
        assert_eq!(opened.current_booking(), None);
        assert_eq!(opened.blocking_problem(), None, "still loading");
        let state = apply(
            managing(),
            [Action::SlotsLoaded(vec![
                day(
                    "2026-12-01",
                    &["2026-12-01T14:00:00Z", "2026-12-01T14:15:00Z"],
                ),
                day("2026-12-02", &["2026-12-02T14:15:00Z"]),
            ])],
        );
        assert_eq!(
            state.current_booking().map(|b| b.start),
            Some(at("2026-12-01T14:15:00Z"))
        );
        let Load::Loaded(days) = &state.days else {
            panic!("the days are shown");
        };
        let offered: Vec<DateTime<Utc>> = days
            .iter()
            .flat_map(|d| d.slots.iter().map(|s| s.start))
            .collect();
        assert_eq!(
            offered,
            [at("2026-12-01T14:00:00Z"), at("2026-12-02T14:15:00Z")]
        );
    }

    #[test]
    fn a_move_sends_the_new_time_alone_with_one_key_across_retries() {
        // The practice requires a phone number, yet a move asks for no form.
        let state = apply(
            managing(),
            [
                Action::SlotsLoaded(vec![day("2026-12-01", &["2026-12-01T14:00:00Z"])]),
                Action::ChooseSlot(slot("2026-12-01T14:00:00Z")),
                Action::Submit {
                    fresh_key: "k1".into(),
                    location: Some("phone".into()),
                },
                Action::BookingFailed(ApiError::RateLimited { retry_after: None }),
            ],
        );
        assert!(state.problems.is_empty());
        assert_eq!(
            state.submission,
            Submission::Failed(ApiError::RateLimited { retry_after: None })
        );
        assert_eq!(state.blocking_problem(), None, "a passing failure: retry");
        let state = apply(
            state,
            [
                Action::Submit {
                    fresh_key: "k2".into(),
                    location: None,
                },
                Action::BookingFailed(ApiError::Offline),
                Action::Submit {
                    fresh_key: "k3".into(),
                    location: None,
                },
            ],
        );
        assert_eq!(
            state.submission,
            Submission::Sending {
                attempt: 3,
                key: "k1".into()
            },
            "every retry of the same pick sends its first key"
        );
        let moved = BookingCreated {
            booking: booking_at("2026-12-01T14:00:00Z", BookingStatus::Pending),
            ..created()
        };
        let state = apply(state, [Action::Booked(moved.clone())]);
        assert_eq!(state.submission, Submission::Done(moved));
        // Another pick is another request.
        let again = apply(
            state,
            [
                Action::ChooseSlot(slot("2026-12-01T14:00:00Z")),
                Action::Submit {
                    fresh_key: "k4".into(),
                    location: None,
                },
            ],
        );
        assert!(matches!(&again.submission, Submission::Sending { key, .. } if key == "k4"));
    }

    #[test]
    fn a_time_taken_meanwhile_leaves_the_booking_and_offers_the_others() {
        let state = apply(
            managing(),
            [
                Action::SlotsLoaded(vec![day(
                    "2026-12-01",
                    &["2026-12-01T14:00:00Z", "2026-12-01T14:30:00Z"],
                )]),
                Action::ChooseSlot(slot("2026-12-01T14:00:00Z")),
                Action::Submit {
                    fresh_key: "k1".into(),
                    location: None,
                },
                Action::BookingFailed(ApiError::SlotTaken),
            ],
        );
        assert_eq!(state.notice, Some(Notice::SlotTaken));
        assert_eq!((state.selected_slot, state.retry_key.clone()), (None, None));
        assert_eq!(
            state.current_booking().map(|b| b.start),
            Some(at("2026-12-01T14:15:00Z")),
            "the booking keeps its time"
        );
        assert_eq!(state.blocking_problem(), None);
        assert_eq!(
            state.visible_day().unwrap().slots,
            [slot("2026-12-01T14:30:00Z")]
        );
    }

    #[test]
    fn what_the_visitor_cannot_change_here_stops_the_visit() {
        for refusal in [ApiError::ChangeWindowClosed, ApiError::BookingClosed] {
            let state = apply(
                managing(),
                [
                    Action::ChooseSlot(slot("2026-12-01T14:00:00Z")),
                    Action::Submit {
                        fresh_key: "k1".into(),
                        location: None,
                    },
                    Action::BookingFailed(refusal.clone()),
                ],
            );
            assert_eq!(state.blocking_problem(), Some(refusal));
        }
        let closed = apply(
            managing(),
            [Action::CurrentLoaded(booking_at(
                "2026-12-01T14:15:00Z",
                BookingStatus::Cancelled,
            ))],
        );
        assert_eq!(closed.blocking_problem(), Some(ApiError::BookingClosed));
        let unknown = apply(managing(), [Action::CurrentFailed(ApiError::NotFound)]);
        assert_eq!(unknown.blocking_problem(), Some(ApiError::NotFound));
    }

    #[test]
    fn retry_reads_again_a_booking_that_did_not_arrive() {
        let state = apply(managing(), [Action::CurrentFailed(ApiError::Offline)]);
        assert_eq!(state.blocking_problem(), Some(ApiError::Offline));
        let state = apply(state, [Action::Retry]);
        assert_eq!(state.blocking_problem(), None);
        assert_eq!(state.practice_request, 1, "the booking is asked for again");
        assert_eq!(state.managed.as_ref().unwrap().booking, Load::Loading);
    }

    #[test]
    fn a_pick_starts_the_times_over_and_back_undoes_the_latest_pick() {
        let state = apply(
            ready_to_send(),
            [
                Action::ShowFrom(at("2026-12-20T00:00:00Z")),
                Action::Mark(2),
                Action::PickService("intake".into()),
            ],
        );
        assert_eq!(state.picks.service.as_deref(), Some("intake"));
        assert_eq!(state.days, Load::Loading);
        assert_eq!(
            state.window().0,
            at("2026-12-01T00:00:00Z"),
            "from the start"
        );
        assert_eq!((state.selected_day, state.selected_slot), (None, None));
        assert_eq!(state.marked, 0, "the next step's first option is marked");

        let state = apply(state, [Action::Mark(1), Action::PickClinician(None)]);
        assert_eq!(state.picks.clinician, Some(None), "first available");
        let state = apply(state, [Action::Back]);
        assert_eq!(
            (
                state.picks.service.as_deref(),
                state.picks.clinician.clone()
            ),
            (Some("intake"), None),
            "back to the clinician step"
        );
        let state = apply(state, [Action::PickClinician(Some("dana".into()))]);
        assert_eq!(state.picks.clinician, Some(Some("dana".into())));
        let state = apply(state, [Action::Back, Action::Back]);
        assert_eq!(state.picks, Picks::default(), "back to the service step");
        assert_eq!(
            state.form,
            ready_to_send().form,
            "what was typed is kept throughout"
        );
    }

    #[test]
    fn retry_fetches_again_what_failed() {
        let state = apply(
            BookingState::new(at("2026-12-01T00:00:00Z")),
            [
                Action::PracticeFailed(ApiError::Offline),
                Action::SlotsFailed(ApiError::Offline),
                Action::Retry,
            ],
        );
        assert_eq!(
            (state.practice.clone(), state.days.clone()),
            (Load::Loading, Load::Loading)
        );
        assert_eq!((state.practice_request, state.slots_request), (1, 1));
    }
}
