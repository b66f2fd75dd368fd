//! `/api/v2/users`, `/api/v2/users-by-email`, and a user's roles, direct permissions and
//! organizations.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use commands::{Committed, NewUser, PersonalFields, UserPatch};
use domain::user::User;
use domain::{Permission, TenantId};
use projections::read_models::claims::{ClaimsError, UserClaims};
use projections::read_models::organizations::{self, OrganizationView};
use projections::read_models::roles::RoleView;
use projections::read_models::users::{self, UserPermissionView, UserView};
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::{Map, Value};

use super::double_option;
use super::lists::{Paging, envelope};
use crate::app::AppState;
use crate::auth::Caller;
use crate::consistency::{Consistent, Written};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiQuery, Command};
use crate::passwords;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/users", get(list).post(create))
        .route("/users/{id}", get(read).patch(update).delete(delete))
        .route("/users-by-email", get(by_email))
        .route("/users/{id}/roles", get(list_roles).post(assign_roles).delete(remove_roles))
        .route("/users/{id}/permissions", get(list_permissions).post(add_permissions).delete(remove_permissions))
        .route("/users/{id}/organizations", get(list_organizations))
        .route("/users/{id}/claims", get(read_claims))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateUser {
    /// Only `Username-Password-Authentication` (the default) exists.
    #[serde(default)]
    connection: Option<String>,
    email: String,
    password: Option<String>,
    #[serde(default)]
    email_verified: bool,
    /// Accepted for Auth0 compatibility; tenancy sends no email.
    #[serde(default)]
    #[allow(dead_code)]
    verify_email: Option<bool>,
    username: Option<String>,
    name: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
    nickname: Option<String>,
    picture: Option<String>,
    phone_number: Option<String>,
    #[schema(value_type = Option<Object>)]
    user_metadata: Option<Map<String, Value>>,
    #[schema(value_type = Option<Object>)]
    app_metadata: Option<Map<String, Value>>,
    #[serde(default)]
    blocked: bool,
}

/// Absent fields keep their value; `null` clears a text field. Metadata merges at the top
/// level, a `null` value removing its key.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateUser {
    #[serde(default)]
    connection: Option<String>,
    email: Option<String>,
    email_verified: Option<bool>,
    password: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    verify_email: Option<bool>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    username: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    name: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    given_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    family_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    nickname: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    picture: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    phone_number: Option<Option<String>>,
    #[schema(value_type = Option<Object>)]
    user_metadata: Option<Map<String, Value>>,
    #[schema(value_type = Option<Object>)]
    app_metadata: Option<Map<String, Value>>,
    blocked: Option<bool>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Roles {
    /// Role ids.
    roles: Vec<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Permissions {
    permissions: Vec<Permission>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ByEmail {
    /// The address, matched case-insensitively.
    email: Option<String>,
}

fn user_not_found() -> ApiError {
    ApiError::NotFound { message: "The user does not exist.".into(), code: "inexistent_user" }
}

/// The hash of `password` if it meets the tenant's password policy (read from the log, so a
/// policy just changed applies at once).
async fn hash_password(state: &AppState, tenant: &TenantId, password: String) -> Result<String, ApiError> {
    let policy = state.commands.effective_settings(tenant).await?.password_policy;
    passwords::hash(password, policy).await.map_err(|error| match error {
        passwords::PasswordError::TooShort { .. } => ApiError::bad_body(format!("password: {error}")),
        passwords::PasswordError::Hashing(_) => ApiError::internal(error),
    })
}

/// The answer to a user command once its change is visible: the user as the read model shows
/// it, or no body.
async fn answer(
    state: &AppState,
    tenant: &TenantId,
    (status, with_body): (StatusCode, bool),
    committed: Committed<User>,
) -> Result<Written<UserView>, ApiError> {
    state.visible(committed.position).await?;
    let body = match committed.state.live() {
        Some(user) if with_body => users::get(state.read_models().await?, tenant, &user.user_id).await?,
        _ => None,
    };
    Ok(Written { status, position: committed.position, replayed: committed.replayed, body })
}

#[utoipa::path(
    get,
    path = "/api/v2/users",
    tag = "users",
    params(Paging),
    responses((status = 200, description = "Users by email; with include_totals=true the envelope {start, limit, length, total, users}", body = [UserView]), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["read:users"]))
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    _: Consistent,
    ApiQuery(paging): ApiQuery<Paging>,
) -> Result<Json<Value>, ApiError> {
    caller.require("read:users")?;
    let page = paging.page()?;
    envelope("users", &paging, page, users::list(state.read_models().await?, &caller.tenant, page).await?)
}

