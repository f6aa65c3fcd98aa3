//! A consistent copy of the live store, taken while the adapter serves.
//!
//! SQLite's online backup API copies every page in one step, inside one read
//! transaction: the copy is the store as of one commit, and (the store being
//! in WAL mode) writers go on meanwhile. The copy is written beside its
//! destination and renamed into place only once it is complete and checked,
//! so a failed backup never leaves a half file under the destination's name.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

/// How long to wait when the store is locked (a migration or checkpoint under way).
const PATIENCE: Duration = Duration::from_secs(30);

/// What a backup holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupReport {
    pub bookings: i64,
    pub bytes: u64,
}

/// Copies the store at `store` to `to`. An existing `to` is replaced only
/// when `overwrite` is set (and then only by a complete, checked copy).
pub fn backup(store: &Path, to: &Path, overwrite: bool) -> anyhow::Result<BackupReport> {
    if !store.is_file() {
        bail!("there is no store at {}", store.display());
    }
    if to.exists() && !overwrite {
        bail!(
            "{} exists; choose another name, or pass --overwrite to replace it",
            to.display()
        );
    }
    let partial = partial_path(to);
    let _ = std::fs::remove_file(&partial);
    let copied = copy(store, &partial);
    let report = match copied {
        Ok(report) => report,
        Err(error) => {
            let _ = std::fs::remove_file(&partial);
            return Err(error);
        }
    };
    std::fs::rename(&partial, to)
        .with_context(|| format!("moving the backup into place at {}", to.display()))?;
    Ok(report)
}

/// `FILE.partial-PID`, beside `FILE`, so the rename stays on one file system.
fn partial_path(to: &Path) -> PathBuf {
    let mut name = to.as_os_str().to_owned();
    name.push(format!(".partial-{}", std::process::id()));
    PathBuf::from(name)
}

/// An empty file only its owner can read: the copy holds visitors' personal data.
fn create_private(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map(drop)
}

fn copy(store: &Path, partial: &Path) -> anyhow::Result<BackupReport> {
    let source = Connection::open_with_flags(
        store,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("opening the store {}", store.display()))?;
    source.busy_timeout(Duration::from_secs(5))?;
    create_private(partial)
        .with_context(|| format!("creating the backup {}", partial.display()))?;
    let mut copy = Connection::open(partial)
        .with_context(|| format!("opening the backup {}", partial.display()))?;
    {
        let backup = Backup::new(&source, &mut copy).context("starting the backup")?;
        let started = Instant::now();
        loop {
            // -1: every page in one step, so the copy is of one commit.
            match backup.step(-1).context("copying the store")? {
                StepResult::Done => break,
                StepResult::More | StepResult::Busy | StepResult::Locked
                    if started.elapsed() < PATIENCE =>
                {
                    std::thread::sleep(Duration::from_millis(50))
                }
                _ => bail!("the store stayed locked for {PATIENCE:?}; try again"),
            }
        }
    }
    // One self-contained file: no write-ahead log beside it.
    copy.execute_batch("PRAGMA journal_mode = DELETE;")
        .context("making the backup one file")?;
    let check: String = copy
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .context("checking the backup")?;
    if check != "ok" {
        bail!("the backup does not pass SQLite's integrity check: {check}");
    }
    let bookings = copy
        .query_row("SELECT COUNT(*) FROM bookings", [], |row| row.get(0))
        .context("counting the backup's bookings")?;
    copy.close()
        .map_err(|(_, error)| error)
        .context("closing the backup")?;
    let file = std::fs::File::open(partial)?;
    file.sync_all().context("writing the backup to disk")?;
    let bytes = file.metadata()?.len();
    Ok(BackupReport { bookings, bytes })
}
