//! Users, their roles and their direct permissions, per tenant, with personal fields opened
//! (the log holds them sealed). A field whose data key was erased reads as null.

use std::sync::Arc;

use async_trait::async_trait;
use domain::TenantId;
use domain::login::LoginEvent;
use domain::personal::Sealed;
use domain::resource_server::ResourceServerEvent;
use domain::role::RoleEvent;
use domain::user::{Profile, UserEvent};
use eventstore::sqlx::{self, AnyConnection, AnyPool, FromRow};
use eventstore::{RecordedEvent, Vault};
use serde::Serialize;
use serde_json::Value;

use super::roles::{ROLE_COLUMNS, RoleRow};
use super::{ALL_ROWS, Listed, Page, TENANT_DELETED, decode, drop_tenant, timestamp};
use crate::{Projection, ProjectionError};

#[derive(Debug)]
pub struct UsersProjection {
    vault: Arc<Vault>,
}

impl UsersProjection {
    pub fn new(vault: Arc<Vault>) -> Self {
        Self { vault }
    }

    async fn open(
        &self,
        event: &RecordedEvent,
        user_id: &str,
        sealed: Option<&Sealed>,
    ) -> Result<Option<String>, ProjectionError> {
        let Some(sealed) = sealed else { return Ok(None) };
        self.vault.open(&event.tenant_id, user_id, sealed).await.map_err(|e| ProjectionError::event(event, e))
    }

    /// Writes the whole profile row; `created_at` is kept when the row exists.
    async fn write_profile(
        &self,
        tx: &mut AnyConnection,
        event: &RecordedEvent,
        (user_id, connection): (&str, Option<&str>),
        profile: &Profile,
    ) -> Result<(), ProjectionError> {
        let email = self.open(event, user_id, Some(&profile.email)).await?;
        let mut personal = Vec::with_capacity(7);
        for field in [
            &profile.name,
            &profile.given_name,
            &profile.family_name,
            &profile.nickname,
            &profile.picture,
            &profile.phone_number,
            &profile.user_metadata,
        ] {
            personal.push(self.open(event, user_id, field.as_ref()).await?);
        }
        let app_metadata = profile.app_metadata.as_ref().map(Value::to_string);
        let at = timestamp(event);
        let mut query = sqlx::query(
            "INSERT INTO users (tenant_id, user_id, connection, email, email_lower, email_verified, username, \
                                name, given_name, family_name, nickname, picture, phone_number, user_metadata, \
                                app_metadata, blocked, created_at, updated_at) \
             VALUES ($1, $2, COALESCE($3, ''), $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17) \
             ON CONFLICT (tenant_id, user_id) DO UPDATE SET \
               email = $4, email_lower = $5, email_verified = $6, username = $7, name = $8, given_name = $9, \
               family_name = $10, nickname = $11, picture = $12, phone_number = $13, user_metadata = $14, \
               app_metadata = $15, blocked = $16, updated_at = $17",
        )
        .bind(event.tenant_id.as_str())
        .bind(user_id)
        .bind(connection)
        .bind(email.clone())
        .bind(email.map(|e| e.to_lowercase()))
        .bind(i64::from(profile.email_verified))
        .bind(profile.username.clone());
        for value in personal {
            query = query.bind(value);
        }
        query.bind(app_metadata).bind(i64::from(profile.blocked)).bind(at).execute(&mut *tx).await?;
        Ok(())
    }
}

#[async_trait]
impl Projection for UsersProjection {
    fn name(&self) -> &str {
        "users.v1"
    }

    fn event_types(&self) -> &[&str] {
        &[
            "user.created",
            "user.updated",
            "user.roles_assigned",
            "user.roles_removed",
            "user.permissions_added",
            "user.permissions_removed",
            "user.deleted",
            "role.deleted",
            "resource_server.deleted",
            "auth.login_succeeded",
            TENANT_DELETED,
        ]
    }

