-- The append-only event log: the single source of truth. Read models are derived from it and
-- can be dropped and rebuilt at any time; this table cannot.
CREATE TABLE events (
    -- The global order every reader sees. Assigned as head + 1 by the writer while it holds
    -- the advisory lock (see below) until commit, so positions are contiguous and become
    -- visible in order: a reader that has seen P never later meets a committed event below P.
    -- Not a sequence: sequences leave gaps on rollback and commit out of order.
    position        BIGINT      PRIMARY KEY CHECK (position > 0),
    -- UUIDv7, so consumers of the Kafka relay can de-duplicate at-least-once deliveries.
    event_id        UUID        NOT NULL UNIQUE,
    -- The owning tenant; the control plane is a tenant too.
    tenant_id       TEXT        NOT NULL,
    -- The aggregate's stream, e.g. role:acme:rol_123, and the event's version within it,
    -- starting at 1. Optimistic concurrency compares expected and current versions.
    stream_id       TEXT        NOT NULL,
    stream_version  BIGINT      NOT NULL CHECK (stream_version > 0),
    -- Dotted and stable forever (role.permissions_added); a new payload shape is a new
    -- revision, upcast on read. Stored rows are never rewritten.
    event_type      TEXT        NOT NULL,
    revision        INTEGER     NOT NULL CHECK (revision > 0),
    -- json, not jsonb: json keeps the exact text, which is what the hash chain covers.
    -- Personal data appears here only as ciphertext.
    payload         JSON        NOT NULL,
    -- actor, correlation_id, causation_id, idempotency_key, ip, user_agent.
    metadata        JSON        NOT NULL,
    -- Commit time, microsecond precision (part of the hash).
    recorded_at     TIMESTAMPTZ NOT NULL,
    -- SHA-256 chain: hash = H(tag, prev_hash, canonical row bytes); the first prev_hash is zeros.
    prev_hash       BYTEA       NOT NULL CHECK (length(prev_hash) = 32),
    hash            BYTEA       NOT NULL CHECK (length(hash) = 32),
    UNIQUE (tenant_id, stream_id, stream_version)
);

-- Per-tenant reads of the log (audit queries, tenant replays).
CREATE INDEX events_tenant_position ON events (tenant_id, position);
-- Projectors that read only some event types.
CREATE INDEX events_type_position ON events (event_type, position);
-- Time-range audit queries.
CREATE INDEX events_recorded_at ON events (recorded_at);

-- Append-only in the database itself, whatever the application does.
CREATE FUNCTION events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the events table is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
    FOR EACH ROW EXECUTE FUNCTION events_refuse_change();
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_refuse_change();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_refuse_change();

-- Unique values (role names, resource server identifiers…) reserved by their owning stream.
-- Written in the same transaction as the events that claim or release them, so uniqueness
-- never depends on a read model that may lag. Derived state: it changes in place.
CREATE TABLE unique_keys (
    tenant_id   TEXT NOT NULL,
    -- What kind of value: role_name, resource_server_identifier, …
    scope       TEXT NOT NULL,
    -- Normalised by the caller (e.g. lowercased) before it gets here.
    value       TEXT NOT NULL,
    -- The stream holding the value; claiming again from the same owner is a no-op.
    owner       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, scope, value)
);

-- Idempotency keys seen per tenant, with the positions their append committed, so a retry
-- gets the same answer and appends nothing.
CREATE TABLE idempotency_keys (
    tenant_id       TEXT        NOT NULL,
    key             TEXT        NOT NULL,
    -- Hash of the request the key was first used with; another request under the same key
    -- is refused rather than answered with an unrelated result.
    fingerprint     TEXT        NOT NULL,
    first_position  BIGINT      NOT NULL,
    last_position   BIGINT      NOT NULL,
    recorded_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, key)
);
