//! A child tenant's view of the control plane's synced roles and resource servers (DESIGN.md
//! §3): a child may reference them (assign a synced role, grant or give permissions on a
//! synced API's scopes) but never change them. Seen from a child, a synced entity is the
//! control plane's, marked as a system entity, so the domain's own decision refuses every
//! change to it.

use domain::TenantId;
use domain::resource_server::ResourceServer;
use domain::role::Role;
use domain::sync::SyncOptions;

use crate::executor::{Located, load};
use crate::streams::{self, RESOURCE_SERVER_IDENTIFIER};
use crate::{CommandError, Commands};

impl Commands {
    /// Resolves child tenants' references to the control plane's entities by `sync` (the same
    /// switches the fan-out runs with).
    pub fn with_sync(mut self, sync: SyncOptions) -> Self {
        self.sync = sync;
        self
    }

    /// The control plane's role `id` as child `tenant` sees it: `None` unless
    /// `tenant` is a child, roles are synced and the role is live.
    pub(crate) async fn synced_role(&self, tenant: &TenantId, id: &str) -> Result<Option<Located<Role>>, CommandError> {
        if tenant.is_control_plane() || !self.sync.roles {
            return Ok(None);
        }
        let control_plane = TenantId::control_plane();
        let stream = streams::role(&control_plane, id);
        let mut loaded = load::<Role>(&self.store, &control_plane, &stream).await?;
        let Role::Live(role) = &mut loaded.state else { return Ok(None) };
        role.is_system = true;
        Ok(Some(Located { tenant: control_plane, stream, loaded }))
    }

    /// The control plane's resource server with this identifier (or id) as child `tenant`
    /// sees it: `None` unless `tenant` is a child, resource servers are
    /// synced and the API is live and not one of the control plane's own system APIs.
    pub(crate) async fn synced_resource_server(
        &self,
        tenant: &TenantId,
        id_or_identifier: &str,
    ) -> Result<Option<Located<ResourceServer>>, CommandError> {
        if tenant.is_control_plane() || !self.sync.resource_servers {
            return Ok(None);
        }
        let control_plane = TenantId::control_plane();
        let stream = match self.store.unique_owner(&control_plane, RESOURCE_SERVER_IDENTIFIER, id_or_identifier).await?
        {
            Some(stream) => stream,
            None => streams::resource_server(&control_plane, id_or_identifier),
        };
        let mut loaded = load::<ResourceServer>(&self.store, &control_plane, &stream).await?;
        let ResourceServer::Live(api) = &mut loaded.state else { return Ok(None) };
        if api.is_system {
            return Ok(None);
        }
        api.is_system = true;
        Ok(Some(Located { tenant: control_plane, stream, loaded }))
    }
}
