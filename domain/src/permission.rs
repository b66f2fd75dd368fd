//! `Permission`: a scope of a resource server, as roles (and later users) hold it.

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
