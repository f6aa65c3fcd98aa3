//! The SQLite store's connections: one file in WAL mode with
//! `synchronous = FULL` (a booking is on disk before its 201 leaves), one
//! writer at a time, readers that see the last commit without waiting. Its
//! queries are in the theme modules beside this one.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use rusqlite::{Connection, TransactionBehavior};

use super::idempotency;
use super::schema::MIGRATIONS;

/// The SQLite store; cheap to clone.
#[derive(Clone)]
pub struct Sqlite {
    inner: Arc<Inner>,
}

struct Inner {
    /// SQLite allows one writer at a time; this is it.
    writer: Mutex<Connection>,
    /// Readers see the last commit without waiting for the writer (WAL).
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

impl Sqlite {
    /// Opens (creating if need be) the store at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder)
                .with_context(|| format!("creating the store's folder {}", folder.display()))?;
        }
        create_private(path).with_context(|| format!("creating the store {}", path.display()))?;
        let mut writer = connect(path)?;
        migrate(&writer)
            .and_then(|()| idempotency::seal_clear_records(&mut writer))
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

    pub(super) fn write<T>(
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

    pub(super) fn read<T>(
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
             PRAGMA secure_delete = ON; -- erased text is overwritten, not left in free pages
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

/// Creates a new store file readable by its owner only: it holds visitors'
/// personal data, and SQLite gives its log and shared-memory files the same
/// permissions. An existing file keeps the permissions its operator chose.
fn create_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        other => other.map(drop),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::IdempotencyKey;
    use crate::sealing::{open_payload, SealingKey};
    use crate::store::{instant, KeyClaim, StoredResponse, IDEMPOTENCY_KEPT_FOR};

    const TOKEN: &str = "legacy-manage-token-0123456789abcdefghijklmno";
    const KEY: &str = "legacy-idempotency-key-0b6f8c1e";

    #[test]
    fn a_new_store_and_its_log_are_readable_by_their_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("bookings.sqlite3");
        let store = Sqlite::open(&path).unwrap();
        let wal = folder.path().join("bookings.sqlite3-wal");
        for file in [&path, &wal] {
            let mode = std::fs::metadata(file).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "{} is {mode:o}", file.display());
        }
        drop(store);
    }

    fn contains(haystack: &[u8], needle: &str) -> bool {
        haystack
            .windows(needle.len())
            .any(|w| w == needle.as_bytes())
    }

    /// A store as the version before sealing left it: a replay and a first
    /// email, both with the manage token in clear.
    fn legacy_store(path: &Path) {
        let c = Connection::open(path).unwrap();
        c.execute_batch("PRAGMA journal_mode = WAL;").unwrap();
        for step in &MIGRATIONS[..3] {
            c.execute_batch(step).unwrap();
        }
        c.execute_batch(&format!(
            "PRAGMA user_version = 3;
             INSERT INTO bookings (id, service, start_at, end_at, status, created_at, client_name,
                 client_email, manage_token_hash)
                 VALUES ('bk_AAAAAAAAAAAAAAAA', 'free', 100, 200, 'pending', 50, 'Sam', 'sam@example.org', zeroblob(32));
             INSERT INTO outbox (booking_id, action, next_attempt_at, created_at, payload)
                 VALUES ('bk_AAAAAAAAAAAAAAAA', 'mail:visitor_received', 50, 50, '{TOKEN}');
             INSERT INTO idempotency_keys (key, request_hash, started_at, response_status, response_body)
                 VALUES ('{KEY}', x'01', 50, 201, CAST('{{\"manage_token\":\"{TOKEN}\"}}' AS BLOB));"
        ))
        .unwrap();
    }

    #[test]
    fn a_store_from_before_sealing_keeps_working_and_loses_its_clear_tokens() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("store.sqlite3");
        legacy_store(&path);

        let store = Sqlite::open(&path).unwrap();
        let mail_key = SealingKey::derive(b"the link secret", "test");
        assert_eq!(store.seal_clear_payloads("", Some(&mail_key)).unwrap(), 1);

