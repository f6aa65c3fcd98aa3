//! `spawn_app()` and friends.

use std::path::PathBuf;
use std::sync::Once;

use chrono::{DateTime, Duration, Utc};
use firststep_adapter::clock::{Clock, ClockHand};
use firststep_adapter::config::Settings;
use firststep_adapter::store::StoreLocation;
use firststep_adapter::Application;
use firststep_protocol::{Problem, SlotList};
use serde_json::{json, Value};

/// The second service of [`CONFIG`], to remove for a one-service practice.
pub const INTAKE_SERVICE: &str = r#"[[services]]
id = "intake"
title = "Intake session"
duration_minutes = 50
mode = "instant"
"#;

/// A practice open around the clock in UTC, so tests find slots at any hour.
pub const CONFIG: &str = r#"
[practice]
name = "Test Practice"
time_zone = "UTC"
notice = "In a crisis, call your local emergency number."
privacy_url = "https://test.example.org/privacy"

[[services]]
id = "free-consultation"
title = "Free 15-minute consultation"
mode = "request"

[[services]]
id = "intake"
title = "Intake session"
duration_minutes = 50
mode = "instant"

[form]
phone = "optional"
note = "optional"

[availability]
minimum_notice_minutes = 0
horizon_days = 30

[availability.weekly]
monday = ["00:00-24:00"]
tuesday = ["00:00-24:00"]
wednesday = ["00:00-24:00"]
thursday = ["00:00-24:00"]
friday = ["00:00-24:00"]
saturday = ["00:00-24:00"]
sunday = ["00:00-24:00"]

[server]
listen = "127.0.0.1:0"
allowed_origins = ["https://practice.example.org"]
bookings_per_minute = 100000
"#;

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    /// Where the server keeps its bookings, whichever the backend.
    pub store_location: StoreLocation,
    /// Moves the server's clock: tests let time pass with [`TestApp::advance`].
    clock: ClockHand,
    /// The server's clock, read by [`TestApp::now`].
    now: Clock,
    /// Keeps the temporary folder (and its store) alive as long as the app.
    _folder: std::sync::Arc<tempfile::TempDir>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

/// The store of a test server on `folder`: a SQLite file there, or with
/// `FIRSTSTEP_TEST_STORE=postgres` a database of the test binary's
/// throw-away PostgreSQL, one per folder (its URL kept in the folder, so a
/// server restarted on the folder finds its bookings).
pub fn store_in(folder: &std::path::Path) -> StoreLocation {
    match std::env::var("FIRSTSTEP_TEST_STORE").as_deref() {
        Err(_) | Ok("sqlite") => StoreLocation::Sqlite(folder.join("bookings.sqlite3")),
        Ok("postgres") => {
            let kept = folder.join("postgres-url");
            let url = std::fs::read_to_string(&kept).unwrap_or_else(|_| {
                let url = crate::postgres_cluster::fresh_database();
                std::fs::write(&kept, &url).expect("keeping the database's URL");
                url
            });
            StoreLocation::Postgres(url)
        }
        Ok(other) => panic!("FIRSTSTEP_TEST_STORE is sqlite or postgres, not {other:?}"),
    }
}

/// Ends a test of what only SQLite has when the suite runs on PostgreSQL,
/// saying so in the test's output; else the SQLite file. The one rule by
/// which a test is left out on PostgreSQL: `$why` names what only SQLite has.
macro_rules! sqlite_only {
    ($app:expr, $why:literal) => {
        match $app.sqlite_file() {
            Some(file) => file,
            None => {
                eprintln!("SQLite only, left out on PostgreSQL: {}", $why);
                return;
            }
        }
    };
}
pub(crate) use sqlite_only;

/// The store at `location` as the command line takes it (`--store`).
pub fn store_arg(location: &StoreLocation) -> String {
    match location {
        StoreLocation::Sqlite(path) => path.display().to_string(),
        StoreLocation::Postgres(url) => url.clone(),
    }
}

