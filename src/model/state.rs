//! All of the widget's state, in one [`Reducible`]. `reduce` does no I/O: the
//! app turns state into requests (keyed on the counters below) and requests'
//! results back into [`Action`]s. Unit-tested natively.

use std::rc::Rc;

use chrono::{DateTime, NaiveDate, Utc};
use firststep_protocol::{
    visitor_fields, BookingCreated, FieldRule, PracticeInfo, ServiceInfo, Slot,
};
use yew::Reducible;

use super::api_error::ApiError;
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
            attempts: 0,
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

impl Reducible for BookingState {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            Action::PracticeLoaded(practice) => next.practice = Load::Loaded(Rc::new(practice)),
            Action::PracticeFailed(error) => next.practice = Load::Failed(error),
            Action::Retry => {
                if matches!(next.practice, Load::Failed(_)) {
                    next.practice = Load::Loading;
                    next.practice_request += 1;
                }
                next.days = Load::Loading;
                next.slots_request += 1;
            }
            Action::SlotsLoaded(days) => {
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
                next.problems = next.form.problems(phone, note);
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
                        for day in days.iter_mut() {
                            day.slots.retain(|slot| *slot != taken);
                        }
                        // A day is listed only while it has a time (the view reads its first).
                        days.retain(|day| !day.slots.is_empty());
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
