//! The app's effects, one hook each: they turn state into requests to the
//! adapter and the answers back into actions. Each runs again when the
//! counter or value it is keyed on changes, and an answer that arrives after
//! its effect was replaced is dropped.

use std::cell::Cell;
use std::rc::Rc;

use chrono::Duration;
use firststep_protocol::{visitor_fields, ServiceInfo};
use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;

use crate::browser::events::HostEvents;
use crate::browser::http::AdapterClient;
use crate::browser::intl::LocalClock;
use crate::model::api_error::ApiError;
use crate::model::days::group_by_day;
use crate::model::state::{manage_link, Action, BookingState, Submission, WINDOW_DAYS};

/// How far past an empty window to look for the next open day.
const LOOKAHEAD_DAYS: i64 = 48;

/// The practice, and the booking a manage link (`ID.TOKEN`) opens: on
/// start, on a new adapter, on retry. (The booking comes second, in the
/// same task: one hook less in the download, and the practice is most often
/// the loader's answer already.) A link not shaped as one opens nothing,
/// without asking.
#[hook]
pub fn use_practice(
    client: &Rc<AdapterClient>,
    state: &UseReducerHandle<BookingState>,
    events: &HostEvents,
) {
    let (state, events) = (state.clone(), events.clone());
    let practice_request = state.practice_request;
    use_effect_with((client.clone(), practice_request), move |(client, _)| {
        let cancelled = Rc::new(Cell::new(false));
        let (client, done) = ((**client).clone(), cancelled.clone());
        spawn_local(async move {
            let result = client.practice().await;
            if done.get() {
                return;
            }
            match result {
                Ok(practice) => state.dispatch(Action::PracticeLoaded(practice)),
                Err(error) => {
                    events.error(&error);
                    state.dispatch(Action::PracticeFailed(error));
                }
            }
            let Some(managed) = &state.managed else {
                return;
            };
            let result = match manage_link(&managed.link) {
                Some((id, token)) => client.booking(id, token).await,
                None => Err(ApiError::NotFound),
            };
            if !done.get() {
                state.dispatch(match result {
                    Ok(booking) => Action::CurrentLoaded(booking),
                    Err(error) => {
                        events.error(&error);
                        Action::CurrentFailed(error)
                    }
                });
            }
        });
        move || cancelled.set(true)
    });
}

/// What `GET /v1/slots` asks for: the service and the clinician, each left
/// out when `None` (the practice's only service; first available).
pub type SlotQuery = (Option<String>, Option<String>);

/// The slots of the window, grouped into the visitor's days: on start, on a
/// new window or query, after a retry or a taken slot; none while `query` is
/// `None` (a step asks the visitor to choose first, or a manage link's
/// booking is on its way). An empty window also looks for the next open day.
#[hook]
pub fn use_slots(
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
        state.slots_request,
        state.window_start,
    );
    use_effect_with(key, move |(client, query, _, start)| {
        let cancelled = Rc::new(Cell::new(false));
        let (client, query, done) = ((**client).clone(), query.clone(), cancelled.clone());
        let (from, to) = (*start, *start + Duration::days(WINDOW_DAYS));
        spawn_local(async move {
            let Some((service, clinician)) = query else {
                return;
            };
            let (service, clinician) = (service.as_deref(), clinician.as_deref());
            let result = client.slots(service, clinician, from, to).await;
            if done.get() {
                return;
            }
            match result {
                Ok(list) => {
                    let count = list.slots.len();
                    events.slots_loaded(count);
                    state.dispatch(Action::SlotsLoaded(group_by_day(list.slots, |t| {
                        clock.local_date_and_time(t)
                    })));
                    if count == 0 {
                        // Nothing here: find the next open day to offer instead.
                        let later = client
                            .slots(service, clinician, to, to + Duration::days(LOOKAHEAD_DAYS))
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
    booked: Option<(ServiceInfo, Option<String>)>,
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
        let (Some((_, key)), Some(slot), Some(practice), Some((service, clinician))) = (
            sending.clone(),
            state.selected_slot,
            state.loaded_practice(),
            booked,
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
