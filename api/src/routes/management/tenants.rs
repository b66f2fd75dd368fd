//! `/api/v2/tenants`: the tenants the control plane manages (control-plane callers only), and
//! `/api/v2/tenants/settings`: the settings of the caller's own tenant, with inheritance.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use std::collections::BTreeMap;

use commands::{Committed, NewTenant};
use domain::TenantId;
use domain::settings::{EffectiveSettings, PasswordPolicy, SettingsPatch};
use domain::tenant::Tenant;
use projections::read_models::tenants::{self, TenantView};
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
        .route("/tenants", get(list).post(create))
        // Matched before `/tenants/{id}`: a static segment wins.
        .route("/tenants/settings", get(read_settings).patch(update_settings))
        .route("/tenants/{id}", get(read).patch(update).delete(delete))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateTenant {
    id: Option<String>,
    name: Option<String>,
    friendly_name: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateTenant {
    name: Option<String>,
    friendly_name: Option<String>,
}

/// Absent keys keep their value; `null` removes the tenant's override, so the key is inherited
/// from the control plane again. Flags likewise, one by one.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateSettings {
    /// The tenant's own name for people; cannot be removed.
    friendly_name: Option<String>,
    /// The tenant's custom domains (host names, no scheme or port): requests to them address
    /// this tenant. Replaces the list; `[]` or `null` removes them all. Never inherited.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Vec<String>>)]
    domains: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    support_email: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    support_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    default_audience: Option<Option<String>>,
    /// Hours.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<u32>)]
    session_lifetime: Option<Option<u32>>,
    /// Hours.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<u32>)]
    idle_session_lifetime: Option<Option<u32>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<bool>)]
    allow_organization_name_in_authentication_api: Option<Option<bool>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<PasswordPolicy>)]
    password_policy: Option<Option<PasswordPolicy>>,
    #[schema(value_type = Option<Object>)]
    flags: Option<BTreeMap<String, Option<bool>>>,
}

/// The settings in effect for the tenant, and its own friendly name and custom domains.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct SettingsView {
    friendly_name: String,
    domains: Vec<String>,
    #[serde(flatten)]
    settings: EffectiveSettings,
}

fn not_found() -> ApiError {
    ApiError::NotFound { message: "The tenant does not exist.".into(), code: "inexistent_tenant" }
}

/// Tenants are managed from the control plane, and by nobody else.
fn control_plane_only(caller: &Caller, permission: &str) -> Result<(), ApiError> {
    if !caller.tenant.is_control_plane() {
        return Err(ApiError::Forbidden {
            message: "Tenants can only be managed from the control plane".into(),
            code: "operation_not_supported",
        });
    }
    caller.require(permission)
}

/// A tenant id from the path; one that cannot be a tenant id names no tenant.
fn tenant_id(id: &str) -> Result<TenantId, ApiError> {
    TenantId::parse(id).map_err(|_| not_found())
}

fn answer(status: StatusCode, committed: Committed<Tenant>, with_body: bool) -> Written<TenantView> {
    let body = if with_body { committed.state.live().map(TenantView::from) } else { None };
    Written { status, position: committed.position, replayed: committed.replayed, body }
}

#[utoipa::path(
    get,
    path = "/api/v2/tenants",
    tag = "tenants",
    params(Paging),
    responses((status = 200, description = "Tenants by id; with include_totals=true the envelope {start, limit, length, total, tenants}", body = [TenantView]), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["read:tenants"]))
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    _: Consistent,
    ApiQuery(paging): ApiQuery<Paging>,
) -> Result<Json<Value>, ApiError> {
    control_plane_only(&caller, "read:tenants")?;
    let page = paging.page()?;
    envelope("tenants", &paging, page, tenants::list(state.read_models().await?, page).await?)
}

#[utoipa::path(
    post,
    path = "/api/v2/tenants",
    tag = "tenants",
    request_body = CreateTenant,
    responses((status = 201, body = TenantView), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["create:tenants"]))
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    command: Command<CreateTenant>,
) -> Result<Written<TenantView>, ApiError> {
    control_plane_only(&command.caller, "create:tenants")?;
    let body = command.body;
    let id = match body.id {
        Some(id) => TenantId::parse(id).map_err(|err| ApiError::bad_body(format!("id: {err}")))?,
        None => TenantId::parse(commands::random_string(16).to_lowercase())
            .map_err(|err| ApiError::internal(format!("generated tenant id: {err}")))?,
    };
    let input = NewTenant { id, name: body.name, friendly_name: body.friendly_name };
    let committed = state.commands.create_tenant(&command.context, input).await?;
    state.visible(committed.position).await?;
    Ok(answer(StatusCode::CREATED, committed, true))
}

