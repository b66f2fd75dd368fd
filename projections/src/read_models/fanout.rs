//! The control plane's fan-out: its roles (with their permissions) and resource servers copied
//! into every child tenant's read models as system entities (`is_system`), under the same ids.
//!
//! A projector like any other: deterministic, idempotent upserts keyed by stable ids, rebuilt
//! from the log. It keeps, in its own tables, the list of child tenants (`fanout_tenants`) and
//! the control plane's entities (`fanout_roles`, …) as of its checkpoint, so it never reads
//! what another projection wrote. Every copy is one `INSERT … SELECT` of those two joined,
//! filtered to one entity (a control-plane change) or one tenant (a new tenant): the number of
//! statements never grows with the number of tenants or entities. Its rows carry
//! `synced = 1`: the tenants' own projections neither write nor reset them.
//!
//! Commands do not wait for it: its work grows with the number of tenants, a command's latency
//! must not. The control plane's own system API (the Management API) is not synced.

use async_trait::async_trait;
use domain::resource_server::ResourceServerEvent;
use domain::role::RoleEvent;
pub use domain::sync::SyncOptions;
use domain::tenant::TenantEvent;
use eventstore::RecordedEvent;
use eventstore::sqlx::{self, AnyConnection};

use super::roles::CreatedRole;
use super::{ROWS_PER_STATEMENT, decode, json_text, placeholder_list, placeholder_rows, timestamp};
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

