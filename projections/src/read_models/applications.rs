//! Clients and their grants in memory: what the token, introspection and revocation endpoints
//! need to authenticate a client and to know what it may ask for (scopes, organizations), on
//! every request, without a database round trip; and the grants of an organization. Rebuilt
//! from the log at start and exact once a command's position is applied, like every memory
//! model; the `clients.v1` tables keep serving the Management API.
//!
//! Keyed tenant, then client, then audience: a lookup borrows its keys, a client's grants leave
//! with it, and a tenant's with the tenant.

use std::collections::HashMap;
use std::sync::RwLock;

use domain::TenantId;
use domain::client::ClientEvent;
use domain::client_grant::{ClientGrantEvent, ClientGrantFields};
use domain::organization::OrganizationEvent;
use eventstore::RecordedEvent;

use super::clients::ClientCredentials;
use super::{TENANT_DELETED, decode};
use crate::{MemoryProjection, ProjectionError};

#[derive(Debug, Default)]
pub struct Applications {
    /// Tenant → client id → the client.
    state: RwLock<HashMap<TenantId, HashMap<String, Client>>>,
}

#[derive(Debug)]
struct Client {
    credentials: ClientCredentials,
    /// Audience → the client's grant for it.
    grants: HashMap<String, ClientGrantFields>,
}

impl Applications {
    pub fn new() -> Self {
        Self::default()
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<TenantId, HashMap<String, Client>>> {
        self.state.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Reads the client `client_id` of `tenant`, if it exists.
    fn with_client<T>(&self, tenant: &TenantId, client_id: &str, read: impl FnOnce(&Client) -> Option<T>) -> Option<T> {
        let state = self.state.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        state.get(tenant).and_then(|clients| clients.get(client_id)).and_then(read)
    }

    /// What authenticates the client `client_id` of `tenant`.
    pub fn credentials(&self, tenant: &TenantId, client_id: &str) -> Option<ClientCredentials> {
        self.with_client(tenant, client_id, |client| Some(client.credentials.clone()))
    }

    /// The client's grant for `audience`, if it has one.
    pub fn grant(&self, tenant: &TenantId, client_id: &str, audience: &str) -> Option<ClientGrantFields> {
        self.with_client(tenant, client_id, |client| client.grants.get(audience).cloned())
    }

    /// The grants associated with the organization, by client and audience.
    pub fn organization_grants(&self, tenant: &TenantId, organization_id: &str) -> Vec<ClientGrantFields> {
        let state = self.state.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut grants: Vec<ClientGrantFields> = state
            .get(tenant)
            .into_iter()
            .flat_map(|clients| clients.values())
            .flat_map(|client| client.grants.values())
            .filter(|grant| grant.organizations.contains(organization_id))
            .cloned()
            .collect();
        grants.sort_by(|a, b| (&a.client_id, &a.audience).cmp(&(&b.client_id, &b.audience)));
        grants
    }
}

impl MemoryProjection for Applications {
    fn name(&self) -> &str {
        "applications.memory"
    }

    fn event_types(&self) -> &[&str] {
        &[
            "client.created",
            "client.updated",
            "client.secret_rotated",
            "client.deleted",
            "client_grant.created",
            "client_grant.updated",
            "client_grant.deleted",
            "client_grant.organization_added",
            "client_grant.organization_removed",
            "organization.deleted",
            TENANT_DELETED,
        ]
    }

    fn apply(&self, event: &RecordedEvent) -> Result<(), ProjectionError> {
        let tenant = &event.tenant_id;
        if event.event_type == TENANT_DELETED {
            self.write().remove(tenant);
            return Ok(());
        }
        // Decode before taking the lock: a failure leaves the model as it was.
        let change = if event.event_type == "organization.deleted" {
            match decode::<OrganizationEvent>(event)? {
                OrganizationEvent::Deleted { id, .. } => Change::OrganizationDeleted(id),
                _ => return Ok(()),
            }
        } else if event.event_type.starts_with("client_grant.") {
            Change::Grant(decode::<ClientGrantEvent>(event)?)
        } else {
            Change::Client(decode::<ClientEvent>(event)?)
        };
        apply(self.write().entry(tenant.clone()).or_default(), change);
        Ok(())
    }
}

/// A change to one tenant's clients.
fn apply(clients: &mut HashMap<String, Client>, change: Change) {
    match change {
        Change::Client(ClientEvent::Created(client)) => {
            let credentials = ClientCredentials {
                client_id: client.client_id.clone(),
                secret_hash: client.secret_hash,
                grant_types: client.settings.grant_types,
                token_endpoint_auth_method: client.settings.token_endpoint_auth_method,
            };
            clients.insert(client.client_id, Client { credentials, grants: HashMap::new() });
        }
        Change::Client(ClientEvent::Updated { client_id, settings }) => {
            if let Some(client) = clients.get_mut(&client_id) {
                client.credentials.grant_types = settings.grant_types;
                client.credentials.token_endpoint_auth_method = settings.token_endpoint_auth_method;
            }
        }
        Change::Client(ClientEvent::SecretRotated { client_id, secret_hash }) => {
            if let Some(client) = clients.get_mut(&client_id) {
                client.credentials.secret_hash = secret_hash;
            }
        }
        Change::Client(ClientEvent::Deleted { client_id }) => {
            clients.remove(&client_id);
        }
        Change::OrganizationDeleted(organization_id) => {
            for grant in clients.values_mut().flat_map(|client| client.grants.values_mut()) {
                grant.organizations.remove(&organization_id);
            }
        }
        Change::Grant(ClientGrantEvent::Created(grant) | ClientGrantEvent::Updated(grant)) => {
            if let Some(client) = clients.get_mut(&grant.client_id) {
                client.grants.insert(grant.audience.clone(), grant);
            }
        }
        Change::Grant(ClientGrantEvent::OrganizationAdded { client_id, audience, organization_id, .. }) => {
            if let Some(grant) = grant_mut(clients, &client_id, &audience) {
                grant.organizations.insert(organization_id);
            }
        }
        Change::Grant(ClientGrantEvent::OrganizationRemoved { client_id, audience, organization_id, .. }) => {
            if let Some(grant) = grant_mut(clients, &client_id, &audience) {
                grant.organizations.remove(&organization_id);
            }
        }
        Change::Grant(ClientGrantEvent::Deleted { id, client_id, audience }) => {
            // Only the grant the event names: the pair may already be a newer grant's.
            if let Some(client) = clients.get_mut(&client_id)
                && client.grants.get(&audience).is_some_and(|grant| grant.id == id)
            {
                client.grants.remove(&audience);
            }
        }
    }
}

fn grant_mut<'a>(
    clients: &'a mut HashMap<String, Client>,
    client_id: &str,
    audience: &str,
) -> Option<&'a mut ClientGrantFields> {
    clients.get_mut(client_id)?.grants.get_mut(audience)
}

