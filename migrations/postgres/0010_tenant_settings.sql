-- The settings each tenant set itself (JSON of the domain's SettingsOverrides), from
-- tenants.v1. Effective values are computed on read: the tenant's own, else the control
-- plane's, else the defaults.
CREATE TABLE tenant_settings (
    tenant_id   TEXT NOT NULL PRIMARY KEY,
    overrides   TEXT NOT NULL
);
