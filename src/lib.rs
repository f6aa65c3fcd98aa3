//! The `<firststep-booking>` widget: a Yew app rendered into the shadow root of
//! a custom element, speaking protocol v1 (`docs/protocol.md`) to an adapter.
//!
//! # Layout
//! - `element`: the custom-element bridge (attributes → props, styles into the
//!   shadow root, the element's life → the Yew app's).
//! - `app`: the root component.

mod app;
mod element;

pub use app::{App, AppProps};

use wasm_bindgen::prelude::*;

/// Registers `<firststep-booking>` as soon as the module is loaded.
#[wasm_bindgen(start)]
pub fn start() {
    element::register();
}