#[utoipa::path(
    post,
    path = "/api/v2/users",
    tag = "users",
    request_body = CreateUser,
    responses((status = 201, description = "The created user", body = UserView), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["create:users"]))
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    command: Command<CreateUser>,
) -> Result<Written<UserView>, ApiError> {
    command.caller.require("create:users")?;
    let Command { context, body, .. } = command;
    let password = body.password.ok_or_else(|| ApiError::bad_body("password: required for a database connection"))?;
    let user = NewUser {
        connection: body.connection,
        email: body.email,
        email_verified: body.email_verified,
        password_hash: hash_password(&state, &context.tenant, password).await?,
        personal: PersonalFields {
            name: body.name,
            given_name: body.given_name,
            family_name: body.family_name,
            nickname: body.nickname,
            picture: body.picture,
            phone_number: body.phone_number,
        },
        username: body.username,
        user_metadata: body.user_metadata,
        app_metadata: body.app_metadata,
        blocked: body.blocked,
    };
    let committed = state.commands.create_user(&context, user).await?;
    answer(&state, &context.tenant, (StatusCode::CREATED, true), committed).await
}

#[utoipa::path(
    get,
    path = "/api/v2/users/{id}",
    tag = "users",
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, body = UserView), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["read:users"]))
)]
pub(crate) async fn read(
    State(state): State<AppState>,
    caller: Caller,
    _: Consistent,
    Path(id): Path<String>,
) -> Result<Json<UserView>, ApiError> {
    caller.require("read:users")?;
    users::get(state.read_models().await?, &caller.tenant, &id).await?.map(Json).ok_or_else(user_not_found)
}

#[utoipa::path(
    patch,
    path = "/api/v2/users/{id}",
    tag = "users",
    params(("id" = String, Path, description = "User id")),
    request_body = UpdateUser,
    responses((status = 200, description = "The user after the change", body = UserView), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["update:users"]))
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    command: Command<UpdateUser>,
) -> Result<Written<UserView>, ApiError> {
    command.caller.require("update:users")?;
    let Command { context, body, .. } = command;
    if let Some(connection) = body.connection.filter(|c| c != domain::user::DEFAULT_CONNECTION) {
        return Err(ApiError::bad_body(format!("connection: the connection {connection:?} does not exist")));
    }
    let password_hash = match body.password {
        Some(password) => Some(hash_password(&state, &context.tenant, password).await?),
        None => None,
    };
    let patch = UserPatch {
        email: body.email,
        email_verified: body.email_verified,
        username: body.username,
        name: body.name,
        given_name: body.given_name,
        family_name: body.family_name,
        nickname: body.nickname,
        picture: body.picture,
        phone_number: body.phone_number,
        user_metadata: body.user_metadata,
        app_metadata: body.app_metadata,
        blocked: body.blocked,
        password_hash,
    };
    let committed = state
        .commands
        .update_user(&context, &id, patch)
        .await
        .map_err(|e| ApiError::from_command(e, user_not_found))?;
    answer(&state, &context.tenant, (StatusCode::OK, true), committed).await
}

#[utoipa::path(
    delete,
    path = "/api/v2/users/{id}",
    tag = "users",
    params(("id" = String, Path, description = "User id")),
    responses((status = 204, description = "Deleted"), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["delete:users"]))
)]
pub(crate) async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    command: Command<IgnoredAny>,
) -> Result<Written<UserView>, ApiError> {
    command.caller.require("delete:users")?;
    let committed = state
        .commands
        .delete_user(&command.context, &id)
        .await
        .map_err(|e| ApiError::from_command(e, user_not_found))?;
    answer(&state, &command.context.tenant, (StatusCode::NO_CONTENT, false), committed).await
}

