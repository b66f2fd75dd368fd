//! `Caller`: the verified bearer token of a Management API request, as an extractor. A handler
//! that takes a `Caller` cannot run for an unauthenticated request.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use domain::TenantId;
use eventstore::Actor;
use projections::read_models::tenants;

use super::tokens::{VerifyError, verify};
use crate::app::AppState;
use crate::error::ApiError;

/// Names the tenant a control-plane caller acts in (DESIGN.md §5); honoured only for a token
/// with [`ADMIN_TENANTS`].
pub const TENANT_HEADER: &str = "tenant-id";
/// The platform administrator's permission: manage any tenant.
pub const ADMIN_TENANTS: &str = "admin:tenants";

#[derive(Debug, Clone)]
pub struct Caller {
    /// The tenant the request acts in: the token's, or the one a platform administrator names
    /// in the `tenant-id` header. F4 adds the host and the token's organization.
    pub tenant: TenantId,
    /// The tenant that issued the token: who acts, for the audit trail.
    token_tenant: TenantId,
    pub sub: String,
    pub client_id: String,
    permissions: Arc<HashSet<String>>,
}

impl Caller {
    /// 403 unless the token carries `permission`, with Auth0's message.
    pub fn require(&self, permission: &str) -> Result<(), ApiError> {
        if self.permissions.contains(permission) {
            Ok(())
        } else {
            Err(ApiError::Forbidden {
                message: format!("Insufficient scope, expected any of: {permission}"),
                code: "insufficient_scope",
            })
        }
    }

    pub fn actor(&self) -> Actor {
        Actor {
            sub: self.sub.clone(),
            tenant_id: Some(self.token_tenant.to_string()),
            client_id: Some(self.client_id.clone()),
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
        let token = header
            .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::Unauthorized("Missing authentication".into()))?;
        let tenant = TenantId::control_plane();
        let now = chrono::Utc::now().timestamp();
        if let Some(caller) = state.verified.get(token, now) {
            return caller.addressed(parts, state).await;
        }
        let keys = state.keys.for_tenant(&tenant).await.map_err(ApiError::internal)?;
        let claims = verify(&keys, token, &state.urls.issuer(), &state.urls.management_audience())
            .map_err(|err: VerifyError| ApiError::Unauthorized(err.to_string()))?;
        if claims.tenant_id != tenant.as_str() {
            return Err(ApiError::Unauthorized(VerifyError::Invalid.to_string()));
        }
        let mut permissions: HashSet<String> = claims.permissions.into_iter().collect();
        permissions.extend(claims.scope.split_whitespace().map(str::to_owned));
        let caller = Self {
            tenant: tenant.clone(),
            token_tenant: tenant,
            sub: claims.sub,
            client_id: claims.azp,
            permissions: Arc::new(permissions),
        };
        state.verified.insert(token, caller.clone(), claims.exp);
        caller.addressed(parts, state).await
    }
}

impl Caller {
    /// This caller acting in the tenant the `tenant-id` header names, if it names one: only a
    /// platform administrator may, and only in a tenant that exists.
    async fn addressed(self, parts: &Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(value) = parts.headers.get(TENANT_HEADER) else { return Ok(self) };
        let tenant = value.to_str().ok().and_then(|v| TenantId::parse(v.trim()).ok()).ok_or_else(|| {
            ApiError::BadRequest { message: "The tenant-id header must be a tenant id".into(), code: "invalid_headers" }
        })?;
        if tenant == self.tenant {
            return Ok(self);
        }
        if !self.permissions.contains(ADMIN_TENANTS) {
            return Err(ApiError::Forbidden {
                message: format!("Acting in tenant {tenant:?} needs the {ADMIN_TENANTS} permission"),
                code: "insufficient_scope",
            });
        }
        if tenants::get(&state.db.pool, tenant.as_str()).await?.is_none() {
            return Err(ApiError::NotFound {
                message: format!("The tenant {tenant:?} does not exist."),
                code: "inexistent_tenant",
            });
        }
        Ok(Self { tenant, ..self })
    }
}

/// Tokens whose signature, issuer and audience were verified, with when they expire: a
/// signature check costs tens of microseconds, a lookup well under one. Only the expiry can
/// change a cached answer, and it is checked on every hit. Bounded: emptied when full.
#[derive(Debug, Default)]
pub struct VerifiedTokens {
    entries: RwLock<HashMap<String, (Caller, i64)>>,
}

impl VerifiedTokens {
    const CAPACITY: usize = 10_000;

    fn get(&self, token: &str, now: i64) -> Option<Caller> {
        let entries = self.entries.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.get(token).filter(|(_, exp)| *exp > now).map(|(caller, _)| caller.clone())
    }

    fn insert(&self, token: &str, caller: Caller, exp: i64) {
        let mut entries = self.entries.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= Self::CAPACITY {
            entries.clear();
        }
        entries.insert(token.to_owned(), (caller, exp));
    }
}
