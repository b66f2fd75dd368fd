//! Stream ids and unique-value scopes: the names under which aggregates live in the log.
//! Both are stored forever, so they never change.

use domain::TenantId;

pub(crate) fn tenant(id: &TenantId) -> String {
    format!("tenant:{id}")
}

pub(crate) fn role(tenant: &TenantId, id: &str) -> String {
    format!("role:{tenant}:{id}")
}

pub(crate) fn resource_server(tenant: &TenantId, id: &str) -> String {
    format!("resource_server:{tenant}:{id}")
}

pub(crate) fn client(tenant: &TenantId, client_id: &str) -> String {
    format!("client:{tenant}:{client_id}")
}

pub(crate) fn client_grant(tenant: &TenantId, id: &str) -> String {
    format!("client_grant:{tenant}:{id}")
}

pub(crate) fn user(tenant: &TenantId, user_id: &str) -> String {
    format!("user:{tenant}:{user_id}")
}

/// A user's logins, apart from the user's own stream; attempts naming no known user share one.
pub(crate) fn login(tenant: &TenantId, user_id: Option<&str>) -> String {
    format!("login:{tenant}:{}", user_id.unwrap_or(domain::login::UNKNOWN_USER))
}

/// A tenant's signing keys' lifecycle.
pub(crate) fn signing_keys(tenant: &TenantId) -> String {
    format!("signing_keys:{tenant}")
}

/// One rotating refresh token and its successors.
pub(crate) fn refresh_token(tenant: &TenantId, id: &str) -> String {
    format!("refresh_token:{tenant}:{id}")
}

pub(crate) fn organization(tenant: &TenantId, id: &str) -> String {
    format!("organization:{tenant}:{id}")
}

/// Role names, case-insensitively: `Admin` and `admin` are the same name.
pub(crate) const ROLE_NAME: &str = "role_name";
pub(crate) const RESOURCE_SERVER_IDENTIFIER: &str = "resource_server_identifier";
/// Emails per tenant, as blind indexes (keyed digests of the lowercased address): the
/// uniqueness check never stores the address itself.
pub(crate) const USER_EMAIL: &str = "user_email";
/// Organization names (already lowercase slugs).
pub(crate) const ORGANIZATION_NAME: &str = "organization_name";
/// Custom domains, across all tenants: claimed under the control plane, since a host can
/// address one tenant only.
pub(crate) const TENANT_DOMAIN: &str = "tenant_domain";
/// One grant per client and audience: the value is `<client_id> <audience>`.
pub(crate) const CLIENT_GRANT: &str = "client_grant";

pub(crate) fn role_name_key(name: &str) -> String {
    name.to_lowercase()
}

/// The message a client sees when a unique value is taken.
pub(crate) fn describe_unique(scope: &str, value: &str) -> String {
    match scope {
        ROLE_NAME => format!("A role with the name {value:?} already exists"),
        RESOURCE_SERVER_IDENTIFIER => format!("A resource server with the identifier {value:?} already exists"),
        CLIENT_GRANT => "A client grant for this client and audience already exists".into(),
        USER_EMAIL => "A user with this email already exists".into(),
        ORGANIZATION_NAME => format!("An organization with the name {value:?} already exists"),
        TENANT_DOMAIN => format!("The domain {value:?} is already a custom domain of a tenant"),
        _ => format!("{scope} {value:?} is already taken"),
    }
}
