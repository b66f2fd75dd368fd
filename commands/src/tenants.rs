//! Tenant use cases, on the control plane: create, update, delete.
//!
//! A tenant's stream lives under the tenant's own id; the command's context (and so its
//! idempotency key) is the control plane's. The tenant id is unique because its stream must
//! not exist yet: the append's expected version is the uniqueness check.

use domain::settings::{EffectiveSettings, SettingsPatch};
use domain::tenant::{Tenant, TenantCommand, TenantFields};
use domain::{Aggregate, TenantId};

use crate::executor::{Extra, Source, execute, load};
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
        let fields = TenantFields { id: input.id.clone(), name, friendly_name };
        self.run_tenant(ctx, &input.id, TenantCommand::Create(fields)).await
    }

    pub async fn update_tenant(
        &self,
        ctx: &Context,
        id: &TenantId,
        name: Option<String>,
        friendly_name: Option<String>,
    ) -> Result<Committed<Tenant>, CommandError> {
        self.run_tenant(ctx, id, TenantCommand::Update { name, friendly_name }).await
    }

    /// Changes the settings of the context's own tenant.
    pub async fn update_tenant_settings(
        &self,
        ctx: &Context,
        friendly_name: Option<String>,
        settings: SettingsPatch,
    ) -> Result<Committed<Tenant>, CommandError> {
        let tenant = ctx.tenant.clone();
        self.run_tenant(ctx, &tenant, TenantCommand::UpdateSettings { friendly_name, settings }).await
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
        self.run_tenant(ctx, id, TenantCommand::Delete).await
    }

    async fn run_tenant(
        &self,
        ctx: &Context,
        id: &TenantId,
        command: TenantCommand,
    ) -> Result<Committed<Tenant>, CommandError> {
        execute(
            &self.store,
            ctx,
            id,
            (&streams::tenant(id), Source::Log),
            |state: &Tenant| state.decide(command).map_err(CommandError::rejected),
            |_, _| Extra::default(),
        )
        .await
    }
}
