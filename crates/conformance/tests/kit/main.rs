//! The kit's own tests: against the real adapter every check passes; behind
//! a stub that misbehaves in one way at a time, the check for that rule fails.
//!
//! # Layout
//! - `servers.rs`: the real adapter in-process on port 0 (a fresh SQLite
//!   store, `tests/practice.toml`), and the stub proxy in front of it.
//! - `against_the_adapter.rs`: every check passes, writes allowed, for each service.
//! - `misbehaving.rs`: the table of misbehaviours, one per check at least.

mod against_the_adapter;
mod misbehaving;
mod servers;
