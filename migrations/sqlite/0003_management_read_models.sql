-- Read models of the Management API's first slice. Every table is derived from the log by a
-- projection and can be dropped and rebuilt; the tenant is the first column of every key.
-- Timestamps are the recorded_at of the event that set them (RFC 3339 text), so a rebuild
-- reproduces them exactly. JSON columns are TEXT and flags BIGINT 0/1, because sqlx's Any driver
-- (one SQL for both backends) cannot decode SQLite booleans.

-- Tenants are rows of the control plane; a tenant's key is its own id.
CREATE TABLE tenants (
    id              TEXT NOT NULL PRIMARY KEY,
    name            TEXT NOT NULL,
    friendly_name   TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);

CREATE TABLE resource_servers (
    tenant_id               TEXT    NOT NULL,
    id                      TEXT    NOT NULL,
    name                    TEXT    NOT NULL,
    -- The audience of tokens for this API; unique per tenant (enforced on the write side).
    identifier              TEXT    NOT NULL,
    -- JSON array of {value, description}.
    scopes                  TEXT    NOT NULL,
    signing_alg             TEXT    NOT NULL,
    token_lifetime          BIGINT  NOT NULL,
    allow_offline_access    BIGINT  NOT NULL CHECK (allow_offline_access IN (0, 1)),
    skip_consent            BIGINT  NOT NULL CHECK (skip_consent IN (0, 1)),
    is_system               BIGINT  NOT NULL CHECK (is_system IN (0, 1)),
    created_at              TEXT    NOT NULL,
    updated_at              TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX resource_servers_identifier ON resource_servers (tenant_id, identifier);

CREATE TABLE roles (
    tenant_id       TEXT    NOT NULL,
    id              TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    description     TEXT,
    is_system       BIGINT  NOT NULL CHECK (is_system IN (0, 1)),
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX roles_name ON roles (tenant_id, name);

CREATE TABLE role_permissions (
    tenant_id                   TEXT NOT NULL,
    role_id                     TEXT NOT NULL,
    resource_server_identifier  TEXT NOT NULL,
    permission_name             TEXT NOT NULL,
    PRIMARY KEY (tenant_id, role_id, resource_server_identifier, permission_name)
);

CREATE TABLE clients (
    tenant_id       TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    name            TEXT NOT NULL,
    app_type        TEXT NOT NULL,
    -- JSON array of grant type names.
    grant_types     TEXT NOT NULL,
    -- Keyed hash of the secret (HMAC-SHA256), compared in constant time.
    secret_hash     TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, client_id)
);

CREATE TABLE client_grants (
    tenant_id       TEXT NOT NULL,
    id              TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    audience        TEXT NOT NULL,
    -- JSON array of scope values.
    scope           TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX client_grants_client_audience ON client_grants (tenant_id, client_id, audience);