/// Runs `sqlite` or `postgres` on a connection of its own to the store's
/// tables (on a thread of its own: the blocking client cannot run on an
/// async test's).
fn on_tables<T: Send>(
    location: &StoreLocation,
    sqlite: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T> + Send,
    postgres: impl FnOnce(&mut postgres::Client) -> Result<T, postgres::Error> + Send,
) -> T {
    match location {
        StoreLocation::Sqlite(path) => rusqlite::Connection::open(path)
            .and_then(|c| sqlite(&c))
            .expect("reading the SQLite store"),
        StoreLocation::Postgres(url) => on_postgres(url, postgres),
    }
}

/// Runs `work` on a connection of its own to the PostgreSQL database at `url`.
fn on_postgres<T: Send>(
    url: &str,
    work: impl FnOnce(&mut postgres::Client) -> Result<T, postgres::Error> + Send,
) -> T {
    std::thread::scope(|scope| {
        scope
            .spawn(|| work(&mut postgres::Client::connect(url, postgres::NoTls)?))
            .join()
            .expect("reading the PostgreSQL store panicked")
            .expect("reading the PostgreSQL store")
    })
}

/// A count read straight from the tables of the store at `location`.
pub fn count_rows_in(location: &StoreLocation, sql: &str) -> i64 {
    on_tables(
        location,
        |c| c.query_row(sql, [], |row| row.get(0)),
        |c| c.query_one(sql, &[]).map(|row| row.get(0)),
    )
}

/// The one row `sql` finds in the tables of the store at `location`, each
/// column as text (`param` is `$1`).
pub fn text_row_in(location: &StoreLocation, sql: &str, param: &str) -> Vec<Option<String>> {
    let mut rows = text_rows_in(location, sql, param);
    assert_eq!(rows.len(), 1, "one row of {sql}");
    rows.remove(0)
}

/// Every row `sql` finds in the tables of the store at `location`, each
/// column as text (`param` is `$1`).
pub fn text_rows_in(location: &StoreLocation, sql: &str, param: &str) -> Vec<Vec<Option<String>>> {
    on_tables(
        location,
        |c| {
            let mut statement = c.prepare(sql)?;
            let columns = statement.column_count();
            let rows =
                statement.query_map([param], |row| (0..columns).map(|i| row.get(i)).collect())?;
            rows.collect()
        },
        |c| {
            let rows = c.query(sql, &[&param])?;
            Ok(rows
                .iter()
                .map(|row| (0..row.len()).map(|i| row.get(i)).collect())
                .collect())
        },
    )
}

/// The lock of [`TestApp::hold_write_lock`]; released when dropped.
pub struct WriteLock {
    release: Option<std::sync::mpsc::Sender<()>>,
    holder: Option<std::thread::JoinHandle<()>>,
}

impl Drop for WriteLock {
    fn drop(&mut self) {
        drop(self.release.take());
        if let Some(holder) = self.holder.take() {
            let _ = holder.join();
        }
    }
}

/// The server's store, opened beside it, for tests to read and change as
/// the `requests` command does. A blocking store: each call runs on a
/// thread of its own, off the test's async runtime.
pub struct StoreHandle(pub firststep_adapter::store::Store);

impl StoreHandle {
    pub fn run<T: Send>(
        &self,
        work: impl FnOnce(&firststep_adapter::store::Store) -> T + Send,
    ) -> T {
        std::thread::scope(|scope| {
            scope
                .spawn(|| work(&self.0))
                .join()
                .expect("store work panicked")
        })
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(CONFIG).await
}

pub async fn spawn_app_with(config: &str) -> TestApp {
    let folder = std::sync::Arc::new(tempfile::tempdir().expect("a temporary folder"));
    spawn_on(config, folder).await
}

/// Starts a server on the store in `folder` (which may hold an earlier one's).
pub async fn spawn_on(config: &str, folder: std::sync::Arc<tempfile::TempDir>) -> TestApp {
    spawn_tuned(config, folder, |_| {}).await
}

/// [`spawn_on`], with settings the file cannot hold changed by `tune`.
pub async fn spawn_tuned(
    config: &str,
    folder: std::sync::Arc<tempfile::TempDir>,
    tune: impl FnOnce(&mut Settings),
) -> TestApp {
    init_logs();
    let mut settings =
        Settings::from_toml(config, folder.path()).expect("the test configuration is valid");
    tune(&mut settings);
    let store_location = store_in(folder.path());
    settings.server.store = store_location.clone();
    let (now, clock) = Clock::movable();
    let app = Application::build_with_clock(settings, now.clone())
        .await
        .expect("the app starts");
    let address = format!("http://{}", app.address());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        app.run_until_stopped(async {
            let _ = stopped.await;
        })
        .await
        .expect("the app serves");
    });
    TestApp {
        address,
        client: reqwest::Client::new(),
        store_location,
        clock,
        now,
        _folder: folder,
        stop: Some(stop),
        server: Some(server),
    }
}

