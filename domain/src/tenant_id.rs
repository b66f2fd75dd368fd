//! `TenantId`: the identifier every key, stream and query is scoped by.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// A tenant's identifier: 1–63 characters of `a-z`, `0-9`, `-` and `_`, starting with a letter
/// or digit. The control plane is a tenant too (`control_plane`).
///
/// Parsed once at the edge; everything inside the system can rely on it being valid.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct TenantId(String);

/// Why a string is not a valid [`TenantId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidTenantId {
    #[error("a tenant id must not be empty")]
    Empty,
    #[error("a tenant id must be at most {max} characters, got {len}")]
    TooLong { len: usize, max: usize },
    #[error("a tenant id must start with a lowercase letter or a digit")]
    BadStart,
    #[error("a tenant id may only contain lowercase letters, digits, '-' and '_', found {0:?}")]
    BadCharacter(char),
}

impl TenantId {
    pub const MAX_LEN: usize = 63;
    /// The identifier of the control plane, the tenant that manages all others.
    pub const CONTROL_PLANE: &'static str = "control_plane";

    pub fn parse(value: impl Into<String>) -> Result<Self, InvalidTenantId> {
        let value = value.into();
        let first = value.chars().next().ok_or(InvalidTenantId::Empty)?;
        if value.len() > Self::MAX_LEN {
            return Err(InvalidTenantId::TooLong { len: value.len(), max: Self::MAX_LEN });
        }
        if !(first.is_ascii_lowercase() || first.is_ascii_digit()) {
            return Err(InvalidTenantId::BadStart);
        }
        if let Some(bad) =
            value.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_'))
        {
            return Err(InvalidTenantId::BadCharacter(bad));
        }
        Ok(Self(value))
    }

    pub fn control_plane() -> Self {
        Self(Self::CONTROL_PLANE.to_owned())
    }

    pub fn is_control_plane(&self) -> bool {
        self.0 == Self::CONTROL_PLANE
    }

    /// Whether this id is a subdomain kept for the deployment itself (DESIGN.md §5): a tenant
    /// `www` would own `www.<base-domain>`. Such ids cannot be given to new tenants.
    pub fn is_reserved(&self) -> bool {
        RESERVED_SUBDOMAINS.contains(&self.0.as_str())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Subdomains of the base domain that never address a tenant: the deployment's own hosts.
pub const RESERVED_SUBDOMAINS: &[&str] = &[
    "www",
    "api",
    "admin",
    "app",
    "auth",
    "login",
    "logout",
    "oauth",
    "sso",
    "id",
    "account",
    "accounts",
    "manage",
    "management",
    "dashboard",
    "console",
    "portal",
    "status",
    "docs",
    "help",
    "support",
    "mail",
    "smtp",
    "static",
    "assets",
    "cdn",
    "media",
    "blog",
    "dev",
    "staging",
    "test",
    "internal",
    "localhost",
];

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for TenantId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for TenantId {
    type Err = InvalidTenantId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl<'de> Deserialize<'de> for TenantId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lowercase_slug_is_a_valid_tenant_id() {
        assert_eq!(TenantId::parse("acme-01").unwrap().as_str(), "acme-01");
    }

    #[test]
    fn the_control_plane_id_is_valid_and_recognised() {
        let id = TenantId::parse("control_plane").unwrap();
        assert!(id.is_control_plane());
        assert_eq!(id, TenantId::control_plane());
    }

    #[test]
    fn an_empty_tenant_id_is_rejected() {
        assert_eq!(TenantId::parse(""), Err(InvalidTenantId::Empty));
    }

    #[test]
    fn an_uppercase_letter_is_rejected() {
        assert_eq!(TenantId::parse("Acme"), Err(InvalidTenantId::BadStart));
        assert_eq!(TenantId::parse("aCme"), Err(InvalidTenantId::BadCharacter('C')));
    }

    #[test]
    fn a_tenant_id_cannot_start_with_a_dash() {
        assert_eq!(TenantId::parse("-acme"), Err(InvalidTenantId::BadStart));
    }

    #[test]
    fn a_tenant_id_longer_than_63_characters_is_rejected() {
        let long = "a".repeat(64);
        assert_eq!(TenantId::parse(long), Err(InvalidTenantId::TooLong { len: 64, max: 63 }));
        assert!(TenantId::parse("a".repeat(63)).is_ok());
    }

    #[test]
    fn the_deployments_own_subdomains_are_reserved() {
        assert!(TenantId::parse("www").unwrap().is_reserved());
        assert!(TenantId::parse("admin").unwrap().is_reserved());
        assert!(!TenantId::parse("acme").unwrap().is_reserved());
    }

    #[test]
    fn deserializing_validates_the_tenant_id() {
        assert!(serde_json::from_str::<TenantId>("\"acme\"").is_ok());
        assert!(serde_json::from_str::<TenantId>("\"a b\"").is_err());
    }
}
