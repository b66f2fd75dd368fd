//! The Role aggregate: a named set of permissions within one tenant.
//!
//! Name uniqueness per tenant and the existence of each permission's scope are rules across
//! aggregates; the command layer checks them in the append's transaction. What is decided
//! here is everything the role alone can know.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::text::{valid_description, valid_name};
use crate::{Aggregate, Permission, Rejection, RejectionKind};

pub const ROLE_NAME_MAX: usize = 255;
pub const ROLE_DESCRIPTION_MAX: usize = 255;

#[derive(Debug, Clone, Default, PartialEq)]
pub enum Role {
    #[default]
    Absent,
    Live(RoleState),
    Deleted,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RoleState {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub permissions: BTreeSet<Permission>,
    /// Synced from the control plane: read-only in a child tenant.
    pub is_system: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RoleCommand {
    Create {
        id: String,
        name: String,
        description: Option<String>,
    },
    /// Fields left `None` keep their value; `description: Some(None)` clears it.
    Update {
        name: Option<String>,
        description: Option<Option<String>>,
    },
    AddPermissions {
        permissions: Vec<Permission>,
    },
    RemovePermissions {
        permissions: Vec<Permission>,
    },
    Delete,
}

/// Every event names the role, so a consumer of the log needs no stream-id parsing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum RoleEvent {
    #[serde(rename = "role.created")]
    Created { id: String, name: String, description: Option<String> },
    /// The role's name and description after the change.
    #[serde(rename = "role.updated")]
    Updated { id: String, name: String, description: Option<String> },
    /// Only permissions the role did not hold yet.
    #[serde(rename = "role.permissions_added")]
    PermissionsAdded { id: String, permissions: Vec<Permission> },
    /// Only permissions the role held.
    #[serde(rename = "role.permissions_removed")]
    PermissionsRemoved { id: String, permissions: Vec<Permission> },
    #[serde(rename = "role.deleted")]
    Deleted { id: String, name: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoleError {
    #[error("name must be 1 to {ROLE_NAME_MAX} characters, without control characters")]
    InvalidName,
    #[error("description must be at most {ROLE_DESCRIPTION_MAX} characters")]
    InvalidDescription,
    #[error("permissions must not be empty")]
    NoPermissions,
    #[error("permissions: {0}")]
    InvalidPermission(String),
    #[error("The role already exists")]
    AlreadyExists,
    #[error("The role does not exist")]
    NotFound,
    #[error("This role is a system resource and cannot be modified. Make changes in the control plane instead.")]
    SystemEntity,
}

impl Rejection for RoleError {
    fn kind(&self) -> RejectionKind {
        match self {
            Self::InvalidName | Self::InvalidDescription | Self::NoPermissions | Self::InvalidPermission(_) => {
                RejectionKind::Invalid
            }
            Self::AlreadyExists => RejectionKind::AlreadyExists,
            Self::NotFound => RejectionKind::NotFound,
            Self::SystemEntity => RejectionKind::Forbidden,
        }
    }

    fn field(&self) -> Option<&'static str> {
        match self {
            Self::InvalidName => Some("name"),
            Self::InvalidDescription => Some("description"),
            Self::NoPermissions | Self::InvalidPermission(_) => Some("permissions"),
            Self::AlreadyExists | Self::NotFound | Self::SystemEntity => None,
        }
    }
}

impl Aggregate for Role {
    type Command = RoleCommand;
    type Event = RoleEvent;
    type Error = RoleError;

    fn decide(&self, command: RoleCommand) -> Result<Vec<RoleEvent>, RoleError> {
        match (self, command) {
            (Self::Absent, RoleCommand::Create { id, name, description }) => {
                check_name(&name)?;
                check_description(description.as_deref())?;
                Ok(vec![RoleEvent::Created { id, name, description }])
            }
            (Self::Live(_), RoleCommand::Create { .. }) | (Self::Deleted, RoleCommand::Create { .. }) => {
                Err(RoleError::AlreadyExists)
            }
            (Self::Absent | Self::Deleted, _) => Err(RoleError::NotFound),
            (Self::Live(role), _) if role.is_system => Err(RoleError::SystemEntity),
            (Self::Live(role), RoleCommand::Update { name, description }) => {
                let name = name.unwrap_or_else(|| role.name.clone());
                let description = description.unwrap_or_else(|| role.description.clone());
                check_name(&name)?;
                check_description(description.as_deref())?;
                if name == role.name && description == role.description {
                    return Ok(Vec::new());
                }
                Ok(vec![RoleEvent::Updated { id: role.id.clone(), name, description }])
            }
            (Self::Live(role), RoleCommand::AddPermissions { permissions }) => {
                let permissions = check_permissions(permissions)?;
                let new: Vec<_> = permissions.into_iter().filter(|p| !role.permissions.contains(p)).collect();
                Ok(if new.is_empty() {
                    Vec::new()
                } else {
                    vec![RoleEvent::PermissionsAdded { id: role.id.clone(), permissions: new }]
                })
            }
            (Self::Live(role), RoleCommand::RemovePermissions { permissions }) => {
                let permissions = check_permissions(permissions)?;
                let held: Vec<_> = permissions.into_iter().filter(|p| role.permissions.contains(p)).collect();
                Ok(if held.is_empty() {
                    Vec::new()
                } else {
                    vec![RoleEvent::PermissionsRemoved { id: role.id.clone(), permissions: held }]
                })
            }
            (Self::Live(role), RoleCommand::Delete) => {
                Ok(vec![RoleEvent::Deleted { id: role.id.clone(), name: role.name.clone() }])
            }
        }
    }

    fn evolve(self, event: &RoleEvent) -> Self {
        match (self, event) {
            (_, RoleEvent::Created { id, name, description }) => Self::Live(RoleState {
                id: id.clone(),
                name: name.clone(),
                description: description.clone(),
                permissions: BTreeSet::new(),
                is_system: false,
            }),
            (Self::Live(mut role), RoleEvent::Updated { name, description, .. }) => {
                role.name.clone_from(name);
                role.description.clone_from(description);
                Self::Live(role)
            }
            (Self::Live(mut role), RoleEvent::PermissionsAdded { permissions, .. }) => {
                role.permissions.extend(permissions.iter().cloned());
                Self::Live(role)
            }
            (Self::Live(mut role), RoleEvent::PermissionsRemoved { permissions, .. }) => {
                for permission in permissions {
                    role.permissions.remove(permission);
                }
                Self::Live(role)
            }
            (_, RoleEvent::Deleted { .. }) => Self::Deleted,
            // An event that does not apply to the state changes nothing: the log is the truth,
            // and decide never emits one.
            (state, _) => state,
        }
    }
}

impl Role {
    pub fn live(&self) -> Option<&RoleState> {
        match self {
            Self::Live(role) => Some(role),
            Self::Absent | Self::Deleted => None,
        }
    }
}

fn check_name(name: &str) -> Result<(), RoleError> {
    if valid_name(name, ROLE_NAME_MAX) { Ok(()) } else { Err(RoleError::InvalidName) }
}

fn check_description(description: Option<&str>) -> Result<(), RoleError> {
    match description {
        Some(text) if !valid_description(text, ROLE_DESCRIPTION_MAX) => Err(RoleError::InvalidDescription),
        _ => Ok(()),
    }
}

fn check_permissions(permissions: Vec<Permission>) -> Result<BTreeSet<Permission>, RoleError> {
    crate::permission::check_set(permissions).map_err(|problem| match problem {
        None => RoleError::NoPermissions,
        Some(message) => RoleError::InvalidPermission(message),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::testing::{Given, given};

    fn created() -> RoleEvent {
        RoleEvent::Created { id: "rol_1".into(), name: "admin".into(), description: Some("All of it".into()) }
    }

    fn read() -> Permission {
        Permission::new("https://api/", "read:things")
    }

    fn write() -> Permission {
        Permission::new("https://api/", "write:things")
    }

    fn role(events: impl IntoIterator<Item = RoleEvent>) -> Given<Role> {
        given(events)
    }

    #[test]
    fn a_role_is_created_with_its_name_and_description() {
        role([])
            .when(RoleCommand::Create {
                id: "rol_1".into(),
                name: "admin".into(),
                description: Some("All of it".into()),
            })
            .then([created()]);
    }

    #[test]
    fn a_role_cannot_be_created_with_a_blank_name() {
        role([])
            .when(RoleCommand::Create { id: "rol_1".into(), name: " ".into(), description: None })
            .then_err(RoleError::InvalidName);
    }

    #[test]
    fn a_role_cannot_be_created_twice() {
        role([created()])
            .when(RoleCommand::Create { id: "rol_1".into(), name: "x".into(), description: None })
            .then_err(RoleError::AlreadyExists);
    }

    #[test]
    fn an_update_records_the_name_and_description_after_the_change() {
        role([created()]).when(RoleCommand::Update { name: Some("ops".into()), description: None }).then([
            RoleEvent::Updated { id: "rol_1".into(), name: "ops".into(), description: Some("All of it".into()) },
        ]);
    }

    #[test]
    fn an_update_may_clear_the_description() {
        role([created()])
            .when(RoleCommand::Update { name: None, description: Some(None) })
            .then([RoleEvent::Updated { id: "rol_1".into(), name: "admin".into(), description: None }]);
    }

    #[test]
    fn an_update_that_changes_nothing_records_nothing() {
        role([created()]).when(RoleCommand::Update { name: Some("admin".into()), description: None }).then([]);
    }

    #[test]
    fn adding_permissions_records_only_those_not_yet_held() {
        role([created(), RoleEvent::PermissionsAdded { id: "rol_1".into(), permissions: vec![read()] }])
            .when(RoleCommand::AddPermissions { permissions: vec![read(), write(), write()] })
            .then([RoleEvent::PermissionsAdded { id: "rol_1".into(), permissions: vec![write()] }]);
    }

    #[test]
    fn adding_permissions_already_held_records_nothing() {
        role([created(), RoleEvent::PermissionsAdded { id: "rol_1".into(), permissions: vec![read()] }])
            .when(RoleCommand::AddPermissions { permissions: vec![read()] })
            .then([]);
    }

    #[test]
    fn an_empty_permission_list_is_refused() {
        role([created()]).when(RoleCommand::AddPermissions { permissions: vec![] }).then_err(RoleError::NoPermissions);
    }

    #[test]
    fn removing_permissions_records_only_those_held() {
        role([created(), RoleEvent::PermissionsAdded { id: "rol_1".into(), permissions: vec![read()] }])
            .when(RoleCommand::RemovePermissions { permissions: vec![read(), write()] })
            .then([RoleEvent::PermissionsRemoved { id: "rol_1".into(), permissions: vec![read()] }]);
    }

    #[test]
    fn a_deleted_role_is_not_found() {
        role([created(), RoleEvent::Deleted { id: "rol_1".into(), name: "admin".into() }])
            .when(RoleCommand::Delete)
            .then_err(RoleError::NotFound);
    }

    #[test]
    fn a_role_that_never_existed_cannot_be_updated() {
        role([]).when(RoleCommand::Update { name: Some("x".into()), description: None }).then_err(RoleError::NotFound);
    }

    #[test]
    fn a_system_role_cannot_be_changed() {
        let mut state = Role::fold(&[created()]);
        if let Role::Live(role) = &mut state {
            role.is_system = true;
        }
        assert_eq!(state.decide(RoleCommand::Delete), Err(RoleError::SystemEntity));
    }

    #[test]
    fn events_round_trip_through_their_stored_form() {
        let event = RoleEvent::PermissionsAdded { id: "rol_1".into(), permissions: vec![read()] };
        let (event_type, payload) = crate::event::encode(&event).unwrap();
        assert_eq!(event_type, "role.permissions_added");
        assert_eq!(crate::event::decode::<RoleEvent>(&event_type, &payload).unwrap(), event);
    }
}
