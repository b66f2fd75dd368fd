//! Token claims in memory: for a user of a tenant, optionally in one of its organizations, the
//! roles and permissions a token carries, and what a login needs to find and check the user.
//! Served from memory on every token, introspection and claims request; rebuilt from the log
//! at start and exact once a command's position is applied.
//!
//! Roles are held as ids and resolved through [`RolePermissions`] at query time, so a role's
//! new permission, a rename or a deletion shows in every holder's claims at once, without
//! touching them. The rules (DESIGN.md §3, Auth0's): outside an organization, direct
//! permissions and the tenant roles'; in one, direct permissions and the member roles', plus
//! the tenant roles' only with the tenant flag `inherit_global_permissions_in_organizations`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::RwLock;

use domain::organization::OrganizationEvent;
use domain::settings::{EffectiveSettings, SettingsOverrides};
use domain::tenant::TenantEvent;
use domain::user::UserEvent;
use domain::{Permission, TenantId};
use eventstore::RecordedEvent;
use serde::Serialize;

use super::role_permissions::RolePermissions;
use super::{TENANT_DELETED, decode};
use crate::{MemoryProjection, ProjectionError};

/// The tenant flag that adds tenant-role permissions to organization tokens.
pub const INHERIT_GLOBAL_PERMISSIONS: &str = "inherit_global_permissions_in_organizations";

#[derive(Debug, Default)]
pub struct Claims {
    state: RwLock<State>,
}

#[derive(Debug, Default)]
struct State {
    users: HashMap<(TenantId, String), User>,
    /// (tenant, email blind index) → user id.
    by_email: HashMap<(TenantId, String), String>,
    /// (tenant, username) → user id.
    by_username: HashMap<(TenantId, String), String>,
    organizations: HashMap<(TenantId, String), Organization>,
    /// (tenant, organization name) → organization id.
    organization_names: HashMap<(TenantId, String), String>,
    settings: HashMap<TenantId, SettingsOverrides>,
}

impl State {
    /// The organization `id_or_name` names: by id first, then by name.
    fn organization(&self, tenant: &TenantId, id_or_name: &str) -> Option<(String, &Organization)> {
        let key = (tenant.clone(), id_or_name.to_owned());
        let id = match self.organizations.contains_key(&key) {
            true => id_or_name.to_owned(),
            false => self.organization_names.get(&key)?.clone(),
        };
        let organization = self.organizations.get(&(tenant.clone(), id.clone()))?;
        Some((id, organization))
    }
}

#[derive(Debug, Default)]
struct User {
    email_index: Option<String>,
    username: Option<String>,
    password_hash: Option<String>,
    blocked: bool,
    roles: BTreeSet<String>,
    permissions: BTreeSet<Permission>,
}

#[derive(Debug, Default)]
struct Organization {
    name: String,
    /// Member → the role ids they hold in the organization.
    members: BTreeMap<String, BTreeSet<String>>,
}

/// What a token says about a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserClaims {
    pub user_id: String,
    /// Role names.
    pub roles: Vec<String>,
    pub permissions: Vec<Permission>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_name: Option<String>,
    pub blocked: bool,
}

/// Why there are no claims.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimsError {
    #[error("The user does not exist.")]
    UnknownUser,
    #[error("The organization does not exist.")]
    UnknownOrganization,
    #[error("The user is not a member of the organization.")]
    NotAMember,
}

/// What the password grant needs to check a user, found by email or username.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginUser {
    pub user_id: String,
    pub password_hash: Option<String>,
    pub blocked: bool,
}

impl MemoryProjection for Claims {
    fn name(&self) -> &str {
        "claims.memory"
    }

    fn event_types(&self) -> &[&str] {
        &[
            "user.created",
            "user.updated",
            "user.password_changed",
            "user.roles_assigned",
            "user.roles_removed",
            "user.permissions_added",
            "user.permissions_removed",
            "user.deleted",
            "organization.created",
            "organization.updated",
            "organization.members_added",
            "organization.members_removed",
            "organization.member_roles_assigned",
            "organization.member_roles_removed",
            "organization.deleted",
            "tenant.created",
            "tenant.settings_updated",
            TENANT_DELETED,
        ]
    }

    fn apply(&self, event: &RecordedEvent) -> Result<(), ProjectionError> {
        let tenant = event.tenant_id.clone();
        // Decode before locking: a bad payload changes nothing.
        if event.event_type.starts_with("user.") {
            let decoded = decode::<UserEvent>(event)?;
            self.write().apply_user(tenant, decoded);
        } else if event.event_type.starts_with("organization.") {
            let decoded = decode::<OrganizationEvent>(event)?;
            self.write().apply_organization(tenant, decoded);
        } else {
            let decoded = decode::<TenantEvent>(event)?;
            self.write().apply_tenant(decoded);
        }
        Ok(())
    }
}

