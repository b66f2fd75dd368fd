//! The control plane's fan-out: its roles (with their permissions) and resource servers copied
//! into every child tenant's read models as system entities (`is_system`), under the same ids.
//!
//! A projector like any other: deterministic, idempotent upserts keyed by stable ids, rebuilt
//! from the log. It keeps, in its own tables, the list of child tenants and the control
//! plane's entities as of its checkpoint, so it never reads what another projection wrote. Its
//! rows carry `synced = 1`: the tenants' own projections neither write nor reset them.
//!
//! Commands do not wait for it: its work grows with the number of tenants, a command's latency
//! must not. The control plane's own system API (the Management API) is not synced.

use async_trait::async_trait;
use domain::Permission;
use domain::resource_server::{ResourceServerEvent, ResourceServerFields};
use domain::role::RoleEvent;
pub use domain::sync::SyncOptions;
use domain::tenant::TenantEvent;
use eventstore::RecordedEvent;
use eventstore::sqlx::{self, AnyConnection};
use serde::{Deserialize, Serialize};

use super::{decode, json_text, timestamp};
use crate::{Projection, ProjectionError};

#[derive(Debug)]
pub struct FanoutProjection {
    sync: SyncOptions,
}

impl FanoutProjection {
    pub fn new(sync: SyncOptions) -> Self {
        Self { sync }
    }
}

/// A control-plane role as the fan-out keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RoleTemplate {
    id: String,
    name: String,
    description: Option<String>,
    permissions: Vec<Permission>,
}

const ROLE: &str = "role";
const RESOURCE_SERVER: &str = "resource_server";
/// Every child tenant, in the `target` parameters below.
const ALL: &str = "";

#[async_trait]
impl Projection for FanoutProjection {
    fn name(&self) -> &str {
        "fanout.v1"
    }

    fn event_types(&self) -> &[&str] {
        &[
            "tenant.created",
            "tenant.deleted",
            "role.created",
            "role.updated",
            "role.permissions_added",
            "role.permissions_removed",
            "role.deleted",
            "resource_server.created",
            "resource_server.updated",
            "resource_server.deleted",
        ]
    }

    fn awaited_by_commands(&self) -> bool {
        false
    }

    async fn apply(&self, tx: &mut AnyConnection, event: &RecordedEvent) -> Result<(), ProjectionError> {
        if event.event_type.starts_with("tenant.") {
            return self.apply_tenant(tx, event).await;
        }
        if !event.tenant_id.is_control_plane() {
            return Ok(());
        }
        if event.event_type.starts_with("role.") {
            if self.sync.roles {
                apply_role(tx, event).await?;
            }
        } else if self.sync.resource_servers {
            apply_resource_server(tx, event).await?;
        }
        Ok(())
    }

    async fn reset(&self, tx: &mut AnyConnection) -> Result<(), ProjectionError> {
        for sql in [
            "DELETE FROM role_permissions WHERE synced = 1",
            "DELETE FROM roles WHERE synced = 1",
            "DELETE FROM resource_servers WHERE synced = 1",
            "DELETE FROM fanout_templates",
            "DELETE FROM fanout_tenants",
        ] {
            sqlx::query(sql).execute(&mut *tx).await?;
        }
        Ok(())
    }
}

impl FanoutProjection {
    /// A new child receives every synced entity; a deleted one keeps none.
    async fn apply_tenant(&self, tx: &mut AnyConnection, event: &RecordedEvent) -> Result<(), ProjectionError> {
        match decode::<TenantEvent>(event)? {
            TenantEvent::Created(fields) if !fields.id.is_control_plane() => {
                let tenant = fields.id.as_str();
                sqlx::query("INSERT INTO fanout_tenants (tenant_id) VALUES ($1) ON CONFLICT DO NOTHING")
                    .bind(tenant)
                    .execute(&mut *tx)
                    .await?;
                let at = timestamp(event);
                if self.sync.resource_servers {
                    for body in templates(tx, RESOURCE_SERVER).await? {
                        let api: ResourceServerFields = parse(event, &body)?;
                        insert_resource_server(tx, event, &api, (tenant, &at)).await?;
                    }
                }
                if self.sync.roles {
                    for body in templates(tx, ROLE).await? {
                        let role: RoleTemplate = parse(event, &body)?;
                        upsert_role(tx, &role, (tenant, &at)).await?;
                        for permission in &role.permissions {
                            insert_permission(tx, &role.id, permission, tenant).await?;
                        }
                    }
                }
            }
            TenantEvent::Deleted { id } => {
                for sql in [
                    "DELETE FROM role_permissions WHERE tenant_id = $1 AND synced = 1",
                    "DELETE FROM roles WHERE tenant_id = $1 AND synced = 1",
                    "DELETE FROM resource_servers WHERE tenant_id = $1 AND synced = 1",
                    "DELETE FROM fanout_tenants WHERE tenant_id = $1",
                ] {
                    sqlx::query(sql).bind(id.as_str()).execute(&mut *tx).await?;
                }
            }
            TenantEvent::Created(_) | TenantEvent::Updated(_) | TenantEvent::SettingsUpdated { .. } => {}
        }
        Ok(())
    }
}

