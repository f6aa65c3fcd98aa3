//! The widget's words, in English and Spanish. Dates and times are not here:
//! the browser's `Intl` formats them for the locale (see `local_time`).

use crate::model::form::{Field, FieldProblem};

/// The languages of the widget: the protocol's, so the widget and the
/// adapter's emails read a locale the same way.
pub use firststep_protocol::visitor_fields::Language;

/// The widget's words in `language`.
pub fn texts(language: Language) -> &'static Texts {
    match language {
        Language::English => &ENGLISH,
        Language::Spanish => &SPANISH,
    }
}

pub struct Texts {
    /// The steps before the times, when there is a choice to make.
    pub choose_service: &'static str,
    pub minutes: &'static str,
    pub choose_clinician: &'static str,
    pub first_available: &'static str,
    pub first_available_detail: &'static str,
    pub continue_label: &'static str,
    pub back: &'static str,
    pub choose_time: &'static str,
    pub loading: &'static str,
    pub days_label: &'static str,
    pub times_label: &'static str,
    /// The headings of a day's times, by part of the day.
    pub morning: &'static str,
    pub afternoon: &'static str,
    pub evening: &'static str,
    pub open_times: &'static str,
    pub your_zone: &'static str,
    pub practice_time: &'static str,
    pub earlier: &'static str,
    pub later: &'static str,
    pub no_slots: &'static str,
    pub next_open_day: &'static str,
    pub show_from: &'static str,
    pub try_again: &'static str,
    pub offline: &'static str,
    pub unavailable: &'static str,
    pub rate_limited: &'static str,
    pub misconfigured: &'static str,
    pub slot_taken: &'static str,
    pub your_details: &'static str,
    pub selected_time: &'static str,
    pub change_time: &'static str,
    pub name: &'static str,
    pub email: &'static str,
    pub phone: &'static str,
    pub note: &'static str,
    pub optional: &'static str,
    pub consent: &'static str,
    pub privacy_notice: &'static str,
    pub send_request: &'static str,
    pub book_now: &'static str,
    pub sending: &'static str,
    pub request_sent: &'static str,
    pub request_sent_detail: &'static str,
    pub booked: &'static str,
    pub booked_detail: &'static str,
    pub add_to_calendar: &'static str,
    pub add_to_google: &'static str,
    pub add_to_outlook: &'static str,
    /// How the consultation happens, by the service's `location`.
    pub meet_phone: &'static str,
    pub meet_video: &'static str,
    pub meet_in_person: &'static str,
    pub call_at: &'static str,
    pub join_video: &'static str,
    pub with_clinician: &'static str,
    pub fix_fields: &'static str,
    pub website: &'static str,
    /// A manage link's booking, being moved: its time now, its status, the
    /// move's button and outcome, and what can stop it.
    pub current_time: &'static str,
    pub status_confirmed: &'static str,
    pub status_pending: &'static str,
    pub move_booking: &'static str,
    pub moved: &'static str,
    pub moved_slot_taken: &'static str,
    pub not_found: &'static str,
    pub change_window_closed: &'static str,
    pub booking_closed: &'static str,
}

impl Texts {
    /// A field's problem, in a sentence that says how to fix it.
    pub fn problem(&self, field: Field, problem: FieldProblem) -> &'static str {
        let english = std::ptr::eq(self, &ENGLISH);
        let pick = |en: &'static str, es: &'static str| if english { en } else { es };
        match (field, problem) {
            (Field::Name, FieldProblem::TooLong) => pick(
                "Please use at most 100 characters.",
                "Use como máximo 100 caracteres.",
            ),
            (Field::Name, FieldProblem::Invalid) => pick(
                "Please remove the special characters from your name.",
                "Quite los caracteres especiales de su nombre.",
            ),
            (Field::Name, _) => pick("Please enter your name.", "Escriba su nombre."),
            (Field::Email, FieldProblem::Missing) => pick(
                "Please enter your email address.",
                "Escriba su correo electrónico.",
            ),
            (Field::Email, _) => pick(
                "Please enter an email address like name@example.org.",
                "Escriba un correo como nombre@ejemplo.org.",
            ),
            (Field::Phone, FieldProblem::Missing) => pick(
                "Please enter a phone number.",
                "Escriba un número de teléfono.",
            ),
            (Field::Phone, _) => pick(
                "Please enter a phone number using digits, spaces and + - ( ).",
                "Escriba un teléfono con dígitos, espacios y + - ( ).",
            ),
            (Field::Note, FieldProblem::Missing) => {
                pick("Please add a short note.", "Añada una nota breve.")
            }
            (Field::Note, FieldProblem::Invalid) => pick(
                "Please remove the special characters from the note.",
                "Quite los caracteres especiales de la nota.",
            ),
            (Field::Note, _) => pick(
                "Please keep the note under 1,000 characters.",
                "La nota debe tener menos de 1000 caracteres.",
            ),
            (Field::Consent, _) => pick(
                "Please agree so the practice can contact you.",
                "Acepte para que la consulta pueda contactarle.",
            ),
            (Field::Other, _) => pick(
                "Something in the form could not be accepted.",
                "Algo del formulario no se pudo aceptar.",
            ),
        }
    }
}

