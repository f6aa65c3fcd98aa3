//! The PostgreSQL store, for several replicas on one database: a
//! [`super::Store`] backend, chosen by a `postgres://` `server.store`.
//! What holds across replicas, by the database:
//!
//! - Migrations run once: each replica takes a transaction-scoped advisory
//!   lock before reading `schema_version`, so replicas starting together
//!   wait for the first and then find nothing to do.
//! - No double booking: an exclusion constraint (`btree_gist`) over each
//!   live booking's time and buffer (`schema.rs`).
//! - Bookings and their checks (buffers, the daily cap, a clinician's load)
//!   run under a transaction-scoped advisory lock per practice and UTC day
//!   their span touches ([`lock_days`]). Chosen over serializable transactions with
//!   retry: the caller's rules come as closures run once (`response` is
//!   `FnOnce`), a retry would run them again; the lock makes the transaction
//!   run once and lets bookings on other days go on side by side.
//! - Idempotency keys live in one table: a key raced across replicas is
//!   inserted once (`ON CONFLICT DO NOTHING`); the other request finds it
//!   in progress.
//! - The outbox is claimed with `FOR UPDATE SKIP LOCKED` and a lease
//!   (`leased_until`): two replicas never take one item at once, and an item
//!   whose replica died is taken again once its lease is over.
//!
//! Blocking, as the SQLite store: callers run it through `Store::call`.
//! Connections are kept in a small pool; times are unix seconds as in SQLite.
//!
//! A stuck database makes a request fail (503, to retry), never hang: each
//! wait is bounded — connecting, the server's greeting included
//! ([`CONNECT_WITHIN`], unless the URL sets `connect_timeout`), a lock
//! another connection holds ([`LOCK_WAIT`], as long as the SQLite store's
//! busy wait), one statement ([`STATEMENT_WITHIN`]), a free connection of
//! the pool ([`POOL_WAIT`]), a server gone from the network
//! ([`GONE_AFTER`]).

mod bookings;
mod figures;
mod idempotency;
mod outbox;
mod privacy;
mod reminders;
mod schema;

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::Context;
use postgres::{Client, Config, NoTls};

use schema::MIGRATIONS;

/// Connections one replica holds at most, kept open for reuse; work beyond
/// them waits for one (the server's own limit is shared by every replica).
const CONNECTIONS: usize = 16;

/// How long opening a connection may take.
const CONNECT_WITHIN: Duration = Duration::from_secs(5);
/// How long a statement waits for a lock another connection holds
/// (`lock_timeout`): the SQLite store's busy wait.
const LOCK_WAIT: Duration = Duration::from_secs(5);
/// How long one statement may run (`statement_timeout`).
const STATEMENT_WITHIN: Duration = Duration::from_secs(15);
/// How long work waits for a connection when all [`CONNECTIONS`] are in use.
const POOL_WAIT: Duration = Duration::from_secs(10);
/// How long a connection may stay silent (keepalives unanswered, data
/// unacknowledged) before it is given up: the server or its network is gone.
const GONE_AFTER: Duration = Duration::from_secs(30);

/// The advisory lock the migrations run under (any fixed number: it only
/// has to differ from the booking days' locks, which are in the two-key
/// form's own key space, see [`lock_days`]).
const MIGRATION_LOCK: i64 = 0x4669_7273_7453_7465; // "FirstSte"

#[derive(Clone)]
pub(crate) struct Postgres {
    inner: Arc<Pool>,
}

struct Pool {
    config: Config,
    connections: Mutex<Connections>,
    /// Told each time a connection is given back or closed.
    given_back: Condvar,
}

#[derive(Default)]
struct Connections {
    idle: Vec<Client>,
    /// Idle and in use.
    open: usize,
}