async fn apply_role(tx: &mut AnyConnection, event: &RecordedEvent) -> Result<(), ProjectionError> {
    let at = timestamp(event);
    match decode::<RoleEvent>(event)? {
        RoleEvent::Created { id, name, description } => {
            let role = RoleTemplate { id, name, description, permissions: Vec::new() };
            save_template(tx, event, ROLE, &role.id, &role).await?;
            upsert_role(tx, &role, (ALL, &at)).await?;
        }
        RoleEvent::Updated { id, name, description } => {
            let Some(mut role) = template::<RoleTemplate>(tx, event, ROLE, &id).await? else { return Ok(()) };
            (role.name, role.description) = (name, description);
            save_template(tx, event, ROLE, &id, &role).await?;
            upsert_role(tx, &role, (ALL, &at)).await?;
        }
        RoleEvent::PermissionsAdded { id, permissions } => {
            let Some(mut role) = template::<RoleTemplate>(tx, event, ROLE, &id).await? else { return Ok(()) };
            for permission in permissions {
                insert_permission(tx, &id, &permission, ALL).await?;
                if !role.permissions.contains(&permission) {
                    role.permissions.push(permission);
                }
            }
            save_template(tx, event, ROLE, &id, &role).await?;
        }
        RoleEvent::PermissionsRemoved { id, permissions } => {
            let Some(mut role) = template::<RoleTemplate>(tx, event, ROLE, &id).await? else { return Ok(()) };
            for permission in &permissions {
                sqlx::query(
                    "DELETE FROM role_permissions WHERE role_id = $1 AND resource_server_identifier = $2 \
                     AND permission_name = $3 AND synced = 1",
                )
                .bind(&id)
                .bind(&permission.resource_server_identifier)
                .bind(&permission.permission_name)
                .execute(&mut *tx)
                .await?;
            }
            role.permissions.retain(|p| !permissions.contains(p));
            save_template(tx, event, ROLE, &id, &role).await?;
        }
        RoleEvent::Deleted { id, .. } => {
            for sql in [
                "DELETE FROM role_permissions WHERE role_id = $1 AND synced = 1",
                "DELETE FROM roles WHERE id = $1 AND synced = 1",
                "DELETE FROM fanout_templates WHERE kind = 'role' AND id = $1",
            ] {
                sqlx::query(sql).bind(&id).execute(&mut *tx).await?;
            }
        }
    }
    Ok(())
}

async fn apply_resource_server(tx: &mut AnyConnection, event: &RecordedEvent) -> Result<(), ProjectionError> {
    let at = timestamp(event);
    match decode::<ResourceServerEvent>(event)? {
        ResourceServerEvent::Created(api) if !api.is_system => {
            save_template(tx, event, RESOURCE_SERVER, &api.id, &api).await?;
            insert_resource_server(tx, event, &api, (ALL, &at)).await?;
        }
        ResourceServerEvent::Updated(api) if !api.is_system => {
            save_template(tx, event, RESOURCE_SERVER, &api.id, &api).await?;
            sqlx::query(
                "UPDATE resource_servers SET name = $2, scopes = $3, signing_alg = $4, token_lifetime = $5, \
                   allow_offline_access = $6, skip_consent = $7, updated_at = $8 WHERE id = $1 AND synced = 1",
            )
            .bind(&api.id)
            .bind(&api.name)
            .bind(json_text(event, &api.scopes)?)
            .bind(api.signing_alg.as_str())
            .bind(i64::from(api.token_lifetime))
            .bind(i64::from(api.allow_offline_access))
            .bind(i64::from(api.skip_consent_for_verifiable_first_party_clients))
            .bind(at)
            .execute(&mut *tx)
            .await?;
        }
        ResourceServerEvent::Deleted { id, .. } => {
            for sql in [
                "DELETE FROM resource_servers WHERE id = $1 AND synced = 1",
                "DELETE FROM fanout_templates WHERE kind = 'resource_server' AND id = $1",
            ] {
                sqlx::query(sql).bind(&id).execute(&mut *tx).await?;
            }
        }
        ResourceServerEvent::Created(_) | ResourceServerEvent::Updated(_) => {}
    }
    Ok(())
}

