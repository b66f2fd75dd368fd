//! The tenants that exist and the custom domains that address them, in memory: what routes
//! every request to its tenant (DESIGN.md §5), so a lookup costs a hash probe, not a query.
//! Exact after every committed event like any projection that commands wait for: a tenant just
//! created, or a domain just set, routes at once.

use std::collections::{HashMap, HashSet};
use std::sync::RwLock;

use domain::TenantId;
use domain::tenant::TenantEvent;
use eventstore::RecordedEvent;

use super::decode;
use crate::{MemoryProjection, ProjectionError};

#[derive(Debug, Default)]
pub struct TenantDirectory {
    state: RwLock<State>,
}

#[derive(Debug, Default)]
struct State {
    live: HashSet<TenantId>,
    /// Custom domain (canonical) → its tenant.
    domains: HashMap<String, TenantId>,
    /// Tenant → its custom domains, sorted.
    by_tenant: HashMap<TenantId, Vec<String>>,
}

impl MemoryProjection for TenantDirectory {
    fn name(&self) -> &str {
        "tenant_directory.memory"
    }

    fn event_types(&self) -> &[&str] {
        &["tenant.created", "tenant.domains_set", super::TENANT_DELETED]
    }

    fn apply(&self, event: &RecordedEvent) -> Result<(), ProjectionError> {
        let decoded = decode::<TenantEvent>(event)?;
        let mut state = self.state.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        match decoded {
            TenantEvent::Created(fields) => {
                state.live.insert(fields.id);
            }
            TenantEvent::DomainsSet { id, domains } => {
                state.forget_domains(&id);
                for domain in &domains {
                    state.domains.insert(domain.clone(), id.clone());
                }
                state.by_tenant.insert(id, domains);
            }
            TenantEvent::Deleted { id } => {
                state.forget_domains(&id);
                state.live.remove(&id);
            }
            TenantEvent::Updated(_) | TenantEvent::SettingsUpdated { .. } => {}
        }
        Ok(())
    }
}

impl State {
    fn forget_domains(&mut self, tenant: &TenantId) {
        for domain in self.by_tenant.remove(tenant).unwrap_or_default() {
            self.domains.remove(&domain);
        }
    }
}

impl TenantDirectory {
    pub fn exists(&self, tenant: &TenantId) -> bool {
        self.read().live.contains(tenant)
    }

    /// The tenant whose custom domain `host` (canonical: lowercase, no port) is.
    pub fn by_domain(&self, host: &str) -> Option<TenantId> {
        self.read().domains.get(host).cloned()
    }

    /// The tenant's custom domains, sorted.
    pub fn domains(&self, tenant: &TenantId) -> Vec<String> {
        self.read().by_tenant.get(tenant).cloned().unwrap_or_default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
