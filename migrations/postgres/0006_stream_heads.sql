-- The current version of every stream, written in the same statement as the stream's events.
-- Derived state (it changes in place), kept so that the writer's expected-version check is one
-- primary-key probe. Looking the version up in `events` instead is correct but fragile: on a
-- young table without statistics PostgreSQL may answer "latest version of (tenant, stream)"
-- through `events_tenant_position` with a filter, reading every event of the tenant, which
-- made each append slower than the last until autovacuum first analyzed the table.
CREATE TABLE stream_heads (
    tenant_id   TEXT   NOT NULL,
    stream_id   TEXT   NOT NULL,
    version     BIGINT NOT NULL CHECK (version > 0),
    PRIMARY KEY (tenant_id, stream_id)
);

INSERT INTO stream_heads (tenant_id, stream_id, version)
SELECT tenant_id, stream_id, max(stream_version) FROM events GROUP BY tenant_id, stream_id;
