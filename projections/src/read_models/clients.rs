//! Clients and client grants, per tenant: what the token endpoint authenticates against and
//! what the Management API lists. A deleted client takes its grants with it (a deleted API's
//! grants are deleted in the log, by the command that deletes it).

use async_trait::async_trait;
use domain::TenantId;
use domain::client::{ClientEvent, ClientSettings};
use domain::client_grant::{ClientGrantEvent, ClientGrantFields, OrganizationUsage};
use eventstore::RecordedEvent;
use eventstore::sqlx::{self, AnyConnection, AnyPool, FromRow};
use serde::Serialize;
use serde_json::Value;

use super::{ALL_ROWS, Listed, Page, TENANT_DELETED, decode, drop_tenant, json_text, timestamp};
use crate::{Projection, ProjectionError};

#[derive(Debug)]
pub struct ClientsProjection;

#[async_trait]
impl Projection for ClientsProjection {
    fn name(&self) -> &str {
        "clients.v1"
    }

    fn event_types(&self) -> &[&str] {
        &[
            "client.created",
            "client.updated",
            "client.secret_rotated",
            "client.deleted",
            "client_grant.created",
            "client_grant.updated",
            "client_grant.deleted",
            TENANT_DELETED,
        ]
    }

    async fn apply(&self, tx: &mut AnyConnection, event: &RecordedEvent) -> Result<(), ProjectionError> {
        if event.event_type == TENANT_DELETED {
            return drop_tenant(tx, event, (&["client_grants", "clients"], ALL_ROWS)).await;
        }
        let tenant = event.tenant_id.as_str();
        if event.event_type.starts_with("client_grant.") {
            return apply_grant(tx, event, decode::<ClientGrantEvent>(event)?).await;
        }
        match decode::<ClientEvent>(event)? {
            ClientEvent::Created(c) => {
                sqlx::query(
                    "INSERT INTO clients (tenant_id, client_id, name, app_type, grant_types, secret_hash, settings, \
                                          created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (tenant_id, client_id) DO NOTHING",
                )
                .bind(tenant)
                .bind(&c.client_id)
                .bind(&c.settings.name)
                .bind(&c.settings.app_type)
                .bind(json_text(event, &c.settings.grant_types)?)
                .bind(&c.secret_hash)
                .bind(json_text(event, &c.settings)?)
                .bind(timestamp(event))
                .execute(&mut *tx)
                .await?;
            }
            ClientEvent::Updated { client_id, settings } => {
                sqlx::query(
                    "UPDATE clients SET name = $3, app_type = $4, grant_types = $5, settings = $6 \
                     WHERE tenant_id = $1 AND client_id = $2",
                )
                .bind(tenant)
                .bind(&client_id)
                .bind(&settings.name)
                .bind(&settings.app_type)
                .bind(json_text(event, &settings.grant_types)?)
                .bind(json_text(event, &settings)?)
                .execute(&mut *tx)
                .await?;
            }
            ClientEvent::SecretRotated { client_id, secret_hash } => {
                sqlx::query("UPDATE clients SET secret_hash = $3 WHERE tenant_id = $1 AND client_id = $2")
                    .bind(tenant)
                    .bind(&client_id)
                    .bind(secret_hash)
                    .execute(&mut *tx)
                    .await?;
            }
            ClientEvent::Deleted { client_id } => {
                for sql in [
                    "DELETE FROM client_grants WHERE tenant_id = $1 AND client_id = $2",
                    "DELETE FROM clients WHERE tenant_id = $1 AND client_id = $2",
                ] {
                    sqlx::query(sql).bind(tenant).bind(&client_id).execute(&mut *tx).await?;
                }
            }
        }
        Ok(())
    }

    async fn reset(&self, tx: &mut AnyConnection) -> Result<(), ProjectionError> {
        sqlx::query("DELETE FROM client_grants").execute(&mut *tx).await?;
        sqlx::query("DELETE FROM clients").execute(&mut *tx).await?;
        Ok(())
    }
}