    async fn apply(&self, tx: &mut AnyConnection, event: &RecordedEvent) -> Result<(), ProjectionError> {
        if event.event_type == TENANT_DELETED {
            return drop_tenant(tx, event, (&["user_permissions", "user_roles", "users"], ALL_ROWS)).await;
        }
        let tenant = event.tenant_id.as_str();
        if event.event_type == "auth.login_succeeded" {
            if let LoginEvent::Succeeded { user_id, .. } = decode::<LoginEvent>(event)? {
                sqlx::query(
                    "UPDATE users SET last_login = $3, logins_count = logins_count + 1 \
                     WHERE tenant_id = $1 AND user_id = $2",
                )
                .bind(tenant)
                .bind(user_id)
                .bind(timestamp(event))
                .execute(&mut *tx)
                .await?;
            }
            return Ok(());
        }
        if event.event_type == "role.deleted" {
            if let RoleEvent::Deleted { id, .. } = decode::<RoleEvent>(event)? {
                // A control-plane role may be held in every child tenant (synced).
                sqlx::query("DELETE FROM user_roles WHERE role_id = $2 AND (tenant_id = $1 OR $1 = 'control_plane')")
                    .bind(tenant)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            return Ok(());
        }
        // Since F3 the deletion of an API also appends `user.permissions_removed` for every
        // holder; this keeps logs written before that from leaving permissions behind.
        if event.event_type == "resource_server.deleted" {
            if let ResourceServerEvent::Deleted { identifier, .. } = decode::<ResourceServerEvent>(event)? {
                sqlx::query("DELETE FROM user_permissions WHERE tenant_id = $1 AND resource_server_identifier = $2")
                    .bind(tenant)
                    .bind(identifier)
                    .execute(&mut *tx)
                    .await?;
            }
            return Ok(());
        }
        match decode::<UserEvent>(event)? {
            UserEvent::Created(fields) => {
                let user = (fields.user_id.as_str(), Some(fields.connection.as_str()));
                self.write_profile(tx, event, user, &fields.profile).await?;
            }
            UserEvent::Updated { user_id, profile } => {
                self.write_profile(tx, event, (&user_id, None), &profile).await?;
            }
            // The read model never holds the hash.
            UserEvent::PasswordChanged { .. } => {}
            UserEvent::RolesAssigned { user_id, roles } => {
                for role in roles {
                    sqlx::query(
                        "INSERT INTO user_roles (tenant_id, user_id, role_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    )
                    .bind(tenant)
                    .bind(&user_id)
                    .bind(role)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            UserEvent::RolesRemoved { user_id, roles } => {
                for role in roles {
                    sqlx::query("DELETE FROM user_roles WHERE tenant_id = $1 AND user_id = $2 AND role_id = $3")
                        .bind(tenant)
                        .bind(&user_id)
                        .bind(role)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            UserEvent::PermissionsAdded { user_id, permissions } => {
                for p in permissions {
                    sqlx::query(
                        "INSERT INTO user_permissions (tenant_id, user_id, resource_server_identifier, permission_name) \
                         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                    )
                    .bind(tenant)
                    .bind(&user_id)
                    .bind(p.resource_server_identifier)
                    .bind(p.permission_name)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            UserEvent::PermissionsRemoved { user_id, permissions } => {
                for p in permissions {
                    sqlx::query(
                        "DELETE FROM user_permissions WHERE tenant_id = $1 AND user_id = $2 \
                         AND resource_server_identifier = $3 AND permission_name = $4",
                    )
                    .bind(tenant)
                    .bind(&user_id)
                    .bind(p.resource_server_identifier)
                    .bind(p.permission_name)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            UserEvent::Deleted { user_id } => {
                for table in [
                    "DELETE FROM user_permissions WHERE tenant_id = $1 AND user_id = $2",
                    "DELETE FROM user_roles WHERE tenant_id = $1 AND user_id = $2",
                    "DELETE FROM users WHERE tenant_id = $1 AND user_id = $2",
                ] {
                    sqlx::query(table).bind(tenant).bind(&user_id).execute(&mut *tx).await?;
                }
            }
        }
        Ok(())
    }

    async fn reset(&self, tx: &mut AnyConnection) -> Result<(), ProjectionError> {
        for table in ["DELETE FROM user_permissions", "DELETE FROM user_roles", "DELETE FROM users"] {
            sqlx::query(table).execute(&mut *tx).await?;
        }
        Ok(())
    }
}

/// A user as the Management API shows it (Auth0's field names). Never the password hash.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserView {
    pub user_id: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub username: Option<String>,
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub nickname: Option<String>,
    pub picture: Option<String>,
    pub phone_number: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub user_metadata: Value,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub app_metadata: Value,
    pub blocked: bool,
    pub created_at: String,
    pub updated_at: String,
    pub last_login: Option<String>,
    pub logins_count: u64,
    pub identities: Vec<Identity>,
}

/// Auth0's `identities[]`: for a database user, the one identity of its connection.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Identity {
    pub connection: String,
    pub provider: String,
    pub user_id: String,
    #[serde(rename = "isSocial")]
    pub is_social: bool,
}

#[derive(Debug, FromRow)]
struct UserRow {
    user_id: String,
    connection: String,
    email: Option<String>,
    email_verified: i64,
    username: Option<String>,
    name: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
    nickname: Option<String>,
    picture: Option<String>,
    phone_number: Option<String>,
    user_metadata: Option<String>,
    app_metadata: Option<String>,
    blocked: i64,
    created_at: String,
    updated_at: String,
    last_login: Option<String>,
    logins_count: i64,
}

impl From<UserRow> for UserView {
    fn from(row: UserRow) -> Self {
        let object = |text: Option<String>| {
            text.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_else(|| Value::Object(Default::default()))
        };
        // Auth0's identity user_id is the id without its provider prefix.
        let local_id = row.user_id.split_once('|').map_or(row.user_id.as_str(), |(_, id)| id).to_owned();
        Self {
            identities: vec![Identity {
                connection: row.connection,
                provider: "auth0".into(),
                user_id: local_id,
                is_social: false,
            }],
            user_id: row.user_id,
            email: row.email,
            email_verified: row.email_verified != 0,
            username: row.username,
            name: row.name,
            given_name: row.given_name,
            family_name: row.family_name,
            nickname: row.nickname,
            picture: row.picture,
            phone_number: row.phone_number,
            user_metadata: object(row.user_metadata),
            app_metadata: object(row.app_metadata),
            blocked: row.blocked != 0,
            created_at: row.created_at,
            updated_at: row.updated_at,
            last_login: row.last_login,
            logins_count: u64::try_from(row.logins_count).unwrap_or_default(),
        }
    }
}

const USER_COLUMNS: &str = "user_id, connection, email, email_verified, username, name, given_name, family_name, \
     nickname, picture, phone_number, user_metadata, app_metadata, blocked, created_at, updated_at, last_login, \
     logins_count";

pub async fn get(pool: &AnyPool, tenant: &TenantId, user_id: &str) -> Result<Option<UserView>, sqlx::Error> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND user_id = $2");
    let row: Option<UserRow> =
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(tenant.as_str()).bind(user_id).fetch_optional(pool).await?;
    Ok(row.map(UserView::from))
}

/// Users by email, then id.
pub async fn list(pool: &AnyPool, tenant: &TenantId, page: Page) -> Result<Listed<UserView>, sqlx::Error> {
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 ORDER BY email_lower, user_id LIMIT $2 OFFSET $3"
    );
    let rows: Vec<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(page.limit())
        .bind(page.offset())
        .fetch_all(pool)
        .await?;
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE tenant_id = $1")
        .bind(tenant.as_str())
        .fetch_one(pool)
        .await?;
    Ok(Listed { items: rows.into_iter().map(UserView::from).collect(), total: total as u64 })
}

/// Users whose email is `email`, case-insensitively (at most one: emails are unique per tenant).
pub async fn by_email(pool: &AnyPool, tenant: &TenantId, email: &str) -> Result<Vec<UserView>, sqlx::Error> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND email_lower = $2 ORDER BY user_id");
    let rows: Vec<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(email.to_lowercase())
        .fetch_all(pool)
        .await?;
    Ok(rows.into_iter().map(UserView::from).collect())
}

/// The roles assigned to a user, by name.
pub async fn roles(
    pool: &AnyPool,
    tenant: &TenantId,
    user_id: &str,
    page: Page,
) -> Result<Listed<super::roles::RoleView>, sqlx::Error> {
    let sql = format!(
        "SELECT {ROLE_COLUMNS} FROM user_roles u JOIN roles r ON r.tenant_id = u.tenant_id AND r.id = u.role_id \
         WHERE u.tenant_id = $1 AND u.user_id = $2 ORDER BY r.name, r.id LIMIT $3 OFFSET $4"
    );
    let rows: Vec<RoleRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(user_id)
        .bind(page.limit())
        .bind(page.offset())
        .fetch_all(pool)
        .await?;
    let items = rows.into_iter().map(super::roles::RoleView::from).collect();
    let total: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM user_roles u JOIN roles r ON r.tenant_id = u.tenant_id AND r.id = u.role_id \
         WHERE u.tenant_id = $1 AND u.user_id = $2",
    )
    .bind(tenant.as_str())
    .bind(user_id)
    .fetch_one(pool)
    .await?;
    Ok(Listed { items, total: total as u64 })
}

/// A user's direct permission, with its resource server's name and the scope's description.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserPermissionView {
    pub permission_name: String,
    pub description: String,
    pub resource_server_name: String,
    pub resource_server_identifier: String,
}

#[derive(Debug, FromRow)]
struct PermissionRow {
    resource_server_identifier: String,
    permission_name: String,
    resource_server_name: Option<String>,
    scopes: Option<String>,
}

pub async fn permissions(
    pool: &AnyPool,
    tenant: &TenantId,
    user_id: &str,
    page: Page,
) -> Result<Listed<UserPermissionView>, sqlx::Error> {
    let rows: Vec<PermissionRow> = sqlx::query_as(
        "SELECT p.resource_server_identifier, p.permission_name, s.name AS resource_server_name, s.scopes \
         FROM user_permissions p \
         LEFT JOIN resource_servers s ON s.tenant_id = p.tenant_id AND s.identifier = p.resource_server_identifier \
         WHERE p.tenant_id = $1 AND p.user_id = $2 \
         ORDER BY p.resource_server_identifier, p.permission_name LIMIT $3 OFFSET $4",
    )
    .bind(tenant.as_str())
    .bind(user_id)
    .bind(page.limit())
    .bind(page.offset())
    .fetch_all(pool)
    .await?;
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM user_permissions WHERE tenant_id = $1 AND user_id = $2")
        .bind(tenant.as_str())
        .bind(user_id)
        .fetch_one(pool)
        .await?;
    let items = rows
        .into_iter()
        .map(|row| {
            let description = row
                .scopes
                .as_deref()
                .and_then(|json| serde_json::from_str::<Vec<domain::resource_server::Scope>>(json).ok())
                .and_then(|scopes| scopes.into_iter().find(|s| s.value == row.permission_name))
                .map(|scope| scope.description)
                .unwrap_or_default();
            UserPermissionView {
                permission_name: row.permission_name,
                description,
                resource_server_name: row.resource_server_name.unwrap_or_default(),
                resource_server_identifier: row.resource_server_identifier,
            }
        })
        .collect();
    Ok(Listed { items, total: total as u64 })
}
