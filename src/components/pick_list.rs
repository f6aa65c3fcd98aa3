use yew::prelude::*;

/// One option of a step's radio group, its texts ready.
pub struct PickOption {
    /// What choosing it picks: a service's or clinician's id, `None` for
    /// "first available".
    pub id: Option<String>,
    /// The option's accessible name: "Dana Whitfield (she/her)".
    pub label: String,
    /// Said after the name as its description: a bio, a service's length.
    pub detail: Option<String>,
}

/// A step that asks the visitor to choose one (a service, a clinician): a
/// fieldset of native radios named by its legend, the arrow keys moving
/// the mark, and "Continue" (or Enter) choosing the marked option. The mark
/// is the app's state, so a render never moves it.
pub struct PickList<'a> {
    /// The question, the group's name and the step's heading.
    pub legend: &'a str,
    pub options: Vec<PickOption>,
    pub marked: usize,
    pub continue_label: &'a str,
    /// The heading, focused when the step appears.
    pub heading: NodeRef,
    pub on_mark: Callback<usize>,
    /// Given the marked option's id.
    pub on_pick: Callback<Option<String>>,
}

impl PickList<'_> {
    pub fn view(self) -> Html {
        let (on_pick, marked) = (self.on_pick, self.marked);
        let picked = self.options.get(marked).map(|option| option.id.clone());
        let onsubmit = Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            if let Some(id) = &picked {
                on_pick.emit(id.clone());
            }
        });
        html! {
            <form class="fs-form" {onsubmit}>
                <fieldset class="fs-picks">
                    <legend><h3 class="fs-step-heading" tabindex="-1" ref={self.heading}>{ self.legend }</h3></legend>
                    { for self.options.iter().enumerate().map(|(option, PickOption { label, detail, .. })| {
                        let id = format!("fs-pick-{option}");
                        let detail_id = format!("{id}-detail");
                        let on_mark = self.on_mark.clone();
                        html! {
                            <div class="fs-pick">
                                <input type="radio" id={id.clone()} name="fs-pick" checked={option == marked}
                                    aria-describedby={detail.is_some().then(|| detail_id.clone())}
                                    onchange={move |_| on_mark.emit(option)} />
                                <label for={id}>{ label }</label>
                                { detail.as_ref().map(|detail| html! { <p id={detail_id}>{ detail }</p> }) }
                            </div>
                        }
                    }) }
                </fieldset>
                <button type="submit" class="fs-button fs-primary">{ self.continue_label }</button>
            </form>
        }
    }
}
