use firststep_protocol::Slot;
use yew::prelude::*;

/// One time button, its texts already formatted for the visitor.
#[derive(Clone, PartialEq)]
pub struct TimeChoice {
    pub slot: Slot,
    /// "9:00 AM" in the visitor's zone.
    pub label: String,
    /// "3:00 PM for the practice", when the practice's clock reads otherwise.
    pub practice_label: Option<String>,
    /// ", Tuesday, December 1, Central European Standard Time": read by
    /// assistive tech after the time, not shown (the visible text stays part
    /// of the accessible name).
    pub context: String,
}

#[derive(Properties, PartialEq)]
pub struct TimeListProps {
    pub times: Vec<TimeChoice>,
    pub selected: Option<Slot>,
    pub label: AttrValue,
    pub on_choose: Callback<Slot>,
}

/// The open times of one day.
#[component]
pub fn TimeList(props: &TimeListProps) -> Html {
    html! {
        <ul class="fs-times" aria-label={props.label.clone()}>
            { for props.times.iter().map(|time| {
                let slot = time.slot;
                let pressed = props.selected == Some(slot);
                let on_choose = props.on_choose.clone();
                html! {
                    <li>
                        <button type="button" class="fs-time" aria-pressed={if pressed { "true" } else { "false" }}
                            onclick={move |_| on_choose.emit(slot)}>
                            <span class="fs-time-visitor">{ &time.label }</span>
                            <span class="fs-visually-hidden">{ &time.context }</span>
                            { time.practice_label.as_ref().map(|label| html! {
                                <span class="fs-time-practice">{ label }</span>
                            }) }
                        </button>
                    </li>
                }
            }) }
        </ul>
    }
}
