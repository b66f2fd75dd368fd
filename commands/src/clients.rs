//! Client and client-grant use cases: create, update, rotate a client's secret, delete; create,
//! update and delete grants.
//!
//! Secrets arrive hashed: the caller generates a secret, shows it once and passes its keyed
//! hash. A grant names a live client and an existing API, and only scopes that API defines;
//! one grant per client and audience is claimed in the append's transaction.

use domain::client::{Client, ClientChanges, ClientCommand, ClientFields, ClientSettings};
use domain::client_grant::{ClientGrant, ClientGrantChanges, ClientGrantCommand, ClientGrantEvent, ClientGrantFields};
use domain::organization::Organization;
use domain::{Aggregate, TenantId};
use eventstore::{StreamWrite, UniqueChange};

use crate::executor::{Extra, Source, execute, load, require_live};
use crate::streams::{self, CLIENT_GRANT};
use crate::{CommandError, Commands, Committed, Context, ids};

impl Commands {
    pub async fn create_client(
        &self,
        ctx: &Context,
        settings: ClientSettings,
        secret_hash: String,
    ) -> Result<Committed<Client>, CommandError> {
        let client_id = ids::new_client_id();
        let stream = streams::client(&ctx.tenant, &client_id);
        let command = ClientCommand::Create(ClientFields { client_id, settings, secret_hash });
        self.run_client(ctx, (&stream, Source::Fresh), command).await
    }

    pub async fn update_client(
        &self,
        ctx: &Context,
        client_id: &str,
        changes: ClientChanges,
    ) -> Result<Committed<Client>, CommandError> {
        self.run_client(ctx, (&streams::client(&ctx.tenant, client_id), Source::Log), ClientCommand::Update(changes))
            .await
    }

    pub async fn rotate_client_secret(
        &self,
        ctx: &Context,
        client_id: &str,
        secret_hash: String,
    ) -> Result<Committed<Client>, CommandError> {
        let command = ClientCommand::RotateSecret { secret_hash };
        self.run_client(ctx, (&streams::client(&ctx.tenant, client_id), Source::Log), command).await
    }

    /// The client's grants stay in the log but leave the read model with it: a client id is
    /// never reused, so nothing can pick them up again.
    pub async fn delete_client(&self, ctx: &Context, client_id: &str) -> Result<Committed<Client>, CommandError> {
        self.run_client(ctx, (&streams::client(&ctx.tenant, client_id), Source::Log), ClientCommand::Delete).await
    }

    async fn run_client(
        &self,
        ctx: &Context,
        stream: (&str, Source),
        command: ClientCommand,
    ) -> Result<Committed<Client>, CommandError> {
        execute(
            &self.store,
            ctx,
            &ctx.tenant,
            stream,
            |state: &Client| state.decide(command).map_err(CommandError::rejected),
            |_, _| Extra::default(),
        )
        .await
    }

    /// A new grant of `fields` (its id is generated; no organizations yet).
    pub async fn create_client_grant(
        &self,
        ctx: &Context,
        fields: ClientGrantFields,
    ) -> Result<Committed<ClientGrant>, CommandError> {
        let mut guards = self.check_client_exists(&ctx.tenant, &fields.client_id).await?;
        guards.extend(self.check_audience(&ctx.tenant, &fields.audience, &fields.scope).await?);
        let id = ids::new_grant_id();
        let stream = streams::client_grant(&ctx.tenant, &id);
        let command = ClientGrantCommand::Create(ClientGrantFields { id, organizations: Default::default(), ..fields });
        self.run_grant(ctx, (&stream, Source::Fresh), command, guards).await
    }

    pub async fn update_client_grant(
        &self,
        ctx: &Context,
        id: &str,
        changes: ClientGrantChanges,
    ) -> Result<Committed<ClientGrant>, CommandError> {
        let stream = streams::client_grant(&ctx.tenant, id);
        let loaded = load::<ClientGrant>(&self.store, &ctx.tenant, &stream).await?;
        let grant = loaded.state.live().ok_or_else(|| CommandError::not_found("The client grant does not exist"))?;
        let mut guards = self.check_client_exists(&ctx.tenant, &grant.client_id).await?;
        if let Some(scope) = &changes.scope {
            guards.extend(self.check_audience(&ctx.tenant, &grant.audience, scope).await?);
        }
        self.run_grant(ctx, (&stream, Source::Log), ClientGrantCommand::Update(changes), guards).await
    }

