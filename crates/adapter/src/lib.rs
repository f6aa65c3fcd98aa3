//! firststep-adapter: serves First Step protocol v1 (`docs/protocol.md`) to
//! the widget, over the embedded default calendar (bookings kept in SQLite).
//!
//! # Layout
//! - [`clock`]: where the present comes from — the system clock, or one
//!   that tests move forward.
//! - [`calendar`]: the `Calendar` trait and its backends (local, CalDAV, Google, Microsoft),
//!   iCalendar reading, and the background copy of busy time.
//! - [`outbox`]: delivery of calendar writes and emails, with retries; expiry.
//! - [`mail`]: emails from template files, signed links, SMTP.
//! - [`housekeeping`]: a round a minute: retention, expired idempotency
//!   records, a warning when the outbox is stuck.
//! - `metrics`: `GET /metrics` in Prometheus' text format.
//! - [`config`]: the practice's TOML configuration, parsed into [`config::Settings`]
//!   with every problem reported at its line.
//! - [`domain`]: parsed input values (name, email, phone, note, keys, tokens).
//! - [`store`]: the SQLite store — schema, bookings and their life,
//!   idempotency keys, the outbox.
//! - `offer`: the availability engine applied to a service and the store's bookings.
//! - `routes`: one module per endpoint, the router, CORS and request logs.
//! - `error`: the boundary's error type, rendered as problem+json.
//! - `ical`: iCalendar writing with escaping and folding.
//! - `rate_limit`: per-visitor token buckets for booking attempts, bounded in memory.
//! - `client_address`: the visitor's address, through trusted proxies only.
//! - [`connections`]: the HTTP/1.1 connection loop — timeouts, the connection
//!   cap, graceful stop.
//! - [`sealing`]: sealed boxes for the secrets the store keeps (replayed
//!   answers, manage tokens waiting for an email).
//! - `background`: each background round (busy time, outbox, housekeeping)
//!   runs as its own task, so a panic in one is logged and the next runs.
//! - [`startup`]: [`Application`], binding and serving.
//! - [`practices`]: many practices in one process (`serve --config-dir`),
//!   each under `/p/{id}/`, reloaded on SIGHUP.

mod background;
pub mod calendar;
mod client_address;
pub mod clock;
pub mod config;
pub mod connections;
pub mod domain;
mod error;
pub mod housekeeping;
mod ical;
pub mod mail;
mod metrics;
mod offer;
pub mod outbox;
pub mod practices;
mod rate_limit;
mod routes;
pub mod sealing;
pub mod startup;
pub mod store;

pub use startup::Application;
