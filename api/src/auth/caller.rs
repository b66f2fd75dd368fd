//! `Caller`: the verified bearer token of a Management API request, as an extractor, and the
//! tenant it acts in. A handler that takes a `Caller` cannot run for an unauthenticated request.
//!
//! Who may act where (DESIGN.md §5; the seeds' platform admin, tenant admin, tenant user):
//! - a tenant's own token acts in that tenant, at that tenant's host only;
//! - a control-plane token acts in the tenant its request addresses — by host, else by the
//!   `tenant-id` header, else the control plane — when it may manage that tenant: with
//!   `admin:tenants` any tenant; bound by `org_id` to a child tenant's organization, that
//!   tenant only (and by default); otherwise the control plane only.
//!
//! A token of any other tenant is not a credential here: 401, as for a forged one.

use std::collections::HashSet;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use domain::TenantId;
use eventstore::Actor;

use super::tokens::{VerifyError, claimed_tenant, verify};
use crate::app::AppState;
use crate::error::ApiError;
use crate::routing::Site;

/// Names the tenant a control-plane caller acts in (DESIGN.md §5), when the host names none.
pub const TENANT_HEADER: &str = "tenant-id";
/// The platform administrator's permission: manage any tenant.
pub const ADMIN_TENANTS: &str = "admin:tenants";

#[derive(Debug, Clone)]
pub struct Caller {
    /// The tenant the request acts in.
    pub tenant: TenantId,
    /// The tenant that issued the token: who acts, for the audit trail.
    token_tenant: TenantId,
    /// The child tenant whose control-plane organization the token is bound to, if any.
    org_tenant: Option<TenantId>,
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
        let site = Site::of(parts, state)?;
        let now = chrono::Utc::now().timestamp();
        let caller = match state.verified.get(token, now, state.key_events.generation()) {
            Some(caller) => caller,
            None => Self::verified(token, &site, state).await?,
        };
        caller.addressed(parts, state, &site)
    }
}

impl Caller {
    /// The caller of a token not seen before: issued by the site's tenant or the control plane,
    /// signed by that tenant's key, for the Management API.
    async fn verified(token: &str, site: &Site, state: &AppState) -> Result<Self, ApiError> {
        let invalid = || ApiError::Unauthorized(VerifyError::Invalid.to_string());
        let control_plane = TenantId::control_plane();
        let issuer = match claimed_tenant(token) {
            Some(claimed) if claimed == site.tenant.as_str() => site.tenant.clone(),
            Some(claimed) if claimed == control_plane.as_str() => control_plane,
            _ => return Err(invalid()),
        };
        // Read before the keys: a key event applied meanwhile makes this entry stale, not kept.
        let generation = state.key_events.generation();
        let keys = state.keys.for_tenant(&issuer).await.map_err(ApiError::internal)?;
        let issuers = state.urls.issuers_of(&issuer, &state.directory.domains(&issuer));
        let claims = verify(&keys, token, &issuers, Some(&state.urls.management_audience()))
            .map_err(|err: VerifyError| ApiError::Unauthorized(err.to_string()))?;
        if claims.tenant_id != issuer.as_str() {
            return Err(invalid());
        }
        // Only a child tenant's own organization on the control plane binds a token to it.
        let org_tenant = claims
            .org_id
            .as_deref()
            .filter(|_| issuer.is_control_plane())
            .and_then(|org| TenantId::parse(org).ok())
            .filter(|org| !org.is_control_plane() && state.directory.exists(org));
        let mut permissions: HashSet<String> = claims.permissions.into_iter().collect();
        permissions.extend(claims.scope.split_whitespace().map(str::to_owned));
        let caller = Self {
            tenant: issuer.clone(),
            token_tenant: issuer,
            org_tenant,
            sub: claims.sub,
            client_id: claims.azp,
            permissions: Arc::new(permissions),
        };
        state.verified.insert(token, caller.clone(), claims.exp, generation);
        Ok(caller)
    }

    /// This caller acting in the tenant the request addresses, if it may.
    fn addressed(self, parts: &Parts, state: &AppState, site: &Site) -> Result<Self, ApiError> {
        let named = match parts.headers.get(TENANT_HEADER) {
            None => None,
            Some(value) => Some(value.to_str().ok().and_then(|v| TenantId::parse(v.trim()).ok()).ok_or_else(|| {
                ApiError::BadRequest {
                    message: "The tenant-id header must be a tenant id".into(),
                    code: "invalid_headers",
                }
            })?),
        };
        if !self.token_tenant.is_control_plane() {
            // A tenant's own token: at its own host, for itself.
            if site.tenant != self.token_tenant {
                return Err(ApiError::Unauthorized(VerifyError::Invalid.to_string()));
            }
            return match named {
                Some(tenant) if tenant != self.token_tenant => Err(self.may_not_manage(&tenant)),
                _ => Ok(self),
            };
        }
        let target = if !site.tenant.is_control_plane() {
            if named.as_ref().is_some_and(|tenant| *tenant != site.tenant) {
                return Err(ApiError::BadRequest {
                    message: format!("The tenant-id header names another tenant than the host ({})", site.tenant),
                    code: "invalid_headers",
                });
            }
            site.tenant.clone()
        } else {
            match named.or_else(|| self.org_tenant.clone()) {
                Some(tenant) => tenant,
                None => return Ok(self),
            }
        };
        let may = if target.is_control_plane() {
            self.org_tenant.is_none() || self.is_platform_admin()
        } else {
            self.is_platform_admin() || self.org_tenant.as_ref() == Some(&target)
        };
        if !may {
            return Err(self.may_not_manage(&target));
        }
        if !state.directory.exists(&target) {
            return Err(ApiError::NotFound {
                message: format!("The tenant \"{target}\" does not exist."),
                code: "inexistent_tenant",
            });
        }
        Ok(Self { tenant: target, ..self })
    }

    fn is_platform_admin(&self) -> bool {
        self.permissions.contains(ADMIN_TENANTS)
    }

    fn may_not_manage(&self, tenant: &TenantId) -> ApiError {
        ApiError::Forbidden {
            message: format!(
                "This token may not act in tenant \"{tenant}\": that needs the {ADMIN_TENANTS} permission or a token of its organization"
            ),
            code: "insufficient_scope",
        }
    }
}