fn init_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            tracing_subscriber::fmt().with_env_filter("debug").init();
        }
    });
}

impl TestApp {
    /// A count the test reads straight from the server's tables (`sql`
    /// written for both SQLite and PostgreSQL, without parameters).
    pub fn count_rows(&self, sql: &str) -> i64 {
        count_rows_in(&self.store_location, sql)
    }

    /// One row the test reads straight from the server's tables, each
    /// column as text (`sql` written for both SQLite and PostgreSQL, with
    /// `param` as its one parameter, `$1`).
    pub fn text_row(&self, sql: &str, param: &str) -> Vec<Option<String>> {
        text_row_in(&self.store_location, sql, param)
    }

    /// [`TestApp::text_row`], for every row `sql` finds.
    pub fn text_rows(&self, sql: &str, param: &str) -> Vec<Vec<Option<String>>> {
        text_rows_in(&self.store_location, sql, param)
    }

    /// Changes the server's tables behind its back (`sql` written for both
    /// SQLite and PostgreSQL, without parameters), as a row written by an
    /// older version would be.
    pub fn execute(&self, sql: &str) {
        on_tables(
            &self.store_location,
            |c| c.execute_batch(sql),
            |c| c.batch_execute(sql),
        )
    }

    /// The columns of `table`, as the store names them.
    pub fn column_names(&self, table: &str) -> Vec<String> {
        let sql = format!("SELECT * FROM {table} LIMIT 0");
        on_tables(
            &self.store_location,
            |c| {
                let statement = c.prepare(&sql)?;
                Ok(statement
                    .column_names()
                    .iter()
                    .map(|c| c.to_string())
                    .collect())
            },
            |c| {
                let statement = c.prepare(&sql)?;
                Ok(statement
                    .columns()
                    .iter()
                    .map(|c| c.name().to_owned())
                    .collect())
            },
        )
    }

    /// Everything the store holds, to search for what must not be there.
    /// SQLite: every byte of its file, write-ahead log and shared-memory
    /// index (free pages included). PostgreSQL: every row of every table,
    /// as text (bytes as hex) — what a dump or a reader of the database sees.
    pub fn stored_bytes(&self) -> Vec<u8> {
        match &self.store_location {
            StoreLocation::Sqlite(path) => raw_store_bytes(path),
            StoreLocation::Postgres(url) => on_postgres(url, |c| {
                let mut text = String::new();
                let tables = c.query(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
                    &[],
                )?;
                for table in tables {
                    let name: String = table.get(0);
                    let sql = format!("SELECT t::text FROM \"{name}\" t");
                    for row in c.query(&sql, &[])? {
                        text.push_str(row.get(0));
                        text.push('\n');
                    }
                }
                Ok(text.into_bytes())
            }),
        }
    }

    /// The store as the command line takes it (`--store`): the SQLite
    /// file's path or the PostgreSQL URL.
    pub fn store_arg(&self) -> String {
        store_arg(&self.store_location)
    }

    /// The folder the server's files are in (its store's, with SQLite).
    pub fn folder(&self) -> &std::path::Path {
        self._folder.path()
    }

    /// The SQLite file of the store, for the few tests of what only SQLite
    /// has (its file's copy, its locks); `None` on PostgreSQL. Such a test
    /// says why, through [`sqlite_only!`].
    pub fn sqlite_file(&self) -> Option<PathBuf> {
        match &self.store_location {
            StoreLocation::Sqlite(path) => Some(path.clone()),
            StoreLocation::Postgres(_) => None,
        }
    }

