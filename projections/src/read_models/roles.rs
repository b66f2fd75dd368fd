//! Roles and their permissions, per tenant.

use async_trait::async_trait;
use domain::TenantId;
use domain::role::RoleEvent;
use eventstore::RecordedEvent;
use eventstore::sqlx::{self, AnyConnection, AnyPool, FromRow};
use serde::Serialize;

use super::{
    Listed, OWN_ROWS, Page, ROWS_PER_STATEMENT, TENANT_DELETED, contains_pattern, decode, drop_tenant,
    placeholder_rows, timestamp,
};
use crate::{Projection, ProjectionError};

#[derive(Debug)]
pub struct RolesProjection;

#[async_trait]
impl Projection for RolesProjection {
    fn name(&self) -> &str {
        "roles.v1"
    }

    fn event_types(&self) -> &[&str] {
        &[
            "role.created",
            "role.updated",
            "role.permissions_added",
            "role.permissions_removed",
            "role.deleted",
            TENANT_DELETED,
        ]
    }

    async fn apply(&self, tx: &mut AnyConnection, event: &RecordedEvent) -> Result<(), ProjectionError> {
        if event.event_type == TENANT_DELETED {
            return drop_tenant(tx, event, (&["role_permissions", "roles"], OWN_ROWS)).await;
        }
        let tenant = event.tenant_id.as_str();
        let at = timestamp(event);
        match decode::<RoleEvent>(event)? {
            RoleEvent::Created { id, name, description } => {
                sqlx::query(
                    "INSERT INTO roles (tenant_id, id, name, description, is_system, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $6) \
                     ON CONFLICT (tenant_id, id) DO UPDATE SET name = $3, description = $4, updated_at = $6",
                )
                .bind(tenant)
                .bind(id)
                .bind(name)
                .bind(description)
                .bind(0_i64)
                .bind(at)
                .execute(&mut *tx)
                .await?;
            }
            RoleEvent::Updated { id, name, description } => {
                sqlx::query(
                    "UPDATE roles SET name = $3, description = $4, updated_at = $5 WHERE tenant_id = $1 AND id = $2",
                )
                .bind(tenant)
                .bind(id)
                .bind(name)
                .bind(description)
                .bind(at)
                .execute(&mut *tx)
                .await?;
            }
            RoleEvent::PermissionsAdded { id, permissions } => {
                for p in permissions {
                    sqlx::query(
                        "INSERT INTO role_permissions (tenant_id, role_id, resource_server_identifier, permission_name) \
                         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                    )
                    .bind(tenant)
                    .bind(&id)
                    .bind(p.resource_server_identifier)
                    .bind(p.permission_name)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            RoleEvent::PermissionsRemoved { id, permissions } => {
                for p in permissions {
                    sqlx::query(
                        "DELETE FROM role_permissions WHERE tenant_id = $1 AND role_id = $2 \
                         AND resource_server_identifier = $3 AND permission_name = $4",
                    )
                    .bind(tenant)
                    .bind(&id)
                    .bind(p.resource_server_identifier)
                    .bind(p.permission_name)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            RoleEvent::Deleted { id, .. } => {
                for table in [
                    "DELETE FROM role_permissions WHERE tenant_id = $1 AND role_id = $2",
                    "DELETE FROM roles WHERE tenant_id = $1 AND id = $2",
                ] {
                    sqlx::query(table).bind(tenant).bind(&id).execute(&mut *tx).await?;
                }
            }
        }
        Ok(())
    }

    /// Runs of `role.created` (what a busy tenant mostly appends) go in one multi-row INSERT;
    /// everything else one event at a time, in order.
    async fn apply_batch(
        &self,
        tx: &mut AnyConnection,
        events: &[RecordedEvent],
    ) -> Result<(), (usize, ProjectionError)> {
        let mut run: Vec<(usize, CreatedRole)> = Vec::new();
        for (index, event) in events.iter().enumerate() {
            if let Some(role) = CreatedRole::of(event).map_err(|error| (index, error))? {
                run.push((index, role));
                continue;
            }
            insert_created(tx, &mut run).await?;
            self.apply(tx, event).await.map_err(|error| (index, error))?;
        }
        insert_created(tx, &mut run).await
    }

    async fn reset(&self, tx: &mut AnyConnection) -> Result<(), ProjectionError> {
        // Synced rows are the fan-out's.
        sqlx::query("DELETE FROM role_permissions WHERE synced = 0").execute(&mut *tx).await?;
        sqlx::query("DELETE FROM roles WHERE synced = 0").execute(&mut *tx).await?;
        Ok(())
    }
}

/// A `role.created` event as a row, for the projections that insert runs of them at once.
#[derive(Debug)]
pub(crate) struct CreatedRole {
    pub tenant: String,
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub at: String,
}

impl CreatedRole {
    /// The role `event` creates, if it is a `role.created`.
    pub(crate) fn of(event: &RecordedEvent) -> Result<Option<Self>, ProjectionError> {
        if event.event_type != "role.created" {
            return Ok(None);
        }
        Ok(match decode::<RoleEvent>(event)? {
            RoleEvent::Created { id, name, description } => {
                Some(Self { tenant: event.tenant_id.to_string(), id, name, description, at: timestamp(event) })
            }
            _ => None,
        })
    }
}

/// Inserts and empties a run of created roles; a failure names the run's first event.
async fn insert_created(
    tx: &mut AnyConnection,
    run: &mut Vec<(usize, CreatedRole)>,
) -> Result<(), (usize, ProjectionError)> {
    for chunk in run.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO roles (tenant_id, id, name, description, is_system, created_at, updated_at) VALUES {} \
             ON CONFLICT (tenant_id, id) DO UPDATE SET name = excluded.name, description = excluded.description, \
             updated_at = excluded.updated_at",
            placeholder_rows(chunk.len(), 7)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (_, row) in chunk {
            query = query
                .bind(&row.tenant)
                .bind(&row.id)
                .bind(&row.name)
                .bind(&row.description)
                .bind(0_i64)
                .bind(&row.at)
                .bind(&row.at);
        }
        query.execute(&mut *tx).await.map_err(|error| (chunk[0].0, error.into()))?;
    }
    run.clear();
    Ok(())
}

/// A role as the Management API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoleView {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    /// Synced from the control plane: read-only in this tenant.
    pub is_system: bool,
}

impl From<&domain::role::RoleState> for RoleView {
    fn from(role: &domain::role::RoleState) -> Self {
        Self {
            id: role.id.clone(),
            name: role.name.clone(),
            description: role.description.clone(),
            is_system: role.is_system,
        }
    }
}

/// A row of `roles` (`r.` in joins); flags are BIGINT 0/1 in every read model.
#[derive(Debug, FromRow)]
pub(crate) struct RoleRow {
    id: String,
    name: String,
    description: Option<String>,
    is_system: i64,
}

pub(crate) const ROLE_COLUMNS: &str = "r.id, r.name, r.description, r.is_system";

impl From<RoleRow> for RoleView {
    fn from(row: RoleRow) -> Self {
        Self { id: row.id, name: row.name, description: row.description, is_system: row.is_system != 0 }
    }
}

/// A role's permission as `GET /roles/{id}/permissions` lists it (from [`super::role_permissions`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RolePermissionView {
    pub resource_server_identifier: String,
    pub permission_name: String,
    pub resource_server_name: String,
    pub description: String,
}

pub async fn get(pool: &AnyPool, tenant: &TenantId, id: &str) -> Result<Option<RoleView>, sqlx::Error> {
    let sql = format!("SELECT {ROLE_COLUMNS} FROM roles r WHERE r.tenant_id = $1 AND r.id = $2");
    let row: Option<RoleRow> =
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(tenant.as_str()).bind(id).fetch_optional(pool).await?;
    Ok(row.map(RoleView::from))
}

/// Roles by name, optionally only those whose name contains `name_filter` (case-insensitive).
pub async fn list(
    pool: &AnyPool,
    tenant: &TenantId,
    name_filter: Option<&str>,
    page: Page,
) -> Result<Listed<RoleView>, sqlx::Error> {
    let pattern = contains_pattern(&name_filter.unwrap_or_default().to_lowercase());
    let sql = format!(
        "SELECT {ROLE_COLUMNS} FROM roles r WHERE r.tenant_id = $1 AND lower(r.name) LIKE $2 ESCAPE '\\' \
         ORDER BY r.name, r.id LIMIT $3 OFFSET $4"
    );
    let rows: Vec<RoleRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(&pattern)
        .bind(page.limit())
        .bind(page.offset())
        .fetch_all(pool)
        .await?;
    let items = rows.into_iter().map(RoleView::from).collect();
    let total: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM roles WHERE tenant_id = $1 AND lower(name) LIKE $2 ESCAPE '\\'")
            .bind(tenant.as_str())
            .bind(&pattern)
            .fetch_one(pool)
            .await?;
    Ok(Listed { items, total: total as u64 })
}
