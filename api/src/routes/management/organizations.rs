//! `/api/v2/organizations`: organizations, their members and the members' roles.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use commands::{Committed, NewOrganization, OrganizationChanges};
use domain::TenantId;
use domain::organization::{Branding, Organization};
use projections::read_models::organizations::{self, MemberView, OrganizationView};
use projections::read_models::roles::RoleView;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::Value;

use super::double_option;
use super::lists::{CheckpointPaging, Paging, chunk_envelope, envelope};
use crate::app::AppState;
use crate::auth::Caller;
use crate::consistency::{Consistent, Written};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiQuery, Command};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/organizations", get(list).post(create))
        .route("/organizations/{id}", get(read).patch(update).delete(delete))
        .route("/organizations/name/{name}", get(by_name))
        .route("/organizations/{id}/members", get(list_members).post(add_members).delete(remove_members))
        .route(
            "/organizations/{id}/members/{user_id}/roles",
            get(list_member_roles).post(assign_member_roles).delete(remove_member_roles),
        )
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateOrganization {
    /// Lowercase letters, digits, `-` and `_`; unique in the tenant.
    name: String,
    display_name: Option<String>,
    branding: Option<Branding>,
    /// String values, at most 25 keys.
    #[serde(default)]
    metadata: BTreeMap<String, String>,
}

/// Absent fields keep their value; `null` clears `display_name` or `branding`. Metadata merges
/// key by key, a `null` value removing its key.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateOrganization {
    name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    display_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Branding>)]
    branding: Option<Option<Branding>>,
    #[schema(value_type = Option<Object>)]
    metadata: Option<BTreeMap<String, Option<String>>>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Members {
    /// User ids.
    members: Vec<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MemberRoles {
    /// Role ids.
    roles: Vec<String>,
}

fn organization_not_found() -> ApiError {
    ApiError::NotFound { message: "The organization does not exist.".into(), code: "inexistent_organization" }
}

fn member_not_found() -> ApiError {
    ApiError::NotFound { message: "The user is not a member of the organization.".into(), code: "inexistent_member" }
}

/// The answer to an organization command once its change is visible: the organization as the
/// read model shows it, or no body.
async fn answer(
    state: &AppState,
    tenant: &TenantId,
    (status, with_body): (StatusCode, bool),
    committed: Committed<Organization>,
) -> Result<Written<OrganizationView>, ApiError> {
    state.visible(committed.position).await?;
    let body = match committed.state.live() {
        Some(org) if with_body => organizations::get(state.read_models().await?, tenant, &org.fields.id).await?,
        _ => None,
    };
    Ok(Written { status, position: committed.position, replayed: committed.replayed, body })
}

async fn require_organization(state: &AppState, tenant: &TenantId, id: &str) -> Result<(), ApiError> {
    organizations::get(state.read_models().await?, tenant, id).await?.map(drop).ok_or_else(organization_not_found)
}

#[utoipa::path(
    get,
    path = "/api/v2/organizations",
    tag = "organizations",
    params(Paging, CheckpointPaging),
    responses((status = 200, description = "Organizations by name; with include_totals=true the envelope {start, limit, length, total, organizations}; with from/take, by id: {next, organizations}", body = [OrganizationView]), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["read:organizations"]))
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    _: Consistent,
    ApiQuery(paging): ApiQuery<Paging>,
    ApiQuery(checkpoint): ApiQuery<CheckpointPaging>,
) -> Result<Json<Value>, ApiError> {
    caller.require("read:organizations")?;
    if let Some(checkpoint) = checkpoint.checkpoint()? {
        let chunk = organizations::list_from(state.read_models().await?, &caller.tenant, &checkpoint).await?;
        return chunk_envelope("organizations", chunk);
    }
    let page = paging.page()?;
    envelope(
        "organizations",
        &paging,
        page,
        organizations::list(state.read_models().await?, &caller.tenant, page).await?,
    )
}

#[utoipa::path(
    post,
    path = "/api/v2/organizations",
    tag = "organizations",
    request_body = CreateOrganization,
    responses((status = 201, description = "The created organization", body = OrganizationView), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["create:organizations"]))
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    command: Command<CreateOrganization>,
) -> Result<Written<OrganizationView>, ApiError> {
    command.caller.require("create:organizations")?;
    let Command { context, body, .. } = command;
    let input = NewOrganization {
        name: body.name,
        display_name: body.display_name,
        branding: body.branding,
        metadata: body.metadata,
    };
    let committed = state.commands.create_organization(&context, input).await?;
    answer(&state, &context.tenant, (StatusCode::CREATED, true), committed).await
}

