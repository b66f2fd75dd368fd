//! Tenant use cases, on the control plane: create, update, delete; and a tenant's settings.
//!
//! A tenant's stream lives under the tenant's own id; the command's context (and so its
//! idempotency key) is the control plane's. The tenant id is unique because its stream must
//! not exist yet: the append's expected version is the uniqueness check.
//!
//! Creating a child tenant also creates, in the same append, the control plane's organization
//! of that tenant (same id, named after it): its members are the control-plane users who may
//! manage the tenant (DESIGN.md §3). Deleting the tenant deletes that organization too.

use domain::organization::{Organization, OrganizationCommand, OrganizationFields};
use domain::settings::{EffectiveSettings, SettingsPatch};
use domain::tenant::{Tenant, TenantCommand, TenantEvent, TenantFields};
use domain::{Aggregate, TenantId, hostname};

use eventstore::{ExpectedVersion, StreamWrite, UniqueChange};

use crate::executor::{Extra, Loaded, Source, execute, load, to_new_event};
use crate::organizations::name_changes;
use crate::{CommandError, Commands, Committed, Context, streams};

#[derive(Debug, Clone)]
pub struct NewTenant {
    pub id: TenantId,
    pub name: Option<String>,
    pub friendly_name: Option<String>,
}

impl Commands {
    pub async fn create_tenant(&self, ctx: &Context, input: NewTenant) -> Result<Committed<Tenant>, CommandError> {
        let name = input.name.unwrap_or_else(|| input.id.to_string());
        let friendly_name = input.friendly_name.unwrap_or_else(|| name.clone());
        let organization = OrganizationFields {
            id: input.id.to_string(),
            name: input.id.to_string(),
            display_name: Some(friendly_name.clone()),
            branding: None,
            metadata: Default::default(),
        };
        let fields = TenantFields { id: input.id.clone(), name, friendly_name };
        let extra =
            self.tenant_organization(&input.id, Loaded::default(), OrganizationCommand::Create(organization))?;
        self.run_tenant(ctx, &input.id, TenantCommand::Create(fields), extra).await
    }

    pub async fn update_tenant(
        &self,
        ctx: &Context,
        id: &TenantId,
        name: Option<String>,
        friendly_name: Option<String>,
    ) -> Result<Committed<Tenant>, CommandError> {
        self.run_tenant(ctx, id, TenantCommand::Update { name, friendly_name }, Extra::default()).await
    }

    /// Changes the settings of the context's own tenant. A custom domain belongs to one tenant
    /// (claimed in the append) and may not lie within the base domain, whose subdomains are
    /// the tenants' own hosts.
    pub async fn update_tenant_settings(
        &self,
        ctx: &Context,
        friendly_name: Option<String>,
        domains: Option<Vec<String>>,
        settings: SettingsPatch,
    ) -> Result<Committed<Tenant>, CommandError> {
        if let (Some(base), Some(domains)) = (&self.base_domain, &domains) {
            let inside = domains.iter().filter_map(|d| hostname::canonical(d)).find(|d| hostname::within(d, base));
            if let Some(domain) = inside {
                return Err(CommandError::invalid(
                    "domains",
                    format!("{domain:?} lies within the base domain {base:?}, whose subdomains are tenant ids"),
                ));
            }
        }
        let tenant = ctx.tenant.clone();
        let command = TenantCommand::UpdateSettings { friendly_name, domains, settings };
        self.run_tenant(ctx, &tenant, command, Extra::default()).await
    }

    /// Custom domains are checked against the base domain: set by the server from its
    /// configuration.
    pub fn with_base_domain(mut self, base_domain: Option<String>) -> Self {
        self.base_domain = base_domain;
        self
    }

