//! `/api/v2/keys/signing`: the tenant's token signing keys, their rotation and revocation
//! (Auth0's paths and permissions). Private keys never leave the key ring.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Serialize;

use crate::app::AppState;
use crate::auth::Caller;
use crate::auth::keys::{KeyRingError, SigningKeyView};
use crate::error::{ApiError, ErrorBody};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/keys/signing", get(list))
        .route("/keys/signing/rotate", post(rotate))
        .route("/keys/signing/{kid}", get(read))
        .route("/keys/signing/{kid}/revoke", put(revoke))
}

/// The answer to a rotation or revocation, as Auth0 gives it (without its certificate).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct KeyId {
    kid: String,
}

impl From<KeyRingError> for ApiError {
    fn from(err: KeyRingError) -> Self {
        match err {
            KeyRingError::UnknownKey => Self::NotFound { message: err.to_string(), code: "inexistent_signing_key" },
            KeyRingError::RevokeCurrent => Self::BadRequest { message: err.to_string(), code: "invalid_operation" },
            KeyRingError::Database(_) | KeyRingError::Key(_) | KeyRingError::Unusable(_) | KeyRingError::Sealed(_) => {
                Self::internal(err)
            }
        }
    }
}

#[utoipa::path(
    get,
    path = "/api/v2/keys/signing",
    tag = "keys",
    responses((status = 200, description = "Every signing key of the tenant, revoked ones included, oldest first", body = [SigningKeyView]), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["read:signing_keys"]))
)]
pub(crate) async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<SigningKeyView>>, ApiError> {
    caller.require("read:signing_keys")?;
    Ok(Json(state.keys.list(&caller.tenant).await?))
}

#[utoipa::path(
    get,
    path = "/api/v2/keys/signing/{kid}",
    tag = "keys",
    params(("kid" = String, Path, description = "Key id")),
    responses((status = 200, description = "The key", body = SigningKeyView), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["read:signing_keys"]))
)]
pub(crate) async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Path(kid): Path<String>,
) -> Result<Json<SigningKeyView>, ApiError> {
    caller.require("read:signing_keys")?;
    let keys = state.keys.list(&caller.tenant).await?;
    let key = keys.into_iter().find(|key| key.kid == kid).ok_or(KeyRingError::UnknownKey)?;
    Ok(Json(key))
}

#[utoipa::path(
    post,
    path = "/api/v2/keys/signing/rotate",
    tag = "keys",
    responses((status = 201, description = "The new current key; the previous one keeps verifying until revoked", body = KeyId), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["create:signing_keys"]))
)]
pub(crate) async fn rotate(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<(StatusCode, Json<KeyId>), ApiError> {
    caller.require("create:signing_keys")?;
    let kid = state.keys.rotate(&caller.tenant).await?;
    tracing::info!(tenant = %caller.tenant, kid = %kid, by = %caller.actor().sub, "signing key rotated");
    Ok((StatusCode::CREATED, Json(KeyId { kid })))
}

#[utoipa::path(
    put,
    path = "/api/v2/keys/signing/{kid}/revoke",
    tag = "keys",
    params(("kid" = String, Path, description = "Key id")),
    responses((status = 200, description = "The revoked key: it no longer verifies and left the JWKS", body = KeyId), (status = "4XX", description = "Refused, in the error shape; 400 for the current key", body = ErrorBody)),
    security(("bearer" = ["update:signing_keys"]))
)]
pub(crate) async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(kid): Path<String>,
) -> Result<Json<KeyId>, ApiError> {
    caller.require("update:signing_keys")?;
    let revoked = state.keys.revoke(&caller.tenant, &kid).await?;
    // Tokens it signed were verified and remembered; they must be refused from now on.
    state.verified.clear();
    state.introspected.clear();
    tracing::info!(tenant = %caller.tenant, kid = %kid, by = %caller.actor().sub, "signing key revoked");
    Ok(Json(KeyId { kid: revoked.kid }))
}