impl State {
    fn apply_user(&mut self, tenant: TenantId, event: UserEvent) {
        match event {
            UserEvent::Created(fields) => {
                let key = (tenant.clone(), fields.user_id.clone());
                let user = User { password_hash: fields.password_hash, ..User::default() };
                self.users.insert(key, user);
                self.set_profile(&tenant, &fields.user_id, &fields.profile);
            }
            UserEvent::Updated { user_id, profile } => self.set_profile(&tenant, &user_id, &profile),
            UserEvent::PasswordChanged { user_id, password_hash } => {
                if let Some(user) = self.users.get_mut(&(tenant, user_id)) {
                    user.password_hash = Some(password_hash);
                }
            }
            UserEvent::RolesAssigned { user_id, roles } => {
                if let Some(user) = self.users.get_mut(&(tenant, user_id)) {
                    user.roles.extend(roles);
                }
            }
            UserEvent::RolesRemoved { user_id, roles } => {
                if let Some(user) = self.users.get_mut(&(tenant, user_id)) {
                    roles.iter().for_each(|role| _ = user.roles.remove(role));
                }
            }
            UserEvent::PermissionsAdded { user_id, permissions } => {
                if let Some(user) = self.users.get_mut(&(tenant, user_id)) {
                    user.permissions.extend(permissions);
                }
            }
            UserEvent::PermissionsRemoved { user_id, permissions } => {
                if let Some(user) = self.users.get_mut(&(tenant, user_id)) {
                    permissions.iter().for_each(|p| _ = user.permissions.remove(p));
                }
            }
            UserEvent::Deleted { user_id } => {
                if let Some(user) = self.users.remove(&(tenant.clone(), user_id.clone())) {
                    self.unindex(&tenant, (user.email_index.as_deref(), user.username.as_deref()));
                }
                // A deleted user leaves every organization (as the organizations model does).
                for ((owner, _), organization) in &mut self.organizations {
                    if *owner == tenant {
                        organization.members.remove(&user_id);
                    }
                }
            }
        }
    }

    /// Keeps the login indexes in step with the profile.
    fn set_profile(&mut self, tenant: &TenantId, user_id: &str, profile: &domain::user::Profile) {
        let Some(user) = self.users.get_mut(&(tenant.clone(), user_id.to_owned())) else { return };
        let old_email = std::mem::replace(&mut user.email_index, profile.email_index.clone());
        let old_username = std::mem::replace(&mut user.username, profile.username.clone());
        user.blocked = profile.blocked;
        self.unindex(tenant, (old_email.as_deref(), old_username.as_deref()));
        if let Some(index) = &profile.email_index {
            self.by_email.insert((tenant.clone(), index.clone()), user_id.to_owned());
        }
        if let Some(username) = &profile.username {
            self.by_username.insert((tenant.clone(), username.clone()), user_id.to_owned());
        }
    }

    /// Forgets a user's email index and username.
    fn unindex(&mut self, tenant: &TenantId, (email_index, username): (Option<&str>, Option<&str>)) {
        if let Some(index) = email_index {
            self.by_email.remove(&(tenant.clone(), index.to_owned()));
        }
        if let Some(username) = username {
            self.by_username.remove(&(tenant.clone(), username.to_owned()));
        }
    }

    fn apply_organization(&mut self, tenant: TenantId, event: OrganizationEvent) {
        match event {
            OrganizationEvent::Created(fields) | OrganizationEvent::Updated(fields) => {
                let key = (tenant.clone(), fields.id.clone());
                let organization = self.organizations.entry(key).or_default();
                let old_name = std::mem::replace(&mut organization.name, fields.name.clone());
                self.organization_names.remove(&(tenant.clone(), old_name));
                self.organization_names.insert((tenant, fields.name), fields.id);
            }
            OrganizationEvent::MembersAdded { id, members } => {
                if let Some(organization) = self.organizations.get_mut(&(tenant, id)) {
                    for member in members {
                        organization.members.entry(member).or_default();
                    }
                }
            }
            OrganizationEvent::MembersRemoved { id, members } => {
                if let Some(organization) = self.organizations.get_mut(&(tenant, id)) {
                    members.iter().for_each(|member| _ = organization.members.remove(member));
                }
            }
            OrganizationEvent::MemberRolesAssigned { id, user_id, roles } => {
                if let Some(held) = self.organizations.get_mut(&(tenant, id)).and_then(|o| o.members.get_mut(&user_id))
                {
                    held.extend(roles);
                }
            }
            OrganizationEvent::MemberRolesRemoved { id, user_id, roles } => {
                if let Some(held) = self.organizations.get_mut(&(tenant, id)).and_then(|o| o.members.get_mut(&user_id))
                {
                    roles.iter().for_each(|role| _ = held.remove(role));
                }
            }
            OrganizationEvent::Deleted { id, name } => {
                self.organizations.remove(&(tenant.clone(), id));
                self.organization_names.remove(&(tenant, name));
            }
        }
    }

