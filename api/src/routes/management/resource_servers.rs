//! `/api/v2/resource-servers`: the APIs of a tenant. `{id}` is the id or the identifier.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use commands::{Committed, NewResourceServer};
use domain::resource_server::{ResourceServer, ResourceServerChanges, Scope, SigningAlg};
use projections::read_models::resource_servers::{self, ResourceServerView};
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::Value;

use super::lists::{Paging, envelope};
use crate::app::AppState;
use crate::auth::Caller;
use crate::consistency::{Consistent, Written};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiQuery, Command};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/resource-servers", get(list).post(create))
        .route("/resource-servers/{id}", get(read).patch(update).delete(delete))
}

/// Auth0 fields tenancy does not act on yet (`enforce_policies`, `token_dialect`, …) are
/// accepted and ignored, so SDK calls that set them keep working.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct CreateResourceServer {
    name: Option<String>,
    identifier: String,
    #[serde(default)]
    scopes: Vec<Scope>,
    signing_alg: Option<SigningAlg>,
    token_lifetime: Option<u32>,
    allow_offline_access: Option<bool>,
    skip_consent_for_verifiable_first_party_clients: Option<bool>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct UpdateResourceServer {
    name: Option<String>,
    scopes: Option<Vec<Scope>>,
    signing_alg: Option<SigningAlg>,
    token_lifetime: Option<u32>,
    allow_offline_access: Option<bool>,
    skip_consent_for_verifiable_first_party_clients: Option<bool>,
    /// Present only to refuse it: an identifier never changes.
    #[schema(value_type = Option<String>)]
    identifier: Option<Value>,
}

fn not_found() -> ApiError {
    ApiError::NotFound { message: "The resource server does not exist.".into(), code: "inexistent_resource_server" }
}

fn answer(status: StatusCode, committed: Committed<ResourceServer>, with_body: bool) -> Written<ResourceServerView> {
    let body = if with_body { committed.state.live().map(ResourceServerView::from) } else { None };
    Written { status, position: committed.position, replayed: committed.replayed, body }
}

#[utoipa::path(
    get,
    path = "/api/v2/resource-servers",
    tag = "resource-servers",
    params(Paging),
    responses((status = 200, description = "Resource servers by name; with include_totals=true the envelope {start, limit, length, total, resource_servers}", body = [ResourceServerView]), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["read:resource_servers"]))
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    _: Consistent,
    ApiQuery(paging): ApiQuery<Paging>,
) -> Result<Json<Value>, ApiError> {
    caller.require("read:resource_servers")?;
    let page = paging.page()?;
    let listed = resource_servers::list(state.read_models().await?, &caller.tenant, page).await?;
    envelope("resource_servers", &paging, page, listed)
}

#[utoipa::path(
    post,
    path = "/api/v2/resource-servers",
    tag = "resource-servers",
    request_body = CreateResourceServer,
    responses((status = 201, body = ResourceServerView), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["create:resource_servers"]))
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    command: Command<CreateResourceServer>,
) -> Result<Written<ResourceServerView>, ApiError> {
    command.caller.require("create:resource_servers")?;
    let body = command.body;
    let input = NewResourceServer {
        name: body.name.unwrap_or_else(|| body.identifier.clone()),
        identifier: body.identifier,
        scopes: body.scopes,
        signing_alg: body.signing_alg,
        token_lifetime: body.token_lifetime,
        allow_offline_access: body.allow_offline_access,
        skip_consent_for_verifiable_first_party_clients: body.skip_consent_for_verifiable_first_party_clients,
    };
    let committed = state.commands.create_resource_server(&command.context, input).await?;
    state.visible(committed.position).await?;
    Ok(answer(StatusCode::CREATED, committed, true))
}

#[utoipa::path(
    get,
    path = "/api/v2/resource-servers/{id}",
    tag = "resource-servers",
    params(("id" = String, Path, description = "Resource server id or identifier")),
    responses((status = 200, body = ResourceServerView), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["read:resource_servers"]))
)]
pub(crate) async fn read(
    State(state): State<AppState>,
    caller: Caller,
    _: Consistent,
    Path(id): Path<String>,
) -> Result<Json<ResourceServerView>, ApiError> {
    caller.require("read:resource_servers")?;
    resource_servers::get(state.read_models().await?, &caller.tenant, &id).await?.map(Json).ok_or_else(not_found)
}

#[utoipa::path(
    patch,
    path = "/api/v2/resource-servers/{id}",
    tag = "resource-servers",
    params(("id" = String, Path, description = "Resource server id or identifier")),
    request_body = UpdateResourceServer,
    responses((status = 200, body = ResourceServerView), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["update:resource_servers"]))
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    command: Command<UpdateResourceServer>,
) -> Result<Written<ResourceServerView>, ApiError> {
    command.caller.require("update:resource_servers")?;
    let body = command.body;
    if body.identifier.is_some() {
        return Err(ApiError::bad_body("identifier: the identifier of a resource server cannot be changed"));
    }
    let changes = ResourceServerChanges {
        name: body.name,
        scopes: body.scopes,
        signing_alg: body.signing_alg,
        token_lifetime: body.token_lifetime,
        allow_offline_access: body.allow_offline_access,
        skip_consent_for_verifiable_first_party_clients: body.skip_consent_for_verifiable_first_party_clients,
    };
    let committed = state
        .commands
        .update_resource_server(&command.context, &id, changes)
        .await
        .map_err(|e| ApiError::from_command(e, not_found))?;
    state.visible(committed.position).await?;
    Ok(answer(StatusCode::OK, committed, true))
}

#[utoipa::path(
    delete,
    path = "/api/v2/resource-servers/{id}",
    tag = "resource-servers",
    params(("id" = String, Path, description = "Resource server id or identifier")),
    responses((status = 200, description = "Deleted"), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["delete:resource_servers"]))
)]
pub(crate) async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    command: Command<IgnoredAny>,
) -> Result<Written<ResourceServerView>, ApiError> {
    command.caller.require("delete:resource_servers")?;
    let committed = state
        .commands
        .delete_resource_server(&command.context, &id)
        .await
        .map_err(|e| ApiError::from_command(e, not_found))?;
    state.visible(committed.position).await?;
    Ok(answer(StatusCode::OK, committed, false))
}
