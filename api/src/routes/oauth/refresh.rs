//! The `refresh_token` grant and `POST /oauth/revoke` (RFC 7009). A refresh swaps the token for
//! a new one and issues tokens with the user's claims as they are now, for the login's API; with
//! `organization` (id or name) it switches the organization, as AuthHero's silent
//! authentication and HelloJohn's tenant switch do, and later refreshes keep the new one.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use commands::{CommandError, RefreshSession};
use domain::refresh_token::RefreshTokenCommand;
use eventstore::{Actor, Metadata};
use projections::read_models::clients::ClientCredentials;

use super::user_tokens::{Granted, UserTokens, audience_api, live_claims};
use super::{OAuthError, OAuthRequest, Public, TokenRequest, authenticated, no_store};
use crate::app::AppState;
use crate::routing::Site;

const UNKNOWN_TOKEN: &str = "Unknown or invalid refresh token.";

pub(super) async fn grant(
    state: &AppState,
    site: &Site,
    client: ClientCredentials,
    request: TokenRequest,
) -> Result<Response, OAuthError> {
    let token = request
        .refresh_token
        .as_deref()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| OAuthError::invalid_request("Missing required parameter: refresh_token"))?;
    let session = session(state, site, token).await?;
    let grant = session.state().grant().cloned().ok_or_else(|| OAuthError::invalid_grant(UNKNOWN_TOKEN))?;
    let presented = state.master_key.hash_refresh_token(token);
    let replacement = commands::new_refresh_token(session.id());
    let metadata = actor(site, &grant.user_id, &client.client_id);
    let rotate = |organization: Option<String>| RefreshTokenCommand::Rotate {
        presented: presented.clone(),
        replacement: state.master_key.hash_refresh_token(&replacement),
        client_id: client.client_id.clone(),
        organization,
        now: chrono::Utc::now().timestamp(),
    };
    if !session.state().is_current(&presented) {
        // Replaced or revoked: before anything else is told, the rotation refuses it, and
        // revokes every successor if it was replaced.
        let refused_anyway = state.commands.rotate_refresh_token(session, rotate(grant.organization), metadata).await;
        return Err(refused_anyway.err().map_or_else(|| OAuthError::invalid_grant(UNKNOWN_TOKEN), refused));
    }
    let requested = narrowed(request.scope.as_deref(), &grant.scope)?;
    let organization = request.organization.as_deref().or(grant.organization.as_deref());
    let claims = live_claims(state, site, &grant.user_id, organization, UNKNOWN_TOKEN)?;
    if claims.blocked {
        return Err(OAuthError::new(StatusCode::UNAUTHORIZED, "unauthorized", "user is blocked"));
    }
    let api = audience_api(state, site, &grant.audience).await?;

    let rotation = rotate(claims.org_id.clone());
    state.commands.rotate_refresh_token(session, rotation, metadata).await.map_err(refused)?;

    let granted = Granted::of(&claims, &api.identifier, Some(&requested));
    let tokens = UserTokens {
        site,
        client_id: &client.client_id,
        api: &api,
        claims,
        granted,
        grant_type: "refresh_token",
        refresh_token: Some(replacement),
    };
    tokens.respond(state).await
}

/// The scope a refresh asks for: by default the login's, else a part of it (RFC 6749 §6: a
/// refresh may narrow the scope, never widen it).
fn narrowed(asked: Option<&str>, granted: &[String]) -> Result<String, OAuthError> {
    let Some(asked) = asked else { return Ok(granted.join(" ")) };
    match asked.split_whitespace().find(|s| !granted.iter().any(|g| g == s)) {
        Some(wider) => Err(OAuthError::new(
            StatusCode::FORBIDDEN,
            "invalid_scope",
            format!("The scope {wider:?} was not granted with the refresh token."),
        )),
        None => Ok(asked.to_owned()),
    }
}

/// `POST /oauth/revoke`: the client that holds a refresh token ends it and every successor.
/// Answers 200 for a token it does not know, as RFC 7009 §2.2 asks, so the answer tells
/// nothing about other clients' tokens.
pub(super) async fn revoke(State(state): State<AppState>, oauth: OAuthRequest) -> Result<Response, OAuthError> {
    let OAuthRequest { site, params: request, .. } = oauth;
    let client = authenticated(&state, &site.tenant, &request, Public::Allowed).await?;
    let token = request
        .token
        .as_deref()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| OAuthError::invalid_request("Missing required parameter: token"))?;
    let session = match session(&state, &site, token).await {
        Ok(session) => session,
        Err(_) => return Ok(revoked()),
    };
    let Some(grant) =
        session.state().grant().filter(|_| session.state().is_current(&state.master_key.hash_refresh_token(token)))
    else {
        return Ok(revoked());
    };
    let metadata = actor(&site, &grant.user_id, &client.client_id);
    match state.commands.revoke_refresh_token(session, client.client_id, metadata).await {
        Ok(()) => Ok(revoked()),
        Err(CommandError::Rejected { .. }) => Err(OAuthError::new(
            StatusCode::FORBIDDEN,
            "unauthorized_client",
            "The refresh token was not issued to this client.",
        )),
        Err(error) => Err(OAuthError::server_error(error)),
    }
}

fn revoked() -> Response {
    (StatusCode::OK, no_store()).into_response()
}

/// The refresh token a presented token names; an unreadable one is `invalid_grant`.
async fn session(state: &AppState, site: &Site, token: &str) -> Result<RefreshSession, OAuthError> {
    let (id, _) = token.split_once('.').ok_or_else(|| OAuthError::invalid_grant(UNKNOWN_TOKEN))?;
    state.commands.refresh_session(&site.tenant, id).await.map_err(OAuthError::server_error)
}

fn actor(site: &Site, user_id: &str, client_id: &str) -> Metadata {
    Metadata {
        actor: Some(Actor {
            sub: user_id.to_owned(),
            tenant_id: Some(site.tenant.to_string()),
            client_id: Some(client_id.to_owned()),
        }),
        ..Metadata::default()
    }
}

/// A refused rotation is `invalid_grant` whatever the reason (RFC 6749 §5.2); the reason is
/// the description.
fn refused(error: CommandError) -> OAuthError {
    match error {
        CommandError::Rejected { message, .. } | CommandError::Conflict(message) => OAuthError::invalid_grant(message),
        other => OAuthError::server_error(other),
    }
}