enum Change {
    OrganizationDeleted(String),
    Client(ClientEvent),
    Grant(ClientGrantEvent),
}

#[cfg(test)]
mod tests {
    use domain::client::{ClientFields, ClientSettings};
    use domain::client_grant::ClientGrantFields;

    use super::*;
    use crate::read_models::recorded;

    fn grant(id: &str, scope: &[&str]) -> ClientGrantFields {
        ClientGrantFields {
            id: id.into(),
            client_id: "app".into(),
            audience: "https://api/".into(),
            scope: scope.iter().map(|s| (*s).to_owned()).collect(),
            ..ClientGrantFields::default()
        }
    }

    #[test]
    fn a_client_and_its_grants_follow_the_log_and_leave_with_the_client() {
        let model = Applications::new();
        let acme = TenantId::parse("acme").unwrap();
        let fields = ClientFields {
            client_id: "app".into(),
            settings: ClientSettings::machine("App"),
            secret_hash: "hmac-sha256:1".into(),
        };
        model.apply(&recorded("acme", &ClientEvent::Created(fields))).unwrap();
        model.apply(&recorded("acme", &ClientGrantEvent::Created(grant("cgr_1", &["read"])))).unwrap();
        model.apply(&recorded("acme", &ClientGrantEvent::Updated(grant("cgr_1", &["read", "write"])))).unwrap();
        let rotated = ClientEvent::SecretRotated { client_id: "app".into(), secret_hash: "hmac-sha256:2".into() };
        model.apply(&recorded("acme", &rotated)).unwrap();
        assert_eq!(model.credentials(&acme, "app").unwrap().secret_hash, "hmac-sha256:2");
        assert_eq!(model.grant(&acme, "app", "https://api/").unwrap().scope, ["read", "write"]);
        assert_eq!(model.credentials(&TenantId::parse("other").unwrap(), "app"), None, "tenant first");

        let deleted =
            ClientGrantEvent::Deleted { id: "cgr_1".into(), client_id: "app".into(), audience: "https://api/".into() };
        model.apply(&recorded("acme", &deleted)).unwrap();
        assert_eq!(model.grant(&acme, "app", "https://api/"), None);
        model.apply(&recorded("acme", &ClientGrantEvent::Created(grant("cgr_2", &["read"])))).unwrap();
        model.apply(&recorded("acme", &ClientEvent::Deleted { client_id: "app".into() })).unwrap();
        assert_eq!(model.credentials(&acme, "app"), None);
        assert_eq!(model.grant(&acme, "app", "https://api/"), None);
    }
}
