//! Organizations, their members and the members' roles, per tenant. A deleted user leaves
//! every organization; a deleted role leaves every member; a deleted organization takes its
//! memberships with it.

use async_trait::async_trait;
use domain::TenantId;
use domain::organization::{Branding, OrganizationEvent, OrganizationFields};
use domain::role::RoleEvent;
use domain::user::UserEvent;
use eventstore::RecordedEvent;
use eventstore::sqlx::{self, AnyConnection, AnyPool, FromRow};
use serde::Serialize;
use serde_json::Value;

use super::roles::{ROLE_COLUMNS, RoleRow, RoleView};
use super::{ALL_ROWS, Checkpoint, Chunk, Listed, Page, TENANT_DELETED, decode, drop_tenant, json_text, timestamp};
use crate::{Projection, ProjectionError};

#[derive(Debug)]
pub struct OrganizationsProjection;

impl OrganizationsProjection {
    async fn write(
        &self,
        tx: &mut AnyConnection,
        event: &RecordedEvent,
        fields: &OrganizationFields,
    ) -> Result<(), ProjectionError> {
        let branding = fields.branding.as_ref().map(|b| json_text(event, b)).transpose()?;
        sqlx::query(
            "INSERT INTO organizations (tenant_id, id, name, display_name, branding, metadata, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
             ON CONFLICT (tenant_id, id) DO UPDATE SET name = $3, display_name = $4, branding = $5, metadata = $6, \
             updated_at = $7",
        )
        .bind(event.tenant_id.as_str())
        .bind(&fields.id)
        .bind(&fields.name)
        .bind(&fields.display_name)
        .bind(branding)
        .bind(json_text(event, &fields.metadata)?)
        .bind(timestamp(event))
        .execute(&mut *tx)
        .await?;
        Ok(())
    }
}

#[async_trait]
impl Projection for OrganizationsProjection {
    fn name(&self) -> &str {
        "organizations.v1"
    }

    fn event_types(&self) -> &[&str] {
        &[
            "organization.created",
            "organization.updated",
            "organization.members_added",
            "organization.members_removed",
            "organization.member_roles_assigned",
            "organization.member_roles_removed",
            "organization.deleted",
            "user.deleted",
            "role.deleted",
            TENANT_DELETED,
        ]
    }

