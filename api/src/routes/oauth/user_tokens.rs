//! The tokens a user gets, by password or by refresh token: an access token with the user's
//! live claims for one API, an `id_token` when `openid` is granted, and the refresh token that
//! continues the login when one was issued.

use axum::response::Response;
use projections::read_models::claims::{ClaimsError, UserClaims};
use projections::read_models::resource_servers::ResourceServerView;
use serde::Serialize;

use super::{OAuthError, TokenResponse};
use crate::app::AppState;
use crate::auth::AccessClaims;
use crate::auth::signer::KeyAlg;
use crate::auth::tokens::sign;
use crate::routing::Site;

/// Scopes of OpenID Connect (Core §5.4, §11), granted when asked for; every other scope must
/// be a permission. `offline_access` stays only where a refresh token is issued.
pub(super) const OIDC_SCOPES: &[&str] = &["openid", "profile", "email", OFFLINE_ACCESS];
pub(super) const OFFLINE_ACCESS: &str = "offline_access";

/// The claims of an `id_token`: who logged in, for which client.
#[derive(Debug, Serialize)]
struct IdClaims {
    iss: String,
    sub: String,
    aud: String,
    iat: i64,
    exp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    org_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    org_name: Option<String>,
}

/// What a user's token grants for one audience.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Granted {
    /// Every permission the user holds on the audience (Auth0's `permissions` claim with RBAC).
    pub permissions: Vec<String>,
    /// The requested scopes that are OpenID scopes or held permissions, in the order asked;
    /// without a request, every held permission.
    pub scope: Vec<String>,
}

impl Granted {
    pub fn of(claims: &UserClaims, audience: &str, requested: Option<&str>) -> Self {
        let permissions: Vec<String> = claims
            .permissions
            .iter()
            .filter(|p| p.resource_server_identifier == audience)
            .map(|p| p.permission_name.clone())
            .collect();
        let scope = match requested {
            None => permissions.clone(),
            Some(requested) => requested
                .split_whitespace()
                .filter(|s| OIDC_SCOPES.contains(s) || permissions.iter().any(|p| p == s))
                .map(str::to_owned)
                .collect(),
        };
        Self { permissions, scope }
    }

    pub fn includes(&self, scope: &str) -> bool {
        self.scope.iter().any(|s| s == scope)
    }
}

/// The user's live claims, in `organization` (id or name) if one is given. A user who no
/// longer exists is `invalid_grant` with `unknown_user`'s words; an organization they are not
/// a member of is `access_denied`.
pub(super) fn live_claims(
    state: &AppState,
    site: &Site,
    user_id: &str,
    organization: Option<&str>,
    unknown_user: &str,
) -> Result<UserClaims, OAuthError> {
    state.claims.claims(&state.role_permissions, &site.tenant, user_id, organization).map_err(|error| match error {
        ClaimsError::UnknownUser => OAuthError::invalid_grant(unknown_user),
        ClaimsError::UnknownOrganization | ClaimsError::NotAMember => {
            OAuthError::access_denied(format!("parameter organization is invalid: {error}"))
        }
    })
}

/// The API a user's token is for.
pub(super) async fn audience_api(
    state: &AppState,
    site: &Site,
    audience: &str,
) -> Result<ResourceServerView, OAuthError> {
    state
        .role_permissions
        .resource_server(&site.tenant, audience)
        .ok_or_else(|| OAuthError::access_denied(format!("Service not found: {audience}")))
}

/// One response's worth of user tokens.
#[derive(Debug)]
pub(super) struct UserTokens<'a> {
    pub site: &'a Site,
    pub client_id: &'a str,
    pub api: &'a ResourceServerView,
    pub claims: UserClaims,
    pub granted: Granted,
    /// `gty`: how the user authenticated.
    pub grant_type: &'static str,
    pub refresh_token: Option<String>,
}

impl UserTokens<'_> {
    pub async fn respond(self, state: &AppState) -> Result<Response, OAuthError> {
        let Self { site, client_id, api, claims, granted, grant_type, refresh_token } = self;
        let settings = state.claims.settings(&site.tenant);
        let org_name = claims.org_name.filter(|_| settings.allow_organization_name_in_authentication_api);
        let now = chrono::Utc::now().timestamp();
        let exp = now + i64::from(api.token_lifetime);
        let id_token = if granted.includes("openid") {
            let id = IdClaims {
                iss: site.issuer.clone(),
                sub: claims.user_id.clone(),
                aud: client_id.to_owned(),
                iat: now,
                exp,
                org_id: claims.org_id.clone(),
                org_name: org_name.clone(),
            };
            // Signed as Auth0 signs ID tokens by default: RS256, whatever the API's algorithm.
            Some(sign(&state.keys, &site.tenant, KeyAlg::Rs256, id).await.map_err(OAuthError::server_error)?)
        } else {
            None
        };
        let scope = granted.scope.join(" ");
        let access = AccessClaims {
            iss: site.issuer.clone(),
            sub: claims.user_id,
            aud: api.identifier.clone(),
            iat: now,
            exp,
            azp: client_id.to_owned(),
            scope: scope.clone(),
            gty: Some(grant_type.into()),
            permissions: granted.permissions,
            roles: claims.roles,
            tenant_id: site.tenant.to_string(),
            org_id: claims.org_id,
            org_name,
        };
        let alg = KeyAlg::for_api(&api.signing_alg);
        let access_token = sign(&state.keys, &site.tenant, alg, access).await.map_err(OAuthError::server_error)?;
        let response = TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: api.token_lifetime,
            scope,
            id_token,
            refresh_token,
        };
        Ok(response.into_response())
    }
}

#[cfg(test)]
mod tests {
    use domain::Permission;

    use super::*;

    fn claims() -> UserClaims {
        UserClaims {
            user_id: "auth0|1".into(),
            roles: vec!["reader".into()],
            permissions: vec![
                Permission::new("https://api/", "read"),
                Permission::new("https://api/", "write"),
                Permission::new("https://other/", "admin"),
            ],
            org_id: None,
            org_name: None,
            blocked: false,
        }
    }

    #[test]
    fn without_a_scope_every_permission_on_the_audience_is_granted() {
        let granted = Granted::of(&claims(), "https://api/", None);
        assert_eq!(granted.permissions, ["read", "write"]);
        assert_eq!(granted.scope, ["read", "write"]);
    }

    #[test]
    fn a_requested_scope_is_narrowed_to_what_the_user_holds_plus_openid_scopes() {
        let granted = Granted::of(&claims(), "https://api/", Some("openid email write admin delete offline_access"));
        assert_eq!(granted.scope, ["openid", "email", "write", "offline_access"]);
        let granted = Granted::of(&claims(), "https://api/", Some("write openid read"));
        assert_eq!(granted.scope, ["write", "openid", "read"], "in the order asked");
        assert_eq!(granted.permissions, ["read", "write"], "permissions list all held, as Auth0's RBAC does");
    }
}
