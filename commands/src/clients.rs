//! Client and client-grant use cases. F2 creates them only through bootstrap; F3 opens them to
//! the Management API.

use domain::client_grant::ClientGrantFields;
use domain::{TenantId, client::ClientFields};
use eventstore::UniqueChange;

use crate::streams::{self, CLIENT_GRANT};

pub(crate) fn grant_claim(tenant: &TenantId, owner: &str, grant: &ClientGrantFields) -> UniqueChange {
    UniqueChange::Claim {
        tenant_id: tenant.clone(),
        scope: CLIENT_GRANT.into(),
        value: format!("{} {}", grant.client_id, grant.audience),
        owner: owner.to_owned(),
    }
}

pub(crate) fn client_stream(tenant: &TenantId, client: &ClientFields) -> String {
    streams::client(tenant, &client.client_id)
}

pub(crate) fn grant_stream(tenant: &TenantId, grant: &ClientGrantFields) -> String {
    streams::client_grant(tenant, &grant.id)
}