async fn apply_grant(
    tx: &mut AnyConnection,
    event: &RecordedEvent,
    grant: ClientGrantEvent,
) -> Result<(), ProjectionError> {
    let tenant = event.tenant_id.as_str();
    match grant {
        ClientGrantEvent::Created(g) => {
            sqlx::query(
                "INSERT INTO client_grants (tenant_id, id, client_id, audience, scope, organization_usage, \
                                            allow_any_organization, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (tenant_id, id) DO NOTHING",
            )
            .bind(tenant)
            .bind(&g.id)
            .bind(&g.client_id)
            .bind(&g.audience)
            .bind(json_text(event, &g.scope)?)
            .bind(usage_text(g.organization_usage))
            .bind(i64::from(g.allow_any_organization))
            .bind(timestamp(event))
            .execute(&mut *tx)
            .await?;
        }
        ClientGrantEvent::Updated(g) => {
            sqlx::query(
                "UPDATE client_grants SET scope = $3, organization_usage = $4, allow_any_organization = $5 \
                 WHERE tenant_id = $1 AND id = $2",
            )
            .bind(tenant)
            .bind(&g.id)
            .bind(json_text(event, &g.scope)?)
            .bind(usage_text(g.organization_usage))
            .bind(i64::from(g.allow_any_organization))
            .execute(&mut *tx)
            .await?;
        }
        // The associated organizations are answered from memory (`applications.memory`).
        ClientGrantEvent::OrganizationAdded { .. } | ClientGrantEvent::OrganizationRemoved { .. } => {}
        ClientGrantEvent::Deleted { id, .. } => {
            sqlx::query("DELETE FROM client_grants WHERE tenant_id = $1 AND id = $2")
                .bind(tenant)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
    }
    Ok(())
}

fn usage_text(usage: OrganizationUsage) -> String {
    serde_json::to_value(usage).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// What the token endpoint needs to authenticate a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCredentials {
    pub client_id: String,
    pub secret_hash: String,
    pub grant_types: Vec<String>,
    /// `none` for a public client (no secret), else how it presents its secret.
    pub token_endpoint_auth_method: String,
}

/// A client as the Management API shows it: Auth0's fields, never the secret (it is shown
/// once, when created or rotated).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClientView {
    pub client_id: String,
    pub tenant: String,
    pub name: String,
    pub description: Option<String>,
    pub app_type: String,
    pub is_first_party: bool,
    pub grant_types: Vec<String>,
    pub callbacks: Vec<String>,
    pub allowed_origins: Vec<String>,
    pub web_origins: Vec<String>,
    pub allowed_logout_urls: Vec<String>,
    pub token_endpoint_auth_method: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub client_metadata: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, FromRow)]
struct ClientRow {
    client_id: String,
    name: String,
    app_type: String,
    grant_types: String,
    settings: Option<String>,
}

impl ClientView {
    fn from_row(tenant: &TenantId, row: ClientRow) -> Self {
        // F2's bootstrap client has no settings row: its settings are a machine client's.
        let settings =
            row.settings.and_then(|json| serde_json::from_str::<ClientSettings>(&json).ok()).unwrap_or_else(|| {
                ClientSettings {
                    app_type: row.app_type,
                    grant_types: serde_json::from_str(&row.grant_types).unwrap_or_default(),
                    ..ClientSettings::machine(row.name)
                }
            });
        Self {
            client_id: row.client_id,
            tenant: tenant.to_string(),
            name: settings.name,
            description: settings.description,
            app_type: settings.app_type,
            is_first_party: true,
            grant_types: settings.grant_types,
            callbacks: settings.callbacks,
            allowed_origins: settings.allowed_origins,
            web_origins: settings.web_origins,
            allowed_logout_urls: settings.allowed_logout_urls,
            token_endpoint_auth_method: settings.token_endpoint_auth_method,
            client_metadata: settings.client_metadata,
        }
    }
}

const CLIENT_COLUMNS: &str = "client_id, name, app_type, grant_types, settings";

