//! When an API is deleted or loses scopes, what named them goes too, in the same append: every
//! role and user holding such a permission gets a `*.permissions_removed`, every client grant
//! for the API is deleted (or loses those scopes). No read model, token or log consumer then
//! sees a permission on a scope that no longer exists, and an API re-created with the same
//! identifier starts with no one holding its scopes and no client granted it.

use std::collections::{BTreeMap, BTreeSet};

use domain::client_grant::{ClientGrant, ClientGrantChanges, ClientGrantCommand, ClientGrantEvent};
use domain::event::decode;
use domain::role::{Role, RoleCommand, RoleEvent};
use domain::user::{User, UserCommand, UserEvent};
use domain::{Aggregate, Permission, TenantId};
use eventstore::{ExpectedVersion, LogQuery, RecordedEvent, StreamWrite};

use crate::clients::grant_release;
use crate::executor::{Extra, Loaded, load, to_new_event};
use crate::streams::RESOURCE_SERVER_IDENTIFIER;
use crate::{CommandError, Commands};

/// Events read per page while looking for holders.
const PAGE: usize = 1_000;

impl Commands {
    /// The writes that take from every role, user and client grant of `tenant` the scopes of
    /// `identifier` that `gone` selects (a grant left with none, when the API itself goes, is
    /// deleted). An API the control plane syncs is held in child tenants too: theirs are
    /// revoked alike, except in a child with an API of its own under that identifier. Each
    /// write expects its stream's current version, so a holder changed meanwhile makes the
    /// whole command a conflict.
    pub(crate) async fn revocations(
        &self,
        tenant: &TenantId,
        identifier: &str,
        (gone, api_deleted): (impl Fn(&str) -> bool, bool),
    ) -> Result<Extra, CommandError> {
        let mut extra = Extra::default();
        let everywhere = tenant.is_control_plane() && self.sync.resource_servers;
        let (holders, grants) = self.holders((tenant, everywhere), identifier).await?;
        let mut own_api: BTreeMap<TenantId, bool> = BTreeMap::new();
        for (holder, _) in holders.iter().chain(&grants) {
            if holder != tenant && !own_api.contains_key(holder) {
                let owner = self.store.unique_owner(holder, RESOURCE_SERVER_IDENTIFIER, identifier).await?;
                own_api.insert(holder.clone(), owner.is_some());
            }
        }
        let revoked = |holder: &TenantId| !own_api.get(holder).copied().unwrap_or(false);
        let lost = |held: &BTreeSet<Permission>| -> Vec<Permission> {
            held.iter()
                .filter(|p| p.resource_server_identifier == identifier && gone(&p.permission_name))
                .cloned()
                .collect()
        };
        for (tenant, stream) in holders.into_iter().filter(|(holder, _)| revoked(holder)) {
            let tenant = &tenant;
            let events = if stream.starts_with("role:") {
                let loaded = load::<Role>(&self.store, tenant, &stream).await?;
                let permissions = loaded.state.live().map(|role| lost(&role.permissions)).unwrap_or_default();
                decided(&loaded, (!permissions.is_empty()).then_some(RoleCommand::RemovePermissions { permissions }))?
            } else {
                let loaded = load::<User>(&self.store, tenant, &stream).await?;
                let permissions = loaded.state.live().map(|user| lost(&user.permissions)).unwrap_or_default();
                decided(&loaded, (!permissions.is_empty()).then_some(UserCommand::RemovePermissions { permissions }))?
            };
            extra.guards.extend(events.map(|(version, events)| write(tenant, stream, version, events)));
        }
        for (tenant, stream) in grants.into_iter().filter(|(holder, _)| revoked(holder)) {
            let tenant = &tenant;
            let loaded = load::<ClientGrant>(&self.store, tenant, &stream).await?;
            let Some(grant) = loaded.state.live() else { continue };
            let command = if api_deleted {
                extra.unique.push(grant_release(tenant, &grant.client_id, &grant.audience));
                ClientGrantCommand::Delete
            } else {
                let scope = Some(grant.scope.iter().filter(|s| !gone(s)).cloned().collect());
                ClientGrantCommand::Update(ClientGrantChanges { scope, ..ClientGrantChanges::default() })
            };
            if let Some((version, events)) = decided(&loaded, Some(command))? {
                extra.guards.push(write(tenant, stream, version, events));
            }
        }
        Ok(extra)
    }

    /// The role and user streams ever given a permission on `identifier`, and the grant
    /// streams ever created for it, with their tenants: a scan of the `*.permissions_added` and
    /// `client_grant.created` events of `tenant` (of every tenant when `everywhere`), a read
    /// as rare as an API's deletion.
    async fn holders(
        &self,
        (tenant, everywhere): (&TenantId, bool),
        identifier: &str,
    ) -> Result<(BTreeSet<(TenantId, String)>, BTreeSet<(TenantId, String)>), CommandError> {
        let names = |permissions: &[Permission]| permissions.iter().any(|p| p.resource_server_identifier == identifier);
        let (mut holders, mut grants) = (BTreeSet::new(), BTreeSet::new());
        let mut after = 0;
        loop {
            let mut query = LogQuery::after(after)
                .types(["role.permissions_added", "user.permissions_added", "client_grant.created"])
                .limit(PAGE);
            if !everywhere {
                query = query.tenant(tenant.clone());
            }
            let page = self.store.read(&query).await?;
            let Some(last) = page.last() else { break };
            after = last.position;
            for event in page {
                match event.event_type.as_str() {
                    "role.permissions_added" => {
                        if matches!(decoded(&event)?, RoleEvent::PermissionsAdded { permissions, .. } if names(&permissions))
                        {
                            holders.insert((event.tenant_id.clone(), event.stream_id));
                        }
                    }
                    "user.permissions_added" => {
                        if matches!(decoded(&event)?, UserEvent::PermissionsAdded { permissions, .. } if names(&permissions))
                        {
                            holders.insert((event.tenant_id.clone(), event.stream_id));
                        }
                    }
                    _ => {
                        if matches!(decoded(&event)?, ClientGrantEvent::Created(grant) if grant.audience == identifier)
                        {
                            grants.insert((event.tenant_id.clone(), event.stream_id));
                        }
                    }
                }
            }
        }
        Ok((holders, grants))
    }
}

fn decoded<E: serde::de::DeserializeOwned>(event: &RecordedEvent) -> Result<E, CommandError> {
    decode(&event.event_type, &event.payload).map_err(|e| CommandError::Corrupt(e.to_string()))
}

fn write(tenant: &TenantId, stream: String, version: u64, events: Vec<eventstore::NewEvent>) -> StreamWrite {
    StreamWrite { tenant_id: tenant.clone(), stream_id: stream, expected: ExpectedVersion::Exact(version), events }
}

/// The stream version and encoded events of `command` decided on `loaded`, if it decides any.
fn decided<A: Aggregate>(
    loaded: &Loaded<A>,
    command: Option<A::Command>,
) -> Result<Option<(u64, Vec<eventstore::NewEvent>)>, CommandError> {
    let Some(command) = command else { return Ok(None) };
    let events = loaded.state.decide(command).map_err(CommandError::rejected)?;
    if events.is_empty() {
        return Ok(None);
    }
    let encoded = events.iter().map(to_new_event).collect::<Result<Vec<_>, _>>()?;
    Ok(Some((loaded.version, encoded)))
}
