-- The control plane's fan-out (fanout.v1): control-plane roles, their permissions and
-- resource servers copied into every child tenant's read models, marked synced = 1. Those
-- rows are the fan-out's alone: the tenant's own projections never write or reset them.
ALTER TABLE roles ADD COLUMN synced BIGINT NOT NULL DEFAULT 0;
ALTER TABLE role_permissions ADD COLUMN synced BIGINT NOT NULL DEFAULT 0;
ALTER TABLE resource_servers ADD COLUMN synced BIGINT NOT NULL DEFAULT 0;
-- A control-plane change reaches every child's copy by id.
CREATE INDEX roles_id ON roles (id);
CREATE INDEX role_permissions_role ON role_permissions (role_id);
CREATE INDEX resource_servers_id ON resource_servers (id);
-- A deleted control-plane role leaves every child's users and members.
CREATE INDEX user_roles_role_id ON user_roles (role_id);
CREATE INDEX organization_member_roles_role_id ON organization_member_roles (role_id);

-- The child tenants, as of the fan-out's checkpoint.
CREATE TABLE fanout_tenants (
    tenant_id   TEXT NOT NULL PRIMARY KEY
);
-- The control plane's synced entities as of the fan-out's checkpoint, which a new tenant is
-- seeded from (three INSERT ... SELECT, whatever their number): the fan-out reads only what it
-- wrote itself, so a rebuild gives the same rows.
CREATE TABLE fanout_roles (
    id              TEXT NOT NULL PRIMARY KEY,
    name            TEXT NOT NULL,
    description     TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE TABLE fanout_role_permissions (
    role_id                     TEXT NOT NULL,
    resource_server_identifier  TEXT NOT NULL,
    permission_name             TEXT NOT NULL,
    PRIMARY KEY (role_id, resource_server_identifier, permission_name)
);
CREATE TABLE fanout_resource_servers (
    id                      TEXT    NOT NULL PRIMARY KEY,
    name                    TEXT    NOT NULL,
    identifier              TEXT    NOT NULL,
    scopes                  TEXT    NOT NULL,
    signing_alg             TEXT    NOT NULL,
    token_lifetime          BIGINT  NOT NULL,
    allow_offline_access    BIGINT  NOT NULL,
    skip_consent            BIGINT  NOT NULL,
    created_at              TEXT    NOT NULL,
    updated_at              TEXT    NOT NULL
);
