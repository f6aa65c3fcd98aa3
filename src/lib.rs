//! The `<firststep-booking>` widget: a Yew app rendered into the shadow root of
//! a custom element, speaking protocol v1 (`docs/protocol.md`) to an adapter.
//!
//! # Layout
//! - `element`: the custom-element bridge — attributes → props, the element's
//!   life → the app's, styles adopted into the shadow root.
//! - [`app`]: the root component; effects that fetch and send, step by step.
//! - `state`: all state in one `Reducible`; no I/O (unit-tested natively).
//! - `form`: the form's fields and the checks made before sending.
//! - `api`: all HTTP, with the protocol's error codes mapped to `ApiError`.
//! - `json`: protocol JSON read and written through the browser's `JSON`.
//! - `local_time`: dates and times through the browser's `Intl`; days grouped
//!   in the visitor's zone.
//! - `i18n`: the words, in English and Spanish.
//! - `events`: the `firststep:*` DOM events on the element.
//! - `components/`: one function component per file.

mod api;
pub mod app;
mod components;
mod element;
mod events;
mod form;
mod i18n;
mod json;
mod local_time;
mod state;

pub use app::{App, AppProps};
pub use element::{mount, WidgetHandle};

/// A free-list allocator a tenth the size of Rust's default (dlmalloc): the
/// widget makes small, short-lived allocations, and the download is what counts.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: lol_alloc::LockedAllocator<lol_alloc::FreeListAllocator> =
    lol_alloc::LockedAllocator::new(lol_alloc::FreeListAllocator::new());
