use chrono::NaiveDate;
use yew::prelude::*;

/// One day button, its texts already formatted for the visitor.
#[derive(Clone, PartialEq)]
pub struct DayChoice {
    pub date: NaiveDate,
    /// "Tue, Dec 1".
    pub label: String,
    /// ", 12 open times": read by assistive tech after the label, not shown.
    pub detail: String,
}

#[derive(Properties, PartialEq)]
pub struct DayListProps {
    pub days: Vec<DayChoice>,
    pub selected: Option<NaiveDate>,
    pub label: AttrValue,
    pub on_choose: Callback<NaiveDate>,
}

/// The days that have open times, as a row of toggle buttons.
#[component]
pub fn DayList(props: &DayListProps) -> Html {
    html! {
        <ul class="fs-days" aria-label={props.label.clone()}>
            { for props.days.iter().map(|day| {
                let date = day.date;
                let pressed = props.selected == Some(date);
                let on_choose = props.on_choose.clone();
                html! {
                    <li>
                        <button type="button" class="fs-day" aria-pressed={if pressed { "true" } else { "false" }}
                            onclick={move |_| on_choose.emit(date)}>
                            { &day.label }
                            <span class="fs-visually-hidden">{ &day.detail }</span>
                        </button>
                    </li>
                }
            }) }
        </ul>
    }
}
