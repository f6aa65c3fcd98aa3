//! The SQLite store: the source of truth for what was promised to visitors.
//!
//! One file in WAL mode with `synchronous = FULL`: a booking is on disk before
//! its 201 leaves. Every method is blocking; async callers go through
//! [`Store::call`].
//!
//! # Layout
//! - `schema`: the tables, as numbered migrations.
//! - `bookings`: bookings and their life — stored (unique per live slot, so two
//!   visitors can never hold one slot), answered, expired, cancelled, read.
//! - `idempotency`: each `Idempotency-Key`'s request hash and final response.
//! - `outbox`: what is owed after each change (calendar writes, emails),
//!   written in the same transaction as the change.

mod bookings;
mod idempotency;
mod outbox;
mod schema;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, TransactionBehavior};

pub use bookings::{Answer, Answered, BookOutcome, BookingRecord, NewBooking, Visitor};
pub use idempotency::{KeyClaim, StoredResponse};
pub use outbox::{Delivery, Mail};
use schema::MIGRATIONS;

/// Shared handle to the store; cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    /// SQLite allows one writer at a time; this is it.
    writer: Mutex<Connection>,
    /// Readers see the last commit without waiting for the writer (WAL).
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

impl Store {
    /// Opens (creating if need be) the store at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder)
                .with_context(|| format!("creating the store's folder {}", folder.display()))?;
        }
        let writer = connect(path)?;
        migrate(&writer)
            .with_context(|| format!("updating the schema of the store {}", path.display()))?;
        let readers = (0..4)
            .map(|_| connect(path).map(Mutex::new))
            .collect::<anyhow::Result<_>>()?;
        Ok(Self {
            inner: Arc::new(Inner {
                writer: Mutex::new(writer),
                readers,
                next_reader: AtomicUsize::new(0),
            }),
        })
    }

    /// Runs blocking store work off the async runtime's threads.
    pub async fn call<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Store) -> T + Send + 'static,
    ) -> T {
        let store = self.clone();
        tokio::task::spawn_blocking(move || work(&store))
            .await
            .expect("store task panicked")
    }

    fn write<T>(
        &self,
        work: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        let mut connection = self
            .inner
            .writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        work(&mut connection)
    }

    fn read<T>(
        &self,
        work: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        let readers = &self.inner.readers;
        let first = self.inner.next_reader.fetch_add(1, Ordering::Relaxed);
        // Take the first idle reader; wait on one only when all are busy.
        for i in 0..readers.len() {
            if let Ok(connection) = readers[(first + i) % readers.len()].try_lock() {
                return work(&connection);
            }
        }
        let connection = readers[first % readers.len()]
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        work(&connection)
    }

    /// Proves the store takes writes (for `/healthz`).
    pub fn check_writable(&self) -> anyhow::Result<()> {
        self.write(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.rollback()
        })
        .context("taking the store's write lock")
    }
}

fn connect(path: &Path) -> anyhow::Result<Connection> {
    let connection =
        Connection::open(path).with_context(|| format!("opening the store {}", path.display()))?;
    connection
        .execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA foreign_keys = ON;
             PRAGMA busy_timeout = 5000;",
        )
        .with_context(|| format!("configuring the store {}", path.display()))?;
    Ok(connection)
}

fn migrate(connection: &Connection) -> rusqlite::Result<()> {
    let done: usize = connection.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    for (version, step) in MIGRATIONS.iter().enumerate().skip(done) {
        connection.execute_batch(&format!(
            "BEGIN; {step}; PRAGMA user_version = {}; COMMIT;",
            version + 1
        ))?;
    }
    Ok(())
}

fn instant(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap_or_default()
}
