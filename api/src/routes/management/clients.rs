//! `/api/v2/clients`: applications, and the rotation of their secrets.
//!
//! A secret is generated here, shown once (in the answer to the create or the rotation) and
//! kept only as its keyed hash. The answer to a retried idempotency key cannot show it again:
//! rotate to get a new one.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use commands::Committed;
use domain::TenantId;
use domain::client::{Client, ClientChanges, ClientSettings};
use projections::read_models::clients::{self, ClientView};
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::double_option;
use super::lists::{Paging, envelope};
use crate::app::AppState;
use crate::auth::Caller;
use crate::consistency::{Consistent, Written};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiQuery, Command};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/clients", get(list).post(create))
        .route("/clients/{id}", get(read).patch(update).delete(delete))
        .route("/clients/{id}/rotate-secret", post(rotate_secret))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateClient {
    name: String,
    description: Option<String>,
    /// `non_interactive` (default), `spa`, `native` or `regular_web`.
    app_type: Option<String>,
    /// Defaults by `app_type`: `client_credentials` for `non_interactive`.
    grant_types: Option<Vec<String>>,
    #[serde(default)]
    callbacks: Vec<String>,
    #[serde(default)]
    allowed_origins: Vec<String>,
    #[serde(default)]
    web_origins: Vec<String>,
    #[serde(default)]
    allowed_logout_urls: Vec<String>,
    /// `none` for `spa` and `native` by default, `client_secret_post` otherwise.
    token_endpoint_auth_method: Option<String>,
    /// String values, at most 10 keys.
    #[serde(default)]
    client_metadata: BTreeMap<String, String>,
}

/// Absent fields keep their value; lists replace; `client_metadata` merges key by key, a
/// `null` value removing its key.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateClient {
    name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    description: Option<Option<String>>,
    app_type: Option<String>,
    grant_types: Option<Vec<String>>,
    callbacks: Option<Vec<String>>,
    allowed_origins: Option<Vec<String>>,
    web_origins: Option<Vec<String>>,
    allowed_logout_urls: Option<Vec<String>>,
    token_endpoint_auth_method: Option<String>,
    #[schema(value_type = Option<Object>)]
    client_metadata: Option<BTreeMap<String, Option<String>>>,
}

/// A client, with its secret when it was just generated.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ClientWithSecret {
    #[serde(flatten)]
    client: ClientView,
    /// Only in the answer to a create or a rotation: it is never shown again.
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<String>,
}

fn client_not_found() -> ApiError {
    ApiError::NotFound { message: "The client does not exist.".into(), code: "inexistent_client" }
}

/// Auth0's defaults for an application type.
fn settings_for(body: CreateClient) -> ClientSettings {
    let app_type = body.app_type.unwrap_or_else(|| "non_interactive".into());
    let interactive_grants = || ["authorization_code", "implicit", "refresh_token"].map(String::from).to_vec();
    let grant_types = body.grant_types.unwrap_or_else(|| match app_type.as_str() {
        "non_interactive" => vec!["client_credentials".into()],
        "regular_web" => [interactive_grants(), vec!["client_credentials".into()]].concat(),
        _ => interactive_grants(),
    });
    let public = matches!(app_type.as_str(), "spa" | "native");
    let token_endpoint_auth_method =
        body.token_endpoint_auth_method.unwrap_or_else(|| if public { "none" } else { "client_secret_post" }.into());
    ClientSettings {
        name: body.name,
        description: body.description,
        app_type,
        grant_types,
        callbacks: body.callbacks,
        allowed_origins: body.allowed_origins,
        web_origins: body.web_origins,
        allowed_logout_urls: body.allowed_logout_urls,
        token_endpoint_auth_method,
        client_metadata: body.client_metadata,
    }
}

/// The answer to a client command once its change is visible. `secret` is shown unless this
/// answers a retry, whose secret was never the one stored.
async fn answer(
    state: &AppState,
    tenant: &TenantId,
    (status, with_body): (StatusCode, bool),
    committed: Committed<Client>,
    secret: Option<String>,
) -> Result<Written<ClientWithSecret>, ApiError> {
    state.visible(committed.position).await?;
    let client = match committed.state.live() {
        Some(client) if with_body => clients::get(state.read_models().await?, tenant, &client.client_id).await?,
        _ => None,
    };
    let client_secret = secret.filter(|_| !committed.replayed);
    let body = client.map(|client| ClientWithSecret { client, client_secret });
    Ok(Written { status, position: committed.position, replayed: committed.replayed, body })
}

/// A new secret and its keyed hash.
fn new_secret(state: &AppState) -> (String, String) {
    let secret = commands::new_client_secret();
    let hash = state.master_key.hash_client_secret(&secret);
    (secret, hash)
}

