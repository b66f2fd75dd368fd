//! Resource server use cases: create, update, delete (taking removed scopes from their
//! holders); and finding one by id or identifier.

use domain::resource_server::{
    DEFAULT_TOKEN_LIFETIME, ResourceServer, ResourceServerChanges, ResourceServerCommand, ResourceServerError,
    ResourceServerEvent, ResourceServerFields, Scope, SigningAlg,
};
use domain::{Aggregate, TenantId};
use std::collections::BTreeSet;

use eventstore::UniqueChange;

use crate::executor::{Extra, Source, execute, load};
use crate::streams::{self, RESOURCE_SERVER_IDENTIFIER, describe_unique};
use crate::{CommandError, Commands, Committed, Context, ids};

/// A resource server to create; unset fields take Auth0's defaults.
#[derive(Debug, Clone, Default)]
pub struct NewResourceServer {
    pub name: String,
    pub identifier: String,
    pub scopes: Vec<Scope>,
    pub signing_alg: Option<SigningAlg>,
    pub token_lifetime: Option<u32>,
    pub allow_offline_access: Option<bool>,
    pub skip_consent_for_verifiable_first_party_clients: Option<bool>,
}

impl NewResourceServer {
    pub(crate) fn into_fields(self, id: String, is_system: bool) -> ResourceServerFields {
        ResourceServerFields {
            id,
            name: self.name,
            identifier: self.identifier,
            scopes: self.scopes,
            signing_alg: self.signing_alg.unwrap_or_default(),
            token_lifetime: self.token_lifetime.unwrap_or(DEFAULT_TOKEN_LIFETIME),
            allow_offline_access: self.allow_offline_access.unwrap_or(false),
            skip_consent_for_verifiable_first_party_clients: self
                .skip_consent_for_verifiable_first_party_clients
                .unwrap_or(false),
            is_system,
        }
    }
}

impl Commands {
    pub async fn create_resource_server(
        &self,
        ctx: &Context,
        input: NewResourceServer,
    ) -> Result<Committed<ResourceServer>, CommandError> {
        // A child's own API may not take the identifier of one the control plane syncs into it.
        if self.synced_resource_server(&ctx.tenant, &input.identifier).await?.is_some() {
            return Err(CommandError::Duplicate(describe_unique(RESOURCE_SERVER_IDENTIFIER, &input.identifier)));
        }
        let fields = input.into_fields(ids::new_resource_server_id(), false);
        let stream = streams::resource_server(&ctx.tenant, &fields.id);
        self.run_resource_server(ctx, (&stream, Source::Fresh), ResourceServerCommand::Create(fields), Extra::default())
            .await
    }

    /// `id` is the resource server's id or its identifier, as Auth0 accepts both.
    pub async fn update_resource_server(
        &self,
        ctx: &Context,
        id: &str,
        changes: ResourceServerChanges,
    ) -> Result<Committed<ResourceServer>, CommandError> {
        let stream = self.resource_server_stream(&ctx.tenant, id).await?;
        let own = self.live_api(&ctx.tenant, &stream).await?;
        let command = ResourceServerCommand::Update(changes);
        if own.is_none() {
            self.refuse_synced_api(ctx, id, &command).await?;
        }
        // Scopes the change removes are taken from every role and user holding them.
        let revocations = match (&command, own) {
            (ResourceServerCommand::Update(ResourceServerChanges { scopes: Some(scopes), .. }), Some(api)) => {
                let kept: BTreeSet<&str> = scopes.iter().map(|s| s.value.as_str()).collect();
                self.revocations(&ctx.tenant, &api.identifier, (|scope: &str| !kept.contains(scope), false)).await?
            }
            _ => Extra::default(),
        };
        self.run_resource_server(ctx, (&stream, Source::Log), command, revocations).await
    }

    pub async fn delete_resource_server(
        &self,
        ctx: &Context,
        id: &str,
    ) -> Result<Committed<ResourceServer>, CommandError> {
        let stream = self.resource_server_stream(&ctx.tenant, id).await?;
        // Its permissions go with it, from every role and user.
        let revocations = match self.live_api(&ctx.tenant, &stream).await? {
            Some(api) => self.revocations(&ctx.tenant, &api.identifier, (|_: &str| true, true)).await?,
            None => {
                self.refuse_synced_api(ctx, id, &ResourceServerCommand::Delete).await?;
                Extra::default()
            }
        };
        self.run_resource_server(ctx, (&stream, Source::Log), ResourceServerCommand::Delete, revocations).await
    }

    /// A child tenant cannot change the control plane's APIs: seen from it they are system
    /// APIs, and the domain refuses every change to one.
    async fn refuse_synced_api(
        &self,
        ctx: &Context,
        id: &str,
        command: &ResourceServerCommand,
    ) -> Result<(), CommandError> {
        match self.synced_resource_server(&ctx.tenant, id).await? {
            Some(api) => Err(CommandError::rejected(
                api.loaded.state.decide(command.clone()).err().unwrap_or(ResourceServerError::SystemEntity),
            )),
            None => Ok(()),
        }
    }

    async fn live_api(&self, tenant: &TenantId, stream: &str) -> Result<Option<ResourceServerFields>, CommandError> {
        Ok(load::<ResourceServer>(&self.store, tenant, stream).await?.state.live().cloned())
    }

    /// The stream of the resource server with this identifier, else the one with this id.
    async fn resource_server_stream(&self, tenant: &TenantId, id: &str) -> Result<String, CommandError> {
        Ok(match self.store.unique_owner(tenant, RESOURCE_SERVER_IDENTIFIER, id).await? {
            Some(stream) => stream,
            None => streams::resource_server(tenant, id),
        })
    }

    async fn run_resource_server(
        &self,
        ctx: &Context,
        (stream, source): (&str, Source),
        command: ResourceServerCommand,
        revocations: Extra,
    ) -> Result<Committed<ResourceServer>, CommandError> {
        let tenant = ctx.tenant.clone();
        let owner = stream.to_owned();
        execute(
            &self.store,
            ctx,
            &ctx.tenant,
            (stream, source),
            |state: &ResourceServer| state.decide(command).map_err(CommandError::rejected),
            |_, events| {
                let mut unique = identifier_changes(&tenant, &owner, events);
                unique.extend(revocations.unique);
                Extra { unique, guards: revocations.guards }
            },
        )
        .await
    }
}

pub(crate) fn identifier_changes(tenant: &TenantId, owner: &str, events: &[ResourceServerEvent]) -> Vec<UniqueChange> {
    events
        .iter()
        .filter_map(|event| match event {
            ResourceServerEvent::Created(fields) => Some(UniqueChange::Claim {
                tenant_id: tenant.clone(),
                scope: RESOURCE_SERVER_IDENTIFIER.into(),
                value: fields.identifier.clone(),
                owner: owner.to_owned(),
            }),
            ResourceServerEvent::Deleted { identifier, .. } => Some(UniqueChange::Release {
                tenant_id: tenant.clone(),
                scope: RESOURCE_SERVER_IDENTIFIER.into(),
                value: identifier.clone(),
            }),
            ResourceServerEvent::Updated(_) => None,
        })
        .collect()
}
