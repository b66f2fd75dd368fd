//! The password grant: check the user (throttled, argon2id off the async workers, blocked
//! users refused), record the attempt in the log, and issue the user's tokens for the audience,
//! in an organization when one is asked for, with a refresh token when `offline_access` is.

use std::net::IpAddr;

use axum::http::StatusCode;
use axum::response::Response;
use commands::{LoginAttempt, NewRefreshToken};
use domain::login::LoginFailure;
use domain::refresh_token::RefreshGrant;
use eventstore::{Actor, Metadata};
use projections::read_models::clients::ClientCredentials;
use projections::read_models::resource_servers::ResourceServerView;

use super::user_tokens::{Granted, OFFLINE_ACCESS, UserTokens, audience_api, live_claims};
use super::{OAuthError, TokenRequest, too_many_attempts};
use crate::app::AppState;
use crate::auth::throttle::Attempt;
use crate::passwords;
use crate::routing::Site;

/// Auth0's answer to a wrong username or password, whichever it was.
const WRONG_CREDENTIALS: &str = "Wrong email or password.";

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

    let audience = request
        .audience
        .clone()
        .filter(|a| !a.is_empty())
        .or(state.claims.settings(tenant).default_audience)
        .ok_or_else(|| {
            OAuthError::access_denied("No audience parameter was provided, and no default audience has been configured")
        })?;
    let api = audience_api(state, site, &audience).await?;
    let claims = live_claims(state, site, &user.user_id, request.organization.as_deref(), WRONG_CREDENTIALS)?;
    let mut granted = Granted::of(&claims, &api.identifier, request.scope.as_deref());
    let refresh_token = offline(&client, &api, &mut granted).then(|| {
        let id = commands::new_refresh_token_id();
        let token = commands::new_refresh_token(&id);
        let grant = RefreshGrant {
            user_id: user.user_id.clone(),
            client_id: client.client_id.clone(),
            audience: api.identifier.clone(),
            scope: granted.scope.clone(),
            organization: claims.org_id.clone(),
            issued_at: chrono::Utc::now().timestamp(),
        };
        let token_hash = state.master_key.hash_refresh_token(&token);
        (NewRefreshToken { id, grant, token_hash }, token)
    });
    let (issued, refresh_token) = refresh_token.unzip();
    state.commands.record_login(attempt, claims.org_id.clone(), issued).await.map_err(OAuthError::server_error)?;
    let tokens = UserTokens {
        site,
        client_id: &client.client_id,
        api: &api,
        claims,
        granted,
        grant_type: "password",
        refresh_token,
    };
    tokens.respond(state).await
}

/// Whether the login gets a refresh token: `offline_access` asked for, allowed by the API, and
/// the client may use the `refresh_token` grant (Auth0's three conditions). Where not, the
/// scope does not say `offline_access`.
fn offline(client: &ClientCredentials, api: &ResourceServerView, granted: &mut Granted) -> bool {
    let issue = granted.includes(OFFLINE_ACCESS)
        && api.allow_offline_access
        && client.grant_types.iter().any(|g| g == super::REFRESH_TOKEN);
    if !issue {
        granted.scope.retain(|s| s != OFFLINE_ACCESS);
    }
    issue
}
