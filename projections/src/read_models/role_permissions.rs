//! Roles' permissions in memory: what `GET /roles/{id}/permissions` answers from, and what the
//! token-claims model ([`super::claims`]) resolves role ids with. Holds, per tenant, each role's
//! name and permissions and each resource server, which is also what the token endpoint reads
//! an audience's settings from (lifetime, algorithm, offline access).
//!
//! The control plane's synced roles and APIs are not copied per child tenant here: a child's
//! lookup falls back to the control plane's entry, which costs nothing per tenant and is
//! exact at once (the SQL fan-out copies them, for queries that join).

use std::collections::{BTreeSet, HashMap};
use std::sync::RwLock;

use domain::resource_server::ResourceServerEvent;
use domain::role::RoleEvent;
use domain::{Permission, TenantId};
use eventstore::RecordedEvent;

use super::fanout::SyncOptions;
use super::resource_servers::ResourceServerView;
use super::roles::RolePermissionView;
use super::{Listed, Page, decode};
use crate::{MemoryProjection, ProjectionError};

#[derive(Debug, Default)]
pub struct RolePermissions {
    state: RwLock<State>,
    sync: SyncOptions,
}

#[derive(Debug, Default)]
struct State {
    roles: HashMap<(TenantId, String), Role>,
    /// (tenant, identifier) → the API
    apis: HashMap<(TenantId, String), Api>,
}

#[derive(Debug)]
struct Api {
    view: ResourceServerView,
    /// Scope value → description.
    descriptions: HashMap<String, String>,
}

#[derive(Debug, Default)]
struct Role {
    name: String,
    permissions: BTreeSet<Permission>,
}

impl MemoryProjection for RolePermissions {
    fn name(&self) -> &str {
        "role_permissions.memory"
    }

    fn event_types(&self) -> &[&str] {
        &[
            "role.created",
            "role.updated",
            "role.permissions_added",
            "role.permissions_removed",
            "role.deleted",
            "resource_server.created",
            "resource_server.updated",
            "resource_server.deleted",
            super::TENANT_DELETED,
        ]
    }

    fn apply(&self, event: &RecordedEvent) -> Result<(), ProjectionError> {
        let tenant = event.tenant_id.clone();
        if event.event_type == super::TENANT_DELETED {
            // The tenant's own stream carries its deletion: `tenant` is the deleted one.
            let mut state = self.state.write().unwrap_or_else(std::sync::PoisonError::into_inner);
            state.roles.retain(|(owner, _), _| *owner != tenant);
            state.apis.retain(|(owner, _), _| *owner != tenant);
            return Ok(());
        }
        // Decode before locking: a bad payload changes nothing.
        if event.event_type.starts_with("resource_server.") {
            let decoded = decode::<ResourceServerEvent>(event)?;
            let mut state = self.state.write().unwrap_or_else(std::sync::PoisonError::into_inner);
            match decoded {
                ResourceServerEvent::Created(f) | ResourceServerEvent::Updated(f) => {
                    let descriptions = f.scopes.iter().map(|s| (s.value.clone(), s.description.clone())).collect();
                    let view = ResourceServerView::from(&f);
                    state.apis.insert((tenant, f.identifier), Api { view, descriptions });
                }
                ResourceServerEvent::Deleted { identifier, .. } => {
                    state.apis.remove(&(tenant, identifier));
                }
            }
            return Ok(());
        }
        let decoded = decode::<RoleEvent>(event)?;
        let mut state = self.state.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        match decoded {
            RoleEvent::Created { id, name, .. } => {
                state.roles.insert((tenant, id), Role { name, permissions: BTreeSet::new() });
            }
            RoleEvent::Updated { id, name, .. } => {
                if let Some(role) = state.roles.get_mut(&(tenant, id)) {
                    role.name = name;
                }
            }
            RoleEvent::PermissionsAdded { id, permissions } => {
                state.roles.entry((tenant, id)).or_default().permissions.extend(permissions);
            }
            RoleEvent::PermissionsRemoved { id, permissions } => {
                if let Some(role) = state.roles.get_mut(&(tenant, id)) {
                    for permission in &permissions {
                        role.permissions.remove(permission);
                    }
                }
            }
            RoleEvent::Deleted { id, .. } => {
                state.roles.remove(&(tenant, id));
            }
        }
        Ok(())
    }
}

impl RolePermissions {
    pub fn new(sync: SyncOptions) -> Self {
        Self { state: RwLock::default(), sync }
    }

    /// The role's permissions in (identifier, name) order, with their resource server's name and
    /// the scope's description; `None` when the role does not exist. Permissions of a resource
    /// server that no longer exists are not listed, as in the SQL model.
    pub fn list(&self, tenant: &TenantId, role_id: &str, page: Page) -> Option<Listed<RolePermissionView>> {
        let state = self.state.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let held = &self.role(&state, tenant, role_id)?.permissions;
        let mut total = 0;
        let mut items = Vec::new();
        let skip = usize::try_from(page.offset()).unwrap_or(usize::MAX);
        let take = usize::try_from(page.limit()).unwrap_or(usize::MAX);
        for permission in held {
            let Some((api, _)) = self.api(&state, tenant, &permission.resource_server_identifier) else {
                continue;
            };
            if total >= skip && items.len() < take {
                items.push(RolePermissionView {
                    resource_server_identifier: permission.resource_server_identifier.clone(),
                    permission_name: permission.permission_name.clone(),
                    resource_server_name: api.view.name.clone(),
                    description: api.descriptions.get(&permission.permission_name).cloned().unwrap_or_default(),
                });
            }
            total += 1;
        }
        Some(Listed { items, total: total as u64 })
    }

