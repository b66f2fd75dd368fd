//! `/api/v2/keys/signing`: the tenant's token signing keys, their rotation and revocation
//! (Auth0's paths and permissions). Private keys never leave the key ring.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use eventstore::Metadata;
use serde::Serialize;

use crate::app::AppState;
use crate::auth::Caller;
use crate::auth::keys::{KeyRingError, SigningKeyView};
use crate::consistency::Written;
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
            KeyRingError::Database(_)
            | KeyRingError::Key(_)
            | KeyRingError::Unusable(_)
            | KeyRingError::Record(_)
            | KeyRingError::Sealed(_) => Self::internal(err),
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
pub(crate) async fn rotate(State(state): State<AppState>, caller: Caller) -> Result<Written<KeyId>, ApiError> {
    caller.require("create:signing_keys")?;
    let (kid, position) = state.keys.rotate(&caller.tenant, actor(&caller)).await?;
    // Once this process applied the key events, it signs with the new keys.
    state.visible(position).await?;
    Ok(Written { status: StatusCode::CREATED, position, replayed: false, body: Some(KeyId { kid }) })
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
) -> Result<Written<KeyId>, ApiError> {
    caller.require("update:signing_keys")?;
    let (revoked, position) = state.keys.revoke(&caller.tenant, &kid, actor(&caller)).await?;
    // Tokens it signed were verified and remembered: once this process applied the event, its
    // caches have dropped them (every other process's, once it applies it).
    state.visible(position).await?;
    Ok(Written { status: StatusCode::OK, position, replayed: false, body: Some(KeyId { kid: revoked.kid }) })
}

fn actor(caller: &Caller) -> Metadata {
    Metadata { actor: Some(caller.actor()), ..Metadata::default() }
}
