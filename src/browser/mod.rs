//! Bridges to the browser: the adapter over `fetch`, protocol JSON through the
//! browser's `JSON`, times through its `Intl`, and DOM events on the host
//! element. They map what the browser gives into the core's types.

pub mod events;
pub mod http;
pub mod intl;
pub mod json;