    /// The settings in effect for `tenant`, folded from the log: rules the command side
    /// enforces (the password policy) must not depend on a read model that may lag.
    pub async fn effective_settings(&self, tenant: &TenantId) -> Result<EffectiveSettings, CommandError> {
        let own = load::<Tenant>(&self.store, tenant, &streams::tenant(tenant)).await?;
        let own = own.state.state().map(|t| t.settings.clone()).unwrap_or_default();
        if tenant.is_control_plane() {
            return Ok(own.effective(None));
        }
        let control_plane = TenantId::control_plane();
        let parent = load::<Tenant>(&self.store, &control_plane, &streams::tenant(&control_plane)).await?;
        Ok(own.effective(parent.state.state().map(|t| &t.settings)))
    }

    pub async fn delete_tenant(&self, ctx: &Context, id: &TenantId) -> Result<Committed<Tenant>, CommandError> {
        let control_plane = TenantId::control_plane();
        let stream = streams::organization(&control_plane, id.as_str());
        let organization = load::<Organization>(&self.store, &control_plane, &stream).await?;
        // Tenants created before F4 have no organization: there is nothing to delete then.
        let extra = match organization.state.live() {
            Some(_) => self.tenant_organization(id, organization, OrganizationCommand::Delete)?,
            None => Extra::default(),
        };
        self.run_tenant(ctx, id, TenantCommand::Delete, extra).await
    }

    /// The write of `command` on the control plane's organization of tenant `id`, as loaded,
    /// with the name claim or release it implies.
    fn tenant_organization(
        &self,
        id: &TenantId,
        loaded: Loaded<Organization>,
        command: OrganizationCommand,
    ) -> Result<Extra, CommandError> {
        let control_plane = TenantId::control_plane();
        let stream = streams::organization(&control_plane, id.as_str());
        let events = loaded.state.decide(command).map_err(CommandError::rejected)?;
        let unique = name_changes(&control_plane, &stream, &loaded.state, &events);
        let expected =
            if loaded.version == 0 { ExpectedVersion::NoStream } else { ExpectedVersion::Exact(loaded.version) };
        let write = StreamWrite {
            tenant_id: control_plane,
            stream_id: stream,
            expected,
            events: events.iter().map(to_new_event).collect::<Result<_, _>>()?,
        };
        Ok(Extra { unique, guards: vec![write] })
    }

    async fn run_tenant(
        &self,
        ctx: &Context,
        id: &TenantId,
        command: TenantCommand,
        extra: Extra,
    ) -> Result<Committed<Tenant>, CommandError> {
        execute(
            &self.store,
            ctx,
            id,
            (&streams::tenant(id), Source::Log),
            |state: &Tenant| state.decide(command).map_err(CommandError::rejected),
            |state, events| {
                let mut extra = extra;
                extra.unique.extend(domain_changes(state, events));
                extra
            },
        )
        .await
    }
}

/// Claims the custom domains a tenant gains and frees those it loses, or all of them when it
/// is deleted.
fn domain_changes(state: &Tenant, events: &[TenantEvent]) -> Vec<UniqueChange> {
    let Some(current) = state.state() else { return Vec::new() };
    let mut changes = Vec::new();
    for event in events {
        match event {
            TenantEvent::DomainsSet { domains, .. } => {
                let lost = current.domains.iter().filter(|d| !domains.contains(d));
                changes.extend(lost.map(|d| release_domain(d)));
                changes.extend(domains.iter().map(|domain| UniqueChange::Claim {
                    tenant_id: TenantId::control_plane(),
                    scope: streams::TENANT_DOMAIN.into(),
                    value: domain.clone(),
                    owner: streams::tenant(&current.fields.id),
                }));
            }
            TenantEvent::Deleted { .. } => changes.extend(current.domains.iter().map(|d| release_domain(d))),
            _ => {}
        }
    }
    changes
}

fn release_domain(domain: &str) -> UniqueChange {
    UniqueChange::Release {
        tenant_id: TenantId::control_plane(),
        scope: streams::TENANT_DOMAIN.into(),
        value: domain.to_owned(),
    }
}
