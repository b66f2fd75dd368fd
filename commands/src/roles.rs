//! Role use cases: create, update, delete, add and remove permissions.

use std::collections::BTreeMap;

use domain::resource_server::ResourceServer;
use domain::role::{Role, RoleCommand, RoleError, RoleEvent};
use domain::{Aggregate, Permission, TenantId};
use eventstore::{StreamWrite, UniqueChange};

use crate::executor::{Extra, Located, Source, execute, load};
use crate::streams::{self, RESOURCE_SERVER_IDENTIFIER, ROLE_NAME, role_name_key};
use crate::{CommandError, Commands, Committed, Context, ids};

/// A PATCH of a role: `None` keeps a field, `description: Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct RoleChanges {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
}

impl Commands {
    pub async fn create_role(
        &self,
        ctx: &Context,
        name: String,
        description: Option<String>,
    ) -> Result<Committed<Role>, CommandError> {
        let id = ids::new_role_id();
        let stream = streams::role(&ctx.tenant, &id);
        let command = RoleCommand::Create { id, name, description };
        self.run_role(ctx, (&stream, Source::Fresh), command, Vec::new()).await
    }

    pub async fn update_role(
        &self,
        ctx: &Context,
        id: &str,
        changes: RoleChanges,
    ) -> Result<Committed<Role>, CommandError> {
        let command = RoleCommand::Update { name: changes.name, description: changes.description };
        self.refuse_synced(ctx, id, &command).await?;
        self.run_role(ctx, (&streams::role(&ctx.tenant, id), Source::Log), command, Vec::new()).await
    }

    pub async fn delete_role(&self, ctx: &Context, id: &str) -> Result<Committed<Role>, CommandError> {
        self.refuse_synced(ctx, id, &RoleCommand::Delete).await?;
        self.run_role(ctx, (&streams::role(&ctx.tenant, id), Source::Log), RoleCommand::Delete, Vec::new()).await
    }

    /// Every permission must name a scope that exists on its resource server now; the append
    /// checks those resource servers did not change since, so a scope removed concurrently
    /// makes this a conflict rather than a dangling permission.
    pub async fn add_role_permissions(
        &self,
        ctx: &Context,
        id: &str,
        permissions: Vec<Permission>,
    ) -> Result<Committed<Role>, CommandError> {
        let command = RoleCommand::AddPermissions { permissions };
        self.refuse_synced(ctx, id, &command).await?;
        let RoleCommand::AddPermissions { permissions } = &command else { unreachable!("built above") };
        let guards = self.check_scopes_exist(&ctx.tenant, permissions).await?;
        self.run_role(ctx, (&streams::role(&ctx.tenant, id), Source::Log), command, guards).await
    }

    pub async fn remove_role_permissions(
        &self,
        ctx: &Context,
        id: &str,
        permissions: Vec<Permission>,
    ) -> Result<Committed<Role>, CommandError> {
        let command = RoleCommand::RemovePermissions { permissions };
        self.refuse_synced(ctx, id, &command).await?;
        self.run_role(ctx, (&streams::role(&ctx.tenant, id), Source::Log), command, Vec::new()).await
    }

    /// A child tenant cannot change the control plane's roles: seen from it they are system
    /// roles, and the domain refuses every change to one.
    async fn refuse_synced(&self, ctx: &Context, id: &str, command: &RoleCommand) -> Result<(), CommandError> {
        match self.synced_role(&ctx.tenant, id).await? {
            Some(role) => Err(CommandError::rejected(
                role.loaded.state.decide(command.clone()).err().unwrap_or(RoleError::SystemEntity),
            )),
            None => Ok(()),
        }
    }

    async fn run_role(
        &self,
        ctx: &Context,
        (stream, source): (&str, Source),
        command: RoleCommand,
        guards: Vec<StreamWrite>,
    ) -> Result<Committed<Role>, CommandError> {
        let tenant = ctx.tenant.clone();
        let owner = stream.to_owned();
        execute(
            &self.store,
            ctx,
            &ctx.tenant,
            (stream, source),
            |state: &Role| state.decide(command).map_err(CommandError::rejected),
            |state, events| Extra { unique: name_changes(&tenant, &owner, state, events), guards },
        )
        .await
    }

    pub(crate) async fn check_scopes_exist(
        &self,
        tenant: &TenantId,
        permissions: &[Permission],
    ) -> Result<Vec<StreamWrite>, CommandError> {
        let mut by_api: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for permission in permissions {
            by_api.entry(&permission.resource_server_identifier).or_default().push(&permission.permission_name);
        }
        let mut guards = Vec::new();
        for (identifier, names) in by_api {
            let unknown_api =
                || CommandError::invalid("permissions", format!("Resource server {identifier:?} does not exist"));
            let located = self.resource_server_by_identifier(tenant, identifier).await?.ok_or_else(unknown_api)?;
            let api = located.loaded.state.live().ok_or_else(unknown_api)?;
            if let Some(missing) = names.iter().find(|name| !api.has_scope(name)) {
                return Err(CommandError::invalid(
                    "permissions",
                    format!("Scope {missing:?} does not exist on resource server {identifier:?}"),
                ));
            }
            guards.push(located.guard());
        }
        Ok(guards)
    }

    /// The resource server that holds `identifier` in the tenant, or the control plane's synced
    /// one a child tenant sees.
    pub(crate) async fn resource_server_by_identifier(
        &self,
        tenant: &TenantId,
        identifier: &str,
    ) -> Result<Option<Located<ResourceServer>>, CommandError> {
        let Some(stream) = self.store.unique_owner(tenant, RESOURCE_SERVER_IDENTIFIER, identifier).await? else {
            // A child may use the control plane's synced APIs.
            return self.synced_resource_server(tenant, identifier).await;
        };
        let loaded = load::<ResourceServer>(&self.store, tenant, &stream).await?;
        Ok(Some(Located { tenant: tenant.clone(), stream, loaded }))
    }
}

/// Claims a new name and frees the old one, so renames and deletes keep names unique.
fn name_changes(tenant: &TenantId, owner: &str, state: &Role, events: &[RoleEvent]) -> Vec<UniqueChange> {
    let claim = |name: &str| UniqueChange::Claim {
        tenant_id: tenant.clone(),
        scope: ROLE_NAME.into(),
        value: role_name_key(name),
        owner: owner.to_owned(),
    };
    let release = |name: &str| UniqueChange::Release {
        tenant_id: tenant.clone(),
        scope: ROLE_NAME.into(),
        value: role_name_key(name),
    };
    let mut changes = Vec::new();
    for event in events {
        match event {
            RoleEvent::Created { name, .. } => changes.push(claim(name)),
            RoleEvent::Updated { name, .. } => {
                let old = state.live().map(|role| role.name.as_str()).unwrap_or_default();
                if role_name_key(old) != role_name_key(name) {
                    changes.push(release(old));
                    changes.push(claim(name));
                }
            }
            RoleEvent::Deleted { name, .. } => changes.push(release(name)),
            RoleEvent::PermissionsAdded { .. } | RoleEvent::PermissionsRemoved { .. } => {}
        }
    }
    changes
}