#[utoipa::path(
    get,
    path = "/api/v2/users-by-email",
    tag = "users",
    params(ByEmail),
    responses((status = 200, description = "The users with this email (at most one)", body = [UserView]), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["read:users"]))
)]
pub(crate) async fn by_email(
    State(state): State<AppState>,
    caller: Caller,
    _: Consistent,
    ApiQuery(query): ApiQuery<ByEmail>,
) -> Result<Json<Vec<UserView>>, ApiError> {
    caller.require("read:users")?;
    let email = query.email.filter(|e| !e.is_empty()).ok_or_else(|| ApiError::bad_query("email is required"))?;
    Ok(Json(users::by_email(state.read_models().await?, &caller.tenant, &email).await?))
}

#[utoipa::path(
    get,
    path = "/api/v2/users/{id}/roles",
    tag = "users",
    params(("id" = String, Path, description = "User id"), Paging),
    responses((status = 200, description = "The user's roles; with include_totals=true the envelope {start, limit, length, total, roles}", body = [RoleView]), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["read:users"]))
)]
pub(crate) async fn list_roles(
    State(state): State<AppState>,
    caller: Caller,
    _: Consistent,
    Path(id): Path<String>,
    ApiQuery(paging): ApiQuery<Paging>,
) -> Result<Json<Value>, ApiError> {
    caller.require("read:users")?;
    let page = paging.page()?;
    let pool = state.read_models().await?;
    users::get(pool, &caller.tenant, &id).await?.ok_or_else(user_not_found)?;
    envelope("roles", &paging, page, users::roles(pool, &caller.tenant, &id, page).await?)
}

#[utoipa::path(
    post,
    path = "/api/v2/users/{id}/roles",
    tag = "users",
    params(("id" = String, Path, description = "User id")),
    request_body = Roles,
    responses((status = 204, description = "Assigned (roles already held are ignored)"), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["create:role_members"]))
)]
pub(crate) async fn assign_roles(
    State(state): State<AppState>,
    Path(id): Path<String>,
    command: Command<Roles>,
) -> Result<Written<UserView>, ApiError> {
    command.caller.require("create:role_members")?;
    let committed = state
        .commands
        .assign_user_roles(&command.context, &id, command.body.roles)
        .await
        .map_err(|e| ApiError::from_command(e, user_not_found))?;
    answer(&state, &command.context.tenant, (StatusCode::NO_CONTENT, false), committed).await
}

#[utoipa::path(
    delete,
    path = "/api/v2/users/{id}/roles",
    tag = "users",
    params(("id" = String, Path, description = "User id")),
    request_body = Roles,
    responses((status = 204, description = "Removed"), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["delete:role_members"]))
)]
pub(crate) async fn remove_roles(
    State(state): State<AppState>,
    Path(id): Path<String>,
    command: Command<Roles>,
) -> Result<Written<UserView>, ApiError> {
    command.caller.require("delete:role_members")?;
    let committed = state
        .commands
        .remove_user_roles(&command.context, &id, command.body.roles)
        .await
        .map_err(|e| ApiError::from_command(e, user_not_found))?;
    answer(&state, &command.context.tenant, (StatusCode::NO_CONTENT, false), committed).await
}

#[utoipa::path(
    get,
    path = "/api/v2/users/{id}/permissions",
    tag = "users",
    params(("id" = String, Path, description = "User id"), Paging),
    responses((status = 200, description = "The user's direct permissions; with include_totals=true the envelope {start, limit, length, total, permissions}", body = [UserPermissionView]), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["read:users"]))
)]
pub(crate) async fn list_permissions(
    State(state): State<AppState>,
    caller: Caller,
    _: Consistent,
    Path(id): Path<String>,
    ApiQuery(paging): ApiQuery<Paging>,
) -> Result<Json<Value>, ApiError> {
    caller.require("read:users")?;
    let page = paging.page()?;
    let pool = state.read_models().await?;
    users::get(pool, &caller.tenant, &id).await?.ok_or_else(user_not_found)?;
    envelope("permissions", &paging, page, users::permissions(pool, &caller.tenant, &id, page).await?)
}