/// No filter, in the `(tenant, entity)` filters below.
const ANY: &str = "";

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

    fn awaited_by_reads(&self) -> bool {
        false
    }

    async fn apply(&self, tx: &mut AnyConnection, event: &RecordedEvent) -> Result<(), ProjectionError> {
        if event.event_type.starts_with("tenant.") {
            return self.apply_tenant(tx, event).await;
        }
        if ignored(event) {
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

    /// Runs of control-plane `role.created` (the control plane's most frequent change) are
    /// copied with two statements per run, not per role; everything else one event at a time.
    async fn apply_batch(
        &self,
        tx: &mut AnyConnection,
        events: &[RecordedEvent],
    ) -> Result<(), (usize, ProjectionError)> {
        let mut run: Vec<(usize, CreatedRole)> = Vec::new();
        for (index, event) in events.iter().enumerate() {
            if ignored(event) {
                continue;
            }
            if self.sync.roles
                && let Some(role) = CreatedRole::of(event).map_err(|error| (index, error))?
            {
                run.push((index, role));
                continue;
            }
            copy_created_roles(tx, &mut run).await?;
            self.apply(tx, event).await.map_err(|error| (index, error))?;
        }
        copy_created_roles(tx, &mut run).await
    }

    async fn reset(&self, tx: &mut AnyConnection) -> Result<(), ProjectionError> {
        for sql in [
            "DELETE FROM role_permissions WHERE synced = 1",
            "DELETE FROM roles WHERE synced = 1",
            "DELETE FROM resource_servers WHERE synced = 1",
            "DELETE FROM fanout_role_permissions",
            "DELETE FROM fanout_roles",
            "DELETE FROM fanout_resource_servers",
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
                if self.sync.resource_servers {
                    copy_resource_servers(tx, (tenant, ANY)).await?;
                }
                if self.sync.roles {
                    copy_roles(tx, (tenant, &[])).await?;
                    copy_permissions(tx, (tenant, ANY)).await?;
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
            TenantEvent::Created(_)
            | TenantEvent::Updated(_)
            | TenantEvent::SettingsUpdated { .. }
            | TenantEvent::DomainsSet { .. } => {}
        }
        Ok(())
    }
}

/// A child tenant's own roles and APIs are not the fan-out's concern.
fn ignored(event: &RecordedEvent) -> bool {
    !event.event_type.starts_with("tenant.") && !event.tenant_id.is_control_plane()
}

/// Records a run of created control-plane roles and copies them into every child tenant, then
/// empties the run; a failure names the run's first event. Both statements take the roles from
/// the same values: copying them by reading `fanout_roles` back was a join whose plan,
/// cached while the table was small, scanned the whole table once it no longer was.
async fn copy_created_roles(
    tx: &mut AnyConnection,
    run: &mut Vec<(usize, CreatedRole)>,
) -> Result<(), (usize, ProjectionError)> {
    for chunk in run.chunks(ROWS_PER_STATEMENT) {
        let values = placeholder_rows(chunk.len(), 5);
        let record = format!(
            "INSERT INTO fanout_roles (id, name, description, created_at, updated_at) VALUES {values} \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, description = excluded.description, \
             updated_at = excluded.updated_at"
        );
        // VALUES columns are column1… on both PostgreSQL and SQLite; `WHERE true` lets SQLite
        // tell the upsert's ON CONFLICT from a join's ON.
        let copy = format!(
            "INSERT INTO roles (tenant_id, id, name, description, is_system, synced, created_at, updated_at) \
             SELECT t.tenant_id, r.column1, r.column2, r.column3, 1, 1, r.column4, r.column5 \
             FROM fanout_tenants t CROSS JOIN (VALUES {values}) AS r WHERE true \
             ON CONFLICT (tenant_id, id) DO UPDATE SET name = excluded.name, description = excluded.description, \
               updated_at = excluded.updated_at"
        );
        for sql in [record, copy] {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (_, role) in chunk {
                query = query.bind(&role.id).bind(&role.name).bind(&role.description).bind(&role.at).bind(&role.at);
            }
            query.execute(&mut *tx).await.map_err(|error| (chunk[0].0, error.into()))?;
        }
    }
    run.clear();
    Ok(())
}

async fn apply_role(tx: &mut AnyConnection, event: &RecordedEvent) -> Result<(), ProjectionError> {
    let at = timestamp(event);
    match decode::<RoleEvent>(event)? {
        RoleEvent::Created { id, name, description } | RoleEvent::Updated { id, name, description } => {
            sqlx::query(
                "INSERT INTO fanout_roles (id, name, description, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) \
                 ON CONFLICT (id) DO UPDATE SET name = $2, description = $3, updated_at = $4",
            )
            .bind(&id)
            .bind(name)
            .bind(description)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            copy_roles(tx, (ANY, &[&id])).await?;
        }
        RoleEvent::PermissionsAdded { id, permissions } => {
            for permission in permissions {
                sqlx::query(
                    "INSERT INTO fanout_role_permissions (role_id, resource_server_identifier, permission_name) \
                     VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                )
                .bind(&id)
                .bind(permission.resource_server_identifier)
                .bind(permission.permission_name)
                .execute(&mut *tx)
                .await?;
            }
            copy_permissions(tx, (ANY, &id)).await?;
        }
        RoleEvent::PermissionsRemoved { id, permissions } => {
            for permission in permissions {
                for sql in [
                    "DELETE FROM role_permissions WHERE role_id = $1 AND resource_server_identifier = $2 \
                     AND permission_name = $3 AND synced = 1",
                    "DELETE FROM fanout_role_permissions WHERE role_id = $1 AND resource_server_identifier = $2 \
                     AND permission_name = $3",
                ] {
                    sqlx::query(sql)
                        .bind(&id)
                        .bind(&permission.resource_server_identifier)
                        .bind(&permission.permission_name)
                        .execute(&mut *tx)
                        .await?;
                }
            }
        }
        RoleEvent::Deleted { id, .. } => {
            for sql in [
                "DELETE FROM role_permissions WHERE role_id = $1 AND synced = 1",
                "DELETE FROM roles WHERE id = $1 AND synced = 1",
                "DELETE FROM fanout_role_permissions WHERE role_id = $1",
                "DELETE FROM fanout_roles WHERE id = $1",
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
        // The control plane's own system APIs (the Management API) stay its own.
        ResourceServerEvent::Created(api) | ResourceServerEvent::Updated(api) if !api.is_system => {
            sqlx::query(
                "INSERT INTO fanout_resource_servers (id, name, identifier, scopes, signing_alg, token_lifetime, \
                   allow_offline_access, skip_consent, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
                 ON CONFLICT (id) DO UPDATE SET name = $2, scopes = $4, signing_alg = $5, token_lifetime = $6, \
                   allow_offline_access = $7, skip_consent = $8, updated_at = $9",
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
            .execute(&mut *tx)
            .await?;
            // An update rewrites every copy; a child's own API of the same identifier is
            // untouched (its row is not synced).
            sqlx::query(
                "UPDATE resource_servers SET name = s.name, scopes = s.scopes, signing_alg = s.signing_alg, \
                   token_lifetime = s.token_lifetime, allow_offline_access = s.allow_offline_access, \
                   skip_consent = s.skip_consent, updated_at = s.updated_at \
                 FROM fanout_resource_servers s WHERE s.id = $1 AND resource_servers.id = $1 \
                   AND resource_servers.synced = 1",
            )
            .bind(&api.id)
            .execute(&mut *tx)
            .await?;
            copy_resource_servers(tx, (ANY, &api.id)).await?;
        }
        ResourceServerEvent::Deleted { id, .. } => {
            for sql in [
                "DELETE FROM resource_servers WHERE id = $1 AND synced = 1",
                "DELETE FROM fanout_resource_servers WHERE id = $1",
            ] {
                sqlx::query(sql).bind(&id).execute(&mut *tx).await?;
            }
        }
        ResourceServerEvent::Created(_) | ResourceServerEvent::Updated(_) => {}
    }
    Ok(())
}

/// Copies control-plane roles into child tenants: `tenant` narrows it to one child ([`ANY`] for
/// all), `roles` to those roles (none for all). A copy that exists is brought up to date.
async fn copy_roles(tx: &mut AnyConnection, (tenant, roles): (&str, &[&str])) -> Result<(), ProjectionError> {
    let among =
        if roles.is_empty() { String::new() } else { format!(" AND r.id IN ({})", placeholder_list(2, roles.len())) };
    let sql = format!(
        "INSERT INTO roles (tenant_id, id, name, description, is_system, synced, created_at, updated_at) \
         SELECT t.tenant_id, r.id, r.name, r.description, 1, 1, r.created_at, r.updated_at \
         FROM fanout_tenants t CROSS JOIN fanout_roles r \
         WHERE ($1 = '' OR t.tenant_id = $1){among} \
         ON CONFLICT (tenant_id, id) DO UPDATE SET name = excluded.name, description = excluded.description, \
           updated_at = excluded.updated_at"
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant);
    for role in roles {
        query = query.bind(*role);
    }
    query.execute(&mut *tx).await?;
    Ok(())
}

/// Copies control-plane role permissions into child tenants, narrowed like [`copy_roles`].
async fn copy_permissions(tx: &mut AnyConnection, (tenant, role): (&str, &str)) -> Result<(), ProjectionError> {
    sqlx::query(
        "INSERT INTO role_permissions (tenant_id, role_id, resource_server_identifier, permission_name, synced) \
         SELECT t.tenant_id, p.role_id, p.resource_server_identifier, p.permission_name, 1 \
         FROM fanout_tenants t CROSS JOIN fanout_role_permissions p \
         WHERE ($1 = '' OR t.tenant_id = $1) AND ($2 = '' OR p.role_id = $2) ON CONFLICT DO NOTHING",
    )
    .bind(tenant)
    .bind(role)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Copies control-plane APIs into child tenants, narrowed like [`copy_roles`]. A child with an
/// API of its own under the same identifier keeps its own: `DO NOTHING` covers the
/// identifier's unique index too.
async fn copy_resource_servers(tx: &mut AnyConnection, (tenant, api): (&str, &str)) -> Result<(), ProjectionError> {
    sqlx::query(
        "INSERT INTO resource_servers (tenant_id, id, name, identifier, scopes, signing_alg, token_lifetime, \
           allow_offline_access, skip_consent, is_system, synced, created_at, updated_at) \
         SELECT t.tenant_id, s.id, s.name, s.identifier, s.scopes, s.signing_alg, s.token_lifetime, \
           s.allow_offline_access, s.skip_consent, 1, 1, s.created_at, s.updated_at \
         FROM fanout_tenants t CROSS JOIN fanout_resource_servers s \
         WHERE ($1 = '' OR t.tenant_id = $1) AND ($2 = '' OR s.id = $2) ON CONFLICT DO NOTHING",
    )
    .bind(tenant)
    .bind(api)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
