//! Clients and their grants in memory: what the token, introspection and revocation endpoints
//! need to authenticate a client and to know what it may ask for (scopes, organizations), on
//! every request, without a database round trip; and the grants of an organization. Rebuilt from the log at start and exact once a command's position is
//! applied, like every memory model; the `clients.v1` tables keep serving the Management API.

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
    state: RwLock<State>,
}

#[derive(Debug, Default)]
struct State {
    clients: HashMap<(TenantId, String), ClientCredentials>,
    /// (tenant, client id, audience) → the grant.
    grants: HashMap<(TenantId, String, String), ClientGrantFields>,
    /// (tenant, grant id) → (client id, audience): a deleted grant's event names its key.
    grant_keys: HashMap<(TenantId, String), (String, String)>,
}

impl Applications {
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// What authenticates the client `client_id` of `tenant`.
    pub fn credentials(&self, tenant: &TenantId, client_id: &str) -> Option<ClientCredentials> {
        self.read().clients.get(&(tenant.clone(), client_id.to_owned())).cloned()
    }

    /// The client's grant for `audience`, if it has one.
    pub fn grant(&self, tenant: &TenantId, client_id: &str, audience: &str) -> Option<ClientGrantFields> {
        self.read().grants.get(&(tenant.clone(), client_id.to_owned(), audience.to_owned())).cloned()
    }

    /// The grants associated with the organization, by client and audience.
    pub fn organization_grants(&self, tenant: &TenantId, organization_id: &str) -> Vec<ClientGrantFields> {
        let state = self.read();
        let mut grants: Vec<ClientGrantFields> = state
            .grants
            .iter()
            .filter(|((t, _, _), grant)| t == tenant && grant.organizations.contains(organization_id))
            .map(|(_, grant)| grant.clone())
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
        // Decode before taking the lock: a failure leaves the model as it was.
        let change = if event.event_type == TENANT_DELETED {
            Change::TenantDeleted
        } else if event.event_type == "organization.deleted" {
            match decode::<OrganizationEvent>(event)? {
                OrganizationEvent::Deleted { id, .. } => Change::OrganizationDeleted(id),
                _ => return Ok(()),
            }
        } else if event.event_type.starts_with("client_grant.") {
            Change::Grant(decode::<ClientGrantEvent>(event)?)
        } else {
            Change::Client(decode::<ClientEvent>(event)?)
        };
        let mut state = self.state.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        match change {
            Change::TenantDeleted => {
                state.clients.retain(|(t, _), _| t != tenant);
                state.grants.retain(|(t, _, _), _| t != tenant);
                state.grant_keys.retain(|(t, _), _| t != tenant);
            }
            Change::Client(ClientEvent::Created(client)) => {
                let credentials = ClientCredentials {
                    client_id: client.client_id.clone(),
                    secret_hash: client.secret_hash,
                    grant_types: client.settings.grant_types,
                    token_endpoint_auth_method: client.settings.token_endpoint_auth_method,
                };
                state.clients.insert((tenant.clone(), client.client_id), credentials);
            }
            Change::Client(ClientEvent::Updated { client_id, settings }) => {
                if let Some(client) = state.clients.get_mut(&(tenant.clone(), client_id)) {
                    client.grant_types = settings.grant_types;
                    client.token_endpoint_auth_method = settings.token_endpoint_auth_method;
                }
            }
            Change::Client(ClientEvent::SecretRotated { client_id, secret_hash }) => {
                if let Some(client) = state.clients.get_mut(&(tenant.clone(), client_id)) {
                    client.secret_hash = secret_hash;
                }
            }
            Change::Client(ClientEvent::Deleted { client_id }) => {
                state.clients.remove(&(tenant.clone(), client_id.clone()));
                state.grants.retain(|(t, client, _), _| !(t == tenant && *client == client_id));
                state.grant_keys.retain(|(t, _), (client, _)| !(t == tenant && *client == client_id));
            }
            Change::OrganizationDeleted(organization_id) => {
                for ((t, _, _), grant) in &mut state.grants {
                    if t == tenant {
                        grant.organizations.remove(&organization_id);
                    }
                }
            }
            Change::Grant(ClientGrantEvent::Created(grant) | ClientGrantEvent::Updated(grant)) => {
                let key = (tenant.clone(), grant.client_id.clone(), grant.audience.clone());
                state
                    .grant_keys
                    .insert((tenant.clone(), grant.id.clone()), (grant.client_id.clone(), grant.audience.clone()));
                state.grants.insert(key, grant);
            }
            Change::Grant(ClientGrantEvent::OrganizationAdded { client_id, audience, organization_id, .. }) => {
                if let Some(grant) = state.grants.get_mut(&(tenant.clone(), client_id, audience)) {
                    grant.organizations.insert(organization_id);
                }
            }
            Change::Grant(ClientGrantEvent::OrganizationRemoved { client_id, audience, organization_id, .. }) => {
                if let Some(grant) = state.grants.get_mut(&(tenant.clone(), client_id, audience)) {
                    grant.organizations.remove(&organization_id);
                }
            }
            Change::Grant(ClientGrantEvent::Deleted { id, .. }) => {
                if let Some((client_id, audience)) = state.grant_keys.remove(&(tenant.clone(), id)) {
                    state.grants.remove(&(tenant.clone(), client_id, audience));
                }
            }
        }
        Ok(())
    }
}

enum Change {
    TenantDeleted,
    OrganizationDeleted(String),
    Client(ClientEvent),
    Grant(ClientGrantEvent),
}

#[cfg(test)]
mod tests {
    use domain::client::{ClientFields, ClientSettings};
    use domain::client_grant::ClientGrantFields;
    use domain::event::encode;

    use super::*;

    fn recorded<E: serde::Serialize>(tenant: &str, event: &E) -> RecordedEvent {
        let (event_type, payload) = encode(event).unwrap();
        RecordedEvent {
            position: 1,
            event_id: uuid::Uuid::nil(),
            tenant_id: TenantId::parse(tenant).unwrap(),
            stream_id: "client:test".into(),
            stream_version: 1,
            event_type,
            revision: 1,
            payload,
            metadata: eventstore::Metadata::default(),
            recorded_at: chrono::Utc::now(),
        }
    }

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