    /// Another connection holds the lock a booking's write needs, as a
    /// stuck database or another process would, until the holder is dropped.
    /// SQLite: an exclusive transaction on the file. PostgreSQL: the
    /// bookings table locked in ACCESS EXCLUSIVE mode.
    pub fn hold_write_lock(&self) -> WriteLock {
        let location = self.store_location.clone();
        let (locked, is_locked) = std::sync::mpsc::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let holder = std::thread::spawn(move || {
            // Told once the lock is held; then holds it until released.
            let released = std::sync::Mutex::new(released);
            let hold = || {
                let _ = locked.send(());
                let _ = released.lock().map(|r| r.recv());
            };
            on_tables(
                &location,
                |c| {
                    c.execute_batch("BEGIN EXCLUSIVE")?;
                    hold();
                    c.execute_batch("ROLLBACK")
                },
                |c| {
                    let mut tx = c.transaction()?;
                    tx.batch_execute("LOCK TABLE bookings IN ACCESS EXCLUSIVE MODE")?;
                    hold();
                    tx.rollback()
                },
            )
        });
        is_locked
            .recv()
            .expect("the store locked by another connection");
        WriteLock {
            release: Some(release),
            holder: Some(holder),
        }
    }

    /// The server's store, opened beside it.
    pub fn open_store(&self) -> StoreHandle {
        let location = self.store_location.clone();
        let store = std::thread::scope(|scope| {
            scope
                .spawn(|| firststep_adapter::store::Store::open(&location))
                .join()
                .expect("opening the store panicked")
        });
        StoreHandle(store.expect("the server's store opens"))
    }

    /// Stops the server gracefully and waits until it has.
    pub async fn stop(mut self) -> std::sync::Arc<tempfile::TempDir> {
        let _ = self.stop.take().expect("running").send(());
        self.server
            .take()
            .expect("running")
            .await
            .expect("the server stops cleanly");
        self._folder.clone()
    }

    /// The present, as the server sees it.
    pub fn now(&self) -> DateTime<Utc> {
        self.now.now()
    }

    /// Lets `by` pass on the server's clock; its background rounds wake and
    /// do what fell due.
    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// Lets time pass on the server's clock until a second after `at`.
    pub fn advance_past(&self, at: DateTime<Utc>) {
        self.advance(at - self.now() + Duration::seconds(1));
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    /// Open slots of `service` for the next two days.
    pub async fn open_slots(&self, service: &str) -> Vec<DateTime<Utc>> {
        self.open_slots_from(service, self.now()).await
    }

    /// Open slots of `service` for two days from `from`.
    pub async fn open_slots_from(&self, service: &str, from: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        let path = format!(
            "/v1/slots?service={service}&from={}&to={}",
            iso(from),
            iso(from + Duration::days(2))
        );
        let list: SlotList = self.get(&path).await.json().await.expect("a slot list");
        list.slots.into_iter().map(|s| s.start).collect()
    }

    /// A free slot of the 15-minute service, a day from now.
    pub async fn a_free_slot(&self) -> DateTime<Utc> {
        self.a_free_slot_in(Duration::days(1)).await
    }

    /// A free slot of the 15-minute service, `ahead` from now.
    pub async fn a_free_slot_in(&self, ahead: Duration) -> DateTime<Utc> {
        let soon = self.now() + ahead;
        *self
            .open_slots_from("free-consultation", soon)
            .await
            .iter()
            .find(|s| **s > soon)
            .expect("a free slot")
    }

    /// Books the 15-minute service at `start` with a fresh key; it must succeed.
    pub async fn book(&self, start: DateTime<Utc>) -> firststep_protocol::BookingCreated {
        let response = self.post_booking(&new_key(), &booking_body(start)).await;
        assert_eq!(response.status(), 201, "booking {start}");
        response.json().await.expect("a created booking")
    }

    /// The booking as its owner sees it, through the protocol.
    pub async fn view(
        &self,
        created: &firststep_protocol::BookingCreated,
    ) -> firststep_protocol::BookingView {
        let path = format!("/v1/bookings/{}", created.booking.id);
        let response = self
            .client
            .get(self.url(&path))
            .bearer_auth(&created.manage_token)
            .send()
            .await
            .unwrap();
        response.json().await.expect("a booking")
    }

    /// The visitor cancels, through the protocol.
    pub async fn cancel(&self, created: &firststep_protocol::BookingCreated) {
        let path = format!("/v1/bookings/{}", created.booking.id);
        let response = self
            .client
            .delete(self.url(&path))
            .bearer_auth(&created.manage_token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "cancelling {}", created.booking.id);
    }

    pub async fn post_booking(&self, key: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url("/v1/bookings"))
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await
            .expect("request sent")
    }
}