    async fn apply(&self, tx: &mut AnyConnection, event: &RecordedEvent) -> Result<(), ProjectionError> {
        if event.event_type == TENANT_DELETED {
            return drop_tenant(
                tx,
                event,
                (&["organization_member_roles", "organization_members", "organizations"], ALL_ROWS),
            )
            .await;
        }
        let tenant = event.tenant_id.as_str();
        match event.event_type.as_str() {
            "user.deleted" => {
                if let UserEvent::Deleted { user_id } = decode::<UserEvent>(event)? {
                    for sql in [
                        "DELETE FROM organization_member_roles WHERE tenant_id = $1 AND user_id = $2",
                        "DELETE FROM organization_members WHERE tenant_id = $1 AND user_id = $2",
                    ] {
                        sqlx::query(sql).bind(tenant).bind(&user_id).execute(&mut *tx).await?;
                    }
                }
                return Ok(());
            }
            "role.deleted" => {
                if let RoleEvent::Deleted { id, .. } = decode::<RoleEvent>(event)? {
                    // A control-plane role may be held in every child tenant (synced).
                    sqlx::query(
                        "DELETE FROM organization_member_roles \
                         WHERE role_id = $2 AND (tenant_id = $1 OR $1 = 'control_plane')",
                    )
                    .bind(tenant)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                }
                return Ok(());
            }
            _ => {}
        }
        match decode::<OrganizationEvent>(event)? {
            OrganizationEvent::Created(fields) | OrganizationEvent::Updated(fields) => {
                self.write(tx, event, &fields).await?;
            }
            OrganizationEvent::MembersAdded { id, members } => {
                for user_id in members {
                    sqlx::query(
                        "INSERT INTO organization_members (tenant_id, organization_id, user_id) VALUES ($1, $2, $3) \
                         ON CONFLICT DO NOTHING",
                    )
                    .bind(tenant)
                    .bind(&id)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            OrganizationEvent::MembersRemoved { id, members } => {
                for user_id in members {
                    for sql in [
                        "DELETE FROM organization_member_roles \
                         WHERE tenant_id = $1 AND organization_id = $2 AND user_id = $3",
                        "DELETE FROM organization_members WHERE tenant_id = $1 AND organization_id = $2 AND user_id = $3",
                    ] {
                        sqlx::query(sql).bind(tenant).bind(&id).bind(&user_id).execute(&mut *tx).await?;
                    }
                }
            }
            OrganizationEvent::MemberRolesAssigned { id, user_id, roles } => {
                for role in roles {
                    sqlx::query(
                        "INSERT INTO organization_member_roles (tenant_id, organization_id, user_id, role_id) \
                         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                    )
                    .bind(tenant)
                    .bind(&id)
                    .bind(&user_id)
                    .bind(role)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            OrganizationEvent::MemberRolesRemoved { id, user_id, roles } => {
                for role in roles {
                    sqlx::query(
                        "DELETE FROM organization_member_roles \
                         WHERE tenant_id = $1 AND organization_id = $2 AND user_id = $3 AND role_id = $4",
                    )
                    .bind(tenant)
                    .bind(&id)
                    .bind(&user_id)
                    .bind(role)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            OrganizationEvent::Deleted { id, .. } => {
                for sql in [
                    "DELETE FROM organization_member_roles WHERE tenant_id = $1 AND organization_id = $2",
                    "DELETE FROM organization_members WHERE tenant_id = $1 AND organization_id = $2",
                    "DELETE FROM organizations WHERE tenant_id = $1 AND id = $2",
                ] {
                    sqlx::query(sql).bind(tenant).bind(&id).execute(&mut *tx).await?;
                }
            }
        }
        Ok(())
    }

    async fn reset(&self, tx: &mut AnyConnection) -> Result<(), ProjectionError> {
        for sql in
            ["DELETE FROM organization_member_roles", "DELETE FROM organization_members", "DELETE FROM organizations"]
        {
            sqlx::query(sql).execute(&mut *tx).await?;
        }
        Ok(())
    }
}

/// An organization as the Management API shows it (Auth0's fields).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrganizationView {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branding: Option<Branding>,
    /// String values.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub metadata: Value,
}

#[derive(Debug, FromRow)]
struct OrganizationRow {
    id: String,
    name: String,
    display_name: Option<String>,
    branding: Option<String>,
    metadata: String,
}

impl From<OrganizationRow> for OrganizationView {
    fn from(row: OrganizationRow) -> Self {
        Self {
            id: row.id,
            name: row.name,
            display_name: row.display_name,
            branding: row.branding.and_then(|text| serde_json::from_str(&text).ok()),
            metadata: serde_json::from_str(&row.metadata).unwrap_or_else(|_| Value::Object(Default::default())),
        }
    }
}

const COLUMNS: &str = "o.id, o.name, o.display_name, o.branding, o.metadata";

pub async fn get(pool: &AnyPool, tenant: &TenantId, id: &str) -> Result<Option<OrganizationView>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM organizations o WHERE o.tenant_id = $1 AND o.id = $2");
    let row: Option<OrganizationRow> =
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(tenant.as_str()).bind(id).fetch_optional(pool).await?;
    Ok(row.map(OrganizationView::from))
}

pub async fn by_name(pool: &AnyPool, tenant: &TenantId, name: &str) -> Result<Option<OrganizationView>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM organizations o WHERE o.tenant_id = $1 AND o.name = $2");
    let row: Option<OrganizationRow> =
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(tenant.as_str()).bind(name).fetch_optional(pool).await?;
    Ok(row.map(OrganizationView::from))
}

/// Organizations by name, a page at a time.
pub async fn list(pool: &AnyPool, tenant: &TenantId, page: Page) -> Result<Listed<OrganizationView>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM organizations o WHERE o.tenant_id = $1 ORDER BY o.name, o.id LIMIT $2 OFFSET $3"
    );
    let rows: Vec<OrganizationRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(page.limit())
        .bind(page.offset())
        .fetch_all(pool)
        .await?;
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM organizations WHERE tenant_id = $1")
        .bind(tenant.as_str())
        .fetch_one(pool)
        .await?;
    Ok(Listed { items: rows.into_iter().map(OrganizationView::from).collect(), total: total as u64 })
}

/// Organizations by id, from a checkpoint: stable while organizations come and go.
pub async fn list_from(
    pool: &AnyPool,
    tenant: &TenantId,
    from: &Checkpoint,
) -> Result<Chunk<OrganizationView>, sqlx::Error> {
    let sql =
        format!("SELECT {COLUMNS} FROM organizations o WHERE o.tenant_id = $1 AND o.id > $2 ORDER BY o.id LIMIT $3");
    let rows: Vec<OrganizationRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(from.after())
        .bind(from.limit())
        .fetch_all(pool)
        .await?;
    Ok(from.chunk(rows.into_iter().map(OrganizationView::from).collect(), |org| org.id.clone()))
}

/// The organizations a user is a member of, by name.
pub async fn of_user(
    pool: &AnyPool,
    tenant: &TenantId,
    user_id: &str,
    page: Page,
) -> Result<Listed<OrganizationView>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM organization_members m \
         JOIN organizations o ON o.tenant_id = m.tenant_id AND o.id = m.organization_id \
         WHERE m.tenant_id = $1 AND m.user_id = $2 ORDER BY o.name, o.id LIMIT $3 OFFSET $4"
    );
    let rows: Vec<OrganizationRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(user_id)
        .bind(page.limit())
        .bind(page.offset())
        .fetch_all(pool)
        .await?;
    let total: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM organization_members WHERE tenant_id = $1 AND user_id = $2")
            .bind(tenant.as_str())
            .bind(user_id)
            .fetch_one(pool)
            .await?;
    Ok(Listed { items: rows.into_iter().map(OrganizationView::from).collect(), total: total as u64 })
}

