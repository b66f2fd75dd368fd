//! The ClientGrant aggregate: which scopes of which API (audience) a client may ask for with
//! `client_credentials`, and in which organizations (Auth0's organizations for machine-to-
//! machine access: `organization_usage`, `allow_any_organization`, and the organizations the
//! grant is associated with). One grant per (client, audience), and the client, the API, its
//! scopes and an associated organization existing, are checked by the command layer.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::{Aggregate, Rejection, RejectionKind};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientGrantFields {
    pub id: String,
    pub client_id: String,
    pub audience: String,
    pub scope: Vec<String>,
    #[serde(default)]
    pub organization_usage: OrganizationUsage,
    /// Any organization of the tenant, not only the associated ones.
    #[serde(default)]
    pub allow_any_organization: bool,
    /// The organizations a token may be asked for (ids), besides any with
    /// `allow_any_organization`.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub organizations: BTreeSet<String>,
}

/// Whether `client_credentials` tokens of the grant may, or must, name an organization.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum OrganizationUsage {
    /// Tokens without an organization only (Auth0's default).
    #[default]
    Deny,
    /// With or without one.
    Allow,
    /// With one only.
    Require,
}

/// A PATCH of a grant: `None` keeps a setting.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientGrantChanges {
    pub scope: Option<Vec<String>>,
    pub organization_usage: Option<OrganizationUsage>,
    pub allow_any_organization: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub enum ClientGrant {
    #[default]
    Absent,
    Live(ClientGrantFields),
    Deleted,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ClientGrantCommand {
    Create(ClientGrantFields),
    /// Scopes (replacing the old ones) and organization settings from now on.
    Update(ClientGrantChanges),
    /// Tokens may be asked for in this organization (an id the command layer checked).
    AddOrganization(String),
    RemoveOrganization(String),
    Delete,
}

/// Every event carries the grant's client and audience, so a consumer needs no other event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum ClientGrantEvent {
    #[serde(rename = "client_grant.created")]
    Created(ClientGrantFields),
    #[serde(rename = "client_grant.updated")]
    Updated(ClientGrantFields),
    #[serde(rename = "client_grant.deleted")]
    Deleted { id: String, client_id: String, audience: String },
    #[serde(rename = "client_grant.organization_added")]
    OrganizationAdded { id: String, client_id: String, audience: String, organization_id: String },
    #[serde(rename = "client_grant.organization_removed")]
    OrganizationRemoved { id: String, client_id: String, audience: String, organization_id: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientGrantError {
    #[error("audience must not be empty")]
    InvalidAudience,
    #[error("scope: a scope must not be blank")]
    InvalidScope,
    #[error("The client grant already exists")]
    AlreadyExists,
    #[error("The client grant does not exist")]
    NotFound,
}

impl Rejection for ClientGrantError {
    fn kind(&self) -> RejectionKind {
        match self {
            Self::InvalidAudience | Self::InvalidScope => RejectionKind::Invalid,
            Self::AlreadyExists => RejectionKind::AlreadyExists,
            Self::NotFound => RejectionKind::NotFound,
        }
    }

    fn field(&self) -> Option<&'static str> {
        match self {
            Self::InvalidAudience => Some("audience"),
            Self::InvalidScope => Some("scope"),
            Self::AlreadyExists | Self::NotFound => None,
        }
    }
}

impl Aggregate for ClientGrant {
    type Command = ClientGrantCommand;
    type Event = ClientGrantEvent;
    type Error = ClientGrantError;

    fn decide(&self, command: ClientGrantCommand) -> Result<Vec<ClientGrantEvent>, ClientGrantError> {
        match (self, command) {
            (Self::Absent, ClientGrantCommand::Create(mut fields)) => {
                if fields.audience.trim().is_empty() {
                    return Err(ClientGrantError::InvalidAudience);
                }
                fields.scope = check_scope(fields.scope)?;
                Ok(vec![ClientGrantEvent::Created(fields)])
            }
            (Self::Live(_) | Self::Deleted, ClientGrantCommand::Create(_)) => Err(ClientGrantError::AlreadyExists),
            (Self::Absent | Self::Deleted, _) => Err(ClientGrantError::NotFound),
            (Self::Live(grant), ClientGrantCommand::Update(changes)) => {
                let mut updated = grant.clone();
                if let Some(scope) = changes.scope {
                    updated.scope = check_scope(scope)?;
                }
                updated.organization_usage = changes.organization_usage.unwrap_or(grant.organization_usage);
                updated.allow_any_organization = changes.allow_any_organization.unwrap_or(grant.allow_any_organization);
                if updated == *grant {
                    return Ok(Vec::new());
                }
                Ok(vec![ClientGrantEvent::Updated(updated)])
            }
            (Self::Live(grant), ClientGrantCommand::AddOrganization(organization_id)) => {
                if grant.organizations.contains(&organization_id) {
                    return Ok(Vec::new());
                }
                Ok(vec![ClientGrantEvent::OrganizationAdded {
                    id: grant.id.clone(),
                    client_id: grant.client_id.clone(),
                    audience: grant.audience.clone(),
                    organization_id,
                }])
            }
            (Self::Live(grant), ClientGrantCommand::RemoveOrganization(organization_id)) => {
                if !grant.organizations.contains(&organization_id) {
                    return Ok(Vec::new());
                }
                Ok(vec![ClientGrantEvent::OrganizationRemoved {
                    id: grant.id.clone(),
                    client_id: grant.client_id.clone(),
                    audience: grant.audience.clone(),
                    organization_id,
                }])
            }
            (Self::Live(grant), ClientGrantCommand::Delete) => Ok(vec![ClientGrantEvent::Deleted {
                id: grant.id.clone(),
                client_id: grant.client_id.clone(),
                audience: grant.audience.clone(),
            }]),
        }
    }

    fn evolve(self, event: &ClientGrantEvent) -> Self {
        match (self, event) {
            (_, ClientGrantEvent::Created(fields) | ClientGrantEvent::Updated(fields)) => Self::Live(fields.clone()),
            (_, ClientGrantEvent::Deleted { .. }) => Self::Deleted,
            (Self::Live(mut grant), ClientGrantEvent::OrganizationAdded { organization_id, .. }) => {
                grant.organizations.insert(organization_id.clone());
                Self::Live(grant)
            }
            (Self::Live(mut grant), ClientGrantEvent::OrganizationRemoved { organization_id, .. }) => {
                grant.organizations.remove(organization_id);
                Self::Live(grant)
            }
            (state, _) => state,
        }
    }
}

impl ClientGrantFields {
    /// Whether the grant's tokens may be for the organization `id` (one that exists).
    pub fn allows_organization(&self, id: &str) -> bool {
        self.organization_usage != OrganizationUsage::Deny
            && (self.allow_any_organization || self.organizations.contains(id))
    }
}

impl ClientGrant {
    pub fn live(&self) -> Option<&ClientGrantFields> {
        match self {
            Self::Live(grant) => Some(grant),
            Self::Absent | Self::Deleted => None,
        }
    }
}

/// Scopes without blanks or repeats, in the order given.
fn check_scope(scope: Vec<String>) -> Result<Vec<String>, ClientGrantError> {
    if scope.iter().any(|s| s.trim().is_empty()) {
        return Err(ClientGrantError::InvalidScope);
    }
    let mut seen = std::collections::BTreeSet::new();
    Ok(scope.into_iter().filter(|s| seen.insert(s.clone())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::testing::given;

    fn grant(audience: &str) -> ClientGrantFields {
        ClientGrantFields {
            id: "cgr_1".into(),
            client_id: "abc".into(),
            audience: audience.into(),
            scope: vec!["read:roles".into()],
            ..ClientGrantFields::default()
        }
    }

    #[test]
    fn a_grant_records_its_client_audience_and_scopes() {
        given::<ClientGrant>([])
            .when(ClientGrantCommand::Create(grant("https://api/")))
            .then([ClientGrantEvent::Created(grant("https://api/"))]);
    }

    #[test]
    fn an_update_replaces_the_scopes_and_an_unchanged_one_records_nothing() {
        let created = ClientGrantEvent::Created(grant("https://api/"));
        let mut updated = grant("https://api/");
        updated.scope = vec!["read:roles".into(), "create:roles".into()];
        given::<ClientGrant>([created.clone()])
            .when(scope(&["read:roles", "create:roles", "read:roles"]))
            .then([ClientGrantEvent::Updated(updated)]);
        given::<ClientGrant>([created]).when(scope(&["read:roles"])).then([]);
    }

    #[test]
    fn a_deleted_grant_names_its_client_and_audience_and_is_gone() {
        let deleted =
            ClientGrantEvent::Deleted { id: "cgr_1".into(), client_id: "abc".into(), audience: "https://api/".into() };
        given::<ClientGrant>([ClientGrantEvent::Created(grant("https://api/"))])
            .when(ClientGrantCommand::Delete)
            .then([deleted.clone()]);
        given::<ClientGrant>([ClientGrantEvent::Created(grant("https://api/")), deleted])
            .when(scope(&[]))
            .then_err(ClientGrantError::NotFound);
    }

    fn scope(scope: &[&str]) -> ClientGrantCommand {
        let scope = Some(scope.iter().map(|s| (*s).to_owned()).collect());
        ClientGrantCommand::Update(ClientGrantChanges { scope, ..ClientGrantChanges::default() })
    }

    fn organization_added(organization_id: &str) -> ClientGrantEvent {
        ClientGrantEvent::OrganizationAdded {
            id: "cgr_1".into(),
            client_id: "abc".into(),
            audience: "https://api/".into(),
            organization_id: organization_id.into(),
        }
    }

    #[test]
    fn an_update_may_allow_organizations_and_keeps_what_it_does_not_name() {
        let changes = ClientGrantChanges {
            organization_usage: Some(OrganizationUsage::Require),
            allow_any_organization: Some(true),
            ..ClientGrantChanges::default()
        };
        let mut updated = grant("https://api/");
        updated.organization_usage = OrganizationUsage::Require;
        updated.allow_any_organization = true;
        given::<ClientGrant>([ClientGrantEvent::Created(grant("https://api/"))])
            .when(ClientGrantCommand::Update(changes))
            .then([ClientGrantEvent::Updated(updated)]);
    }

    #[test]
    fn an_organization_is_associated_once_and_removed_once() {
        let created = ClientGrantEvent::Created(grant("https://api/"));
        given::<ClientGrant>([created.clone()])
            .when(ClientGrantCommand::AddOrganization("org_1".into()))
            .then([organization_added("org_1")]);
        given::<ClientGrant>([created.clone(), organization_added("org_1")])
            .when(ClientGrantCommand::AddOrganization("org_1".into()))
            .then([]);
        let removed = ClientGrantEvent::OrganizationRemoved {
            id: "cgr_1".into(),
            client_id: "abc".into(),
            audience: "https://api/".into(),
            organization_id: "org_1".into(),
        };
        given::<ClientGrant>([created.clone(), organization_added("org_1")])
            .when(ClientGrantCommand::RemoveOrganization("org_1".into()))
            .then([removed]);
        given::<ClientGrant>([created]).when(ClientGrantCommand::RemoveOrganization("org_1".into())).then([]);
    }

    #[test]
    fn a_grant_without_an_audience_is_refused() {
        given::<ClientGrant>([])
            .when(ClientGrantCommand::Create(grant(" ")))
            .then_err(ClientGrantError::InvalidAudience);
    }
}
