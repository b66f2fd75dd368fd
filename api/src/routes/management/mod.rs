//! The Management API v2 under `/api/v2`: Auth0's paths, field names and list envelopes.
//! Handlers parse, check the caller's permission, run one command or query, and shape the
//! answer; the rules live in the domain and the command layer.

pub(crate) mod client_grants;
pub(crate) mod clients;
mod lists;
pub(crate) mod organizations;
pub(crate) mod resource_servers;
pub(crate) mod roles;
pub(crate) mod signing_keys;
pub(crate) mod tenants;
pub(crate) mod users;

use axum::Router;

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(tenants::router())
        .merge(resource_servers::router())
        .merge(roles::router())
        .merge(users::router())
        .merge(organizations::router())
        .merge(clients::router())
        .merge(client_grants::router())
        .merge(signing_keys::router())
        .route("/openapi.json", axum::routing::get(super::openapi::document))
}

/// For PATCH bodies: tells an absent field (`None`) from an explicit `null` (`Some(None)`).
pub(crate) fn double_option<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    serde::Deserialize::deserialize(deserializer).map(Some)
}