    /// The names of the roles of `ids` that exist (in `ids`' order) and the union of their
    /// permissions. A role deleted since it was assigned is not there.
    pub fn resolve<'a>(
        &self,
        tenant: &TenantId,
        ids: impl IntoIterator<Item = &'a String>,
    ) -> (Vec<String>, BTreeSet<Permission>) {
        let state = self.state.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut names = Vec::new();
        let mut permissions = BTreeSet::new();
        for role in ids.into_iter().filter_map(|id| self.role(&state, tenant, id)) {
            names.push(role.name.clone());
            permissions.extend(role.permissions.iter().cloned());
        }
        (names, permissions)
    }

    /// The tenant's resource server of `identifier` as its SQL read model shows it: its own, or
    /// the control plane's synced into it (read-only there, `is_system`). What the token
    /// endpoint reads an audience's settings from, without a query.
    pub fn resource_server(&self, tenant: &TenantId, identifier: &str) -> Option<ResourceServerView> {
        let state = self.state.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (api, synced) = self.api(&state, tenant, identifier)?;
        let mut view = api.view.clone();
        view.is_system |= synced;
        Some(view)
    }

    /// A resource server of the tenant or, when APIs are synced, a control-plane one that is
    /// not a system API (the Management API stays the control plane's): `true` for the latter.
    fn api<'s>(&self, state: &'s State, tenant: &TenantId, identifier: &str) -> Option<(&'s Api, bool)> {
        if let Some(api) = state.apis.get(&(tenant.clone(), identifier.to_owned())) {
            return Some((api, false));
        }
        let synced = self.sync.resource_servers && !tenant.is_control_plane();
        let api = synced.then(|| state.apis.get(&(TenantId::control_plane(), identifier.to_owned()))).flatten()?;
        (!api.view.is_system).then_some((api, true))
    }

    /// A role of the tenant, or a control-plane role synced into it.
    fn role<'s>(&self, state: &'s State, tenant: &TenantId, id: &str) -> Option<&'s Role> {
        state.roles.get(&(tenant.clone(), id.to_owned())).or_else(|| {
            (self.sync.roles && !tenant.is_control_plane())
                .then(|| state.roles.get(&(TenantId::control_plane(), id.to_owned())))
                .flatten()
        })
    }
}

#[cfg(test)]
mod tests {
    use domain::resource_server::{ResourceServerFields, SigningAlg};

    use super::*;
    use crate::read_models::recorded;

    fn api(id: &str, identifier: &str, lifetime: u32, is_system: bool) -> ResourceServerEvent {
        ResourceServerEvent::Created(ResourceServerFields {
            id: id.into(),
            name: format!("API {id}"),
            identifier: identifier.into(),
            scopes: Vec::new(),
            signing_alg: SigningAlg::RS256,
            token_lifetime: lifetime,
            allow_offline_access: false,
            skip_consent_for_verifiable_first_party_clients: false,
            is_system,
        })
    }

    fn lifetime(model: &RolePermissions, tenant: &str, identifier: &str) -> Option<(u32, bool)> {
        let view = model.resource_server(&TenantId::parse(tenant).unwrap(), identifier)?;
        Some((view.token_lifetime, view.is_system))
    }

    #[test]
    fn a_child_tenant_reads_its_own_api_first_then_the_control_planes_synced_one_never_a_system_one() {
        let model = RolePermissions::new(SyncOptions::default());
        model.apply(&recorded("control_plane", &api("rs_1", "https://shared/", 600, false))).unwrap();
        model.apply(&recorded("control_plane", &api("rs_2", "https://own/", 600, false))).unwrap();
        model.apply(&recorded("control_plane", &api("rs_3", "https://manage/", 600, true))).unwrap();
        model.apply(&recorded("acme", &api("rs_4", "https://own/", 60, false))).unwrap();

        assert_eq!(lifetime(&model, "acme", "https://shared/"), Some((600, true)), "synced: read-only there");
        assert_eq!(lifetime(&model, "acme", "https://own/"), Some((60, false)), "its own wins");
        assert_eq!(lifetime(&model, "acme", "https://manage/"), None, "a system API stays the control plane's");
        assert_eq!(lifetime(&model, "control_plane", "https://manage/"), Some((600, true)));

        let unsynced = RolePermissions::new(SyncOptions { roles: true, resource_servers: false });
        unsynced.apply(&recorded("control_plane", &api("rs_1", "https://shared/", 600, false))).unwrap();
        assert_eq!(lifetime(&unsynced, "acme", "https://shared/"), None);
    }
}
