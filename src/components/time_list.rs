use firststep_protocol::Slot;
use yew::prelude::*;

/// One time button, its texts already formatted for the visitor.
pub struct TimeChoice {
    pub slot: Slot,
    /// "9:00 AM" in the visitor's zone.
    pub label: String,
    /// "9:00 AM, Tuesday, December 1, Central European Standard Time, 3:00 AM
    /// for the practice" (the practice's time when its clock reads
    /// otherwise): the accessible name, the visible text first. Not shown:
    /// the practice's time is shown once, for the chosen time, in the next
    /// step. An `aria-label`, not a visually hidden text: 52 such texts laid
    /// out on every choice of a long day cost a phone's tap its next frame.
    pub name: AttrValue,
}

/// The times of one part of the day, under its heading.
pub struct TimeGroup {
    /// "Morning".
    pub label: &'static str,
    pub times: Vec<TimeChoice>,
}

/// The open times of one day, in a compact grid per part of the day, each
/// list under its heading (a screen reader's way through a long day: by
/// heading), each time a button in the Tab order. Plain buttons, not
/// toggles: the list is shown only while no time is chosen (choosing one
/// moves on to the details).
pub fn time_list(groups: &[TimeGroup], on_choose: &Callback<Slot>) -> Html {
    html! {
        <>{ for groups.iter().map(|group| html! {
            <>
                <h4 class="fs-part">{ group.label }</h4>
                <ul class="fs-times">
                    { for group.times.iter().map(|time| {
                        let slot = time.slot;
                        let on_choose = on_choose.clone();
                        html! {
                            <li>
                                <button type="button" class="fs-time" aria-label={&time.name} onclick={move |_| on_choose.emit(slot)}>
                                    { &time.label }
                                </button>
                            </li>
                        }
                    }) }
                </ul>
            </>
        }) }</>
    }
}
