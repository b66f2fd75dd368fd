//! When an API is deleted or loses scopes, what named them goes too, in the same append: every
//! role and user holding such a permission gets a `*.permissions_removed`, every client grant
//! for the API is deleted (or loses those scopes). No read model, token or log consumer then
//! sees a permission on a scope that no longer exists, and an API re-created with the same
//! identifier starts with no one holding its scopes and no client granted it.

use std::collections::BTreeSet;

use domain::client_grant::{ClientGrant, ClientGrantCommand, ClientGrantEvent};
use domain::event::decode;
use domain::role::{Role, RoleCommand, RoleEvent};
use domain::user::{User, UserCommand, UserEvent};
use domain::{Aggregate, Permission, TenantId};
use eventstore::{ExpectedVersion, LogQuery, RecordedEvent, StreamWrite};

use crate::clients::grant_release;
use crate::executor::{Extra, Loaded, load, to_new_event};
use crate::{CommandError, Commands};

/// Events read per page while looking for holders.
const PAGE: usize = 1_000;

impl Commands {
    /// The writes that take from every role, user and client grant of `tenant` the scopes of
    /// `identifier` that `gone` selects (a grant left with none, when the API itself goes, is
    /// deleted). Each write expects its stream's current version, so a holder changed
    /// meanwhile makes the whole command a conflict.
    pub(crate) async fn revocations(
        &self,
        tenant: &TenantId,
        identifier: &str,
        (gone, api_deleted): (impl Fn(&str) -> bool, bool),
    ) -> Result<Extra, CommandError> {
        let mut extra = Extra::default();
        let (holders, grants) = self.holders(tenant, identifier).await?;
        let lost = |held: &BTreeSet<Permission>| -> Vec<Permission> {
            held.iter()
                .filter(|p| p.resource_server_identifier == identifier && gone(&p.permission_name))
                .cloned()
                .collect()
        };
        for stream in holders {
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
        for stream in grants {
            let loaded = load::<ClientGrant>(&self.store, tenant, &stream).await?;
            let Some(grant) = loaded.state.live() else { continue };
            let command = if api_deleted {
                extra.unique.push(grant_release(tenant, &grant.client_id, &grant.audience));
                ClientGrantCommand::Delete
            } else {
                ClientGrantCommand::Update { scope: grant.scope.iter().filter(|s| !gone(s)).cloned().collect() }
            };
            if let Some((version, events)) = decided(&loaded, Some(command))? {
                extra.guards.push(write(tenant, stream, version, events));
            }
        }
        Ok(extra)
    }

    /// The role and user streams ever given a permission on `identifier`, and the grant
    /// streams ever created for it: a scan of the tenant's `*.permissions_added` and
    /// `client_grant.created` events, a read as rare as an API's deletion.
    async fn holders(
        &self,
        tenant: &TenantId,
        identifier: &str,
    ) -> Result<(BTreeSet<String>, BTreeSet<String>), CommandError> {
        let names = |permissions: &[Permission]| permissions.iter().any(|p| p.resource_server_identifier == identifier);
        let (mut holders, mut grants) = (BTreeSet::new(), BTreeSet::new());
        let mut after = 0;
        loop {
            let query = LogQuery::after(after)
                .tenant(tenant.clone())
                .types(["role.permissions_added", "user.permissions_added", "client_grant.created"])
                .limit(PAGE);
            let page = self.store.read(&query).await?;
            let Some(last) = page.last() else { break };
            after = last.position;
            for event in page {
                match event.event_type.as_str() {
                    "role.permissions_added" => {
                        if matches!(decoded(&event)?, RoleEvent::PermissionsAdded { permissions, .. } if names(&permissions))
                        {
                            holders.insert(event.stream_id);
                        }
                    }
                    "user.permissions_added" => {
                        if matches!(decoded(&event)?, UserEvent::PermissionsAdded { permissions, .. } if names(&permissions))
                        {
                            holders.insert(event.stream_id);
                        }
                    }
                    _ => {
                        if matches!(decoded(&event)?, ClientGrantEvent::Created(grant) if grant.audience == identifier)
                        {
                            grants.insert(event.stream_id);
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
