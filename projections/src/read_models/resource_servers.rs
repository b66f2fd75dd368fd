//! Resource servers (APIs), per tenant.

use async_trait::async_trait;
use domain::TenantId;
use domain::resource_server::{ResourceServerEvent, ResourceServerFields, Scope};
use eventstore::RecordedEvent;
use eventstore::sqlx::{self, AnyConnection, AnyPool, FromRow};
use serde::Serialize;

use super::{Listed, OWN_ROWS, Page, TENANT_DELETED, decode, drop_tenant, json_text, timestamp};
use crate::{Projection, ProjectionError};

#[derive(Debug)]
pub struct ResourceServersProjection;

#[async_trait]
impl Projection for ResourceServersProjection {
    fn name(&self) -> &str {
        "resource_servers.v1"
    }

    fn event_types(&self) -> &[&str] {
        &["resource_server.created", "resource_server.updated", "resource_server.deleted", TENANT_DELETED]
    }

    async fn apply(&self, tx: &mut AnyConnection, event: &RecordedEvent) -> Result<(), ProjectionError> {
        if event.event_type == TENANT_DELETED {
            return drop_tenant(tx, event, (&["resource_servers"], OWN_ROWS)).await;
        }
        let tenant = event.tenant_id.as_str();
        let at = timestamp(event);
        match decode::<ResourceServerEvent>(event)? {
            ResourceServerEvent::Created(f) | ResourceServerEvent::Updated(f) => {
                sqlx::query(
                    "INSERT INTO resource_servers (tenant_id, id, name, identifier, scopes, signing_alg, token_lifetime, \
                       allow_offline_access, skip_consent, is_system, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) \
                     ON CONFLICT (tenant_id, id) DO UPDATE SET name = $3, scopes = $5, signing_alg = $6, \
                       token_lifetime = $7, allow_offline_access = $8, skip_consent = $9, updated_at = $11",
                )
                .bind(tenant)
                .bind(&f.id)
                .bind(&f.name)
                .bind(&f.identifier)
                .bind(json_text(event, &f.scopes)?)
                .bind(f.signing_alg.as_str())
                .bind(i64::from(f.token_lifetime))
                .bind(i64::from(f.allow_offline_access))
                .bind(i64::from(f.skip_consent_for_verifiable_first_party_clients))
                .bind(i64::from(f.is_system))
                .bind(at)
                .execute(&mut *tx)
                .await?;
            }
            ResourceServerEvent::Deleted { id, .. } => {
                sqlx::query("DELETE FROM resource_servers WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        Ok(())
    }

    async fn reset(&self, tx: &mut AnyConnection) -> Result<(), ProjectionError> {
        // Synced rows are the fan-out's.
        sqlx::query("DELETE FROM resource_servers WHERE synced = 0").execute(&mut *tx).await?;
        Ok(())
    }
}

/// A resource server as the Management API shows it (Auth0's field names).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResourceServerView {
    pub id: String,
    pub name: String,
    pub identifier: String,
    pub scopes: Vec<Scope>,
    pub signing_alg: String,
    pub token_lifetime: u32,
    pub token_lifetime_for_web: u32,
    pub allow_offline_access: bool,
    pub skip_consent_for_verifiable_first_party_clients: bool,
    pub is_system: bool,
}

impl From<&ResourceServerFields> for ResourceServerView {
    fn from(f: &ResourceServerFields) -> Self {
        Self {
            id: f.id.clone(),
            name: f.name.clone(),
            identifier: f.identifier.clone(),
            scopes: f.scopes.clone(),
            signing_alg: f.signing_alg.as_str().to_owned(),
            token_lifetime: f.token_lifetime,
            token_lifetime_for_web: f.token_lifetime.min(7200),
            allow_offline_access: f.allow_offline_access,
            skip_consent_for_verifiable_first_party_clients: f.skip_consent_for_verifiable_first_party_clients,
            is_system: f.is_system,
        }
    }
}

#[derive(Debug, FromRow)]
struct Row {
    id: String,
    name: String,
    identifier: String,
    scopes: String,
    signing_alg: String,
    token_lifetime: i64,
    allow_offline_access: i64,
    skip_consent: i64,
    is_system: i64,
}

impl From<Row> for ResourceServerView {
    fn from(row: Row) -> Self {
        let token_lifetime = u32::try_from(row.token_lifetime).unwrap_or(u32::MAX);
        Self {
            id: row.id,
            name: row.name,
            identifier: row.identifier,
            scopes: serde_json::from_str(&row.scopes).unwrap_or_default(),
            signing_alg: row.signing_alg,
            token_lifetime,
            token_lifetime_for_web: token_lifetime.min(7200),
            allow_offline_access: row.allow_offline_access != 0,
            skip_consent_for_verifiable_first_party_clients: row.skip_consent != 0,
            is_system: row.is_system != 0,
        }
    }
}

const COLUMNS: &str =
    "id, name, identifier, scopes, signing_alg, token_lifetime, allow_offline_access, skip_consent, is_system";

/// By id, or by identifier: Auth0 accepts either in the path.
pub async fn get(
    pool: &AnyPool,
    tenant: &TenantId,
    id_or_identifier: &str,
) -> Result<Option<ResourceServerView>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM resource_servers WHERE tenant_id = $1 AND (id = $2 OR identifier = $2) \
         ORDER BY CASE WHEN id = $2 THEN 0 ELSE 1 END LIMIT 1"
    );
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(id_or_identifier)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(Into::into))
}

pub async fn list(pool: &AnyPool, tenant: &TenantId, page: Page) -> Result<Listed<ResourceServerView>, sqlx::Error> {
    let sql =
        format!("SELECT {COLUMNS} FROM resource_servers WHERE tenant_id = $1 ORDER BY name, id LIMIT $2 OFFSET $3");
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(page.limit())
        .bind(page.offset())
        .fetch_all(pool)
        .await?;
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM resource_servers WHERE tenant_id = $1")
        .bind(tenant.as_str())
        .fetch_one(pool)
        .await?;
    Ok(Listed { items: rows.into_iter().map(Into::into).collect(), total: total as u64 })
}
