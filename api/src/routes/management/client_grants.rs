//! `/api/v2/client-grants`: which scopes of which API a client may ask for with
//! `client_credentials`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{self, get, patch};
use axum::{Json, Router};
use commands::Committed;
use domain::TenantId;
use domain::client_grant::{ClientGrant, ClientGrantChanges, ClientGrantFields, OrganizationUsage};
use projections::read_models::clients::{self, ClientGrantView};
use projections::read_models::organizations;
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
        .route("/client-grants", get(list).post(create))
        .route("/client-grants/{id}", patch(update).delete(delete))
        .route("/organizations/{id}/client-grants", get(organization_grants).post(associate))
        .route("/organizations/{id}/client-grants/{grant_id}", routing::delete(dissociate))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AssociateClientGrant {
    /// A grant whose client_credentials tokens may then name this organization.
    grant_id: String,
}

fn organization_not_found() -> ApiError {
    ApiError::NotFound { message: "The organization does not exist.".into(), code: "inexistent_organization" }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateClientGrant {
    client_id: String,
    /// The identifier of an API of the tenant.
    audience: String,
    /// Scopes the API defines.
    scope: Vec<String>,
    /// `deny` (the default), `allow` or `require`: whether tokens may or must name an
    /// organization.
    #[serde(default)]
    organization_usage: OrganizationUsage,
    /// Any organization of the tenant, not only the associated ones.
    #[serde(default)]
    allow_any_organization: bool,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateClientGrant {
    /// Replaces the granted scopes.
    scope: Option<Vec<String>>,
    organization_usage: Option<OrganizationUsage>,
    allow_any_organization: Option<bool>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct GrantFilter {
    /// Only this client's grants.
    client_id: Option<String>,
    /// Only grants for this API.
    audience: Option<String>,
}

fn grant_not_found() -> ApiError {
    ApiError::NotFound { message: "The client grant does not exist.".into(), code: "inexistent_client_grant" }
}

async fn answer(
    state: &AppState,
    tenant: &TenantId,
    (status, with_body): (StatusCode, bool),
    committed: Committed<ClientGrant>,
) -> Result<Written<ClientGrantView>, ApiError> {
    state.visible(committed.position).await?;
    let body = match committed.state.live() {
        Some(grant) if with_body => clients::grant(state.read_models().await?, tenant, &grant.id).await?,
        _ => None,
    };
    Ok(Written { status, position: committed.position, replayed: committed.replayed, body })
}

#[utoipa::path(
    get,
    path = "/api/v2/client-grants",
    tag = "client-grants",
    params(GrantFilter, Paging),
    responses((status = 200, description = "Grants by client and audience; with include_totals=true the envelope {start, limit, length, total, client_grants}", body = [ClientGrantView]), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["read:client_grants"]))
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    _: Consistent,
    ApiQuery(filter): ApiQuery<GrantFilter>,
    ApiQuery(paging): ApiQuery<Paging>,
) -> Result<Json<Value>, ApiError> {
    caller.require("read:client_grants")?;
    let page = paging.page()?;
    let filter = (filter.client_id.as_deref(), filter.audience.as_deref());
    envelope(
        "client_grants",
        &paging,
        page,
        clients::grants(state.read_models().await?, &caller.tenant, filter, page).await?,
    )
}

#[utoipa::path(
    post,
    path = "/api/v2/client-grants",
    tag = "client-grants",
    request_body = CreateClientGrant,
    responses((status = 201, description = "The created grant", body = ClientGrantView), (status = "4XX", description = "Refused, in the error shape; 409 when the client has a grant for this audience", body = ErrorBody)),
    security(("bearer" = ["create:client_grants"]))
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    command: Command<CreateClientGrant>,
) -> Result<Written<ClientGrantView>, ApiError> {
    command.caller.require("create:client_grants")?;
    let Command { context, body, .. } = command;
    let fields = ClientGrantFields {
        client_id: body.client_id,
        audience: body.audience,
        scope: body.scope,
        organization_usage: body.organization_usage,
        allow_any_organization: body.allow_any_organization,
        ..ClientGrantFields::default()
    };
    let committed = state.commands.create_client_grant(&context, fields).await?;
    answer(&state, &context.tenant, (StatusCode::CREATED, true), committed).await
}

