//! The Organization aggregate: a named group of a tenant's users (its members), with roles
//! that hold only inside the organization (member roles).
//!
//! Whether a name is taken, whether a user or a role exists are rules across aggregates,
//! checked by the command layer in the append's transaction. What is decided here: the shape
//! of the fields, who is a member, and that roles are given to members only.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::text::valid_name;
use crate::{Aggregate, Rejection, RejectionKind};

/// Longer than Auth0's 50: the control plane's organization of a tenant is named after the
/// tenant id, which may be 63 characters.
pub const ORGANIZATION_NAME_MAX: usize = 63;
pub const DISPLAY_NAME_MAX: usize = 255;
/// Auth0's limits on organization metadata.
pub const METADATA_MAX_KEYS: usize = 25;
pub const METADATA_VALUE_MAX: usize = 255;

/// Auth0's organization branding.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Branding {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub colors: Option<BrandingColors>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BrandingColors {
    pub primary: String,
    pub page_background: String,
}

/// Everything an organization is but its members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationFields {
    pub id: String,
    pub name: String,
    pub display_name: Option<String>,
    pub branding: Option<Branding>,
    /// String values only, as Auth0's.
    pub metadata: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub enum Organization {
    #[default]
    Absent,
    Live(Box<OrganizationState>),
    Deleted,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrganizationState {
    pub fields: OrganizationFields,
    /// Member user ids, each with the role ids they hold in this organization.
    pub members: BTreeMap<String, BTreeSet<String>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum OrganizationCommand {
    Create(OrganizationFields),
    /// `None` keeps a field; `Some(None)` clears `display_name` or `branding`. Metadata merges
    /// key by key, a `None` value removing its key (as a user's metadata does).
    Update {
        name: Option<String>,
        display_name: Option<Option<String>>,
        branding: Option<Option<Branding>>,
        metadata: Option<BTreeMap<String, Option<String>>>,
    },
    AddMembers {
        members: Vec<String>,
    },
    RemoveMembers {
        members: Vec<String>,
    },
    AssignMemberRoles {
        user_id: String,
        roles: Vec<String>,
    },
    RemoveMemberRoles {
        user_id: String,
        roles: Vec<String>,
    },
    Delete,
}

/// Every event names the organization, so a consumer of the log needs no stream-id parsing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum OrganizationEvent {
    #[serde(rename = "organization.created")]
    Created(OrganizationFields),
    /// The fields after the change.
    #[serde(rename = "organization.updated")]
    Updated(OrganizationFields),
    /// Only users who were not members yet.
    #[serde(rename = "organization.members_added")]
    MembersAdded { id: String, members: Vec<String> },
    /// Only users who were members. Their member roles go with them.
    #[serde(rename = "organization.members_removed")]
    MembersRemoved { id: String, members: Vec<String> },
    /// Only roles the member did not hold yet.
    #[serde(rename = "organization.member_roles_assigned")]
    MemberRolesAssigned { id: String, user_id: String, roles: Vec<String> },
    /// Only roles the member held.
    #[serde(rename = "organization.member_roles_removed")]
    MemberRolesRemoved { id: String, user_id: String, roles: Vec<String> },
    #[serde(rename = "organization.deleted")]
    Deleted { id: String, name: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrganizationError {
    #[error(
        "name must be 1 to {ORGANIZATION_NAME_MAX} characters of lowercase letters, digits, '-' and '_', \
         starting with a letter or a digit"
    )]
    InvalidName,
    #[error("display_name must be 1 to {DISPLAY_NAME_MAX} characters, without control characters")]
    InvalidDisplayName,
    #[error(
        "metadata may hold at most {METADATA_MAX_KEYS} keys, each with a string value of at most \
         {METADATA_VALUE_MAX} characters"
    )]
    InvalidMetadata,
    #[error("members must not be empty")]
    NoMembers,
    #[error("roles must not be empty")]
    NoRoles,
    #[error("The user {0:?} is not a member of this organization")]
    NotAMember(String),
    #[error("The organization already exists")]
    AlreadyExists,
    #[error("The organization does not exist")]
    NotFound,
}

impl Rejection for OrganizationError {
    fn kind(&self) -> RejectionKind {
        match self {
            Self::InvalidName
            | Self::InvalidDisplayName
            | Self::InvalidMetadata
            | Self::NoMembers
            | Self::NoRoles
            | Self::NotAMember(_) => RejectionKind::Invalid,
            Self::AlreadyExists => RejectionKind::AlreadyExists,
            Self::NotFound => RejectionKind::NotFound,
        }
    }