#[utoipa::path(
    get,
    path = "/api/v2/organizations/{id}",
    tag = "organizations",
    params(("id" = String, Path, description = "Organization id")),
    responses((status = 200, body = OrganizationView), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["read:organizations"]))
)]
pub(crate) async fn read(
    State(state): State<AppState>,
    caller: Caller,
    _: Consistent,
    Path(id): Path<String>,
) -> Result<Json<OrganizationView>, ApiError> {
    caller.require("read:organizations")?;
    organizations::get(state.read_models().await?, &caller.tenant, &id)
        .await?
        .map(Json)
        .ok_or_else(organization_not_found)
}

#[utoipa::path(
    get,
    path = "/api/v2/organizations/name/{name}",
    tag = "organizations",
    params(("name" = String, Path, description = "Organization name")),
    responses((status = 200, body = OrganizationView), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["read:organizations"]))
)]
pub(crate) async fn by_name(
    State(state): State<AppState>,
    caller: Caller,
    _: Consistent,
    Path(name): Path<String>,
) -> Result<Json<OrganizationView>, ApiError> {
    caller.require("read:organizations")?;
    organizations::by_name(state.read_models().await?, &caller.tenant, &name)
        .await?
        .map(Json)
        .ok_or_else(organization_not_found)
}

#[utoipa::path(
    patch,
    path = "/api/v2/organizations/{id}",
    tag = "organizations",
    params(("id" = String, Path, description = "Organization id")),
    request_body = UpdateOrganization,
    responses((status = 200, description = "The organization after the change", body = OrganizationView), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["update:organizations"]))
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    command: Command<UpdateOrganization>,
) -> Result<Written<OrganizationView>, ApiError> {
    command.caller.require("update:organizations")?;
    let Command { context, body, .. } = command;
    let changes = OrganizationChanges {
        name: body.name,
        display_name: body.display_name,
        branding: body.branding,
        metadata: body.metadata,
    };
    let committed = state
        .commands
        .update_organization(&context, &id, changes)
        .await
        .map_err(|e| ApiError::from_command(e, organization_not_found))?;
    answer(&state, &context.tenant, (StatusCode::OK, true), committed).await
}

#[utoipa::path(
    delete,
    path = "/api/v2/organizations/{id}",
    tag = "organizations",
    params(("id" = String, Path, description = "Organization id")),
    responses((status = 204, description = "Deleted, with its memberships"), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["delete:organizations"]))
)]
pub(crate) async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    command: Command<IgnoredAny>,
) -> Result<Written<OrganizationView>, ApiError> {
    command.caller.require("delete:organizations")?;
    let committed = state
        .commands
        .delete_organization(&command.context, &id)
        .await
        .map_err(|e| ApiError::from_command(e, organization_not_found))?;
    answer(&state, &command.context.tenant, (StatusCode::NO_CONTENT, false), committed).await
}

#[utoipa::path(
    get,
    path = "/api/v2/organizations/{id}/members",
    tag = "organizations",
    params(("id" = String, Path, description = "Organization id"), Paging, CheckpointPaging),
    responses((status = 200, description = "Members by user id; with include_totals=true the envelope {start, limit, length, total, members}; with from/take {next, members}", body = [MemberView]), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["read:organization_members"]))
)]
pub(crate) async fn list_members(
    State(state): State<AppState>,
    caller: Caller,
    _: Consistent,
    Path(id): Path<String>,
    ApiQuery(paging): ApiQuery<Paging>,
    ApiQuery(checkpoint): ApiQuery<CheckpointPaging>,
) -> Result<Json<Value>, ApiError> {
    caller.require("read:organization_members")?;
    let pool = state.read_models().await?;
    require_organization(&state, &caller.tenant, &id).await?;
    if let Some(checkpoint) = checkpoint.checkpoint()? {
        return chunk_envelope("members", organizations::members_from(pool, &caller.tenant, &id, &checkpoint).await?);
    }
    let page = paging.page()?;
    envelope("members", &paging, page, organizations::members(pool, &caller.tenant, &id, page).await?)
}

#[utoipa::path(
    post,
    path = "/api/v2/organizations/{id}/members",
    tag = "organizations",
    params(("id" = String, Path, description = "Organization id")),
    request_body = Members,
    responses((status = 204, description = "Added (members already there are ignored)"), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["create:organization_members"]))
)]
pub(crate) async fn add_members(
    State(state): State<AppState>,
    Path(id): Path<String>,
    command: Command<Members>,
) -> Result<Written<OrganizationView>, ApiError> {
    command.caller.require("create:organization_members")?;
    let committed = state
        .commands
        .add_organization_members(&command.context, &id, command.body.members)
        .await
        .map_err(|e| ApiError::from_command(e, organization_not_found))?;
    answer(&state, &command.context.tenant, (StatusCode::NO_CONTENT, false), committed).await
}

