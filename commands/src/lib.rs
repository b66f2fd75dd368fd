//! Command handlers: one per use case. Each loads the state it needs from the log, lets the
//! domain decide, and appends the decision with expected versions, unique-value claims and the
//! caller's idempotency key in one atomic append.
//!
//! Rules that span aggregates (a role name unique per tenant, a permission naming a scope that
//! exists) are enforced in that same append, never by reading a read model that may lag.
//! This crate must never read a read model: only the log.

mod bootstrap;
mod clients;
mod context;
mod error;
mod executor;
mod ids;
mod logins;
mod organizations;
mod refresh_tokens;
mod resource_servers;
mod revocations;
mod roles;
mod signing_keys;
mod streams;
mod synced;
mod tenants;
mod users;

pub use bootstrap::{Bootstrap, BootstrapAdmin, BootstrapOutcome};
pub use context::{Committed, Context};
pub use error::CommandError;
pub use ids::{new_client_id, new_client_secret, new_refresh_token, new_refresh_token_id, new_user_id, random_string};
pub use logins::LoginAttempt;
pub use organizations::{NewOrganization, OrganizationChanges};
pub use refresh_tokens::{NewRefreshToken, RefreshSession};
pub use resource_servers::NewResourceServer;
pub use roles::RoleChanges;
pub use tenants::NewTenant;
pub use users::{NewUser, PersonalFields, UserPatch};

use std::sync::Arc;

use domain::sync::SyncOptions;
use eventstore::{EventStore, Vault};

/// The write side of tenancy. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Commands {
    store: EventStore,
    /// Seals personal fields with each person's data key before they reach the domain.
    vault: Arc<Vault>,
    /// What the control plane syncs into child tenants.
    sync: SyncOptions,
    /// The domain whose subdomains address tenants: no custom domain may lie within it.
    base_domain: Option<String>,
}

impl Commands {
    pub fn new(store: EventStore, vault: Arc<Vault>) -> Self {
        Self { store, vault, sync: SyncOptions::default(), base_domain: None }
    }

    pub fn store(&self) -> &EventStore {
        &self.store
    }
}
