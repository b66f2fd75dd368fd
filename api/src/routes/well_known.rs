//! `/.well-known/jwks.json` and `/.well-known/openid-configuration` of the tenant the host
//! addresses: each tenant publishes its own keys and endpoints at its own origin.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::app::AppState;
use crate::error::ApiError;
use crate::routing::Site;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/.well-known/jwks.json", get(jwks))
        .route("/.well-known/openid-configuration", get(openid_configuration))
}

async fn jwks(State(state): State<AppState>, site: Site) -> Result<Json<Value>, ApiError> {
    let keys = state.keys.for_tenant(&site.tenant).await.map_err(ApiError::internal)?;
    Ok(Json(keys.jwks.clone()))
}

async fn openid_configuration(site: Site) -> Json<Value> {
    let issuer = &site.issuer;
    Json(json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}.well-known/jwks.json"),
        "token_endpoint": format!("{issuer}oauth/token"),
        "introspection_endpoint": format!("{issuer}oauth/introspect"),
        "revocation_endpoint": format!("{issuer}oauth/revoke"),
        "userinfo_endpoint": format!("{issuer}userinfo"),
        "grant_types_supported": ["client_credentials", "password", "http://auth0.com/oauth/grant-type/password-realm", "refresh_token"],
        "response_types_supported": ["token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "claims_supported": ["iss", "sub", "aud", "iat", "exp", "azp", "scope", "permissions", "roles", "tenant_id", "org_id", "org_name"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic", "none"],
    }))
}