/// A member as Auth0 lists them: the user's id and a few profile fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberView {
    pub user_id: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub picture: Option<String>,
}

const MEMBER_SELECT: &str = "SELECT m.user_id, u.email, u.name, u.picture FROM organization_members m \
     LEFT JOIN users u ON u.tenant_id = m.tenant_id AND u.user_id = m.user_id \
     WHERE m.tenant_id = $1 AND m.organization_id = $2";

/// An organization's members by user id, a page at a time.
pub async fn members(
    pool: &AnyPool,
    tenant: &TenantId,
    organization_id: &str,
    page: Page,
) -> Result<Listed<MemberView>, sqlx::Error> {
    let sql = format!("{MEMBER_SELECT} ORDER BY m.user_id LIMIT $3 OFFSET $4");
    let items = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(organization_id)
        .bind(page.limit())
        .bind(page.offset())
        .fetch_all(pool)
        .await?;
    let total: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM organization_members WHERE tenant_id = $1 AND organization_id = $2")
            .bind(tenant.as_str())
            .bind(organization_id)
            .fetch_one(pool)
            .await?;
    Ok(Listed { items, total: total as u64 })
}

/// An organization's members by user id, from a checkpoint.
pub async fn members_from(
    pool: &AnyPool,
    tenant: &TenantId,
    organization_id: &str,
    from: &Checkpoint,
) -> Result<Chunk<MemberView>, sqlx::Error> {
    let sql = format!("{MEMBER_SELECT} AND m.user_id > $3 ORDER BY m.user_id LIMIT $4");
    let items: Vec<MemberView> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(organization_id)
        .bind(from.after())
        .bind(from.limit())
        .fetch_all(pool)
        .await?;
    Ok(from.chunk(items, |member| member.user_id.clone()))
}

pub async fn is_member(
    pool: &AnyPool,
    tenant: &TenantId,
    organization_id: &str,
    user_id: &str,
) -> Result<bool, sqlx::Error> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM organization_members WHERE tenant_id = $1 AND organization_id = $2 AND user_id = $3",
    )
    .bind(tenant.as_str())
    .bind(organization_id)
    .bind(user_id)
    .fetch_optional(pool)
    .await?;
    Ok(found.is_some())
}

/// The roles a member holds in an organization, by name.
pub async fn member_roles(
    pool: &AnyPool,
    tenant: &TenantId,
    (organization_id, user_id): (&str, &str),
    page: Page,
) -> Result<Listed<RoleView>, sqlx::Error> {
    const JOIN: &str = "FROM organization_member_roles m JOIN roles r ON r.tenant_id = m.tenant_id AND r.id = m.role_id \
         WHERE m.tenant_id = $1 AND m.organization_id = $2 AND m.user_id = $3";
    let rows: Vec<RoleRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ROLE_COLUMNS} {JOIN} ORDER BY r.name, r.id LIMIT $4 OFFSET $5"
    )))
    .bind(tenant.as_str())
    .bind(organization_id)
    .bind(user_id)
    .bind(page.limit())
    .bind(page.offset())
    .fetch_all(pool)
    .await?;
    let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) {JOIN}")))
        .bind(tenant.as_str())
        .bind(organization_id)
        .bind(user_id)
        .fetch_one(pool)
        .await?;
    Ok(Listed { items: rows.into_iter().map(RoleView::from).collect(), total: total as u64 })
}
