//! The DOM events the widget tells its page about. They bubble out of the
//! shadow root (`composed`), and their `detail` never carries personal data.

use js_sys::Object;
use wasm_bindgen::JsValue;
use web_sys::{CustomEvent, CustomEventInit, Element};

use super::json::{instant_text, object};
use crate::model::api_error::ApiError;
use firststep_protocol::{BookingCreated, Slot};

/// Where events are dispatched: the custom element itself.
#[derive(Clone, PartialEq)]
pub struct HostEvents(pub Element);

impl HostEvents {
    pub fn slots_loaded(&self, count: usize) {
        self.emit(
            "firststep:slots-loaded",
            object(&[("count", (count as u32).into())]),
        );
    }

    pub fn slot_selected(&self, slot: Slot) {
        self.emit(
            "firststep:slot-selected",
            object(&[
                ("start", instant_text(slot.start).into()),
                ("end", instant_text(slot.end).into()),
            ]),
        );
    }

    pub fn booking(&self, created: &BookingCreated) {
        let booking = &created.booking;
        self.emit(
            "firststep:booking",
            object(&[
                ("id", booking.id.as_str().into()),
                ("status", booking.status.as_str().into()),
                ("start", instant_text(booking.start).into()),
            ]),
        );
    }

    pub fn error(&self, error: &ApiError) {
        self.emit("firststep:error", object(&[("code", error.code().into())]));
    }

    fn emit(&self, name: &str, detail: Object) {
        let init = CustomEventInit::new();
        init.set_bubbles(true);
        init.set_composed(true);
        init.set_detail(&JsValue::from(detail));
        if let Ok(event) = CustomEvent::new_with_event_init_dict(name, &init) {
            let _ = self.0.dispatch_event(&event);
        }
    }
}