    /// Lets the grant's client ask for tokens in `organization_id`, a live organization of the
    /// tenant (checked in the append).
    pub async fn add_client_grant_organization(
        &self,
        ctx: &Context,
        organization_id: &str,
        grant_id: &str,
    ) -> Result<Committed<ClientGrant>, CommandError> {
        let ids = [organization_id.to_owned()];
        let guards = require_live(
            &self.store,
            &ctx.tenant,
            (&ids, streams::organization),
            |organization: &Organization| organization.live().is_some(),
            |_| CommandError::not_found("The organization does not exist"),
        )
        .await?;
        let stream = streams::client_grant(&ctx.tenant, grant_id);
        let command = ClientGrantCommand::AddOrganization(organization_id.to_owned());
        self.run_grant(ctx, (&stream, Source::Log), command, guards).await
    }

    pub async fn remove_client_grant_organization(
        &self,
        ctx: &Context,
        organization_id: &str,
        grant_id: &str,
    ) -> Result<Committed<ClientGrant>, CommandError> {
        let stream = streams::client_grant(&ctx.tenant, grant_id);
        let command = ClientGrantCommand::RemoveOrganization(organization_id.to_owned());
        self.run_grant(ctx, (&stream, Source::Log), command, Vec::new()).await
    }

    pub async fn delete_client_grant(&self, ctx: &Context, id: &str) -> Result<Committed<ClientGrant>, CommandError> {
        let stream = streams::client_grant(&ctx.tenant, id);
        self.run_grant(ctx, (&stream, Source::Log), ClientGrantCommand::Delete, Vec::new()).await
    }

    async fn run_grant(
        &self,
        ctx: &Context,
        (stream, source): (&str, Source),
        command: ClientGrantCommand,
        guards: Vec<StreamWrite>,
    ) -> Result<Committed<ClientGrant>, CommandError> {
        let tenant = ctx.tenant.clone();
        let owner = stream.to_owned();
        execute(
            &self.store,
            ctx,
            &ctx.tenant,
            (stream, source),
            |state: &ClientGrant| state.decide(command).map_err(CommandError::rejected),
            |_, events| Extra { unique: grant_changes(&tenant, &owner, events), guards },
        )
        .await
    }

    async fn check_client_exists(&self, tenant: &TenantId, client_id: &str) -> Result<Vec<StreamWrite>, CommandError> {
        let ids = [client_id.to_owned()];
        require_live(
            &self.store,
            tenant,
            (&ids, streams::client),
            |client: &Client| client.live().is_some(),
            |id| CommandError::invalid("client_id", format!("Client {id:?} does not exist")),
        )
        .await
    }

    /// The audience must be the identifier of an API of the tenant that defines every scope.
    async fn check_audience(
        &self,
        tenant: &TenantId,
        audience: &str,
        scope: &[String],
    ) -> Result<Vec<StreamWrite>, CommandError> {
        let unknown = || CommandError::invalid("audience", format!("Resource server {audience:?} does not exist"));
        let located = self.resource_server_by_identifier(tenant, audience).await?.ok_or_else(unknown)?;
        let api = located.loaded.state.live().ok_or_else(unknown)?;
        if let Some(missing) = scope.iter().find(|name| !api.has_scope(name)) {
            return Err(CommandError::invalid(
                "scope",
                format!("Scope {missing:?} does not exist on resource server {audience:?}"),
            ));
        }
        Ok(vec![located.guard()])
    }
}

/// One grant per client and audience.
pub(crate) fn grant_claim(tenant: &TenantId, owner: &str, grant: &ClientGrantFields) -> UniqueChange {
    UniqueChange::Claim {
        tenant_id: tenant.clone(),
        scope: CLIENT_GRANT.into(),
        value: grant_key(&grant.client_id, &grant.audience),
        owner: owner.to_owned(),
    }
}

fn grant_key(client_id: &str, audience: &str) -> String {
    format!("{client_id} {audience}")
}

/// Frees the client and audience of a deleted grant.
pub(crate) fn grant_release(tenant: &TenantId, client_id: &str, audience: &str) -> UniqueChange {
    UniqueChange::Release {
        tenant_id: tenant.clone(),
        scope: CLIENT_GRANT.into(),
        value: grant_key(client_id, audience),
    }
}

fn grant_changes(tenant: &TenantId, owner: &str, events: &[ClientGrantEvent]) -> Vec<UniqueChange> {
    events
        .iter()
        .filter_map(|event| match event {
            ClientGrantEvent::Created(grant) => Some(grant_claim(tenant, owner, grant)),
            ClientGrantEvent::Deleted { client_id, audience, .. } => Some(grant_release(tenant, client_id, audience)),
            ClientGrantEvent::Updated(_)
            | ClientGrantEvent::OrganizationAdded { .. }
            | ClientGrantEvent::OrganizationRemoved { .. } => None,
        })
        .collect()
}
