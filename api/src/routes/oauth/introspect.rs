//! `POST /oauth/introspect` (RFC 7662) and `/userinfo` (OpenID Connect Core §5.3): what a token
//! means now. Both verify the token with the keys of the tenant the host addresses, then answer
//! from the live claims model: a role removed a moment ago is gone from the answer, and a
//! blocked or deleted user's token is no longer active.

use axum::Json;
use axum::extract::State;
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::TenantId;
use projections::read_models::users;
use serde::Serialize;
use serde_json::{Value, json};

use super::{OAuthError, OAuthRequest, Public, authenticated, no_store, unknown_host};
use crate::app::AppState;
use crate::auth::AccessClaims;
use crate::auth::tokens::{claimed_tenant, verify};
use crate::routing::{Site, UnknownHost};

/// The answer for an active token (RFC 7662 §2.2, with Auth0's claims).
#[derive(Debug, Serialize)]
struct Active {
    active: bool,
    scope: String,
    client_id: String,
    token_type: &'static str,
    sub: String,
    aud: String,
    iss: String,
    iat: i64,
    exp: i64,
    permissions: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    roles: Vec<String>,
    tenant_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    org_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    org_name: Option<String>,
}

fn inactive() -> Response {
    (StatusCode::OK, no_store(), Json(json!({ "active": false }))).into_response()
}

pub(super) async fn introspect(State(state): State<AppState>, oauth: OAuthRequest) -> Result<Response, OAuthError> {
    let OAuthRequest { site, params: request, .. } = oauth;
    // Only a confidential client of the tenant may ask (RFC 7662 §2.1).
    authenticated(&state, &site.tenant, &request, Public::Refused).await?;
    let token = request
        .token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| OAuthError::invalid_request("Missing required parameter: token"))?;
    let Some(claims) = verified(&state, &site.tenant, &token).await? else { return Ok(inactive()) };
    let Some(live) = Live::of(&state, &site.tenant, claims) else { return Ok(inactive()) };
    let claims = live.claims;
    let answer = Active {
        active: true,
        scope: live.scope.join(" "),
        client_id: claims.azp,
        token_type: "Bearer",
        sub: claims.sub,
        aud: claims.aud,
        iss: claims.iss,
        iat: claims.iat,
        exp: claims.exp,
        permissions: live.permissions,
        roles: live.roles,
        tenant_id: claims.tenant_id,
        org_id: claims.org_id,
        org_name: claims.org_name,
    };
    Ok((StatusCode::OK, no_store(), Json(answer)).into_response())
}

/// The standard claims of the user a bearer token was issued to, read now.
pub(super) async fn userinfo(
    State(state): State<AppState>,
    site: Result<Site, UnknownHost>,
    headers: HeaderMap,
) -> Result<Response, OAuthError> {
    let site = site.map_err(unknown_host)?;
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
        .map(str::trim)
        .unwrap_or_default();
    let claims = verified(&state, &site.tenant, token).await?;
    let live = claims.filter(|claims| !is_machine(claims)).and_then(|claims| Live::of(&state, &site.tenant, claims));
    let Some(live) = live else { return Ok(invalid_token()) };
    let pool = state.read_models().await.map_err(OAuthError::not_yet_visible)?;
    let Some(user) = users::get(pool, &site.tenant, &live.claims.sub).await.map_err(OAuthError::server_error)? else {
        return Ok(invalid_token());
    };
    let mut answer = json!({
        "sub": user.user_id,
        "email": user.email,
        "email_verified": user.email_verified,
        "name": user.name,
        "given_name": user.given_name,
        "family_name": user.family_name,
        "nickname": user.nickname,
        "picture": user.picture,
        "phone_number": user.phone_number,
        "updated_at": user.updated_at,
    });
    if let (Some(object), Some(org_id)) = (answer.as_object_mut(), live.claims.org_id) {
        object.insert("org_id".into(), Value::String(org_id));
    }
    if let Some(object) = answer.as_object_mut() {
        object.retain(|_, value| !value.is_null());
    }
    Ok((StatusCode::OK, no_store(), Json(answer)).into_response())
}

/// RFC 6750 §3: 401 with the reason in `WWW-Authenticate`.
fn invalid_token() -> Response {
    let challenge =
        HeaderValue::from_static(r#"Bearer error="invalid_token", error_description="The access token is invalid""#);
    let error = OAuthError::new(StatusCode::UNAUTHORIZED, "invalid_token", "The access token is invalid");
    let mut response = error.into_response();
    response.headers_mut().insert(WWW_AUTHENTICATE, challenge);
    response
}

/// The token's claims if the tenant issued it and it verifies (signature, issuer, expiry), for
/// any of the tenant's audiences. The claimed tenant is checked before the cache: a token is
/// cached only under the tenant that verified it.
async fn verified(state: &AppState, tenant: &TenantId, token: &str) -> Result<Option<AccessClaims>, OAuthError> {
    if claimed_tenant(token).as_deref() != Some(tenant.as_str()) {
        return Ok(None);
    }
    let now = chrono::Utc::now().timestamp();
    let generation = state.key_events.generation();
    if let Some(claims) = state.introspected.get(token, now, generation) {
        return Ok(Some(claims));
    }
    let keys = state.keys.for_tenant(tenant).await.map_err(OAuthError::server_error)?;
    let issuers = state.urls.issuers_of(tenant, &state.directory.domains(tenant));
    let claims = verify(&keys, token, &issuers, None).ok().filter(|claims| claims.tenant_id == tenant.as_str());
    if let Some(claims) = &claims {
        state.introspected.insert(token, claims.clone(), claims.exp, generation);
    }
    Ok(claims)
}

/// A `client_credentials` token: it has no user.
fn is_machine(claims: &AccessClaims) -> bool {
    claims.gty.as_deref() == Some("client-credentials")
}

/// A verified token as it stands now.
struct Live {
    claims: AccessClaims,
    permissions: Vec<String>,
    roles: Vec<String>,
    scope: Vec<String>,
}

impl Live {
    /// `None` when the token no longer stands: its user was deleted or blocked, or left the
    /// organization the token is for; its client or the client's grant was deleted.
    fn of(state: &AppState, tenant: &TenantId, claims: AccessClaims) -> Option<Self> {
        if is_machine(&claims) {
            // What the client's grant still allows of what the token was granted: nothing when
            // the client or its grant was deleted, or its organization no longer allowed.
            let grant = state.applications.grant(tenant, &claims.azp, &claims.aud)?;
            if claims.org_id.as_ref().is_some_and(|org_id| !grant.allows_organization(org_id)) {
                return None;
            }
            let held = |s: &&str| grant.scope.iter().any(|g| g == s);
            let scope: Vec<String> = claims.scope.split_whitespace().filter(held).map(str::to_owned).collect();
            return Some(Self { permissions: scope.clone(), roles: Vec::new(), scope, claims });
        }
        let user = state.claims.claims(&state.role_permissions, tenant, &claims.sub, claims.org_id.as_deref()).ok()?;
        if user.blocked {
            return None;
        }
        let permissions: Vec<String> = user
            .permissions
            .iter()
            .filter(|p| p.resource_server_identifier == claims.aud)
            .map(|p| p.permission_name.clone())
            .collect();
        // What the token was granted, less what the user no longer holds.
        let scope = claims
            .scope
            .split_whitespace()
            .filter(|s| super::user_tokens::OIDC_SCOPES.contains(s) || permissions.iter().any(|p| p == s))
            .map(str::to_owned)
            .collect();
        Some(Self { roles: user.roles, permissions, scope, claims })
    }
}
