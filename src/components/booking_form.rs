use firststep_protocol::FieldRule;
use web_sys::{HtmlElement, HtmlInputElement};
use yew::prelude::*;

use super::problem_notice;
use crate::i18n::Texts;
use crate::model::form::{Field, FieldProblem, FormFields};

/// One ref per field (in `field_index`'s order), kept by the root component
/// across renders: focus goes to the first field that needs the visitor.
pub type FieldRefs = [NodeRef; 5];

/// The visitor's details: only what the practice asks for, checked before
/// sending, each problem shown beside its field. A view, not a component:
/// every change of the form is a new state of the root component, which
/// renders it anyway.
pub struct BookingForm<'a> {
    pub texts: &'static Texts,
    pub form: &'a FormFields,
    pub problems: &'a [(Field, FieldProblem)],
    pub phone: FieldRule,
    pub note: FieldRule,
    /// The chosen time in words, in both zones when they differ.
    pub chosen_time: String,
    /// How the consultation happens, when the service says.
    pub how_we_meet: Option<String>,
    pub privacy_url: Option<&'a str>,
    /// The practice's notice (where to turn in a crisis).
    pub notice: Option<&'a str>,
    /// Request mode says "Send request"; instant mode says "Book".
    pub request_mode: bool,
    /// Confirming a booking's move: the new time alone, no fields.
    pub moving: bool,
    pub sending: bool,
    /// A passing failure of the last attempt, in words.
    pub failure: Option<String>,
    /// The heading, focused when the form appears.
    pub heading: NodeRef,
    pub refs: &'a FieldRefs,
    pub on_edit: Callback<(Field, String)>,
    pub on_consent: Callback<bool>,
    pub on_submit: Callback<()>,
    pub on_change_time: Callback<()>,
}

/// Takes the visitor to `first`, the first field to fix, in `refs`.
pub fn focus_field(refs: &FieldRefs, first: Field) {
    if let Some(input) = refs[field_index(first)].cast::<HtmlElement>() {
        let _ = input.focus();
    }
}