    fn field(&self) -> Option<&'static str> {
        match self {
            Self::InvalidName => Some("name"),
            Self::InvalidDisplayName => Some("display_name"),
            Self::InvalidMetadata => Some("metadata"),
            Self::NoMembers => Some("members"),
            Self::NoRoles => Some("roles"),
            Self::NotAMember(_) => Some("user_id"),
            Self::AlreadyExists | Self::NotFound => None,
        }
    }
}

impl Aggregate for Organization {
    type Command = OrganizationCommand;
    type Event = OrganizationEvent;
    type Error = OrganizationError;

    fn decide(&self, command: OrganizationCommand) -> Result<Vec<OrganizationEvent>, OrganizationError> {
        match (self, command) {
            (Self::Absent, OrganizationCommand::Create(fields)) => {
                check_fields(&fields)?;
                Ok(vec![OrganizationEvent::Created(fields)])
            }
            (Self::Live(org), command) => decide_live(org, command),
            (Self::Deleted, OrganizationCommand::Create(_)) => Err(OrganizationError::AlreadyExists),
            (Self::Absent | Self::Deleted, _) => Err(OrganizationError::NotFound),
        }
    }

    fn evolve(self, event: &OrganizationEvent) -> Self {
        match (self, event) {
            (_, OrganizationEvent::Created(fields)) => {
                Self::Live(Box::new(OrganizationState { fields: fields.clone(), members: BTreeMap::new() }))
            }
            (Self::Live(mut org), OrganizationEvent::Updated(fields)) => {
                org.fields = fields.clone();
                Self::Live(org)
            }
            (Self::Live(mut org), OrganizationEvent::MembersAdded { members, .. }) => {
                for member in members {
                    org.members.entry(member.clone()).or_default();
                }
                Self::Live(org)
            }
            (Self::Live(mut org), OrganizationEvent::MembersRemoved { members, .. }) => {
                for member in members {
                    org.members.remove(member);
                }
                Self::Live(org)
            }
            (Self::Live(mut org), OrganizationEvent::MemberRolesAssigned { user_id, roles, .. }) => {
                org.members.entry(user_id.clone()).or_default().extend(roles.iter().cloned());
                Self::Live(org)
            }
            (Self::Live(mut org), OrganizationEvent::MemberRolesRemoved { user_id, roles, .. }) => {
                if let Some(held) = org.members.get_mut(user_id) {
                    for role in roles {
                        held.remove(role);
                    }
                }
                Self::Live(org)
            }
            (_, OrganizationEvent::Deleted { .. }) => Self::Deleted,
            // An event that does not apply to the state changes nothing: the log is the truth,
            // and decide never emits one.
            (state, _) => state,
        }
    }
}

fn decide_live(
    org: &OrganizationState,
    command: OrganizationCommand,
) -> Result<Vec<OrganizationEvent>, OrganizationError> {
    let id = org.fields.id.clone();
    Ok(match command {
        OrganizationCommand::Create(_) => return Err(OrganizationError::AlreadyExists),
        OrganizationCommand::Update { name, display_name, branding, metadata } => {
            let mut fields = org.fields.clone();
            if let Some(name) = name {
                fields.name = name;
            }
            if let Some(display_name) = display_name {
                fields.display_name = display_name;
            }
            if let Some(branding) = branding {
                fields.branding = branding;
            }
            for (key, value) in metadata.unwrap_or_default() {
                match value {
                    Some(value) => fields.metadata.insert(key, value),
                    None => fields.metadata.remove(&key),
                };
            }
            check_fields(&fields)?;
            if fields == org.fields { Vec::new() } else { vec![OrganizationEvent::Updated(fields)] }
        }
        OrganizationCommand::AddMembers { members } => {
            let new = changed(check_ids(members, OrganizationError::NoMembers)?, |m| !org.members.contains_key(m));
            new.map(|members| OrganizationEvent::MembersAdded { id, members }).into_iter().collect()
        }
        OrganizationCommand::RemoveMembers { members } => {
            let held = changed(check_ids(members, OrganizationError::NoMembers)?, |m| org.members.contains_key(m));
            held.map(|members| OrganizationEvent::MembersRemoved { id, members }).into_iter().collect()
        }
        OrganizationCommand::AssignMemberRoles { user_id, roles } => {
            let roles = check_ids(roles, OrganizationError::NoRoles)?;
            let held = org.members.get(&user_id).ok_or_else(|| OrganizationError::NotAMember(user_id.clone()))?;
            let new = changed(roles, |role| !held.contains(role));
            new.map(|roles| OrganizationEvent::MemberRolesAssigned { id, user_id, roles }).into_iter().collect()
        }
        OrganizationCommand::RemoveMemberRoles { user_id, roles } => {
            let roles = check_ids(roles, OrganizationError::NoRoles)?;
            let held = org.members.get(&user_id).ok_or_else(|| OrganizationError::NotAMember(user_id.clone()))?;
            let removed = changed(roles, |role| held.contains(role));
            removed.map(|roles| OrganizationEvent::MemberRolesRemoved { id, user_id, roles }).into_iter().collect()
        }
        OrganizationCommand::Delete => vec![OrganizationEvent::Deleted { id, name: org.fields.name.clone() }],
    })
}

