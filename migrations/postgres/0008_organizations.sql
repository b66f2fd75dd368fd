-- Organizations, their members and the members' roles, derived from the log by
-- organizations.v1. Names are unique per tenant on the write side (unique_values); the read
-- model only indexes them.
CREATE TABLE organizations (
    tenant_id       TEXT NOT NULL,
    id              TEXT NOT NULL,
    name            TEXT NOT NULL,
    display_name    TEXT,
    -- JSON objects.
    branding        TEXT,
    metadata        TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX organizations_name ON organizations (tenant_id, name);

CREATE TABLE organization_members (
    tenant_id       TEXT NOT NULL,
    organization_id TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    PRIMARY KEY (tenant_id, organization_id, user_id)
);
-- A user's organizations, and deleting a user removes their memberships.
CREATE INDEX organization_members_user ON organization_members (tenant_id, user_id);

CREATE TABLE organization_member_roles (
    tenant_id       TEXT NOT NULL,
    organization_id TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    role_id         TEXT NOT NULL,
    PRIMARY KEY (tenant_id, organization_id, user_id, role_id)
);
-- Deleting a role removes it from every member.
CREATE INDEX organization_member_roles_role ON organization_member_roles (tenant_id, role_id);
-- Deleting a user removes their member roles everywhere.
CREATE INDEX organization_member_roles_user ON organization_member_roles (tenant_id, user_id);
