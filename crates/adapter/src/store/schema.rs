//! The store's tables. Each step brings a store from the version before it
//! to its own; `PRAGMA user_version` says how many have run. Steps are only
//! ever added.

/// Each step brings a store from the version before it to its own; the
/// store's `user_version` says how many have run.
pub(super) const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE bookings (
    id                TEXT PRIMARY KEY,
    service           TEXT NOT NULL,
    start_at          INTEGER NOT NULL,   -- unix seconds
    end_at            INTEGER NOT NULL,
    status            TEXT NOT NULL
        CHECK (status IN ('pending', 'confirmed', 'declined', 'cancelled', 'expired')),
    created_at        INTEGER NOT NULL,
    expires_at        INTEGER,            -- when an unanswered request lapses
    client_name       TEXT NOT NULL,
    client_email      TEXT NOT NULL,
    client_phone      TEXT,
    client_time_zone  TEXT,
    note              TEXT,
    manage_token_hash BLOB NOT NULL
);
CREATE UNIQUE INDEX one_live_booking_per_slot
    ON bookings (service, start_at) WHERE status IN ('pending', 'confirmed');
CREATE INDEX bookings_by_start ON bookings (start_at);

CREATE TABLE idempotency_keys (
    key               TEXT PRIMARY KEY,
    request_hash      BLOB NOT NULL,
    started_at        INTEGER NOT NULL,
    response_status   INTEGER,            -- NULL while the first request runs
    response_location TEXT,
    response_body     BLOB
);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    booking_id      TEXT NOT NULL REFERENCES bookings (id),
    action          TEXT NOT NULL,        -- place, confirm, release
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    done_at         INTEGER
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE done_at IS NULL;
"#,
    r#"
-- Where each booking stands in the practice's calendar.
ALTER TABLE bookings ADD COLUMN calendar_etag TEXT;
ALTER TABLE bookings ADD COLUMN calendar_state TEXT NOT NULL DEFAULT 'owed'
    CHECK (calendar_state IN ('owed', 'placed', 'conflicted', 'released'));
"#,
    r#"
-- The visitor's language, for their emails; extras an outbox row needs
-- (a manage token for the first email), cleared once delivered.
ALTER TABLE bookings ADD COLUMN locale TEXT;
ALTER TABLE outbox ADD COLUMN payload TEXT;
"#,
    r#"
-- Idempotency records keep no key and no answer in clear: the key as a hash,
-- the answer sealed with a key derived from the Idempotency-Key. The old
-- table's rows are moved over (and the table dropped) by the store on open.
ALTER TABLE idempotency_keys RENAME TO idempotency_keys_clear;
CREATE TABLE idempotency_records (
    key_hash          BLOB PRIMARY KEY,   -- SHA-256 of the key, domain-separated
    request_hash      BLOB NOT NULL,
    started_at        INTEGER NOT NULL,   -- unix seconds; deleted 24 h later
    response_status   INTEGER,            -- NULL while the first request runs
    response_location TEXT,
    response_sealed   BLOB                -- nonce, ChaCha20-Poly1305 ciphertext and tag
);
CREATE INDEX idempotency_records_by_age ON idempotency_records (started_at);

-- Retention: when a booking stopped being live (declined, cancelled,
-- expired), and when its personal fields were erased. Bookings closed before
-- this step count from now, so none is erased earlier than promised.
ALTER TABLE bookings ADD COLUMN closed_at INTEGER;
ALTER TABLE bookings ADD COLUMN erased_at INTEGER;
UPDATE bookings SET closed_at = CAST(strftime('%s', 'now') AS INTEGER)
    WHERE status IN ('declined', 'cancelled', 'expired');
"#,
    r#"
-- Outbox rows that can never succeed (an address refused, an SMTP 5xx) are
-- set aside after a few tries instead of retried for ever; NULL until then.
ALTER TABLE outbox ADD COLUMN set_aside_at INTEGER;
DROP INDEX outbox_due;
CREATE INDEX outbox_due ON outbox (next_attempt_at)
    WHERE done_at IS NULL AND set_aside_at IS NULL;
"#,
    r#"
-- A video service with a room per booking (`video_url_template`): the
-- booking's own unguessable room name; NULL for every other booking.
ALTER TABLE bookings ADD COLUMN room_token TEXT;
"#,
    r#"