impl Postgres {
    /// Connects to the database at `url` and brings its schema up to date.
    pub(crate) fn open(url: &str) -> anyhow::Result<Self> {
        let mut config: Config = url
            .parse()
            .context("server.store is not a PostgreSQL URL")?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_WITHIN);
        }
        if config.get_tcp_user_timeout().is_none() {
            config.keepalives_idle(GONE_AFTER / 2);
            config.tcp_user_timeout(GONE_AFTER);
        }
        let store = Self::pool(config);
        store
            .with(migrate)
            .context("updating the schema of the PostgreSQL store")?;
        Ok(store)
    }

    /// A pool of connections to `config`'s database, none open yet.
    fn pool(config: Config) -> Self {
        Self {
            inner: Arc::new(Pool {
                config,
                connections: Mutex::default(),
                given_back: Condvar::new(),
            }),
        }
    }

    /// Runs `work` on a pooled connection, waiting (up to [`POOL_WAIT`])
    /// for one when [`CONNECTIONS`] are in use. Work that panics (a `row.get`
    /// on an answer of another type) loses its connection, perhaps
    /// mid-transaction, but not its place: dropped without a connection,
    /// the place frees itself.
    fn with<T>(
        &self,
        work: impl FnOnce(&mut Client) -> Result<T, postgres::Error>,
    ) -> anyhow::Result<T> {
        let (mut place, mut client) = match Place::take(&self.inner)? {
            (place, Some(idle)) => (place, idle),
            (place, None) => connect(place)?,
        };
        let result = work(&mut client).map_err(anyhow::Error::from);
        place.client = Some(client);
        result
    }

    /// Proves the store takes writes (for `/healthz`): a transaction as a
    /// booking's takes the lock a booking's write needs (waiting no longer
    /// than [`LOCK_WAIT`]) and may write (not a standby, not read-only).
    pub(crate) fn check_writable(&self) -> anyhow::Result<()> {
        let read_only = self
            .with(|c| {
                let mut tx = c.transaction()?;
                tx.batch_execute("LOCK TABLE bookings IN ROW EXCLUSIVE MODE")?;
                let read_only: String = tx
                    .query_one("SELECT current_setting('transaction_read_only')", &[])?
                    .get(0);
                tx.rollback()?;
                Ok(read_only)
            })
            .context("reaching the PostgreSQL store")?;
        anyhow::ensure!(read_only == "off", "the PostgreSQL store is read-only");
        Ok(())
    }
}

impl Pool {
    fn lock(&self) -> MutexGuard<'_, Connections> {
        self.connections
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One of the pool's [`CONNECTIONS`] places, counted in `open` from when
/// it is taken until it is dropped: a connection in use, or one being
/// opened (however long its thread waits for the server, see [`connect`]).
/// Dropped with an open connection, it gives it back for reuse; without
/// one (closed, failed, or lost to a panic), it frees the place.
struct Place {
    pool: Arc<Pool>,
    client: Option<Client>,
}

impl Place {
    /// A place and its idle connection if there is one (without, a new
    /// one is to be opened), waiting up to [`POOL_WAIT`] for either.
    fn take(pool: &Arc<Pool>) -> anyhow::Result<(Self, Option<Client>)> {
        let waited_from = Instant::now();
        let mut connections = pool.lock();
        let idle = loop {
            match connections.idle.pop() {
                Some(client) if !client.is_closed() => break Some(client),
                Some(_closed) => connections.open -= 1,
                None if connections.open < CONNECTIONS => {
                    connections.open += 1;
                    break None;
                }
                None => {
                    let left = POOL_WAIT.saturating_sub(waited_from.elapsed());
                    anyhow::ensure!(
                        !left.is_zero(),
                        "all {CONNECTIONS} connections to PostgreSQL stayed busy for {POOL_WAIT:?}"
                    );
                    connections = pool
                        .given_back
                        .wait_timeout(connections, left)
                        .map(|(connections, _)| connections)
                        .unwrap_or_else(|poisoned| poisoned.into_inner().0)
                }
            }
        };
        let place = Self {
            pool: Arc::clone(pool),
            client: None,
        };
        Ok((place, idle))
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        // A closed client is dropped before the lock is taken.
        let reusable = self.client.take().filter(|client| !client.is_closed());
        let mut connections = self.pool.lock();
        match reusable {
            Some(client) => connections.idle.push(client),
            None => connections.open -= 1,
        }
        self.pool.given_back.notify_one();
    }
}

impl Drop for Pool {
    /// Closes the idle connections on a thread of its own: a blocking
    /// client's close cannot run on an async runtime's thread, where the
    /// last handle to the store may be dropped.
    fn drop(&mut self) {
        let connections = self
            .connections
            .get_mut()
            .unwrap_or_else(|p| p.into_inner());
        let idle = std::mem::take(&mut connections.idle);
        if !idle.is_empty() {
            let _ = std::thread::spawn(move || drop(idle)).join();
        }
    }
}

/// A new connection for `place`, its waits bounded ([`LOCK_WAIT`],
/// [`STATEMENT_WITHIN`]). The client's own `connect_timeout` bounds only
/// the socket's opening, not the server's greeting: a server that takes
/// connections but never answers would hold the caller for ever. So the
/// whole of it runs on a thread of its own, waited for no longer than
/// `connect_timeout`. The thread keeps the place until it ends (a late
/// connection goes to the idle ones): at most [`CONNECTIONS`] connects are
/// ever under way, however many requests come to a silent server.
fn connect(place: Place) -> anyhow::Result<(Place, Client)> {
    let config = place.pool.config.clone();
    let within = config
        .get_connect_timeout()
        .copied()
        .unwrap_or(CONNECT_WITHIN);
    // No buffer: a connection is either taken by the caller or comes back
    // here, never left in the channel once the caller stopped waiting.
    let (sent, received) = std::sync::mpsc::sync_channel(0);
    std::thread::spawn(move || {
        let connected = config.connect(NoTls).and_then(|mut client| {
            client.batch_execute(&format!(
                "SET lock_timeout = {}; SET statement_timeout = {}",
                LOCK_WAIT.as_millis(),
                STATEMENT_WITHIN.as_millis()
            ))?;
            Ok(client)
        });
        if let Err(std::sync::mpsc::SendError(late)) = sent.send((place, connected)) {
            let (mut place, connected) = late;
            place.client = connected.ok();
        }
    });
    match received.recv_timeout(within) {
        Ok((place, connected)) => Ok((place, connected?)),
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            anyhow::bail!("PostgreSQL did not answer within {within:?}")
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            anyhow::bail!("connecting to PostgreSQL failed")
        }
    }
}

