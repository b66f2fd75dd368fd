//! `GET /api/v2/openapi.json`: the OpenAPI 3.1 document of the Management API, generated from
//! the handlers' and types' annotations, so it cannot drift from the code it describes.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::management::{client_grants, clients, organizations, resource_servers, roles, signing_keys, tenants, users};
use crate::error::ErrorBody;

#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "tenancy Management API v2",
        description = "Auth0-compatible Management API of tenancy. Every command answers with \
                       `X-Tenancy-Position` once its change is readable, and accepts an \
                       `Idempotency-Key` header."
    ),
    paths(
        tenants::list, tenants::create, tenants::read, tenants::update, tenants::delete,
        tenants::read_settings, tenants::update_settings,
        resource_servers::list, resource_servers::create, resource_servers::read, resource_servers::update,
        resource_servers::delete,
        roles::list, roles::create, roles::read, roles::update, roles::delete,
        roles::list_permissions, roles::add_permissions, roles::remove_permissions,
        users::list, users::create, users::read, users::update, users::delete, users::by_email,
        users::list_roles, users::assign_roles, users::remove_roles,
        users::list_permissions, users::add_permissions, users::remove_permissions, users::list_organizations,
        users::read_claims,
        organizations::list, organizations::create, organizations::read, organizations::by_name,
        organizations::update, organizations::delete,
        organizations::list_members, organizations::add_members, organizations::remove_members,
        organizations::list_member_roles, organizations::assign_member_roles, organizations::remove_member_roles,
        clients::list, clients::create, clients::read, clients::update, clients::delete, clients::rotate_secret,
        client_grants::list, client_grants::create, client_grants::update, client_grants::delete,
        client_grants::organization_grants, client_grants::associate, client_grants::dissociate,
        signing_keys::list, signing_keys::read, signing_keys::rotate, signing_keys::revoke,
    ),
    components(schemas(ErrorBody)),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

/// Management API tokens are bearer JWTs from `POST /oauth/token`.
#[derive(Debug)]
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
    }
}

pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
