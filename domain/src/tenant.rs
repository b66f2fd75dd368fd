//! The Tenant aggregate: one isolated space of users, roles and APIs, managed from the
//! control plane. Its stream lives under its own tenant id.

use serde::{Deserialize, Serialize};

use crate::text::valid_name;
use crate::{Aggregate, Rejection, RejectionKind, TenantId};

pub const TENANT_NAME_MAX: usize = 255;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenantFields {
    pub id: TenantId,
    pub name: String,
    pub friendly_name: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub enum Tenant {
    #[default]
    Absent,
    Live(TenantFields),
    Deleted,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TenantCommand {
    Create(TenantFields),
    Update { name: Option<String>, friendly_name: Option<String> },
    Delete,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum TenantEvent {
    #[serde(rename = "tenant.created")]
    Created(TenantFields),
    /// The tenant after the change.
    #[serde(rename = "tenant.updated")]
    Updated(TenantFields),
    #[serde(rename = "tenant.deleted")]
    Deleted { id: TenantId },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenantError {
    #[error("name must be 1 to {TENANT_NAME_MAX} characters, without control characters")]
    InvalidName,
    #[error("friendly_name must be 1 to {TENANT_NAME_MAX} characters, without control characters")]
    InvalidFriendlyName,
    #[error("The tenant already exists")]
    AlreadyExists,
    #[error("The tenant does not exist")]
    NotFound,
    #[error("The control plane tenant cannot be deleted")]
    ControlPlaneIsPermanent,
}

impl Rejection for TenantError {
    fn kind(&self) -> RejectionKind {
        match self {
            Self::InvalidName | Self::InvalidFriendlyName => RejectionKind::Invalid,
            Self::AlreadyExists => RejectionKind::AlreadyExists,
            Self::NotFound => RejectionKind::NotFound,
            Self::ControlPlaneIsPermanent => RejectionKind::Forbidden,
        }
    }

    fn field(&self) -> Option<&'static str> {
        match self {
            Self::InvalidName => Some("name"),
            Self::InvalidFriendlyName => Some("friendly_name"),
            Self::AlreadyExists | Self::NotFound | Self::ControlPlaneIsPermanent => None,
        }
    }
}

impl Aggregate for Tenant {
    type Command = TenantCommand;
    type Event = TenantEvent;
    type Error = TenantError;

    fn decide(&self, command: TenantCommand) -> Result<Vec<TenantEvent>, TenantError> {
        match (self, command) {
            (Self::Absent, TenantCommand::Create(fields)) => {
                check(&fields)?;
                Ok(vec![TenantEvent::Created(fields)])
            }
            // A deleted tenant's id stays taken: its history is still in the log under that id.
            (Self::Live(_) | Self::Deleted, TenantCommand::Create(_)) => Err(TenantError::AlreadyExists),
            (Self::Absent | Self::Deleted, _) => Err(TenantError::NotFound),
            (Self::Live(current), TenantCommand::Update { name, friendly_name }) => {
                let next = TenantFields {
                    id: current.id.clone(),
                    name: name.unwrap_or_else(|| current.name.clone()),
                    friendly_name: friendly_name.unwrap_or_else(|| current.friendly_name.clone()),
                };
                check(&next)?;
                Ok(if &next == current { Vec::new() } else { vec![TenantEvent::Updated(next)] })
            }
            (Self::Live(current), TenantCommand::Delete) if current.id.is_control_plane() => {
                Err(TenantError::ControlPlaneIsPermanent)
            }
            (Self::Live(current), TenantCommand::Delete) => Ok(vec![TenantEvent::Deleted { id: current.id.clone() }]),
        }
    }

    fn evolve(self, event: &TenantEvent) -> Self {
        match event {
            TenantEvent::Created(fields) | TenantEvent::Updated(fields) => Self::Live(fields.clone()),
            TenantEvent::Deleted { .. } => Self::Deleted,
        }
    }
}

impl Tenant {
    pub fn live(&self) -> Option<&TenantFields> {
        match self {
            Self::Live(fields) => Some(fields),
            Self::Absent | Self::Deleted => None,
        }
    }
}

fn check(fields: &TenantFields) -> Result<(), TenantError> {
    if !valid_name(&fields.name, TENANT_NAME_MAX) {
        return Err(TenantError::InvalidName);
    }
    if !valid_name(&fields.friendly_name, TENANT_NAME_MAX) {
        return Err(TenantError::InvalidFriendlyName);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::testing::{Given, given};

    fn acme() -> TenantFields {
        TenantFields { id: TenantId::parse("acme").unwrap(), name: "acme".into(), friendly_name: "Acme Inc.".into() }
    }

    fn tenant(events: impl IntoIterator<Item = TenantEvent>) -> Given<Tenant> {
        given(events)
    }

    #[test]
    fn a_tenant_is_created_with_its_names() {
        tenant([]).when(TenantCommand::Create(acme())).then([TenantEvent::Created(acme())]);
    }

    #[test]
    fn a_deleted_tenants_id_cannot_be_reused() {
        tenant([TenantEvent::Created(acme()), TenantEvent::Deleted { id: acme().id }])
            .when(TenantCommand::Create(acme()))
            .then_err(TenantError::AlreadyExists);
    }

    #[test]
    fn a_blank_friendly_name_is_refused() {
        tenant([TenantEvent::Created(acme())])
            .when(TenantCommand::Update { name: None, friendly_name: Some("".into()) })
            .then_err(TenantError::InvalidFriendlyName);
    }

    #[test]
    fn an_update_records_the_tenant_after_the_change() {
        tenant([TenantEvent::Created(acme())])
            .when(TenantCommand::Update { name: None, friendly_name: Some("Acme".into()) })
            .then([TenantEvent::Updated(TenantFields { friendly_name: "Acme".into(), ..acme() })]);
    }

    #[test]
    fn the_control_plane_cannot_be_deleted() {
        let control_plane = TenantFields {
            id: TenantId::control_plane(),
            name: "control_plane".into(),
            friendly_name: "Control".into(),
        };
        tenant([TenantEvent::Created(control_plane)])
            .when(TenantCommand::Delete)
            .then_err(TenantError::ControlPlaneIsPermanent);
    }
}
