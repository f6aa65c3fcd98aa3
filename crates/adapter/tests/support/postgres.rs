//! A throw-away PostgreSQL for tests: one cluster per test binary, started
//! on first use, a fresh database for each test.
//!
//! The cluster lives in a temporary folder and listens only on a Unix socket
//! there (no TCP port, so test binaries never collide). `fsync` is off: a
//! test cluster needs no durability across power cuts. As root (initdb
//! refuses root) the cluster runs as the `postgres` user Debian's package
//! creates. A small shell keeps the server: it waits for its standard input
//! to close — which happens when the test process ends, however it ends —
//! then stops the server (its clients died with the process) and removes
//! the folder.
//!
//! Included by path (`#[path]`) by the test binaries that need it.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Debian's PostgreSQL 15 (`scripts/setup.sh` installs it).
const BIN: &str = "/usr/lib/postgresql/15/bin";
const STARTS_WITHIN: Duration = Duration::from_secs(30);

pub struct Cluster {
    /// The socket's folder.
    folder: PathBuf,
    /// Closed by the OS when the test process ends: the keeper then stops
    /// the server and removes the folder. Never written to.
    _keeper: Mutex<ChildStdin>,
    next_database: AtomicUsize,
}

/// The test binary's cluster, started on first use.
pub fn cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(|| Cluster::start().expect("starting a throw-away PostgreSQL"))
}

/// A new, empty database in the test binary's cluster: its URL. Made on a
/// thread of its own: the blocking client cannot run on an async test's.
pub fn fresh_database() -> String {
    std::thread::scope(|scope| {
        scope
            .spawn(|| cluster().create_database())
            .join()
            .expect("creating a test database")
    })
}

impl Cluster {
    fn start() -> Result<Self, String> {
        let began = Instant::now();
        let folder = tempfile::Builder::new()
            .prefix("firststep-pg-")
            .tempdir()
            .map_err(|e| format!("creating the cluster's folder: {e}"))?
            .keep();
        let owner = server_user()?;
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(&folder, Some(uid), Some(gid))
                .map_err(|e| format!("giving the cluster's folder to postgres: {e}"))?;
        }
        let data = folder.join("data");
        let log = folder.join("server.log");
        let initdb = as_server_user(Command::new(Path::new(BIN).join("initdb")), owner)
            .arg("--pgdata")
            .arg(&data)
            .args([
                "--username=postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .stdout(Stdio::null())
            .output()
            .map_err(|e| format!("running initdb: {e}"))?;
        if !initdb.status.success() {
            return Err(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&initdb.stderr)
            ));
        }
        // The keeper: the server in the background until our end of its
        // standard input closes; then a stop and the folder gone. TERM, not
        // QUIT: sh starts a background job with QUIT ignored, and a server
        // told before it set its own handlers would run on for ever.
        let script = r#"
            "$0/postgres" -D "$1/data" -k "$1" -c listen_addresses= -c fsync=off \
                -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 \
                >"$1/server.log" 2>&1 &
            server=$!
            cat >/dev/null
            kill -TERM "$server"
            wait "$server"
            rm -rf "$1""#;
        let mut keeper = as_server_user(Command::new("/bin/sh"), owner)
            .args(["-c", script, BIN])
            .arg(&folder)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting the server: {e}"))?;
        let stdin = keeper.stdin.take().ok_or("the keeper has no stdin")?;
        let cluster = Cluster {
            folder,
            _keeper: Mutex::new(stdin),
            next_database: AtomicUsize::new(0),
        };
        loop {
            match postgres::Client::connect(&cluster.url("postgres"), postgres::NoTls) {
                Ok(_) => break,
                Err(_) if began.elapsed() < STARTS_WITHIN => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                Err(error) => {
                    let mut told = String::new();
                    let _ = std::fs::File::open(&log).and_then(|mut f| f.read_to_string(&mut told));
                    return Err(format!("the server did not start: {error}\n{told}"));
                }
            }
        }
        // Seen with --nocapture: the price of a real database in the tests.
        eprintln!("throw-away PostgreSQL started in {:?}", began.elapsed());
        Ok(cluster)
    }

    /// The URL of database `name`, reached through the cluster's socket.
    pub fn url(&self, name: &str) -> String {
        let socket = self.folder.display().to_string().replace('/', "%2F");
        format!("postgres://postgres@{socket}/{name}")
    }

    fn create_database(&self) -> String {
        let name = format!(
            "test_{}",
            self.next_database.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = postgres::Client::connect(&self.url("postgres"), postgres::NoTls)
            .expect("connecting to the test cluster");
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("creating a test database");
        self.url(&name)
    }
}

/// The `postgres` user's ids when we are root (initdb refuses root); `None`
/// when the cluster can run as ourselves.
fn server_user() -> Result<Option<(u32, u32)>, String> {
    let me = Command::new("id")
        .arg("-u")
        .output()
        .map_err(|e| format!("running id: {e}"))?;
    if String::from_utf8_lossy(&me.stdout).trim() != "0" {
        return Ok(None);
    }
    let id = |flag: &str| -> Result<u32, String> {
        let out = Command::new("id")
            .args([flag, "postgres"])
            .output()
            .map_err(|e| format!("running id: {e}"))?;
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .map_err(|_| "no postgres user: run scripts/setup.sh".to_owned())
    };
    Ok(Some((id("-u")?, id("-g")?)))
}

fn as_server_user(mut command: Command, owner: Option<(u32, u32)>) -> Command {
    if let Some((uid, gid)) = owner {
        command.gid(gid).uid(uid);
    }
    command
}
