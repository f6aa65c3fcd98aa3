//! `firststep-adapter backup`: a consistent copy of the live store while the
//! adapter serves, and the documented restore (stop, copy the backup over the
//! store, remove the stale -wal and -shm files, start). A PostgreSQL store
//! is backed up with PostgreSQL's own tools: `backup` says so.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use firststep_protocol::BookingCreated;

use crate::helpers::{booking_body, new_key, spawn_app, spawn_on, sqlite_only, CONFIG};

fn backup(config: &Path, store: impl AsRef<std::ffi::OsStr>, to: &Path, more: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_firststep-adapter"))
        .arg("backup")
        .arg("--config")
        .arg(config)
        .arg("--store")
        .arg(store)
        .arg("--to")
        .arg(to)
        .args(more)
        .output()
        .unwrap()
}

#[tokio::test]
async fn a_backup_taken_while_bookings_arrive_holds_every_acknowledged_one_and_restores() {
    let app = Arc::new(spawn_app().await);
    let store = sqlite_only!(
        app,
        "an online copy of the SQLite file; PostgreSQL's is pg_dump's (see below)"
    );
    let config = app.folder().join("practice.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let slots = app.open_slots("free-consultation").await;
    let mut acknowledged: Vec<BookingCreated> = Vec::new();
    for slot in slots.iter().skip(8).take(10) {
        acknowledged.push(app.book(*slot).await);
    }

    // Visitors keep booking while the backup runs.
    let backed_up = Arc::new(AtomicBool::new(false));
    let visitors = {
        let (app, backed_up) = (app.clone(), backed_up.clone());
        let slots: Vec<_> = slots.iter().skip(20).copied().collect();
        tokio::spawn(async move {
            let mut during = 0;
            for slot in slots {
                if backed_up.load(Ordering::SeqCst) {
                    break;
                }
                let response = app.post_booking(&new_key(), &booking_body(slot)).await;
                assert_eq!(response.status(), 201);
                during += 1;
            }
            during
        })
    };
    let copies = tempfile::tempdir().unwrap();
    let copy = copies.path().join("backup.sqlite3");
    let (store_file, to) = (store.clone(), copy.clone());
    let config_file = config.clone();
    let output = tokio::task::spawn_blocking(move || backup(&config_file, &store_file, &to, &[]))
        .await
        .unwrap();
    backed_up.store(true, Ordering::SeqCst);
    let during = visitors.await.unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(during > 0, "no booking arrived during the backup");
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(said.contains("passes SQLite's integrity check"), "{said}");

    // Only its owner can read it: it holds visitors' personal data.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&copy).unwrap().permissions().mode();
    assert_eq!(
        mode & 0o077,
        0,
        "the backup is readable by others: {mode:o}"
    );

    // The copy is sound and holds every booking acknowledged before it began.
    {
        let copied = rusqlite::Connection::open(&copy).unwrap();
        let check: String = copied
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        for created in &acknowledged {
            let found: i64 = copied
                .query_row(
                    "SELECT COUNT(*) FROM bookings WHERE id = ?1",
                    [&created.booking.id],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(
                found, 1,
                "{} is missing from the backup",
                created.booking.id
            );
        }
    }

    // An existing file is not replaced unless asked.
    let before = std::fs::read(&copy).unwrap();
    let refused = backup(&config, &store, &copy, &[]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--overwrite"));
    assert_eq!(std::fs::read(&copy).unwrap(), before);
    let replaced = backup(&config, &store, &copy, &["--overwrite"]);
    assert!(
        replaced.status.success(),
        "{}",
        String::from_utf8_lossy(&replaced.stderr)
    );
    // The restore below uses the copy taken while visitors were booking.
    std::fs::write(&copy, before).unwrap();

    // Restore: stop, copy the backup over the store, remove -wal and -shm, start.
    let app = Arc::into_inner(app).expect("the visitors are done");
    let folder = app.stop().await;
    std::fs::copy(&copy, &store).unwrap();
    for suffix in ["-wal", "-shm"] {
        let mut side = store.as_os_str().to_owned();
        side.push(suffix);
        let _ = std::fs::remove_file(side);
    }
    let restored = spawn_on(CONFIG, folder).await;
    for created in &acknowledged {
        assert_eq!(restored.view(created).await, created.booking);
    }
}

/// `backup` of `store` into an empty folder with the practice's file; it
/// must fail, write nothing and leave no copy: its stderr.
fn refused_backup(store: impl AsRef<std::ffi::OsStr>) -> String {
    let folder = tempfile::tempdir().unwrap();
    let config = folder.path().join("practice.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let to = folder.path().join("backup.sqlite3");
    let output = backup(&config, store, &to, &[]);
    assert!(!output.status.success());
    assert!(!to.exists());
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn a_backup_of_no_store_fails_clearly_and_writes_nothing() {
    let missing = tempfile::tempdir().unwrap().path().join("missing.sqlite3");
    assert!(refused_backup(missing).contains("there is no store at"));
}

/// PostgreSQL has its own tools for a consistent copy: `backup` names
/// pg_dump, writes nothing, and never shows the URL's password.
#[tokio::test]
async fn a_backup_of_a_postgresql_store_names_pg_dump_and_writes_nothing() {
    let stderr = refused_backup("postgres://firststep:a-secret-password@127.0.0.1:5432/bookings");
    assert!(stderr.contains("pg_dump"), "{stderr}");
    assert!(!stderr.contains("a-secret-password"), "{stderr}");
}
