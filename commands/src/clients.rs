//! Client and client-grant use cases. F2 creates them only through bootstrap; F3 opens them to
//! the Management API.

use domain::TenantId;
use domain::client_grant::ClientGrantFields;
use eventstore::UniqueChange;

use crate::streams::CLIENT_GRANT;

pub(crate) fn grant_claim(tenant: &TenantId, owner: &str, grant: &ClientGrantFields) -> UniqueChange {
    UniqueChange::Claim {
        tenant_id: tenant.clone(),
        scope: CLIENT_GRANT.into(),
        value: format!("{} {}", grant.client_id, grant.audience),
        owner: owner.to_owned(),
    }
}