/// Writes `role` into `target` (one child, or [`ALL`]).
async fn upsert_role(
    tx: &mut AnyConnection,
    role: &RoleTemplate,
    (target, at): (&str, &str),
) -> Result<(), ProjectionError> {
    sqlx::query(
        "INSERT INTO roles (tenant_id, id, name, description, is_system, synced, created_at, updated_at) \
         SELECT t.tenant_id, $1, $2, $3, 1, 1, $4, $4 FROM fanout_tenants t WHERE ($5 = '' OR t.tenant_id = $5) \
         ON CONFLICT (tenant_id, id) DO UPDATE SET name = excluded.name, description = excluded.description, \
           updated_at = excluded.updated_at",
    )
    .bind(&role.id)
    .bind(&role.name)
    .bind(&role.description)
    .bind(at)
    .bind(target)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

async fn insert_permission(
    tx: &mut AnyConnection,
    role_id: &str,
    permission: &Permission,
    target: &str,
) -> Result<(), ProjectionError> {
    sqlx::query(
        "INSERT INTO role_permissions (tenant_id, role_id, resource_server_identifier, permission_name, synced) \
         SELECT t.tenant_id, $1, $2, $3, 1 FROM fanout_tenants t WHERE ($4 = '' OR t.tenant_id = $4) \
         ON CONFLICT DO NOTHING",
    )
    .bind(role_id)
    .bind(&permission.resource_server_identifier)
    .bind(&permission.permission_name)
    .bind(target)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// A child with an API of its own under the same identifier keeps its own: the synced copy is
/// skipped there (`DO NOTHING` covers the identifier's unique index too).
async fn insert_resource_server(
    tx: &mut AnyConnection,
    event: &RecordedEvent,
    api: &ResourceServerFields,
    (target, at): (&str, &str),
) -> Result<(), ProjectionError> {
    sqlx::query(
        "INSERT INTO resource_servers (tenant_id, id, name, identifier, scopes, signing_alg, token_lifetime, \
           allow_offline_access, skip_consent, is_system, synced, created_at, updated_at) \
         SELECT t.tenant_id, $1, $2, $3, $4, $5, $6, $7, $8, 1, 1, $9, $9 FROM fanout_tenants t \
         WHERE ($10 = '' OR t.tenant_id = $10) ON CONFLICT DO NOTHING",
    )
    .bind(&api.id)
    .bind(&api.name)
    .bind(&api.identifier)
    .bind(json_text(event, &api.scopes)?)
    .bind(api.signing_alg.as_str())
    .bind(i64::from(api.token_lifetime))
    .bind(i64::from(api.allow_offline_access))
    .bind(i64::from(api.skip_consent_for_verifiable_first_party_clients))
    .bind(at)
    .bind(target)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

async fn save_template<T: Serialize>(
    tx: &mut AnyConnection,
    event: &RecordedEvent,
    kind: &str,
    id: &str,
    body: &T,
) -> Result<(), ProjectionError> {
    sqlx::query(
        "INSERT INTO fanout_templates (kind, id, body) VALUES ($1, $2, $3) \
         ON CONFLICT (kind, id) DO UPDATE SET body = excluded.body",
    )
    .bind(kind)
    .bind(id)
    .bind(json_text(event, body)?)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

async fn template<T: for<'de> Deserialize<'de>>(
    tx: &mut AnyConnection,
    event: &RecordedEvent,
    kind: &str,
    id: &str,
) -> Result<Option<T>, ProjectionError> {
    let body: Option<String> = sqlx::query_scalar("SELECT body FROM fanout_templates WHERE kind = $1 AND id = $2")
        .bind(kind)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    body.map(|text| parse(event, &text)).transpose()
}

/// Every template of `kind`, by id.
async fn templates(tx: &mut AnyConnection, kind: &str) -> Result<Vec<String>, ProjectionError> {
    Ok(sqlx::query_scalar("SELECT body FROM fanout_templates WHERE kind = $1 ORDER BY id")
        .bind(kind)
        .fetch_all(&mut *tx)
        .await?)
}

fn parse<T: for<'de> Deserialize<'de>>(event: &RecordedEvent, body: &str) -> Result<T, ProjectionError> {
    serde_json::from_str(body).map_err(|e| ProjectionError::event(event, e))
}
