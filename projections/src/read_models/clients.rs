//! Clients and client grants, per tenant: what the token endpoint authenticates against.

use async_trait::async_trait;
use domain::TenantId;
use domain::client::ClientEvent;
use domain::client_grant::ClientGrantEvent;
use eventstore::RecordedEvent;
use eventstore::sqlx::{self, AnyConnection, AnyPool};

use super::{decode, json_text, timestamp};
use crate::{Projection, ProjectionError};

#[derive(Debug)]
pub struct ClientsProjection;

#[async_trait]
impl Projection for ClientsProjection {
    fn name(&self) -> &str {
        "clients.v1"
    }

    fn event_types(&self) -> &[&str] {
        &["client.created", "client_grant.created"]
    }

    async fn apply(&self, tx: &mut AnyConnection, event: &RecordedEvent) -> Result<(), ProjectionError> {
        let tenant = event.tenant_id.as_str();
        let at = timestamp(event);
        if event.event_type.starts_with("client_grant.") {
            match decode::<ClientGrantEvent>(event)? {
                ClientGrantEvent::Created(g) => {
                    sqlx::query(
                        "INSERT INTO client_grants (tenant_id, id, client_id, audience, scope, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, id) DO NOTHING",
                    )
                    .bind(tenant)
                    .bind(&g.id)
                    .bind(&g.client_id)
                    .bind(&g.audience)
                    .bind(json_text(event, &g.scope)?)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            return Ok(());
        }
        match decode::<ClientEvent>(event)? {
            ClientEvent::Created(c) => {
                sqlx::query(
                    "INSERT INTO clients (tenant_id, client_id, name, app_type, grant_types, secret_hash, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, client_id) DO NOTHING",
                )
                .bind(tenant)
                .bind(&c.client_id)
                .bind(&c.name)
                .bind(&c.app_type)
                .bind(json_text(event, &c.grant_types)?)
                .bind(&c.secret_hash)
                .bind(at)
                .execute(&mut *tx)
                .await?;
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

/// What the token endpoint needs to authenticate a client.
#[derive(Debug, Clone)]
pub struct ClientCredentials {
    pub client_id: String,
    pub secret_hash: String,
    pub grant_types: Vec<String>,
}

pub async fn credentials(
    pool: &AnyPool,
    tenant: &TenantId,
    client_id: &str,
) -> Result<Option<ClientCredentials>, sqlx::Error> {
    let row: Option<(String, String, String)> = sqlx::query_as(
        "SELECT client_id, secret_hash, grant_types FROM clients WHERE tenant_id = $1 AND client_id = $2",
    )
    .bind(tenant.as_str())
    .bind(client_id)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(client_id, secret_hash, grant_types)| ClientCredentials {
        client_id,
        secret_hash,
        grant_types: serde_json::from_str(&grant_types).unwrap_or_default(),
    }))
}

/// The scopes a client was granted for an audience, if it has a grant for it.
pub async fn granted_scopes(
    pool: &AnyPool,
    tenant: &TenantId,
    client_id: &str,
    audience: &str,
) -> Result<Option<Vec<String>>, sqlx::Error> {
    let scope: Option<String> =
        sqlx::query_scalar("SELECT scope FROM client_grants WHERE tenant_id = $1 AND client_id = $2 AND audience = $3")
            .bind(tenant.as_str())
            .bind(client_id)
            .bind(audience)
            .fetch_optional(pool)
            .await?;
    Ok(scope.map(|s| serde_json::from_str(&s).unwrap_or_default()))
}