/// A booking request the adapter accepts, for the slot at `start`.
pub fn booking_body(start: DateTime<Utc>) -> Value {
    json!({
        "service": "free-consultation",
        "start": iso(start),
        "client": {"name": "Sam Lee", "email": "sam@example.org", "phone": null},
        "client_time_zone": "Europe/Berlin",
        "note": null,
        "consent": true,
        "website": ""
    })
}

pub fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub fn new_key() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).unwrap();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads a problem+json response, checking its media type and status.
pub async fn problem(response: reqwest::Response, status: u16) -> Problem {
    assert_eq!(response.status().as_u16(), status, "unexpected status");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let problem: Problem = response.json().await.expect("a problem body");
    assert_eq!(problem.status, status);
    problem
}

/// Waits until a server the tests started accepts connections on `port`:
/// up to 20 s, as a Python server can take seconds to start on a loaded machine.
pub async fn wait_for_port(port: u16, what: &str) {
    for _ in 0..400 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{what} did not start on port {port}");
}

/// The link secret of [`with_mail`].
pub const LINK_SECRET: &str = "a-link-secret-of-more-than-32-characters";

/// `config` with mail through the SMTP server on `smtp_port` (the link
/// secret in a file all tests share, so the command-line tools read it too).
pub fn with_mail(config: &str, smtp_port: u16) -> String {
    static SECRET_FILE: std::sync::OnceLock<tempfile::NamedTempFile> = std::sync::OnceLock::new();
    let file = SECRET_FILE.get_or_init(|| {
        let file = tempfile::NamedTempFile::new().expect("a temporary file");
        std::fs::write(file.path(), LINK_SECRET).expect("the link secret written");
        file
    });
    format!(
        "{config}\n[mail]\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {smtp_port}\ntls = \"none\"\n\
         from = \"Test Practice <bookings@test.example.org>\"\npractice_to = \"therapist@test.example.org\"\n\
         public_url = \"https://public.test\"\nlink_secret_file = {:?}\n",
        file.path().display().to_string()
    )
}

/// A loopback port nothing listens on (an SMTP or calendar server that is down).
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Every byte SQLite keeps for the store at `path`: the file, its
/// write-ahead log and shared-memory index.
fn raw_store_bytes(path: &std::path::Path) -> Vec<u8> {
    let mut bytes = std::fs::read(path).expect("the store file");
    for suffix in ["-wal", "-shm"] {
        let mut side = path.as_os_str().to_owned();
        side.push(suffix);
        if let Ok(more) = std::fs::read(PathBuf::from(side)) {
            bytes.extend(more);
        }
    }
    bytes
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// Waits up to `seconds` for `check` to hold.
pub async fn eventually<F, Fut>(what: &str, seconds: u64, check: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..seconds * 10 {
        if check().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{what} did not happen within {seconds} s");
}

/// Tomorrow at `hh:mm` UTC (the test practice is open around the clock in UTC).
pub fn tomorrow_at(hh: u32, mm: u32) -> DateTime<Utc> {
    (Utc::now() + Duration::days(1))
        .date_naive()
        .and_hms_opt(hh, mm, 0)
        .unwrap()
        .and_utc()
}

/// `firststep-adapter check-config FILE`, run to its end.
pub fn check_config(file: &std::path::Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_firststep-adapter"))
        .arg("check-config")
        .arg(file)
        .output()
        .unwrap()
}

/// `check-config` failed, saying exactly `expected` (each line starting so), in order.
pub fn assert_problems(output: std::process::Output, expected: &[String]) {
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), expected.len(), "{stderr}");
    for (line, expected) in lines.iter().zip(expected) {
        assert!(
            line.starts_with(expected.as_str()),
            "{line}\nexpected: {expected}…"
        );
    }
}