impl BookingForm<'_> {
    pub fn view(self) -> Html {
        let props = self;
        let texts = props.texts;
        let refs = props.refs;
        let onsubmit = {
            let on_submit = props.on_submit.clone();
            Callback::from(move |event: SubmitEvent| {
                event.prevent_default();
                on_submit.emit(());
            })
        };

        let problem = |field: Field| {
            props
                .problems
                .iter()
                .find(|(f, _)| *f == field)
                .map(|(_, p)| texts.problem(field, *p))
        };
        let on_edit = |field: Field| {
            let on_edit = props.on_edit.clone();
            // Read as an input's: a text area's `value` is the same property.
            Callback::from(move |e: InputEvent| {
                on_edit.emit((field, e.target_unchecked_into::<HtmlInputElement>().value()));
            })
        };
        let text_field = |field: Field,
                          label: &str,
                          kind: &str,
                          autocomplete: &str,
                          value: &str,
                          required: bool| {
            let problem = problem(field);
            let id = field_id(field);
            let control = html! {
                <input id={id} name={id} type={kind.to_owned()} autocomplete={autocomplete.to_owned()}
                    value={value.to_owned()} required={required} ref={refs[field_index(field)].clone()}
                    aria-invalid={problem.is_some().then_some("true")}
                    aria-describedby={problem.is_some().then(|| error_id(field))}
                    oninput={on_edit(field)} />
            };
            labelled(
                field,
                label,
                (!required).then_some(texts.optional),
                problem,
                control,
            )
        };

        let note_field = (props.note != FieldRule::Hidden).then(|| {
        let problem = problem(Field::Note);
        let required = props.note == FieldRule::Required;
        let control = html! {
            <textarea id="fs-note" name="fs-note" rows="3" maxlength="1000" value={props.form.note.clone()}
                required={required} ref={refs[field_index(Field::Note)].clone()}
                aria-invalid={problem.is_some().then_some("true")}
                aria-describedby={problem.is_some().then(|| error_id(Field::Note))} oninput={on_edit(Field::Note)} />
        };
        labelled(Field::Note, texts.note, (!required).then_some(texts.optional), problem, control)
    });

        let consent_problem = props.problems.iter().any(|(f, _)| *f == Field::Consent);
        let on_consent = props.on_consent.clone();
        let on_consent = Callback::from(move |e: Event| {
            on_consent.emit(e.target_unchecked_into::<HtmlInputElement>().checked())
        });
        let on_change_time = props.on_change_time.clone();
        let submit_label = match (props.sending, props.moving, props.request_mode) {
            (true, ..) => texts.sending,
            (_, true, _) => texts.move_booking,
            (_, _, true) => texts.send_request,
            _ => texts.book_now,
        };
        let (heading, chosen_label) = match props.moving {
            true => (texts.selected_time, None),
            false => (texts.your_details, Some(texts.selected_time)),
        };

        html! {
            <form class="fs-form" novalidate=true {onsubmit}>
                <h3 class="fs-step-heading" tabindex="-1" ref={props.heading.clone()}>{ heading }</h3>
                <div class="fs-chosen">
                    <p>
                        { chosen_label.map(|label| html! { <span class="fs-chosen-label">{ label }{ ": " }</span> }) }
                        <strong>{ props.chosen_time }</strong>
                    </p>
                    <button type="button" class="fs-link-button" onclick={move |_| on_change_time.emit(())}>{ texts.change_time }</button>
                    { props.how_we_meet.map(|how| html! { <p>{ how }</p> }) }
                </div>
                // Moving a booking asks nothing more than the new time.
                { (!props.moving).then(|| html! { <>
                { props.notice.map(|notice| html! { <p class="fs-crisis">{ notice }</p> }) }
                { text_field(Field::Name, texts.name, "text", "name", &props.form.name, true) }
                { text_field(Field::Email, texts.email, "email", "email", &props.form.email, true) }
                { (props.phone != FieldRule::Hidden).then(|| {
                    text_field(Field::Phone, texts.phone, "tel", "tel", &props.form.phone, props.phone == FieldRule::Required)
                }) }
                { note_field }
                // A honeypot for bots: hidden from people and from assistive tech, never filled by us.
                <div class="fs-honeypot" aria-hidden="true">
                    <label>{ texts.website }<input type="text" name="website" tabindex="-1" autocomplete="off" /></label>
                </div>
                <div class="fs-field fs-consent">
                    <input id="fs-consent" type="checkbox" checked={props.form.consent} required=true
                        ref={refs[field_index(Field::Consent)].clone()}
                        aria-invalid={consent_problem.then_some("true")}
                        aria-describedby={consent_problem.then_some("fs-consent-error")} onchange={on_consent} />
                    <label for="fs-consent">
                        { texts.consent }
                        { props.privacy_url.map(|url| html! {
                            <>{ " " }<a href={url.to_owned()} target="_blank" rel="noopener noreferrer">{ texts.privacy_notice }</a></>
                        }) }
                    </label>
                    { consent_problem.then(|| html! {
                        <p id="fs-consent-error" class="fs-error">{ texts.problem(Field::Consent, FieldProblem::Missing) }</p>
                    }) }
                </div>
                </> }) }
                { props.failure.map(|message| problem_notice(&message, None)) }
                <button type="submit" class="fs-button fs-primary" disabled={props.sending} aria-disabled={if props.sending { "true" } else { "false" }}>
                    { submit_label }
                </button>
            </form>
        }
    }
}

fn field_index(field: Field) -> usize {
    match field {
        Field::Name => 0,
        Field::Email => 1,
        Field::Phone => 2,
        Field::Note => 3,
        Field::Consent | Field::Other => 4,
    }
}

fn field_id(field: Field) -> &'static str {
    match field {
        Field::Name => "fs-name",
        Field::Email => "fs-email",
        Field::Phone => "fs-phone",
        Field::Note => "fs-note",
        Field::Consent | Field::Other => "fs-consent",
    }
}

fn error_id(field: Field) -> String {
    format!("{}-error", field_id(field))
}

/// A field's label (marked optional when it is), its control, and its problem in words.
fn labelled(
    field: Field,
    label: &str,
    optional: Option<&str>,
    problem: Option<&str>,
    control: Html,
) -> Html {
    html! {
        <div class="fs-field">
            <label for={field_id(field)}>
                { label }
                { optional.map(|optional| html! { <span class="fs-optional">{ format!(" ({optional})") }</span> }) }
            </label>
            { control }
            { problem.map(|message| html! { <p id={error_id(field)} class="fs-error">{ message.to_owned() }</p> }) }
        </div>
    }
}