#[utoipa::path(
    post,
    path = "/api/v2/users/{id}/permissions",
    tag = "users",
    params(("id" = String, Path, description = "User id")),
    request_body = Permissions,
    responses((status = 201, description = "Added (permissions already held are ignored)"), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["update:users"]))
)]
pub(crate) async fn add_permissions(
    State(state): State<AppState>,
    Path(id): Path<String>,
    command: Command<Permissions>,
) -> Result<Written<UserView>, ApiError> {
    command.caller.require("update:users")?;
    let committed = state
        .commands
        .add_user_permissions(&command.context, &id, command.body.permissions)
        .await
        .map_err(|e| ApiError::from_command(e, user_not_found))?;
    answer(&state, &command.context.tenant, (StatusCode::CREATED, false), committed).await
}

#[utoipa::path(
    delete,
    path = "/api/v2/users/{id}/permissions",
    tag = "users",
    params(("id" = String, Path, description = "User id")),
    request_body = Permissions,
    responses((status = 204, description = "Removed"), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["update:users"]))
)]
pub(crate) async fn remove_permissions(
    State(state): State<AppState>,
    Path(id): Path<String>,
    command: Command<Permissions>,
) -> Result<Written<UserView>, ApiError> {
    command.caller.require("update:users")?;
    let committed = state
        .commands
        .remove_user_permissions(&command.context, &id, command.body.permissions)
        .await
        .map_err(|e| ApiError::from_command(e, user_not_found))?;
    answer(&state, &command.context.tenant, (StatusCode::NO_CONTENT, false), committed).await
}

#[utoipa::path(
    get,
    path = "/api/v2/users/{id}/organizations",
    tag = "users",
    params(("id" = String, Path, description = "User id"), Paging),
    responses((status = 200, description = "The organizations the user is a member of; with include_totals=true the envelope {start, limit, length, total, organizations}", body = [OrganizationView]), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["read:organizations"]))
)]
pub(crate) async fn list_organizations(
    State(state): State<AppState>,
    caller: Caller,
    _: Consistent,
    Path(id): Path<String>,
    ApiQuery(paging): ApiQuery<Paging>,
) -> Result<Json<Value>, ApiError> {
    caller.require("read:organizations")?;
    let page = paging.page()?;
    let pool = state.read_models().await?;
    users::get(pool, &caller.tenant, &id).await?.ok_or_else(user_not_found)?;
    envelope("organizations", &paging, page, organizations::of_user(pool, &caller.tenant, &id, page).await?)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ClaimsQuery {
    /// An organization (id or name) the user is a member of: its member roles apply.
    organization: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v2/users/{id}/claims",
    tag = "users",
    params(("id" = String, Path, description = "User id"), ClaimsQuery),
    responses((status = 200, description = "The roles and permissions a token of the user carries now, in the organization when given", body = UserClaims), (status = "4XX", description = "Refused, in the error shape; 404 for an unknown user or organization, 400 when the user is not a member", body = ErrorBody)),
    security(("bearer" = ["read:users"]))
)]
pub(crate) async fn read_claims(
    State(state): State<AppState>,
    caller: Caller,
    _: Consistent,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<ClaimsQuery>,
) -> Result<Json<UserClaims>, ApiError> {
    caller.require("read:users")?;
    let organization = query.organization.as_deref().filter(|o| !o.is_empty());
    let claims = state.claims.claims(&state.role_permissions, &caller.tenant, &id, organization);
    claims.map(Json).map_err(|error| match error {
        ClaimsError::UnknownUser => user_not_found(),
        ClaimsError::UnknownOrganization => {
            ApiError::NotFound { message: error.to_string(), code: "inexistent_organization" }
        }
        ClaimsError::NotAMember => ApiError::bad_query(error.to_string()),
    })
}