#[utoipa::path(
    get,
    path = "/api/v2/clients",
    tag = "clients",
    params(Paging),
    responses((status = 200, description = "Clients by name; with include_totals=true the envelope {start, limit, length, total, clients}", body = [ClientView]), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["read:clients"]))
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    _: Consistent,
    ApiQuery(paging): ApiQuery<Paging>,
) -> Result<Json<Value>, ApiError> {
    caller.require("read:clients")?;
    let page = paging.page()?;
    envelope("clients", &paging, page, clients::list(state.read_models().await?, &caller.tenant, page).await?)
}

#[utoipa::path(
    post,
    path = "/api/v2/clients",
    tag = "clients",
    request_body = CreateClient,
    responses((status = 201, description = "The created client, with its secret (shown only here)", body = ClientWithSecret), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["create:clients"]))
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    command: Command<CreateClient>,
) -> Result<Written<ClientWithSecret>, ApiError> {
    command.caller.require("create:clients")?;
    let Command { context, body, .. } = command;
    let (secret, hash) = new_secret(&state);
    let committed = state.commands.create_client(&context, settings_for(body), hash).await?;
    answer(&state, &context.tenant, (StatusCode::CREATED, true), committed, Some(secret)).await
}

#[utoipa::path(
    get,
    path = "/api/v2/clients/{id}",
    tag = "clients",
    params(("id" = String, Path, description = "Client id")),
    responses((status = 200, body = ClientView), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["read:clients"]))
)]
pub(crate) async fn read(
    State(state): State<AppState>,
    caller: Caller,
    _: Consistent,
    Path(id): Path<String>,
) -> Result<Json<ClientView>, ApiError> {
    caller.require("read:clients")?;
    clients::get(state.read_models().await?, &caller.tenant, &id).await?.map(Json).ok_or_else(client_not_found)
}

#[utoipa::path(
    patch,
    path = "/api/v2/clients/{id}",
    tag = "clients",
    params(("id" = String, Path, description = "Client id")),
    request_body = UpdateClient,
    responses((status = 200, description = "The client after the change", body = ClientView), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["update:clients"]))
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    command: Command<UpdateClient>,
) -> Result<Written<ClientWithSecret>, ApiError> {
    command.caller.require("update:clients")?;
    let Command { context, body, .. } = command;
    let changes = ClientChanges {
        name: body.name,
        description: body.description,
        app_type: body.app_type,
        grant_types: body.grant_types,
        callbacks: body.callbacks,
        allowed_origins: body.allowed_origins,
        web_origins: body.web_origins,
        allowed_logout_urls: body.allowed_logout_urls,
        token_endpoint_auth_method: body.token_endpoint_auth_method,
        client_metadata: body.client_metadata,
    };
    let committed = state
        .commands
        .update_client(&context, &id, changes)
        .await
        .map_err(|e| ApiError::from_command(e, client_not_found))?;
    answer(&state, &context.tenant, (StatusCode::OK, true), committed, None).await
}

#[utoipa::path(
    delete,
    path = "/api/v2/clients/{id}",
    tag = "clients",
    params(("id" = String, Path, description = "Client id")),
    responses((status = 204, description = "Deleted, with its grants"), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["delete:clients"]))
)]
pub(crate) async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    command: Command<IgnoredAny>,
) -> Result<Written<ClientWithSecret>, ApiError> {
    command.caller.require("delete:clients")?;
    let committed = state
        .commands
        .delete_client(&command.context, &id)
        .await
        .map_err(|e| ApiError::from_command(e, client_not_found))?;
    answer(&state, &command.context.tenant, (StatusCode::NO_CONTENT, false), committed, None).await
}

#[utoipa::path(
    post,
    path = "/api/v2/clients/{id}/rotate-secret",
    tag = "clients",
    params(("id" = String, Path, description = "Client id")),
    responses((status = 200, description = "The client with its new secret (shown only here); the old secret stops working", body = ClientWithSecret), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["update:client_keys"]))
)]
pub(crate) async fn rotate_secret(
    State(state): State<AppState>,
    Path(id): Path<String>,
    command: Command<IgnoredAny>,
) -> Result<Written<ClientWithSecret>, ApiError> {
    command.caller.require("update:client_keys")?;
    let (secret, hash) = new_secret(&state);
    let committed = state
        .commands
        .rotate_client_secret(&command.context, &id, hash)
        .await
        .map_err(|e| ApiError::from_command(e, client_not_found))?;
    answer(&state, &command.context.tenant, (StatusCode::OK, true), committed, Some(secret)).await
}
