//! Organization use cases: create, update, delete, add and remove members, assign and remove
//! member roles.
//!
//! The name is claimed per tenant in the append's transaction; members must be live users and
//! member roles live roles of the tenant, guarded by their stream versions.

use std::collections::BTreeMap;

use domain::organization::{Branding, Organization, OrganizationCommand, OrganizationEvent, OrganizationFields};
use domain::user::User;
use domain::{Aggregate, TenantId};
use eventstore::{StreamWrite, UniqueChange};

use crate::executor::{Extra, Source, execute, require_live};
use crate::streams::{self, ORGANIZATION_NAME};
use crate::{CommandError, Commands, Committed, Context, ids};

#[derive(Debug, Clone, Default)]
pub struct NewOrganization {
    pub name: String,
    pub display_name: Option<String>,
    pub branding: Option<Branding>,
    pub metadata: BTreeMap<String, String>,
}

/// A PATCH of an organization: `None` keeps a field, `Some(None)` clears it; metadata merges
/// key by key, a `None` value removing its key.
#[derive(Debug, Clone, Default)]
pub struct OrganizationChanges {
    pub name: Option<String>,
    pub display_name: Option<Option<String>>,
    pub branding: Option<Option<Branding>>,
    pub metadata: Option<BTreeMap<String, Option<String>>>,
}

impl Commands {
    pub async fn create_organization(
        &self,
        ctx: &Context,
        input: NewOrganization,
    ) -> Result<Committed<Organization>, CommandError> {
        let id = ids::new_organization_id();
        let stream = streams::organization(&ctx.tenant, &id);
        let fields = OrganizationFields {
            id,
            name: input.name,
            display_name: input.display_name,
            branding: input.branding,
            metadata: input.metadata,
        };
        self.run_organization(ctx, (&stream, Source::Fresh), OrganizationCommand::Create(fields), Vec::new()).await
    }

    pub async fn update_organization(
        &self,
        ctx: &Context,
        id: &str,
        changes: OrganizationChanges,
    ) -> Result<Committed<Organization>, CommandError> {
        let command = OrganizationCommand::Update {
            name: changes.name,
            display_name: changes.display_name,
            branding: changes.branding,
            metadata: changes.metadata,
        };
        self.organization_command(ctx, id, command, Vec::new()).await
    }

    pub async fn delete_organization(&self, ctx: &Context, id: &str) -> Result<Committed<Organization>, CommandError> {
        self.organization_command(ctx, id, OrganizationCommand::Delete, Vec::new()).await
    }

    /// Every member must be a live user of the tenant.
    pub async fn add_organization_members(
        &self,
        ctx: &Context,
        id: &str,
        members: Vec<String>,
    ) -> Result<Committed<Organization>, CommandError> {
        let guards = self.check_users_exist(&ctx.tenant, &members).await?;
        self.organization_command(ctx, id, OrganizationCommand::AddMembers { members }, guards).await
    }

    pub async fn remove_organization_members(
        &self,
        ctx: &Context,
        id: &str,
        members: Vec<String>,
    ) -> Result<Committed<Organization>, CommandError> {
        self.organization_command(ctx, id, OrganizationCommand::RemoveMembers { members }, Vec::new()).await
    }

    pub async fn assign_member_roles(
        &self,
        ctx: &Context,
        id: &str,
        user_id: &str,
        roles: Vec<String>,
    ) -> Result<Committed<Organization>, CommandError> {
        let guards = self.check_roles_exist(&ctx.tenant, &roles).await?;
        let command = OrganizationCommand::AssignMemberRoles { user_id: user_id.to_owned(), roles };
        self.organization_command(ctx, id, command, guards).await
    }

    pub async fn remove_member_roles(
        &self,
        ctx: &Context,
        id: &str,
        user_id: &str,
        roles: Vec<String>,
    ) -> Result<Committed<Organization>, CommandError> {
        let command = OrganizationCommand::RemoveMemberRoles { user_id: user_id.to_owned(), roles };
        self.organization_command(ctx, id, command, Vec::new()).await
    }

    async fn organization_command(
        &self,
        ctx: &Context,
        id: &str,
        command: OrganizationCommand,
        guards: Vec<StreamWrite>,
    ) -> Result<Committed<Organization>, CommandError> {
        let stream = streams::organization(&ctx.tenant, id);
        self.run_organization(ctx, (&stream, Source::Log), command, guards).await
    }

    async fn run_organization(
        &self,
        ctx: &Context,
        (stream, source): (&str, Source),
        command: OrganizationCommand,
        guards: Vec<StreamWrite>,
    ) -> Result<Committed<Organization>, CommandError> {
        let tenant = ctx.tenant.clone();
        let owner = stream.to_owned();
        execute(
            &self.store,
            ctx,
            &ctx.tenant,
            (stream, source),
            |state: &Organization| state.decide(command).map_err(CommandError::rejected),
            |state, events| Extra { unique: name_changes(&tenant, &owner, state, events), guards },
        )
        .await
    }

    async fn check_users_exist(&self, tenant: &TenantId, users: &[String]) -> Result<Vec<StreamWrite>, CommandError> {
        require_live(
            &self.store,
            tenant,
            (users, streams::user),
            |user: &User| user.live().is_some(),
            |user| CommandError::invalid("members", format!("User {user:?} does not exist")),
        )
        .await
    }
}

/// Claims a new name and frees the old one, so renames and deletes keep names unique.
pub(crate) fn name_changes(
    tenant: &TenantId,
    owner: &str,
    state: &Organization,
    events: &[OrganizationEvent],
) -> Vec<UniqueChange> {
    let claim = |name: &str| UniqueChange::Claim {
        tenant_id: tenant.clone(),
        scope: ORGANIZATION_NAME.into(),
        value: name.to_owned(),
        owner: owner.to_owned(),
    };
    let release = |name: &str| UniqueChange::Release {
        tenant_id: tenant.clone(),
        scope: ORGANIZATION_NAME.into(),
        value: name.to_owned(),
    };
    let old = state.live().map(|org| org.fields.name.as_str());
    let mut changes = Vec::new();
    for event in events {
        match event {
            OrganizationEvent::Created(fields) => changes.push(claim(&fields.name)),
            OrganizationEvent::Updated(fields) if Some(fields.name.as_str()) != old => {
                changes.extend(old.map(release));
                changes.push(claim(&fields.name));
            }
            OrganizationEvent::Deleted { name, .. } => changes.push(release(name)),
            _ => {}
        }
    }
    changes
}
