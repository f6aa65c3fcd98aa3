//! The PostgreSQL store's tables: the SQLite store's (`../schema.rs`) as they
//! stand after all its steps, with what several replicas need on top. Steps
//! are only ever added; `schema_version` says how many have run.

pub(super) const MIGRATIONS: &[&str] = &[
    r#"
-- Ranges of bigints in an exclusion constraint beside equality on text.
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE bookings (
    id                TEXT PRIMARY KEY,
    service           TEXT NOT NULL,
    start_at          BIGINT NOT NULL,   -- unix seconds
    end_at            BIGINT NOT NULL CHECK (end_at > start_at),
    -- How long after its end no other booking of the clinician may start:
    -- the shorter of the practice's buffers when it was made (the gap every
    -- order of booking keeps, see `no_double_booking`).
    clear_after       BIGINT NOT NULL DEFAULT 0 CHECK (clear_after >= 0),
    status            TEXT NOT NULL
        CHECK (status IN ('pending', 'confirmed', 'declined', 'cancelled', 'expired')),
    created_at        BIGINT NOT NULL,
    expires_at        BIGINT,            -- when an unanswered request lapses
    client_name       TEXT NOT NULL,
    client_email      TEXT NOT NULL,
    client_phone      TEXT,
    client_time_zone  TEXT,
    note              TEXT,
    locale            TEXT,
    manage_token_hash BYTEA NOT NULL,
    calendar_etag     TEXT,
    calendar_state    TEXT NOT NULL DEFAULT 'owed'
        CHECK (calendar_state IN ('owed', 'placed', 'conflicted', 'released')),
    closed_at         BIGINT,
    erased_at         BIGINT,
    room_token        TEXT,
    confirmed_at      BIGINT,
    reminder_token    TEXT,
    version           INTEGER NOT NULL DEFAULT 0,
    moved_from        BIGINT,
    clinician         TEXT,
    -- The last word on double booking, whichever replica books: no two live
    -- bookings of one clinician (or of a practice without clinicians) over
    -- the same time, buffer included.
    CONSTRAINT no_double_booking EXCLUDE USING gist (
        (COALESCE(clinician, '')) WITH =,
        int8range(start_at, end_at + clear_after) WITH &&
    ) WHERE (status IN ('pending', 'confirmed'))
);
CREATE INDEX bookings_by_start ON bookings (start_at);
CREATE INDEX bookings_keeping_a_reminder_token ON bookings (start_at)
    WHERE reminder_token IS NOT NULL;

CREATE TABLE idempotency_records (
    key_hash          BYTEA PRIMARY KEY,   -- SHA-256 of the key, domain-separated
    request_hash      BYTEA NOT NULL,
    started_at        BIGINT NOT NULL,     -- unix seconds; deleted 24 h later
    response_status   INTEGER,             -- NULL while the first request runs
    response_location TEXT,
    response_sealed   BYTEA                -- nonce, ChaCha20-Poly1305 ciphertext and tag
);
CREATE INDEX idempotency_records_by_age ON idempotency_records (started_at);

CREATE TABLE outbox (
    id              BIGSERIAL PRIMARY KEY,
    booking_id      TEXT NOT NULL REFERENCES bookings (id),
    action          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    done_at         BIGINT,
    payload         TEXT,
    set_aside_at    BIGINT,
    -- A replica delivering the item holds it until then; after that (it
    -- died, say) another may take it.
    leased_until    BIGINT
);
CREATE INDEX outbox_due ON outbox (next_attempt_at)
    WHERE done_at IS NULL AND set_aside_at IS NULL;

CREATE TABLE reminders (
    booking_id   TEXT NOT NULL REFERENCES bookings (id),
    hours_before INTEGER NOT NULL,
    start_at     BIGINT NOT NULL,
    queued_at    BIGINT NOT NULL,
    PRIMARY KEY (booking_id, hours_before, start_at)
);
"#,
    r#"
-- Many practices in one store (`serve --config-dir`): every row is a
-- practice's, by its id; '' is the practice of a single `--config`, whose
-- rows these are. Double booking is a matter of one practice's bookings; an
-- idempotency key is one practice's; indexes lead with the practice, as
-- every query filters by it.
ALTER TABLE bookings ADD COLUMN practice TEXT NOT NULL DEFAULT '';
ALTER TABLE bookings DROP CONSTRAINT no_double_booking;
ALTER TABLE bookings ADD CONSTRAINT no_double_booking EXCLUDE USING gist (
    practice WITH =,
    (COALESCE(clinician, '')) WITH =,
    int8range(start_at, end_at + clear_after) WITH &&
) WHERE (status IN ('pending', 'confirmed'));
DROP INDEX bookings_by_start;
CREATE INDEX bookings_by_practice_and_start ON bookings (practice, start_at);
CREATE INDEX bookings_by_practice_and_email ON bookings (practice, lower(client_email));
ALTER TABLE idempotency_records ADD COLUMN practice TEXT NOT NULL DEFAULT '';
ALTER TABLE idempotency_records DROP CONSTRAINT idempotency_records_pkey;
ALTER TABLE idempotency_records ADD PRIMARY KEY (practice, key_hash);
ALTER TABLE outbox ADD COLUMN practice TEXT NOT NULL DEFAULT '';
ALTER TABLE reminders ADD COLUMN practice TEXT NOT NULL DEFAULT '';
"#,
    r#"
-- Delivered outbox items are deleted with the retention round, a
-- practice's at a time.
CREATE INDEX outbox_delivered ON outbox (practice, done_at) WHERE done_at IS NOT NULL;
"#,
];