#[utoipa::path(
    get,
    path = "/api/v2/tenants/{id}",
    tag = "tenants",
    params(("id" = String, Path, description = "Tenant id")),
    responses((status = 200, body = TenantView), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["read:tenants"]))
)]
pub(crate) async fn read(
    State(state): State<AppState>,
    caller: Caller,
    _: Consistent,
    Path(id): Path<String>,
) -> Result<Json<TenantView>, ApiError> {
    control_plane_only(&caller, "read:tenants")?;
    tenants::get(state.read_models().await?, &id).await?.map(Json).ok_or_else(not_found)
}

#[utoipa::path(
    patch,
    path = "/api/v2/tenants/{id}",
    tag = "tenants",
    params(("id" = String, Path, description = "Tenant id")),
    request_body = UpdateTenant,
    responses((status = 200, body = TenantView), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["update:tenants"]))
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    command: Command<UpdateTenant>,
) -> Result<Written<TenantView>, ApiError> {
    control_plane_only(&command.caller, "update:tenants")?;
    let id = tenant_id(&id)?;
    let committed = state
        .commands
        .update_tenant(&command.context, &id, command.body.name, command.body.friendly_name)
        .await
        .map_err(|e| ApiError::from_command(e, not_found))?;
    state.visible(committed.position).await?;
    Ok(answer(StatusCode::OK, committed, true))
}

#[utoipa::path(
    delete,
    path = "/api/v2/tenants/{id}",
    tag = "tenants",
    params(("id" = String, Path, description = "Tenant id")),
    responses((status = 200, description = "Deleted"), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["delete:tenants"]))
)]
pub(crate) async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    command: Command<IgnoredAny>,
) -> Result<Written<TenantView>, ApiError> {
    control_plane_only(&command.caller, "delete:tenants")?;
    let id = tenant_id(&id)?;
    let committed =
        state.commands.delete_tenant(&command.context, &id).await.map_err(|e| ApiError::from_command(e, not_found))?;
    state.visible(committed.position).await?;
    Ok(answer(StatusCode::OK, committed, false))
}

/// The caller's tenant's settings as the read model has them.
async fn settings_view(state: &AppState, tenant: &TenantId) -> Result<SettingsView, ApiError> {
    let pool = state.read_models().await?;
    let friendly_name = tenants::get(pool, tenant.as_str()).await?.ok_or_else(not_found)?.friendly_name;
    let domains = state.directory.domains(tenant);
    Ok(SettingsView { friendly_name, domains, settings: tenants::effective_settings(pool, tenant).await? })
}

#[utoipa::path(
    get,
    path = "/api/v2/tenants/settings",
    tag = "tenants",
    responses((status = 200, description = "The settings in effect for the caller's tenant: its own, else the control plane's, else the defaults", body = SettingsView), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["read:tenant_settings"]))
)]
pub(crate) async fn read_settings(
    State(state): State<AppState>,
    caller: Caller,
    _: Consistent,
) -> Result<Json<SettingsView>, ApiError> {
    caller.require("read:tenant_settings")?;
    settings_view(&state, &caller.tenant).await.map(Json)
}

#[utoipa::path(
    patch,
    path = "/api/v2/tenants/settings",
    tag = "tenants",
    request_body = UpdateSettings,
    responses((status = 200, description = "The settings in effect after the change", body = SettingsView), (status = "4XX", description = "Refused, in the error shape", body = ErrorBody)),
    security(("bearer" = ["update:tenant_settings"]))
)]
pub(crate) async fn update_settings(
    State(state): State<AppState>,
    command: Command<UpdateSettings>,
) -> Result<Written<SettingsView>, ApiError> {
    command.caller.require("update:tenant_settings")?;
    let Command { context, body, .. } = command;
    let patch = SettingsPatch {
        support_email: body.support_email,
        support_url: body.support_url,
        default_audience: body.default_audience,
        session_lifetime: body.session_lifetime,
        idle_session_lifetime: body.idle_session_lifetime,
        allow_organization_name_in_authentication_api: body.allow_organization_name_in_authentication_api,
        password_policy: body.password_policy,
        flags: body.flags.unwrap_or_default(),
    };
    let committed = state
        .commands
        .update_tenant_settings(&context, body.friendly_name, body.domains.map(Option::unwrap_or_default), patch)
        .await
        .map_err(|e| ApiError::from_command(e, not_found))?;
    state.visible(committed.position).await?;
    let body = settings_view(&state, &context.tenant).await?;
    Ok(Written { status: StatusCode::OK, position: committed.position, replayed: committed.replayed, body: Some(body) })
}