        // The replay still answers the key's holder, a day later at most.
        let key = IdempotencyKey::parse(KEY).unwrap();
        let now = instant(50) + chrono::Duration::hours(1);
        match store.claim_key("", &key, &[1], now).unwrap() {
            KeyClaim::Replay(response) => assert!(contains(&response.body, TOKEN)),
            other => panic!("expected a replay, got {other:?}"),
        }
        // The first email still gets its token.
        let due = store.due_deliveries(now, 10, &[String::new()]).unwrap();
        let payload = due[0].payload.as_deref().unwrap();
        assert_eq!(
            open_payload(&mail_key, &due[0].booking_id, payload).as_deref(),
            Some(TOKEN)
        );
        // And the file holds neither in clear.
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend(std::fs::read(folder.path().join("store.sqlite3-wal")).unwrap_or_default());
        assert!(!contains(&bytes, TOKEN), "the token is in the file");
        assert!(!contains(&bytes, KEY), "the key is in the file");
    }

    #[test]
    fn a_store_whose_clear_tokens_are_only_in_replays_holds_none_once_opened() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("store.sqlite3");
        legacy_store(&path);
        // The first email went out: its token is gone, the replay's is left.
        let legacy = Connection::open(&path).unwrap();
        legacy
            .execute_batch("UPDATE outbox SET payload = NULL; PRAGMA wal_checkpoint(TRUNCATE);")
            .unwrap();
        drop(legacy);

        let _store = Sqlite::open(&path).unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend(std::fs::read(folder.path().join("store.sqlite3-wal")).unwrap_or_default());
        assert!(!contains(&bytes, TOKEN), "the token is in the file");
        assert!(!contains(&bytes, KEY), "the key is in the file");
    }

    #[test]
    fn visitor_text_stored_before_the_field_rules_is_read_back_inert() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("store.sqlite3");
        legacy_store(&path);
        Connection::open(&path)
            .unwrap()
            .execute(
                "UPDATE bookings SET client_name = ?1, client_phone = ?2, note = ?3",
                [
                    "Sam \u{202E}eeL\u{1B}[2J",
                    "555\u{7}0100",
                    "hi\rthere\u{2066}",
                ],
            )
            .unwrap();

        let store = Sqlite::open(&path).unwrap();
        let visitor = store
            .booking("", "bk_AAAAAAAAAAAAAAAA", instant(60))
            .unwrap()
            .unwrap()
            .visitor;
        assert_eq!(visitor.name, "Sam eeL[2J");
        assert_eq!(visitor.phone.as_deref(), Some("5550100"));
        assert_eq!(visitor.note.as_deref(), Some("hi\rthere"), "lines stay");
    }

    #[test]
    fn idempotency_records_are_deleted_after_a_day_and_the_key_is_then_new() {
        let folder = tempfile::tempdir().unwrap();
        let store = Sqlite::open(&folder.path().join("store.sqlite3")).unwrap();
        let key = IdempotencyKey::parse("k-1").unwrap();
        let start = instant(1_800_000_000);
        assert_eq!(
            store.claim_key("", &key, &[1], start).unwrap(),
            KeyClaim::Claimed
        );
        let answer = StoredResponse {
            status: 201,
            location: None,
            body: b"first".to_vec(),
        };
        store.finish_key("", &key, &answer).unwrap();

        let almost = start + IDEMPOTENCY_KEPT_FOR - chrono::Duration::seconds(1);
        assert_eq!(
            store.claim_key("", &key, &[1], almost).unwrap(),
            KeyClaim::Replay(answer)
        );
        assert_eq!(store.delete_expired_keys(almost).unwrap(), 0);

        let later = start + IDEMPOTENCY_KEPT_FOR;
        assert_eq!(store.delete_expired_keys(later).unwrap(), 1);
        assert_eq!(
            store.claim_key("", &key, &[1], later).unwrap(),
            KeyClaim::Claimed
        );
        // Expired records also go on the way, when a new key is claimed.
        let other = IdempotencyKey::parse("k-2").unwrap();
        let much_later = later + IDEMPOTENCY_KEPT_FOR;
        assert_eq!(
            store.claim_key("", &other, &[2], much_later).unwrap(),
            KeyClaim::Claimed
        );
        let left: i64 = store
            .read(|c| c.query_row("SELECT COUNT(*) FROM idempotency_records", [], |r| r.get(0)))
            .unwrap();
        assert_eq!(left, 1, "only the new key's record is left");
    }
}