/// The first `{}` in a text, filled in. (Found bytewise: a substring
/// search would link the searcher's code into the wasm.)
pub fn fill(text: &str, value: &str) -> String {
    let at = text.as_bytes().windows(2).position(|pair| pair == b"{}");
    // `get`, not indexing: "{}" is ASCII, so both ends are char boundaries,
    // and a panic's location would ship in the download for nothing.
    match at.and_then(|at| Some((text.get(..at)?, text.get(at + 2..)?))) {
        Some((before, after)) => [before, value, after].concat(),
        None => text.to_owned(),
    }
}

static ENGLISH: Texts = Texts {
    choose_service: "Choose a consultation",
    minutes: "{} minutes.",
    choose_clinician: "Who would you like to see?",
    first_available: "First available",
    first_available_detail: "Whoever can see you soonest.",
    continue_label: "Continue",
    back: "Back",
    choose_time: "Choose a time",
    loading: "Loading available times…",
    days_label: "Days with open times",
    times_label: "Open times",
    morning: "Morning",
    afternoon: "Afternoon",
    evening: "Evening",
    open_times: "{} open times",
    your_zone: "Times are shown in your time zone: {}.",
    practice_time: "{} for the practice",
    earlier: "Earlier dates",
    later: "Later dates",
    no_slots: "There are no open times in these two weeks.",
    next_open_day: "The next open day is {}.",
    show_from: "Show times from {}",
    try_again: "Try again",
    offline: "We couldn't reach the booking service. Please check your connection and try again.",
    unavailable: "Booking is briefly unavailable. Please try again in a moment.",
    rate_limited: "That was a lot of attempts. Please wait a minute, then try again.",
    misconfigured: "This booking form is not set up correctly. Please contact the practice another way.",
    slot_taken: "Sorry, that time was just taken by someone else. Please choose another time; your details are kept.",
    your_details: "Your details",
    selected_time: "Your chosen time",
    change_time: "Change time",
    name: "Name",
    email: "Email",
    phone: "Phone",
    note: "Note for the practice",
    optional: "optional",
    consent: "I agree that the practice may use these details to contact me about this consultation.",
    privacy_notice: "Privacy notice",
    send_request: "Send request",
    book_now: "Book",
    sending: "Sending…",
    request_sent: "Request sent",
    request_sent_detail: "The practice will confirm by email.",
    booked: "Booked",
    booked_detail: "Your consultation is booked. A confirmation is on its way by email.",
    add_to_calendar: "Add to calendar",
    add_to_google: "Add to Google Calendar",
    add_to_outlook: "Add to Outlook",
    meet_phone: "By phone: the practice will call you.",
    meet_video: "By video call: the link comes with the confirmation.",
    meet_in_person: "In person, at {}.",
    call_at: "The practice will call you at {}.",
    join_video: "Join the video call",
    with_clinician: "With {}.",
    fix_fields: "Please check the highlighted fields.",
    website: "Leave this field empty",
    current_time: "Your booking: {}",
    status_confirmed: "Confirmed.",
    status_pending: "Waiting for the practice to confirm.",
    move_booking: "Move my booking",
    moved: "Booking moved",
    moved_slot_taken: "Sorry, that time was just taken. Your booking was not changed; please choose another time.",
    not_found: "This link doesn't open a booking. Please use the link in your most recent email.",
    change_window_closed: "It is too close to the time to change it here: please contact {} directly.",
    booking_closed: "This booking was cancelled or declined, or has expired, so it can't be moved.",
};

