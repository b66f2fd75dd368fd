-- The append-only event log: the single source of truth. Read models are derived from it and
-- can be dropped and rebuilt at any time; this table cannot. Same shape as on PostgreSQL.
CREATE TABLE events (
    -- The global order every reader sees: head + 1, assigned by the single writer inside its
    -- BEGIN IMMEDIATE transaction, so contiguous and visible in order. An alias of the rowid.
    position        INTEGER PRIMARY KEY CHECK (position > 0),
    -- UUIDv7, hyphenated text.
    event_id        TEXT    NOT NULL UNIQUE,
    tenant_id       TEXT    NOT NULL,
    stream_id       TEXT    NOT NULL,
    stream_version  INTEGER NOT NULL CHECK (stream_version > 0),
    event_type      TEXT    NOT NULL,
    revision        INTEGER NOT NULL CHECK (revision > 0),
    -- The exact JSON text, which is what the hash chain covers. Deliberately no json_valid()
    -- CHECK: a damaged row must stay readable as a row, so the reader can name its position.
    payload         TEXT    NOT NULL,
    metadata        TEXT    NOT NULL,
    -- Commit time in microseconds since the Unix epoch, UTC.
    recorded_at     INTEGER NOT NULL,
    prev_hash       BLOB    NOT NULL CHECK (length(prev_hash) = 32),
    hash            BLOB    NOT NULL CHECK (length(hash) = 32),
    UNIQUE (tenant_id, stream_id, stream_version)
);

CREATE INDEX events_tenant_position ON events (tenant_id, position);
CREATE INDEX events_type_position ON events (event_type, position);
CREATE INDEX events_recorded_at ON events (recorded_at);

-- Append-only in the database itself.
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'the events table is append-only: UPDATE refused');
END;

CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'the events table is append-only: DELETE refused');
END;

-- Unique values reserved by their owning stream, written with the events (see PostgreSQL).
CREATE TABLE unique_keys (
    tenant_id   TEXT NOT NULL,
    scope       TEXT NOT NULL,
    value       TEXT NOT NULL,
    owner       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, scope, value)
) WITHOUT ROWID;

-- Idempotency keys seen per tenant (see PostgreSQL).
CREATE TABLE idempotency_keys (
    tenant_id       TEXT    NOT NULL,
    key             TEXT    NOT NULL,
    fingerprint     TEXT    NOT NULL,
    first_position  INTEGER NOT NULL,
    last_position   INTEGER NOT NULL,
    -- Microseconds since the Unix epoch, UTC.
    recorded_at     INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, key)
) WITHOUT ROWID;
