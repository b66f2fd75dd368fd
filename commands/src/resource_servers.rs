//! Resource server use cases: create, update, delete (taking removed scopes from their
//! holders); and finding one by id or identifier.

use domain::resource_server::{
    DEFAULT_TOKEN_LIFETIME, ResourceServer, ResourceServerChanges, ResourceServerCommand, ResourceServerEvent,
    ResourceServerFields, Scope, SigningAlg,
};
use domain::{Aggregate, TenantId};
use std::collections::BTreeSet;

use eventstore::UniqueChange;

use crate::executor::{Extra, Source, execute, load};
use crate::streams::{self, RESOURCE_SERVER_IDENTIFIER};
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
        // Scopes the change removes are taken from every role and user holding them.
        let revocations = match (&changes.scopes, self.live_api(&ctx.tenant, &stream).await?) {
            (Some(scopes), Some(api)) => {
                let kept: BTreeSet<&str> = scopes.iter().map(|s| s.value.as_str()).collect();
                self.revocations(&ctx.tenant, &api.identifier, (|scope: &str| !kept.contains(scope), false)).await?
            }
            _ => Extra::default(),
        };
        self.run_resource_server(ctx, (&stream, Source::Log), ResourceServerCommand::Update(changes), revocations).await
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
            None => Extra::default(),
        };
        self.run_resource_server(ctx, (&stream, Source::Log), ResourceServerCommand::Delete, revocations).await
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
