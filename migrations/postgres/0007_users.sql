-- Users and what they are assigned, derived from the log by users.v1. Personal fields are
-- plaintext here (the log holds them sealed): erasing a person deletes their data key and
-- their rows, and a rebuild can no longer read them.
CREATE TABLE users (
    tenant_id       TEXT    NOT NULL,
    user_id         TEXT    NOT NULL,
    connection      TEXT    NOT NULL,
    email           TEXT,
    -- Lowercased, for GET /users-by-email.
    email_lower     TEXT,
    email_verified  BIGINT  NOT NULL CHECK (email_verified IN (0, 1)),
    username        TEXT,
    name            TEXT,
    given_name      TEXT,
    family_name     TEXT,
    nickname        TEXT,
    picture         TEXT,
    phone_number    TEXT,
    -- JSON objects.
    user_metadata   TEXT,
    app_metadata    TEXT,
    blocked         BIGINT  NOT NULL CHECK (blocked IN (0, 1)),
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
);
CREATE INDEX users_email ON users (tenant_id, email_lower);

CREATE TABLE user_roles (
    tenant_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    role_id     TEXT NOT NULL,
    PRIMARY KEY (tenant_id, user_id, role_id)
);
-- Deleting a role removes it from every user.
CREATE INDEX user_roles_role ON user_roles (tenant_id, role_id);

-- Permissions granted to a user directly, not through a role.
CREATE TABLE user_permissions (
    tenant_id                   TEXT NOT NULL,
    user_id                     TEXT NOT NULL,
    resource_server_identifier  TEXT NOT NULL,
    permission_name             TEXT NOT NULL,
    PRIMARY KEY (tenant_id, user_id, resource_server_identifier, permission_name)
);
