//! `Permission`: a scope of a resource server, as roles (and later users) hold it.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// A permission names a scope (`read:invoices`) of a resource server by its identifier
/// (`https://api.example.com/`). Ordered so sets of permissions list deterministically.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Permission {
    pub resource_server_identifier: String,
    pub permission_name: String,
}

impl Permission {
    pub fn new(resource_server_identifier: impl Into<String>, permission_name: impl Into<String>) -> Self {
        Self { resource_server_identifier: resource_server_identifier.into(), permission_name: permission_name.into() }
    }
}

/// A request's permissions as a set: non-empty, each part non-blank; duplicates within the
/// request collapse to one. `Err(None)` means the list was empty, `Err(Some(message))` names
/// the part at fault.
pub(crate) fn check_set(permissions: Vec<Permission>) -> Result<BTreeSet<Permission>, Option<String>> {
    if permissions.is_empty() {
        return Err(None);
    }
    for p in &permissions {
        if p.resource_server_identifier.trim().is_empty() {
            return Err(Some("resource_server_identifier must not be empty".into()));
        }
        if p.permission_name.trim().is_empty() {
            return Err(Some("permission_name must not be empty".into()));
        }
    }
    Ok(permissions.into_iter().collect())
}
