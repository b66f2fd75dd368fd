//! `/.well-known/jwks.json` and `/.well-known/openid-configuration` of the control plane.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use domain::TenantId;
use serde_json::{Value, json};

use crate::app::AppState;
use crate::error::ApiError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/.well-known/jwks.json", get(jwks))
        .route("/.well-known/openid-configuration", get(openid_configuration))
}

async fn jwks(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let keys = state.keys.for_tenant(&TenantId::control_plane()).await.map_err(ApiError::internal)?;
    Ok(Json(keys.jwks.clone()))
}

async fn openid_configuration(State(state): State<AppState>) -> Json<Value> {
    let public = &state.urls.public;
    Json(json!({
        "issuer": state.urls.issuer(),
        "jwks_uri": format!("{public}/.well-known/jwks.json"),
        "token_endpoint": state.urls.token_url(),
        "grant_types_supported": ["client_credentials"],
        "response_types_supported": ["token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
    }))
}
