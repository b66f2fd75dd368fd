//! Tenants, as the control plane lists them, and the settings each one set itself.

use async_trait::async_trait;
use domain::TenantId;
use domain::settings::{EffectiveSettings, SettingsOverrides};
use domain::tenant::{TenantEvent, TenantFields};
use eventstore::RecordedEvent;
use eventstore::sqlx::{self, AnyConnection, AnyPool, FromRow};
use serde::Serialize;

use super::{Listed, Page, decode, json_text, timestamp};
use crate::{Projection, ProjectionError};

#[derive(Debug)]
pub struct TenantsProjection;

#[async_trait]
impl Projection for TenantsProjection {
    fn name(&self) -> &str {
        "tenants.v1"
    }

    fn event_types(&self) -> &[&str] {
        &["tenant.created", "tenant.updated", "tenant.settings_updated", "tenant.deleted"]
    }

    async fn apply(&self, tx: &mut AnyConnection, event: &RecordedEvent) -> Result<(), ProjectionError> {
        let at = timestamp(event);
        match decode::<TenantEvent>(event)? {
            TenantEvent::Created(f) | TenantEvent::Updated(f) => {
                sqlx::query(
                    "INSERT INTO tenants (id, name, friendly_name, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) \
                     ON CONFLICT (id) DO UPDATE SET name = $2, friendly_name = $3, updated_at = $4",
                )
                .bind(f.id.as_str())
                .bind(&f.name)
                .bind(&f.friendly_name)
                .bind(at)
                .execute(&mut *tx)
                .await?;
            }
            TenantEvent::SettingsUpdated { id, settings } => {
                sqlx::query(
                    "INSERT INTO tenant_settings (tenant_id, overrides) VALUES ($1, $2) \
                     ON CONFLICT (tenant_id) DO UPDATE SET overrides = $2",
                )
                .bind(id.as_str())
                .bind(json_text(event, &settings)?)
                .execute(&mut *tx)
                .await?;
            }
            TenantEvent::Deleted { id } => {
                for sql in ["DELETE FROM tenant_settings WHERE tenant_id = $1", "DELETE FROM tenants WHERE id = $1"] {
                    sqlx::query(sql).bind(id.as_str()).execute(&mut *tx).await?;
                }
            }
            // Custom domains route requests: the tenant directory (in memory) holds them.
            TenantEvent::DomainsSet { .. } => {}
        }
        Ok(())
    }

    async fn reset(&self, tx: &mut AnyConnection) -> Result<(), ProjectionError> {
        sqlx::query("DELETE FROM tenant_settings").execute(&mut *tx).await?;
        sqlx::query("DELETE FROM tenants").execute(&mut *tx).await?;
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TenantView {
    pub id: String,
    pub name: String,
    pub friendly_name: String,
}

impl From<&TenantFields> for TenantView {
    fn from(f: &TenantFields) -> Self {
        Self { id: f.id.to_string(), name: f.name.clone(), friendly_name: f.friendly_name.clone() }
    }
}

/// Tenants are the control plane's rows: there is no other tenant to scope this by.
pub async fn get(pool: &AnyPool, id: &str) -> Result<Option<TenantView>, sqlx::Error> {
    sqlx::query_as("SELECT id, name, friendly_name FROM tenants WHERE id = $1").bind(id).fetch_optional(pool).await
}

pub async fn list(pool: &AnyPool, page: Page) -> Result<Listed<TenantView>, sqlx::Error> {
    let items = sqlx::query_as("SELECT id, name, friendly_name FROM tenants ORDER BY id LIMIT $1 OFFSET $2")
        .bind(page.limit())
        .bind(page.offset())
        .fetch_all(pool)
        .await?;
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tenants").fetch_one(pool).await?;
    Ok(Listed { items, total: total as u64 })
}

/// The settings `tenant` set itself (none when it set none).
async fn overrides(pool: &AnyPool, tenant: &TenantId) -> Result<SettingsOverrides, sqlx::Error> {
    let json: Option<String> = sqlx::query_scalar("SELECT overrides FROM tenant_settings WHERE tenant_id = $1")
        .bind(tenant.as_str())
        .fetch_optional(pool)
        .await?;
    Ok(json.and_then(|text| serde_json::from_str(&text).ok()).unwrap_or_default())
}

/// The settings in effect for `tenant`: its own, else the control plane's, else the defaults.
pub async fn effective_settings(pool: &AnyPool, tenant: &TenantId) -> Result<EffectiveSettings, sqlx::Error> {
    let own = overrides(pool, tenant).await?;
    if tenant.is_control_plane() {
        return Ok(own.effective(None));
    }
    let control_plane = overrides(pool, &TenantId::control_plane()).await?;
    Ok(own.effective(Some(&control_plane)))
}
