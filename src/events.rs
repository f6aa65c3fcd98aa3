//! The DOM events the widget tells its page about. They bubble out of the
//! shadow root (`composed`), and their `detail` never carries personal data.

use serde_json::{json, Value};
use web_sys::{CustomEvent, CustomEventInit, Element};

use crate::api::ApiError;
use firststep_protocol::{BookingCreated, Slot};

/// Where events are dispatched: the custom element itself.
#[derive(Clone, PartialEq)]
pub struct HostEvents(pub Element);

impl HostEvents {
    pub fn slots_loaded(&self, count: usize) {
        self.emit("firststep:slots-loaded", json!({ "count": count }));
    }

    pub fn slot_selected(&self, slot: Slot) {
        self.emit(
            "firststep:slot-selected",
            json!({ "start": slot.start, "end": slot.end }),
        );
    }

    pub fn booking(&self, created: &BookingCreated) {
        let booking = &created.booking;
        self.emit(
            "firststep:booking",
            json!({ "id": booking.id, "status": booking.status, "start": booking.start }),
        );
    }

    pub fn error(&self, error: &ApiError) {
        self.emit("firststep:error", json!({ "code": error.code() }));
    }

    fn emit(&self, name: &str, detail: Value) {
        let init = CustomEventInit::new();
        init.set_bubbles(true);
        init.set_composed(true);
        init.set_detail(&js_sys::JSON::parse(&detail.to_string()).unwrap_or_default());
        if let Ok(event) = CustomEvent::new_with_event_init_dict(name, &init) {
            let _ = self.0.dispatch_event(&event);
        }
    }
}