impl Organization {
    pub fn live(&self) -> Option<&OrganizationState> {
        match self {
            Self::Live(org) => Some(org),
            Self::Absent | Self::Deleted => None,
        }
    }
}

/// An organization name is a slug with the same alphabet as a tenant id, so that a tenant's
/// organization on the control plane can carry the tenant's id as its name.
pub fn valid_organization_name(name: &str) -> bool {
    let mut chars = name.chars();
    let starts_well = chars.next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    starts_well
        && name.len() <= ORGANIZATION_NAME_MAX
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

fn check_fields(fields: &OrganizationFields) -> Result<(), OrganizationError> {
    if !valid_organization_name(&fields.name) {
        return Err(OrganizationError::InvalidName);
    }
    if fields.display_name.as_deref().is_some_and(|d| !valid_name(d, DISPLAY_NAME_MAX)) {
        return Err(OrganizationError::InvalidDisplayName);
    }
    let metadata_ok = fields.metadata.len() <= METADATA_MAX_KEYS
        && fields
            .metadata
            .iter()
            .all(|(key, value)| valid_name(key, METADATA_VALUE_MAX) && value.chars().count() <= METADATA_VALUE_MAX);
    if !metadata_ok {
        return Err(OrganizationError::InvalidMetadata);
    }
    Ok(())
}

/// A request's ids as a set: non-empty, none blank.
fn check_ids(ids: Vec<String>, empty: OrganizationError) -> Result<BTreeSet<String>, OrganizationError> {
    if ids.is_empty() || ids.iter().any(|id| id.trim().is_empty()) {
        return Err(empty);
    }
    Ok(ids.into_iter().collect())
}

/// The items of `set` that `keep` selects, or `None` when there are none: a request that
/// changes nothing appends nothing.
fn changed(set: BTreeSet<String>, keep: impl Fn(&String) -> bool) -> Option<Vec<String>> {
    let items: Vec<String> = set.into_iter().filter(|item| keep(item)).collect();
    (!items.is_empty()).then_some(items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::testing::given;

    fn acme() -> OrganizationFields {
        OrganizationFields {
            id: "org_1".into(),
            name: "acme".into(),
            display_name: Some("Acme Inc.".into()),
            branding: None,
            metadata: BTreeMap::new(),
        }
    }

    fn created() -> OrganizationEvent {
        OrganizationEvent::Created(acme())
    }

    fn joined(members: &[&str]) -> OrganizationEvent {
        OrganizationEvent::MembersAdded { id: "org_1".into(), members: members.iter().map(|m| m.to_string()).collect() }
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn update() -> OrganizationCommand {
        OrganizationCommand::Update { name: None, display_name: None, branding: None, metadata: None }
    }

    #[test]
    fn an_organization_is_created_with_its_fields() {
        given::<Organization>([]).when(OrganizationCommand::Create(acme())).then([created()]);
    }

    #[test]
    fn an_organization_name_must_be_a_lowercase_slug() {
        for name in ["Acme", "", "-acme", "acme corp", "a".repeat(64).as_str()] {
            given::<Organization>([])
                .when(OrganizationCommand::Create(OrganizationFields { name: name.into(), ..acme() }))
                .then_err(OrganizationError::InvalidName);
        }
        assert!(valid_organization_name("acme-corp_2"));
    }

    #[test]
    fn metadata_holds_at_most_25_keys() {
        let metadata = (0..26).map(|i| (format!("k{i}"), "v".to_string())).collect();
        given::<Organization>([])
            .when(OrganizationCommand::Create(OrganizationFields { metadata, ..acme() }))
            .then_err(OrganizationError::InvalidMetadata);
    }

    #[test]
    fn an_update_records_the_fields_after_the_change_and_merges_metadata() {
        let mut before = acme();
        before.metadata = BTreeMap::from([("plan".into(), "free".into()), ("region".into(), "eu".into())]);
        let changes = BTreeMap::from([("plan".into(), Some("pro".into())), ("region".into(), None)]);
        let mut after = before.clone();
        after.display_name = None;
        after.metadata = BTreeMap::from([("plan".into(), "pro".into())]);
        given::<Organization>([OrganizationEvent::Created(before)])
            .when(OrganizationCommand::Update {
                name: None,
                display_name: Some(None),
                branding: None,
                metadata: Some(changes),
            })
            .then([OrganizationEvent::Updated(after)]);
    }

    #[test]
    fn an_update_that_changes_nothing_records_nothing() {
        given::<Organization>([created()]).when(update()).then([]);
    }

    #[test]
    fn a_missing_or_deleted_organization_cannot_be_changed() {
        given::<Organization>([]).when(update()).then_err(OrganizationError::NotFound);
        given::<Organization>([created(), OrganizationEvent::Deleted { id: "org_1".into(), name: "acme".into() }])
            .when(OrganizationCommand::AddMembers { members: strings(&["u1"]) })
            .then_err(OrganizationError::NotFound);
    }

    #[test]
    fn adding_members_records_only_users_not_yet_members() {
        given::<Organization>([created(), joined(&["u1"])])
            .when(OrganizationCommand::AddMembers { members: strings(&["u2", "u1", "u2"]) })
            .then([joined(&["u2"])]);
    }

    #[test]
    fn an_empty_member_list_is_refused() {
        given::<Organization>([created()])
            .when(OrganizationCommand::AddMembers { members: vec![] })
            .then_err(OrganizationError::NoMembers);
    }

    #[test]
    fn member_roles_are_only_for_members() {
        given::<Organization>([created()])
            .when(OrganizationCommand::AssignMemberRoles { user_id: "u1".into(), roles: strings(&["rol_1"]) })
            .then_err(OrganizationError::NotAMember("u1".into()));
    }

    #[test]
    fn assigning_member_roles_records_only_roles_not_yet_held() {
        let assigned = |roles: &[&str]| OrganizationEvent::MemberRolesAssigned {
            id: "org_1".into(),
            user_id: "u1".into(),
            roles: strings(roles),
        };
        given::<Organization>([created(), joined(&["u1"]), assigned(&["rol_1"])])
            .when(OrganizationCommand::AssignMemberRoles { user_id: "u1".into(), roles: strings(&["rol_1", "rol_2"]) })
            .then([assigned(&["rol_2"])]);
    }

    #[test]
    fn removing_a_member_removes_their_organization_roles() {
        let removed = OrganizationEvent::MembersRemoved { id: "org_1".into(), members: strings(&["u1"]) };
        let assigned = OrganizationEvent::MemberRolesAssigned {
            id: "org_1".into(),
            user_id: "u1".into(),
            roles: strings(&["rol_1"]),
        };
        // Back as a member, the user holds no role of before.
        given::<Organization>([created(), joined(&["u1"]), assigned, removed, joined(&["u1"])])
            .when(OrganizationCommand::RemoveMemberRoles { user_id: "u1".into(), roles: strings(&["rol_1"]) })
            .then([]);
    }

    #[test]
    fn removing_users_who_are_not_members_records_nothing() {
        given::<Organization>([created()])
            .when(OrganizationCommand::RemoveMembers { members: strings(&["u1"]) })
            .then([]);
    }

    #[test]
    fn a_deleted_organization_records_its_name_to_free_it() {
        given::<Organization>([created()])
            .when(OrganizationCommand::Delete)
            .then([OrganizationEvent::Deleted { id: "org_1".into(), name: "acme".into() }]);
    }

    #[test]
    fn events_round_trip_through_their_stored_form() {
        let event = OrganizationEvent::MemberRolesRemoved {
            id: "org_1".into(),
            user_id: "u1".into(),
            roles: strings(&["rol_1"]),
        };
        let (event_type, payload) = crate::event::encode(&event).unwrap();
        assert_eq!(event_type, "organization.member_roles_removed");
        assert_eq!(crate::event::decode::<OrganizationEvent>(&event_type, &payload).unwrap(), event);
    }
}
