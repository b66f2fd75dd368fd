-- One row per projection: how far it has applied the log, and its current failure if any.
-- Advanced in the same transaction as the read-model writes of the batch it covers, so a
-- crash can never leave a read model ahead of or behind its checkpoint.
-- Portable types only (TEXT, BIGINT): the projector runtime reaches it through sqlx's Any.
CREATE TABLE projection_checkpoints (
    -- Versioned name, e.g. roles.v1; a new version is a new row and rebuilds from position 0.
    name              TEXT   PRIMARY KEY,
    -- Every event at or below this position has been applied (or was not of interest).
    position          BIGINT NOT NULL DEFAULT 0,
    -- RFC 3339, UTC.
    updated_at        TEXT   NOT NULL,
    -- The event that fails to apply, the error, and how many attempts failed so far; NULL and
    -- 0 while healthy. The projection retries it with backoff and applies nothing past it.
    failing_position  BIGINT,
    failure           TEXT,
    attempts          BIGINT NOT NULL DEFAULT 0,
    failed_at         TEXT
);