#[utoipa::path(
    delete,
    path = "/api/v2/organizations/{id}/members",
    tag = "organizations",
    params(("id" = String, Path, description = "Organization id")),
    request_body = Members,
    responses((status = 204, description = "Removed, with their roles in the organization"), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["delete:organization_members"]))
)]
pub(crate) async fn remove_members(
    State(state): State<AppState>,
    Path(id): Path<String>,
    command: Command<Members>,
) -> Result<Written<OrganizationView>, ApiError> {
    command.caller.require("delete:organization_members")?;
    let committed = state
        .commands
        .remove_organization_members(&command.context, &id, command.body.members)
        .await
        .map_err(|e| ApiError::from_command(e, organization_not_found))?;
    answer(&state, &command.context.tenant, (StatusCode::NO_CONTENT, false), committed).await
}

#[utoipa::path(
    get,
    path = "/api/v2/organizations/{id}/members/{user_id}/roles",
    tag = "organizations",
    params(("id" = String, Path, description = "Organization id"), ("user_id" = String, Path, description = "Member's user id"), Paging),
    responses((status = 200, description = "The member's roles in the organization; with include_totals=true the envelope {start, limit, length, total, roles}", body = [RoleView]), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["read:organization_member_roles"]))
)]
pub(crate) async fn list_member_roles(
    State(state): State<AppState>,
    caller: Caller,
    _: Consistent,
    Path((id, user_id)): Path<(String, String)>,
    ApiQuery(paging): ApiQuery<Paging>,
) -> Result<Json<Value>, ApiError> {
    caller.require("read:organization_member_roles")?;
    let page = paging.page()?;
    let pool = state.read_models().await?;
    require_organization(&state, &caller.tenant, &id).await?;
    if !organizations::is_member(pool, &caller.tenant, &id, &user_id).await? {
        return Err(member_not_found());
    }
    envelope("roles", &paging, page, organizations::member_roles(pool, &caller.tenant, (&id, &user_id), page).await?)
}

#[utoipa::path(
    post,
    path = "/api/v2/organizations/{id}/members/{user_id}/roles",
    tag = "organizations",
    params(("id" = String, Path, description = "Organization id"), ("user_id" = String, Path, description = "Member's user id")),
    request_body = MemberRoles,
    responses((status = 204, description = "Assigned (roles already held are ignored)"), (status = "4XX", description = "Refused, in the error shape; 400 when the user is not a member", body = ErrorBody)),
    security(("bearer" = ["create:organization_member_roles"]))
)]
pub(crate) async fn assign_member_roles(
    State(state): State<AppState>,
    Path((id, user_id)): Path<(String, String)>,
    command: Command<MemberRoles>,
) -> Result<Written<OrganizationView>, ApiError> {
    command.caller.require("create:organization_member_roles")?;
    let committed = state
        .commands
        .assign_member_roles(&command.context, &id, &user_id, command.body.roles)
        .await
        .map_err(|e| ApiError::from_command(e, organization_not_found))?;
    answer(&state, &command.context.tenant, (StatusCode::NO_CONTENT, false), committed).await
}

#[utoipa::path(
    delete,
    path = "/api/v2/organizations/{id}/members/{user_id}/roles",
    tag = "organizations",
    params(("id" = String, Path, description = "Organization id"), ("user_id" = String, Path, description = "Member's user id")),
    request_body = MemberRoles,
    responses((status = 204, description = "Removed"), (status = "4XX", description = "Refused, in the error shape; 400 when the user is not a member", body = ErrorBody)),
    security(("bearer" = ["delete:organization_member_roles"]))
)]
pub(crate) async fn remove_member_roles(
    State(state): State<AppState>,
    Path((id, user_id)): Path<(String, String)>,
    command: Command<MemberRoles>,
) -> Result<Written<OrganizationView>, ApiError> {
    command.caller.require("delete:organization_member_roles")?;
    let committed = state
        .commands
        .remove_member_roles(&command.context, &id, &user_id, command.body.roles)
        .await
        .map_err(|e| ApiError::from_command(e, organization_not_found))?;
    answer(&state, &command.context.tenant, (StatusCode::NO_CONTENT, false), committed).await
}