/// Brings the schema up to date, once however many replicas start together:
/// the first to take the lock runs the steps, the others wait for it and
/// then find them done.
fn migrate(client: &mut Client) -> Result<(), postgres::Error> {
    let mut tx = client.transaction()?;
    // A replica starting waits for another's migration, however long it
    // takes; and a migration on a large table is not cut short.
    tx.batch_execute("SET LOCAL lock_timeout = 0; SET LOCAL statement_timeout = 0")?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")?;
    let done: Option<i32> = tx
        .query_opt("SELECT version FROM schema_version", &[])?
        .map(|row| row.get(0));
    let done = done.unwrap_or(0);
    for step in MIGRATIONS.iter().skip(usize::try_from(done).unwrap_or(0)) {
        tx.batch_execute(step)?;
    }
    let now = i32::try_from(MIGRATIONS.len()).unwrap_or(i32::MAX);
    if done == 0 {
        tx.execute("INSERT INTO schema_version (version) VALUES ($1)", &[&now])?;
    } else if done < now {
        tx.execute("UPDATE schema_version SET version = $1", &[&now])?;
    }
    tx.commit()
}

/// Takes, for the rest of the transaction, the advisory lock of each UTC
/// day that `span` touches, in order (so two transactions never wait on
/// each other in a cycle). Two bookings whose spans overlap share a day,
/// so one waits for the other and sees it; bookings on days apart do not.
fn lock_days(
    tx: &mut postgres::Transaction<'_>,
    practice: &str,
    span: firststep_availability::Interval,
) -> Result<(), postgres::Error> {
    const DAY: i64 = 86_400;
    let first = span.start.timestamp().div_euclid(DAY);
    let last = span.end.timestamp().saturating_sub(1).div_euclid(DAY);
    // The two-key form (apart from the one-key locks): the practice, by a
    // hash of its id, and the day. Practices never wait on each other but
    // when their hashes meet, which only costs a wait.
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext($3), day::int)
         FROM generate_series($1::bigint, $2::bigint) AS day",
        &[&first, &last.max(first), &practice],
    )?;
    Ok(())
}

#[cfg(test)]
pub(super) mod tests;