pub async fn get(pool: &AnyPool, tenant: &TenantId, client_id: &str) -> Result<Option<ClientView>, sqlx::Error> {
    let sql = format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE tenant_id = $1 AND client_id = $2");
    let row: Option<ClientRow> =
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(tenant.as_str()).bind(client_id).fetch_optional(pool).await?;
    Ok(row.map(|row| ClientView::from_row(tenant, row)))
}

/// Clients by name, then id.
pub async fn list(pool: &AnyPool, tenant: &TenantId, page: Page) -> Result<Listed<ClientView>, sqlx::Error> {
    let sql = format!(
        "SELECT {CLIENT_COLUMNS} FROM clients WHERE tenant_id = $1 ORDER BY name, client_id LIMIT $2 OFFSET $3"
    );
    let rows: Vec<ClientRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(page.limit())
        .bind(page.offset())
        .fetch_all(pool)
        .await?;
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM clients WHERE tenant_id = $1")
        .bind(tenant.as_str())
        .fetch_one(pool)
        .await?;
    Ok(Listed { items: rows.into_iter().map(|row| ClientView::from_row(tenant, row)).collect(), total: total as u64 })
}

/// A client grant as the Management API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClientGrantView {
    pub id: String,
    pub client_id: String,
    pub audience: String,
    pub scope: Vec<String>,
    /// `deny`, `allow` or `require`: whether tokens may or must name an organization.
    pub organization_usage: OrganizationUsage,
    pub allow_any_organization: bool,
}

impl From<&ClientGrantFields> for ClientGrantView {
    fn from(grant: &ClientGrantFields) -> Self {
        Self {
            id: grant.id.clone(),
            client_id: grant.client_id.clone(),
            audience: grant.audience.clone(),
            scope: grant.scope.clone(),
            organization_usage: grant.organization_usage,
            allow_any_organization: grant.allow_any_organization,
        }
    }
}

#[derive(Debug, FromRow)]
struct GrantRow {
    id: String,
    client_id: String,
    audience: String,
    scope: String,
    organization_usage: String,
    allow_any_organization: i64,
}

impl From<GrantRow> for ClientGrantView {
    fn from(row: GrantRow) -> Self {
        Self {
            id: row.id,
            client_id: row.client_id,
            audience: row.audience,
            scope: serde_json::from_str(&row.scope).unwrap_or_default(),
            organization_usage: serde_json::from_value(Value::String(row.organization_usage)).unwrap_or_default(),
            allow_any_organization: row.allow_any_organization != 0,
        }
    }
}

const GRANT_COLUMNS: &str = "id, client_id, audience, scope, organization_usage, allow_any_organization";

pub async fn grant(pool: &AnyPool, tenant: &TenantId, id: &str) -> Result<Option<ClientGrantView>, sqlx::Error> {
    let row: Option<GrantRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {GRANT_COLUMNS} FROM client_grants WHERE tenant_id = $1 AND id = $2"
    )))
    .bind(tenant.as_str())
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(ClientGrantView::from))
}

/// Grants by client and audience, optionally only one client's or one audience's.
pub async fn grants(
    pool: &AnyPool,
    tenant: &TenantId,
    (client_id, audience): (Option<&str>, Option<&str>),
    page: Page,
) -> Result<Listed<ClientGrantView>, sqlx::Error> {
    const FILTER: &str = "FROM client_grants WHERE tenant_id = $1 AND ($2 = '' OR client_id = $2) \
         AND ($3 = '' OR audience = $3)";
    let rows: Vec<GrantRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {GRANT_COLUMNS} {FILTER} ORDER BY client_id, audience LIMIT $4 OFFSET $5"
    )))
    .bind(tenant.as_str())
    .bind(client_id.unwrap_or_default())
    .bind(audience.unwrap_or_default())
    .bind(page.limit())
    .bind(page.offset())
    .fetch_all(pool)
    .await?;
    let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) {FILTER}")))
        .bind(tenant.as_str())
        .bind(client_id.unwrap_or_default())
        .bind(audience.unwrap_or_default())
        .fetch_one(pool)
        .await?;
    Ok(Listed { items: rows.into_iter().map(ClientGrantView::from).collect(), total: total as u64 })
}
