use chrono::NaiveDate;
use yew::prelude::*;

/// One day button, its texts already formatted for the visitor.
pub struct DayChoice {
    pub date: NaiveDate,
    /// "Tue, Dec 1".
    pub label: String,
    /// ", 12 open times": read by assistive tech after the label, not shown.
    pub detail: String,
}

/// The days that have open times, as a row of toggle buttons, `selected` pressed.
pub fn day_list(
    days: &[DayChoice],
    selected: Option<NaiveDate>,
    label: &'static str,
    on_choose: &Callback<NaiveDate>,
) -> Html {
    html! {
        <ul class="fs-days" aria-label={label}>
            { for days.iter().map(|day| {
                let date = day.date;
                let pressed = selected == Some(date);
                let on_choose = on_choose.clone();
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
