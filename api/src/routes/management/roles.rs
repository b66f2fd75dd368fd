//! `/api/v2/roles` and `/api/v2/roles/{id}/permissions`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use commands::{Committed, RoleChanges};
use domain::Permission;
use domain::role::Role;
use projections::read_models::roles::{self, RolePermissionView, RoleView};
use serde::Deserialize;
use serde::de::IgnoredAny;
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
        .route("/roles", get(list).post(create))
        .route("/roles/{id}", get(read).patch(update).delete(delete))
        .route("/roles/{id}/permissions", get(list_permissions).post(add_permissions).delete(remove_permissions))
}

/// Paging plus `name_filter`. Not `#[serde(flatten)]`: flattening makes query strings unable
/// to parse numbers.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListRoles {
    /// 0-based page number.
    #[serde(default)]
    page: u32,
    /// Items per page, 1 to 100 (default 50).
    per_page: Option<u32>,
    /// Wrap the items in `{start, limit, length, total, roles}`.
    #[serde(default)]
    include_totals: bool,
    /// Only roles whose name contains this text, case-insensitively.
    name_filter: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateRole {
    name: String,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateRole {
    #[serde(default)]
    name: Option<String>,
    /// `null` clears the description.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    description: Option<Option<String>>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Permissions {
    permissions: Vec<Permission>,
}

fn role_not_found() -> ApiError {
    ApiError::NotFound { message: "The role does not exist.".into(), code: "inexistent_role" }
}

/// The answer to a role command, from the state the command produced.
fn answer(status: StatusCode, committed: Committed<Role>, with_body: bool) -> Written<RoleView> {
    let body = if with_body { committed.state.live().map(RoleView::from) } else { None };
    Written { status, position: committed.position, replayed: committed.replayed, body }
}

#[utoipa::path(
    get,
    path = "/api/v2/roles",
    tag = "roles",
    params(ListRoles),
    responses((status = 200, description = "Roles by name; with include_totals=true the envelope {start, limit, length, total, roles}", body = [RoleView]), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["read:roles"]))
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    _: Consistent,
    ApiQuery(query): ApiQuery<ListRoles>,
) -> Result<Json<Value>, ApiError> {
    caller.require("read:roles")?;
    let paging = Paging { page: query.page, per_page: query.per_page, include_totals: query.include_totals };
    let page = paging.page()?;
    let listed = roles::list(state.read_models().await?, &caller.tenant, query.name_filter.as_deref(), page).await?;
    envelope("roles", &paging, page, listed)
}

#[utoipa::path(
    post,
    path = "/api/v2/roles",
    tag = "roles",
    request_body = CreateRole,
    responses((status = 200, description = "The created role", body = RoleView), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["create:roles"]))
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    command: Command<CreateRole>,
) -> Result<Written<RoleView>, ApiError> {
    command.caller.require("create:roles")?;
    let Command { context, body, .. } = command;
    let committed = state.commands.create_role(&context, body.name, body.description).await?;
    state.visible(committed.position).await?;
    Ok(answer(StatusCode::OK, committed, true))
}

#[utoipa::path(
    get,
    path = "/api/v2/roles/{id}",
    tag = "roles",
    params(("id" = String, Path, description = "Role id")),
    responses((status = 200, body = RoleView), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["read:roles"]))
)]
pub(crate) async fn read(
    State(state): State<AppState>,
    caller: Caller,
    _: Consistent,
    Path(id): Path<String>,
) -> Result<Json<RoleView>, ApiError> {
    caller.require("read:roles")?;
    roles::get(state.read_models().await?, &caller.tenant, &id).await?.map(Json).ok_or_else(role_not_found)
}

#[utoipa::path(
    patch,
    path = "/api/v2/roles/{id}",
    tag = "roles",
    params(("id" = String, Path, description = "Role id")),
    request_body = UpdateRole,
    responses((status = 200, description = "The role after the change", body = RoleView), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["update:roles"]))
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    command: Command<UpdateRole>,
) -> Result<Written<RoleView>, ApiError> {
    command.caller.require("update:roles")?;
    let changes = RoleChanges { name: command.body.name, description: command.body.description };
    let committed = state
        .commands
        .update_role(&command.context, &id, changes)
        .await
        .map_err(|e| ApiError::from_command(e, role_not_found))?;
    state.visible(committed.position).await?;
    Ok(answer(StatusCode::OK, committed, true))
}

#[utoipa::path(
    delete,
    path = "/api/v2/roles/{id}",
    tag = "roles",
    params(("id" = String, Path, description = "Role id")),
    responses((status = 200, description = "Deleted"), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["delete:roles"]))
)]
pub(crate) async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    command: Command<IgnoredAny>,
) -> Result<Written<RoleView>, ApiError> {
    command.caller.require("delete:roles")?;
    let committed = state
        .commands
        .delete_role(&command.context, &id)
        .await
        .map_err(|e| ApiError::from_command(e, role_not_found))?;
    state.visible(committed.position).await?;
    Ok(answer(StatusCode::OK, committed, false))
}

#[utoipa::path(
    get,
    path = "/api/v2/roles/{id}/permissions",
    tag = "roles",
    params(("id" = String, Path, description = "Role id"), Paging),
    responses((status = 200, description = "The role's permissions; with include_totals=true the envelope {start, limit, length, total, permissions}", body = [RolePermissionView]), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["read:roles"]))
)]
pub(crate) async fn list_permissions(
    State(state): State<AppState>,
    caller: Caller,
    _: Consistent,
    Path(id): Path<String>,
    ApiQuery(paging): ApiQuery<Paging>,
) -> Result<Json<Value>, ApiError> {
    caller.require("read:roles")?;
    let page = paging.page()?;
    let listed = state.role_permissions.list(&caller.tenant, &id, page).ok_or_else(role_not_found)?;
    envelope("permissions", &paging, page, listed)
}

#[utoipa::path(
    post,
    path = "/api/v2/roles/{id}/permissions",
    tag = "roles",
    params(("id" = String, Path, description = "Role id")),
    request_body = Permissions,
    responses((status = 201, description = "Added (permissions already held are ignored)"), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["update:roles"]))
)]
pub(crate) async fn add_permissions(
    State(state): State<AppState>,
    Path(id): Path<String>,
    command: Command<Permissions>,
) -> Result<Written<RoleView>, ApiError> {
    command.caller.require("update:roles")?;
    let committed = state
        .commands
        .add_role_permissions(&command.context, &id, command.body.permissions)
        .await
        .map_err(|e| ApiError::from_command(e, role_not_found))?;
    state.visible(committed.position).await?;
    Ok(answer(StatusCode::CREATED, committed, false))
}

#[utoipa::path(
    delete,
    path = "/api/v2/roles/{id}/permissions",
    tag = "roles",
    params(("id" = String, Path, description = "Role id")),
    request_body = Permissions,
    responses((status = 200, description = "Removed"), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["update:roles"]))
)]
pub(crate) async fn remove_permissions(
    State(state): State<AppState>,
    Path(id): Path<String>,
    command: Command<Permissions>,
) -> Result<Written<RoleView>, ApiError> {
    command.caller.require("update:roles")?;
    let committed = state
        .commands
        .remove_role_permissions(&command.context, &id, command.body.permissions)
        .await
        .map_err(|e| ApiError::from_command(e, role_not_found))?;
    state.visible(committed.position).await?;
    Ok(answer(StatusCode::OK, committed, false))
}