    fn apply_tenant(&mut self, event: TenantEvent) {
        match event {
            TenantEvent::SettingsUpdated { id, settings } => {
                self.settings.insert(id, settings);
            }
            TenantEvent::Deleted { id } => {
                self.users.retain(|(owner, _), _| *owner != id);
                self.by_email.retain(|(owner, _), _| *owner != id);
                self.by_username.retain(|(owner, _), _| *owner != id);
                self.organizations.retain(|(owner, _), _| *owner != id);
                self.organization_names.retain(|(owner, _), _| *owner != id);
                self.settings.remove(&id);
            }
            TenantEvent::Created(_) | TenantEvent::Updated(_) | TenantEvent::DomainsSet { .. } => {}
        }
    }

    /// The tenant's settings in effect: its own overrides over the control plane's.
    fn effective(&self, tenant: &TenantId) -> EffectiveSettings {
        let own = self.settings.get(tenant).cloned().unwrap_or_default();
        let inherited = (!tenant.is_control_plane()).then(|| self.settings.get(&TenantId::control_plane())).flatten();
        own.effective(inherited)
    }
}

impl Claims {
    pub fn new() -> Self {
        Self::default()
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The claims of `user_id`, in `organization` (an id or a name) when given.
    pub fn claims(
        &self,
        roles: &RolePermissions,
        tenant: &TenantId,
        user_id: &str,
        organization: Option<&str>,
    ) -> Result<UserClaims, ClaimsError> {
        let state = self.read();
        let user = state.users.get(&(tenant.clone(), user_id.to_owned())).ok_or(ClaimsError::UnknownUser)?;
        let mut permissions = user.permissions.clone();
        let (role_ids, org) = match organization {
            None => (user.roles.iter().collect::<Vec<_>>(), None),
            Some(wanted) => {
                let (id, organization) = state.organization(tenant, wanted).ok_or(ClaimsError::UnknownOrganization)?;
                let member_roles = organization.members.get(user_id).ok_or(ClaimsError::NotAMember)?;
                let mut ids: Vec<&String> = member_roles.iter().collect();
                if state.effective(tenant).flags.get(INHERIT_GLOBAL_PERMISSIONS).copied().unwrap_or(false) {
                    ids.extend(user.roles.iter().filter(|role| !member_roles.contains(*role)));
                }
                (ids, Some((id, organization.name.clone())))
            }
        };
        let (role_names, role_permissions) = roles.resolve(tenant, role_ids);
        permissions.extend(role_permissions);
        let (org_id, org_name) = org.unzip();
        Ok(UserClaims {
            user_id: user_id.to_owned(),
            roles: role_names,
            permissions: permissions.into_iter().collect(),
            org_id,
            org_name,
            blocked: user.blocked,
        })
    }

    /// The id and name of the organization `id_or_name` names.
    pub fn organization(&self, tenant: &TenantId, id_or_name: &str) -> Option<(String, String)> {
        self.read().organization(tenant, id_or_name).map(|(id, organization)| (id, organization.name.clone()))
    }

    /// The user a login names: by email blind index first, then by username.
    pub fn find_login(&self, tenant: &TenantId, email_index: &str, username: &str) -> Option<LoginUser> {
        let state = self.read();
        let id = state
            .by_email
            .get(&(tenant.clone(), email_index.to_owned()))
            .or_else(|| state.by_username.get(&(tenant.clone(), username.to_owned())))?;
        let user = state.users.get(&(tenant.clone(), id.clone()))?;
        Some(LoginUser { user_id: id.clone(), password_hash: user.password_hash.clone(), blocked: user.blocked })
    }

    /// The tenant's settings in effect (what tokens are shaped by: default audience, whether
    /// organization names go in them).
    pub fn settings(&self, tenant: &TenantId) -> EffectiveSettings {
        self.read().effective(tenant)
    }
}
