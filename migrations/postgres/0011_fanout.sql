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
-- The control plane's synced entities as of the fan-out's checkpoint (JSON), copied into each
-- new tenant: the fan-out reads only what it wrote itself, so a rebuild gives the same rows.
CREATE TABLE fanout_templates (
    kind        TEXT NOT NULL,
    id          TEXT NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);
