//! The app's effects: they turn state into requests to the
//! adapter and the answers back into actions. Each runs again when the
//! counter or value it is keyed on changes, and an answer that arrives after
//! its effect was replaced is dropped.

use std::cell::Cell;
use std::rc::Rc;

use firststep_protocol::visitor_fields;
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::browser::events::HostEvents;
use crate::browser::http::AdapterClient;
use crate::browser::intl::LocalClock;
use crate::model::days::{days_after, group_by_day};
use crate::model::state::{Action, BookingState, Load, Submission};

/// How far past an empty window to look for the next open day.
const LOOKAHEAD_DAYS: i64 = 48;

/// The practice and the slots of the window, grouped into the visitor's
/// days: both on start, on a new adapter and on a retry after the practice
/// failed; the slots alone on a new window, after a retry or a taken slot.
/// Both requests leave at once, and both answers are dispatched in the same
/// task, so Yew renders them together (not the practice over a placeholder
/// first). An empty window also looks for the next open day.
#[hook]
pub fn use_practice_and_slots(
    client: &Rc<AdapterClient>,
    service: Option<String>,
    state: &UseReducerHandle<BookingState>,
    events: &HostEvents,
    clock: &Rc<LocalClock>,
) {
    let (state, events, clock) = (state.clone(), events.clone(), clock.clone());
    let key = (
        client.clone(),
        service,
        state.practice_request,
        state.slots_request,
        state.window_start,
    );
    use_effect_with(key, move |(client, service, ..)| {
        let cancelled = Rc::new(Cell::new(false));
        let (client, service, done) = ((**client).clone(), service.clone(), cancelled.clone());
        let (from, to) = state.window();
        let practice = matches!(state.practice, Load::Loading).then(|| client.practice());
        let slots = client.slots(service.as_deref(), from, to);
        spawn_local(async move {
            // The formatters, made while the answers are on their way.
            clock.prepare();
            let practice = match practice {
                Some(asked) => Some(asked.await),
                None => None,
            };
            let slots = slots.await;
            if done.get() {
                return;
            }
            match practice {
                Some(Ok(practice)) => state.dispatch(Action::PracticeLoaded(practice)),
                Some(Err(error)) => {
                    events.error(&error);
                    state.dispatch(Action::PracticeFailed(error));
                }
                None => {}
            }
            match slots {
                Ok(list) => {
                    let count = list.slots.len();
                    events.slots_loaded(count);
                    state.dispatch(Action::SlotsLoaded(group_by_day(list.slots, |t| {
                        clock.local_date_and_time(t)
                    })));
                    if count == 0 {
                        // Nothing here: find the next open day to offer instead.
                        let later = client
                            .slots(service.as_deref(), to, days_after(to, LOOKAHEAD_DAYS))
                            .await;
                        if !done.get() {
                            let first = later.ok().and_then(|list| list.slots.first().copied());
                            state.dispatch(Action::NextAvailableFound(first));
                        }
                    }
                }
                Err(error) => {
                    events.error(&error);
                    state.dispatch(Action::SlotsFailed(error));
                }
            }
        });
        move || cancelled.set(true)
    });
}

/// The booking request, each time the state says to send it (a retry sends
/// the same key again).
#[hook]
pub fn use_submission(
    client: &Rc<AdapterClient>,
    service_id: Option<String>,
    locale: String,
    state: &UseReducerHandle<BookingState>,
    events: &HostEvents,
    clock: &Rc<LocalClock>,
) {
    let sending = match &state.submission {
        Submission::Sending { attempt, key } => Some((*attempt, key.clone())),
        _ => None,
    };
    let (state, events, clock, client) =
        (state.clone(), events.clone(), clock.clone(), client.clone());
    use_effect_with(sending, move |sending| {
        let (Some((_, key)), Some(slot), Some(practice), Some(service)) = (
            sending.clone(),
            state.selected_slot,
            state.loaded_practice(),
            state.chosen_service(service_id.as_deref()),
        ) else {
            return;
        };
        let phone = visitor_fields::phone_rule(practice.form.phone, service.location.as_deref());
        let request = state.form.to_request(
            &service.id,
            slot,
            phone,
            practice.form.note,
            Some(clock.visitor_zone().to_owned()),
            Some(locale),
        );
        spawn_local(async move {
            match client.book(&request, &key).await {
                Ok(created) => {
                    events.booking(&created);
                    state.dispatch(Action::Booked(created));
                }
                Err(error) => {
                    events.error(&error);
                    state.dispatch(Action::BookingFailed(error));
                }
            }
        });
    });
}