static SPANISH: Texts = Texts {
    choose_service: "Elija una consulta",
    minutes: "{} minutos.",
    choose_clinician: "¿Con quién desea su cita?",
    first_available: "Primera persona disponible",
    first_available_detail: "Quien pueda atenderle antes.",
    continue_label: "Continuar",
    back: "Volver",
    choose_time: "Elija un horario",
    loading: "Cargando horarios disponibles…",
    days_label: "Días con horarios libres",
    times_label: "Horarios libres",
    morning: "Mañana",
    afternoon: "Tarde",
    evening: "Noche",
    open_times: "{} horarios libres",
    your_zone: "Los horarios se muestran en su zona horaria: {}.",
    practice_time: "{} para la consulta",
    earlier: "Fechas anteriores",
    later: "Fechas posteriores",
    no_slots: "No hay horarios libres en estas dos semanas.",
    next_open_day: "El próximo día con horarios es {}.",
    show_from: "Ver horarios desde {}",
    try_again: "Intentar de nuevo",
    offline: "No pudimos conectar con el servicio de reservas. Revise su conexión e inténtelo de nuevo.",
    unavailable: "Las reservas no están disponibles por un momento. Inténtelo de nuevo en breve.",
    rate_limited: "Hubo muchos intentos. Espere un minuto y vuelva a intentarlo.",
    misconfigured: "Este formulario de reservas no está bien configurado. Contacte a la consulta por otra vía.",
    slot_taken: "Lo sentimos, otra persona acaba de reservar ese horario. Elija otro; sus datos se conservan.",
    your_details: "Sus datos",
    selected_time: "Horario elegido",
    change_time: "Cambiar horario",
    name: "Nombre",
    email: "Correo electrónico",
    phone: "Teléfono",
    note: "Nota para la consulta",
    optional: "opcional",
    consent: "Acepto que la consulta use estos datos para contactarme sobre esta cita.",
    privacy_notice: "Aviso de privacidad",
    send_request: "Enviar solicitud",
    book_now: "Reservar",
    sending: "Enviando…",
    request_sent: "Solicitud enviada",
    request_sent_detail: "La consulta le confirmará por correo electrónico.",
    booked: "Reservado",
    booked_detail: "Su cita está reservada. Recibirá una confirmación por correo electrónico.",
    add_to_calendar: "Añadir al calendario",
    add_to_google: "Añadir a Google Calendar",
    add_to_outlook: "Añadir a Outlook",
    meet_phone: "Por teléfono: la consulta le llamará.",
    meet_video: "Por videollamada: el enlace llega con la confirmación.",
    meet_in_person: "En persona, en {}.",
    call_at: "La consulta le llamará al {}.",
    join_video: "Entrar en la videollamada",
    with_clinician: "Con {}.",
    fix_fields: "Revise los campos marcados.",
    website: "Deje este campo vacío",
    current_time: "Su cita: {}",
    status_confirmed: "Confirmada.",
    status_pending: "Pendiente de confirmación por la consulta.",
    move_booking: "Cambiar mi cita",
    moved: "Cita cambiada",
    moved_slot_taken: "Lo sentimos, otra persona acaba de reservar ese horario. Su cita no ha cambiado; elija otro.",
    not_found: "Este enlace no abre ninguna cita. Use el enlace de su correo más reciente.",
    change_window_closed: "Falta muy poco para la cita para cambiarla aquí: contacte directamente con {}.",
    booking_closed: "Esta cita fue cancelada, rechazada o ha caducado, así que no se puede cambiar.",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_comes_from_the_primary_subtag() {
        assert_eq!(Language::from_tag("es-MX"), Language::Spanish);
        assert_eq!(Language::from_tag("ES"), Language::Spanish);
        assert_eq!(Language::from_tag("en-GB"), Language::English);
        assert_eq!(Language::from_tag("fr"), Language::English);
        assert_eq!(Language::from_tag(""), Language::English);
    }

    #[test]
    fn each_language_has_its_own_words_and_problems() {
        assert_eq!(texts(Language::Spanish).send_request, "Enviar solicitud");
        assert_eq!(
            texts(Language::English).problem(Field::Email, FieldProblem::Missing),
            "Please enter your email address."
        );
        assert_eq!(
            texts(Language::Spanish).problem(Field::Email, FieldProblem::Missing),
            "Escriba su correo electrónico."
        );
        assert_eq!(
            fill(ENGLISH.next_open_day, "Monday"),
            "The next open day is Monday."
        );
    }

    /// Addresses the mailer cannot send to read as any other bad address,
    /// in the visitor's language.
    #[test]
    fn an_unmailable_address_gets_the_friendly_sentence() {
        use crate::model::form::FormFields;
        use firststep_protocol::FieldRule;
        for address in [
            "sam..lee@example.org",
            "sam.@example.org",
            ".sam@example.org",
        ] {
            let form = FormFields {
                name: "Sam".into(),
                email: address.into(),
                consent: true,
                ..Default::default()
            };
            let problems = form.problems(FieldRule::Hidden, FieldRule::Hidden);
            let [(field, problem)] = problems[..] else {
                panic!("{address}: {problems:?}")
            };
            assert_eq!(
                texts(Language::English).problem(field, problem),
                "Please enter an email address like name@example.org."
            );
            assert_eq!(
                texts(Language::Spanish).problem(field, problem),
                "Escriba un correo como nombre@ejemplo.org."
            );
        }
    }

    #[test]
    fn fill_fills_the_first_pair_of_braces_only() {
        assert_eq!(fill("a {b} {} {}", "x"), "a {b} x {}");
        assert_eq!(fill("no braces", "x"), "no braces");
        assert_eq!(fill("a lone { brace", "x"), "a lone { brace");
    }
}