#[utoipa::path(
    patch,
    path = "/api/v2/client-grants/{id}",
    tag = "client-grants",
    params(("id" = String, Path, description = "Client grant id")),
    request_body = UpdateClientGrant,
    responses((status = 200, description = "The grant after the change", body = ClientGrantView), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["update:client_grants"]))
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    command: Command<UpdateClientGrant>,
) -> Result<Written<ClientGrantView>, ApiError> {
    command.caller.require("update:client_grants")?;
    let Command { context, body, .. } = command;
    let committed = state
        .commands
        .update_client_grant(
            &context,
            &id,
            ClientGrantChanges {
                scope: body.scope,
                organization_usage: body.organization_usage,
                allow_any_organization: body.allow_any_organization,
            },
        )
        .await
        .map_err(|e| ApiError::from_command(e, grant_not_found))?;
    answer(&state, &context.tenant, (StatusCode::OK, true), committed).await
}

#[utoipa::path(
    delete,
    path = "/api/v2/client-grants/{id}",
    tag = "client-grants",
    params(("id" = String, Path, description = "Client grant id")),
    responses((status = 204, description = "Deleted"), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["delete:client_grants"]))
)]
pub(crate) async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    command: Command<IgnoredAny>,
) -> Result<Written<ClientGrantView>, ApiError> {
    command.caller.require("delete:client_grants")?;
    let committed = state
        .commands
        .delete_client_grant(&command.context, &id)
        .await
        .map_err(|e| ApiError::from_command(e, grant_not_found))?;
    answer(&state, &command.context.tenant, (StatusCode::NO_CONTENT, false), committed).await
}

#[utoipa::path(
    get,
    path = "/api/v2/organizations/{id}/client-grants",
    tag = "organizations",
    params(("id" = String, Path, description = "Organization id")),
    responses((status = 200, description = "The grants associated with the organization, by client and audience", body = [ClientGrantView]), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["read:organization_client_grants"]))
)]
pub(crate) async fn organization_grants(
    State(state): State<AppState>,
    caller: Caller,
    _: Consistent,
    Path(id): Path<String>,
) -> Result<Json<Vec<ClientGrantView>>, ApiError> {
    caller.require("read:organization_client_grants")?;
    if organizations::get(state.read_models().await?, &caller.tenant, &id).await?.is_none() {
        return Err(organization_not_found());
    }
    let grants = state.applications.organization_grants(&caller.tenant, &id);
    Ok(Json(grants.iter().map(ClientGrantView::from).collect()))
}

#[utoipa::path(
    post,
    path = "/api/v2/organizations/{id}/client-grants",
    tag = "organizations",
    params(("id" = String, Path, description = "Organization id")),
    request_body = AssociateClientGrant,
    responses((status = 201, description = "The associated grant", body = ClientGrantView), (status = "4XX", description = "Refused, in the error shape; 404 for an unknown organization or grant", body = ErrorBody)),
    security(("bearer" = ["create:organization_client_grants"]))
)]
pub(crate) async fn associate(
    State(state): State<AppState>,
    Path(id): Path<String>,
    command: Command<AssociateClientGrant>,
) -> Result<Written<ClientGrantView>, ApiError> {
    command.caller.require("create:organization_client_grants")?;
    let Command { context, body, .. } = command;
    let committed = state
        .commands
        .add_client_grant_organization(&context, &id, &body.grant_id)
        .await
        .map_err(|e| ApiError::from_command(e, grant_not_found))?;
    answer(&state, &context.tenant, (StatusCode::CREATED, true), committed).await
}

#[utoipa::path(
    delete,
    path = "/api/v2/organizations/{id}/client-grants/{grant_id}",
    tag = "organizations",
    params(("id" = String, Path, description = "Organization id"), ("grant_id" = String, Path, description = "Client grant id")),
    responses((status = 204, description = "Dissociated"), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["delete:organization_client_grants"]))
)]
pub(crate) async fn dissociate(
    State(state): State<AppState>,
    Path((id, grant_id)): Path<(String, String)>,
    command: Command<IgnoredAny>,
) -> Result<Written<ClientGrantView>, ApiError> {
    command.caller.require("delete:organization_client_grants")?;
    let committed = state
        .commands
        .remove_client_grant_organization(&command.context, &id, &grant_id)
        .await
        .map_err(|e| ApiError::from_command(e, grant_not_found))?;
    answer(&state, &command.context.tenant, (StatusCode::NO_CONTENT, false), committed).await
}
