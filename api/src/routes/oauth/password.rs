//! The password grant: check the user (throttled, argon2id off the async workers, blocked
//! users refused), record the attempt in the log, and issue a token with the user's claims for
//! the audience, in an organization when one is asked for; an `id_token` when `openid` is.

use std::net::IpAddr;

use axum::http::StatusCode;
use axum::response::Response;
use commands::LoginAttempt;
use domain::login::LoginFailure;
use eventstore::{Actor, Metadata};
use projections::read_models::claims::{ClaimsError, UserClaims};
use projections::read_models::clients::ClientCredentials;
use projections::read_models::resource_servers;
use serde::Serialize;

use super::{OAuthError, TokenRequest, TokenResponse, too_many_attempts};
use crate::app::AppState;
use crate::auth::AccessClaims;
use crate::auth::throttle::Attempt;
use crate::auth::tokens::sign;
use crate::passwords;
use crate::routing::Site;

/// Scopes of OpenID Connect, granted when asked for; every other scope must be a permission.
pub(super) const OIDC_SCOPES: &[&str] = &["openid", "profile", "email"];
/// Auth0's answer to a wrong username or password, whichever it was.
const WRONG_CREDENTIALS: &str = "Wrong email or password.";

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

pub(super) async fn grant(
    state: &AppState,
    site: &Site,
    client: ClientCredentials,
    request: TokenRequest,
    (ip, user_agent): (Option<IpAddr>, Option<String>),
) -> Result<Response, OAuthError> {
    let tenant = &site.tenant;
    let username = request
        .username
        .clone()
        .filter(|u| !u.is_empty())
        .ok_or_else(|| OAuthError::invalid_request("Missing required parameter: username"))?;
    let password =
        request.password.clone().ok_or_else(|| OAuthError::invalid_request("Missing required parameter: password"))?;
    let throttled = Attempt::new(tenant, &username, ip);
    if let Err(retry_after) = state.throttle.check(&throttled) {
        return Ok(too_many_attempts(retry_after));
    }

    let email_index = state.vault.blind_index(tenant, &username.to_lowercase());
    let user = state.claims.find_login(tenant, &email_index, &username);
    let hash = user.as_ref().and_then(|u| u.password_hash.clone());
    let correct = passwords::verify(password, hash).await.map_err(OAuthError::server_error)?;
    let attempt = LoginAttempt {
        tenant: tenant.clone(),
        user_id: user.as_ref().map(|u| u.user_id.clone()),
        client_id: client.client_id.clone(),
        ip: ip.map(|ip| ip.to_string()),
        user_agent,
        metadata: Metadata {
            actor: Some(Actor {
                sub: user.as_ref().map_or_else(|| "anonymous".to_owned(), |u| u.user_id.clone()),
                tenant_id: Some(tenant.to_string()),
                client_id: Some(client.client_id.clone()),
            }),
            ..Metadata::default()
        },
    };
    let user = match user {
        Some(user) if correct => user,
        found => {
            state.throttle.failed(&throttled);
            let reason = if found.is_some() { LoginFailure::WrongPassword } else { LoginFailure::UnknownUser };
            state.commands.record_failed_login(attempt, reason).await.map_err(OAuthError::server_error)?;
            return Err(OAuthError::invalid_grant(WRONG_CREDENTIALS));
        }
    };
    state.throttle.succeeded(&throttled);
    if user.blocked {
        state.commands.record_failed_login(attempt, LoginFailure::Blocked).await.map_err(OAuthError::server_error)?;
        return Err(OAuthError::new(StatusCode::UNAUTHORIZED, "unauthorized", "user is blocked"));
    }

    let settings = state.claims.settings(tenant);
    let audience =
        request.audience.clone().filter(|a| !a.is_empty()).or(settings.default_audience).ok_or_else(|| {
            OAuthError::access_denied("No audience parameter was provided, and no default audience has been configured")
        })?;
    let api = resource_servers::get(&state.db.pool, tenant, &audience)
        .await
        .map_err(OAuthError::server_error)?
        .ok_or_else(|| OAuthError::access_denied(format!("Service not found: {audience}")))?;
    let claims = state
        .claims
        .claims(&state.role_permissions, tenant, &user.user_id, request.organization.as_deref())
        .map_err(|error| match error {
        ClaimsError::UnknownUser => OAuthError::invalid_grant(WRONG_CREDENTIALS),
        ClaimsError::UnknownOrganization | ClaimsError::NotAMember => {
            OAuthError::access_denied(format!("parameter organization is invalid: {error}"))
        }
    })?;
    state.commands.record_login(attempt, claims.org_id.clone()).await.map_err(OAuthError::server_error)?;

    let granted = Granted::of(&claims, &audience, request.scope.as_deref());
    let org_name = claims.org_name.clone().filter(|_| settings.allow_organization_name_in_authentication_api);
    let now = chrono::Utc::now().timestamp();
    let access = AccessClaims {
        iss: site.issuer.clone(),
        sub: user.user_id.clone(),
        aud: audience,
        iat: now,
        exp: now + i64::from(api.token_lifetime),
        azp: client.client_id.clone(),
        scope: granted.scope.join(" "),
        gty: Some("password".into()),
        permissions: granted.permissions,
        roles: claims.roles,
        tenant_id: tenant.to_string(),
        org_id: claims.org_id.clone(),
        org_name: org_name.clone(),
    };
    let keys = state.keys.for_tenant(tenant).await.map_err(OAuthError::server_error)?;
    let id_token = if granted.scope.iter().any(|s| s == "openid") {
        let id = IdClaims {
            iss: site.issuer.clone(),
            sub: user.user_id,
            aud: client.client_id,
            iat: now,
            exp: now + i64::from(api.token_lifetime),
            org_id: claims.org_id,
            org_name,
        };
        Some(sign(keys.clone(), id).await.map_err(OAuthError::server_error)?)
    } else {
        None
    };
    let access_token = sign(keys, access).await.map_err(OAuthError::server_error)?;
    let scope = granted.scope.join(" ");
    Ok(TokenResponse { access_token, token_type: "Bearer", expires_in: api.token_lifetime, scope, id_token }
        .into_response())
}

/// What a user's token grants for one audience.
#[derive(Debug, PartialEq, Eq)]
struct Granted {
    /// Every permission the user holds on the audience (Auth0's `permissions` claim with RBAC).
    permissions: Vec<String>,
    /// The requested scopes that are OpenID scopes or held permissions, in the order asked;
    /// without a request, every held permission.
    scope: Vec<String>,
}

impl Granted {
    fn of(claims: &UserClaims, audience: &str, requested: Option<&str>) -> Self {
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
        let granted = Granted::of(&claims(), "https://api/", Some("openid email write admin delete"));
        assert_eq!(granted.scope, ["openid", "email", "write"]);
        let granted = Granted::of(&claims(), "https://api/", Some("write openid read"));
        assert_eq!(granted.scope, ["write", "openid", "read"], "in the order asked");
        assert_eq!(granted.permissions, ["read", "write"], "permissions list all held, as Auth0's RBAC does");
    }
}