-- Reminders. A reminder `h` hours before a booking's start goes only to a
-- booking confirmed by then: when it was (bookings confirmed before this step
-- count from when they were made). The manage token, sealed as the first
-- email's is, waits for the reminders' links while the booking is live and
-- ahead. Each reminder queued (or passed over) is recorded once, for the
-- start it was about, so no round and no restart queues it twice.
ALTER TABLE bookings ADD COLUMN confirmed_at INTEGER;
UPDATE bookings SET confirmed_at = created_at WHERE status = 'confirmed';
ALTER TABLE bookings ADD COLUMN reminder_token TEXT;
CREATE INDEX bookings_keeping_a_reminder_token ON bookings (start_at)
    WHERE reminder_token IS NOT NULL;
CREATE TABLE reminders (
    booking_id   TEXT NOT NULL REFERENCES bookings (id),
    hours_before INTEGER NOT NULL,
    start_at     INTEGER NOT NULL,   -- the start it was about: a moved booking is reminded anew
    queued_at    INTEGER NOT NULL,
    PRIMARY KEY (booking_id, hours_before, start_at)
);
"#,
    r#"
-- Reschedules: each move bumps the booking's version (the practice's
-- confirm/decline links are signed for one version, so older links stop
-- working) and keeps the start it moved from, for the practice's email.
ALTER TABLE bookings ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE bookings ADD COLUMN moved_from INTEGER;
"#,
    r#"
-- Group practices: whom each booking is with (a clinician's id; NULL in a
-- practice without clinicians). Two clinicians may be booked at one start:
-- the last word on double booking is one live booking per service, start
-- and clinician.
ALTER TABLE bookings ADD COLUMN clinician TEXT;
DROP INDEX one_live_booking_per_slot;
CREATE UNIQUE INDEX one_live_booking_per_slot_and_clinician
    ON bookings (service, start_at, IFNULL(clinician, '')) WHERE status IN ('pending', 'confirmed');
"#,
    r#"
-- Many practices in one store (`serve --config-dir`): every row is a
-- practice's, by its id; '' is the practice of a single `--config`, whose
-- rows these are. A slot is one practice's, and so is an idempotency key;
-- the indexes lead with the practice, as every query filters by it.
ALTER TABLE bookings ADD COLUMN practice TEXT NOT NULL DEFAULT '';
DROP INDEX one_live_booking_per_slot_and_clinician;
CREATE UNIQUE INDEX one_live_booking_per_practice_slot_and_clinician
    ON bookings (practice, service, start_at, IFNULL(clinician, ''))
    WHERE status IN ('pending', 'confirmed');
DROP INDEX bookings_by_start;
CREATE INDEX bookings_by_practice_and_start ON bookings (practice, start_at);
CREATE INDEX bookings_by_practice_and_email ON bookings (practice, lower(client_email));
ALTER TABLE outbox ADD COLUMN practice TEXT NOT NULL DEFAULT '';
ALTER TABLE reminders ADD COLUMN practice TEXT NOT NULL DEFAULT '';
CREATE TABLE idempotency_records_by_practice (
    practice          TEXT NOT NULL DEFAULT '',
    key_hash          BLOB NOT NULL,      -- SHA-256 of the key, domain-separated
    request_hash      BLOB NOT NULL,
    started_at        INTEGER NOT NULL,   -- unix seconds; deleted 24 h later
    response_status   INTEGER,            -- NULL while the first request runs
    response_location TEXT,
    response_sealed   BLOB,               -- nonce, ChaCha20-Poly1305 ciphertext and tag
    PRIMARY KEY (practice, key_hash)
);
INSERT INTO idempotency_records_by_practice
    (key_hash, request_hash, started_at, response_status, response_location, response_sealed)
    SELECT key_hash, request_hash, started_at, response_status, response_location, response_sealed
    FROM idempotency_records;
DROP TABLE idempotency_records;
ALTER TABLE idempotency_records_by_practice RENAME TO idempotency_records;
CREATE INDEX idempotency_records_by_age ON idempotency_records (started_at);
"#,
    r#"
-- Delivered outbox items are deleted with the retention round, a
-- practice's at a time.
CREATE INDEX outbox_delivered ON outbox (practice, done_at) WHERE done_at IS NOT NULL;
"#,
];
