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
use crate::model::api_error::ApiError;
use crate::model::days::{days_after, group_by_day};
use crate::model::state::{manage_link, Action, BookingState, Load, Submission};

/// How far past an empty window to look for the next open day.
const LOOKAHEAD_DAYS: i64 = 48;

/// What `GET /v1/slots` asks for: the service and the clinician, each left
/// out when `None` (the practice's only service; first available).
pub type SlotQuery = (Option<String>, Option<String>);

/// The practice, the booking a manage link (`ID.TOKEN`) opens, and the
/// slots of the window, grouped into the visitor's days: the practice on
/// start, on a new adapter and on a retry after it failed; that booking
/// after the practice, on start and on a retry after it failed (another
/// manage link starts the app afresh: `element.rs`); the slots of `query` on start, on a new window or query, after a
/// retry or a taken slot, and none while `query` is `None` (a step asks the
/// visitor to choose first, or the booking to move is on its way). The
/// requests leave at once, and the answers are dispatched in the same task,
/// so Yew renders them together (not the practice over a placeholder
/// first). A link not shaped as one opens nothing, without asking. An empty
/// window also looks for the next open day.
#[hook]
pub fn use_practice_and_slots(
    client: &Rc<AdapterClient>,
    query: Option<SlotQuery>,
    state: &UseReducerHandle<BookingState>,
    events: &HostEvents,
    clock: &Rc<LocalClock>,
) {
    let (state, events, clock) = (state.clone(), events.clone(), clock.clone());
    let key = (
        client.clone(),
        query,
        state.practice_request,
        state.slots_request,
        state.window_start,
    );
    use_effect_with(key, move |(client, query, ..)| {
        let cancelled = Rc::new(Cell::new(false));
        let (client, query, done) = (client.clone(), query.clone(), cancelled.clone());
        let (from, to) = state.window();
        // The practice while none has arrived (at start, after a failure),
        // and from each new adapter until it has answered.
        let asks_practice =
            !client.practice_answered.get() || matches!(state.practice, Load::Loading);
        let practice = asks_practice.then(|| client.practice());
        let slots = query.as_ref().map(|(service, clinician)| {
            client.slots(service.as_deref(), clinician.as_deref(), from, to)
        });
        spawn_local(async move {
            // The formatters, made while the answers are on their way.
            clock.prepare();
            let practice = match practice {
                Some(asked) => Some(asked.await),
                None => None,
            };
            // The booking second: the practice is most often the loader's answer already.
            let managed = state.managed.as_ref();
            let booking = match managed.filter(|m| matches!(m.booking, Load::Loading)) {
                Some(managed) => Some(match manage_link(&managed.link) {
                    Some((id, token)) => client.booking(id, token).await,
                    None => Err(ApiError::NotFound),
                }),
                None => None,
            };
            let slots = match slots {
                Some(asked) => Some(asked.await),
                None => None,
            };
            if done.get() {
                return;
            }
            if practice.is_some() {
                client.practice_answered.set(true);
            }
            match practice {
                Some(Ok(practice)) => state.dispatch(Action::PracticeLoaded(practice)),
                Some(Err(error)) => {
                    events.error(&error);
                    state.dispatch(Action::PracticeFailed(error));
                }
                None => {}
            }
            match booking {
                Some(Ok(booking)) => state.dispatch(Action::CurrentLoaded(booking)),
                Some(Err(error)) => {
                    events.error(&error);
                    state.dispatch(Action::CurrentFailed(error));
                }
                None => {}
            }
            let (Some(slots), Some((service, clinician))) = (slots, query) else {
                return;
            };
            let (service, clinician) = (service.as_deref(), clinician.as_deref());
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
                            .slots(service, clinician, to, days_after(to, LOOKAHEAD_DAYS))
                            .await;
                        if !done.get() {
                            let first = later.ok().and_then(|list| list.slots.first().copied());
                            state.dispatch(Action::NextAvailableFound(first));
                        }
                    }
                }
                // Asked before the practice was known, without a service: the
                // practice has several, and the service step asks for one.
                Err(ApiError::UnknownService) if service.is_none() => {}
                Err(error) => {
                    events.error(&error);
                    state.dispatch(Action::SlotsFailed(error));
                }
            }
        });
        move || cancelled.set(true)
    });
}

/// The booking request of `booked` (the service, and the clinician or
/// `None` for first available), or the move of a manage link's booking, each
/// time the state says to send it (a retry sends the same key again).
#[hook]
pub fn use_submission(
    client: &Rc<AdapterClient>,
    booked: Option<(String, Option<String>)>,
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
        let Some((service, clinician)) = booked else {
            return;
        };
        let (Some((_, key)), Some(slot), Some(practice), Some(service)) = (
            sending.clone(),
            state.selected_slot,
            state.loaded_practice(),
            state.chosen_service(Some(&service)),
        ) else {
            return;
        };
        let phone = visitor_fields::phone_rule(practice.form.phone, service.location.as_deref());
        let mut request = state.form.to_request(
            &service.id,
            slot,
            phone,
            practice.form.note,
            Some(clock.visitor_zone().to_owned()),
            Some(locale),
        );
        request.clinician = clinician;
        spawn_local(async move {
            let link = state.managed.as_ref().map(|m| m.link.as_str());
            let answer = match link.and_then(manage_link) {
                Some(link) => client.reschedule(link, slot.start, &key).await,
                None => client.book(&request, &key).await,
            };
            match answer {
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
