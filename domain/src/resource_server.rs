//! The ResourceServer aggregate: an API that tokens are issued for, identified by its
//! `identifier` (the token audience) and offering scopes that roles grant as permissions.
//!
//! The identifier is unique per tenant (checked by the command layer in the append) and never
//! changes once set: tokens and permissions refer to it.

use serde::{Deserialize, Serialize};

use crate::text::{valid_description, valid_name};
use crate::{Aggregate, Rejection, RejectionKind};

pub const RESOURCE_SERVER_NAME_MAX: usize = 255;
pub const IDENTIFIER_MAX: usize = 600;
pub const SCOPE_VALUE_MAX: usize = 280;
pub const SCOPE_DESCRIPTION_MAX: usize = 500;
/// Auth0's bounds for `token_lifetime`, in seconds: up to 30 days.
pub const TOKEN_LIFETIME_MAX: u32 = 2_592_000;
pub const DEFAULT_TOKEN_LIFETIME: u32 = 86_400;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Scope {
    pub value: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SigningAlg {
    #[default]
    RS256,
    HS256,
    PS256,
    /// ECDSA with P-256: shorter tokens, signed in a fraction of RS256's time.
    ES256,
    /// Ed25519 (RFC 8037).
    EdDSA,
}

impl SigningAlg {
    /// The name Auth0 uses, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::HS256 => "HS256",
            Self::PS256 => "PS256",
            Self::ES256 => "ES256",
            Self::EdDSA => "EdDSA",
        }
    }
}

/// Everything a resource server is, after any event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceServerFields {
    pub id: String,
    pub name: String,
    pub identifier: String,
    pub scopes: Vec<Scope>,
    pub signing_alg: SigningAlg,
    pub token_lifetime: u32,
    pub allow_offline_access: bool,
    pub skip_consent_for_verifiable_first_party_clients: bool,
    /// The Management API itself and (later) entities synced from the control plane.
    pub is_system: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub enum ResourceServer {
    #[default]
    Absent,
    Live(ResourceServerFields),
    Deleted,
}

/// Changes to a resource server; `None` keeps the current value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResourceServerChanges {
    pub name: Option<String>,
    pub scopes: Option<Vec<Scope>>,
    pub signing_alg: Option<SigningAlg>,
    pub token_lifetime: Option<u32>,
    pub allow_offline_access: Option<bool>,
    pub skip_consent_for_verifiable_first_party_clients: Option<bool>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ResourceServerCommand {
    Create(ResourceServerFields),
    Update(ResourceServerChanges),
    /// The deployment's own upgrade of a system API (the Management API when a release adds
    /// permissions): adds the scopes it lacks, keeps every other field and scope. The only
    /// change a system API accepts.
    AddSystemScopes(Vec<Scope>),
    Delete,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum ResourceServerEvent {
    #[serde(rename = "resource_server.created")]
    Created(ResourceServerFields),
    /// The whole resource server after the change.
    #[serde(rename = "resource_server.updated")]
    Updated(ResourceServerFields),
    #[serde(rename = "resource_server.deleted")]
    Deleted { id: String, identifier: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResourceServerError {
    #[error("name must be 1 to {RESOURCE_SERVER_NAME_MAX} characters, without control characters")]
    InvalidName,
    #[error("identifier must be 1 to {IDENTIFIER_MAX} characters, without whitespace")]
    InvalidIdentifier,
    #[error("scopes: {0}")]
    InvalidScope(String),
    #[error("token_lifetime must be between 1 and {TOKEN_LIFETIME_MAX} seconds")]
    InvalidTokenLifetime,
    #[error("The resource server already exists")]
    AlreadyExists,
    #[error("The resource server does not exist")]
    NotFound,
    #[error(
        "This resource server is a system resource and cannot be modified. Make changes in the control plane instead."
    )]
    SystemEntity,
    #[error("Only a system resource server is upgraded by the deployment")]
    NotSystem,
}

impl Rejection for ResourceServerError {
    fn kind(&self) -> RejectionKind {
        match self {
            Self::InvalidName | Self::InvalidIdentifier | Self::InvalidScope(_) | Self::InvalidTokenLifetime => {
                RejectionKind::Invalid
            }
            Self::AlreadyExists => RejectionKind::AlreadyExists,
            Self::NotFound => RejectionKind::NotFound,
            Self::SystemEntity | Self::NotSystem => RejectionKind::Forbidden,
        }
    }

    fn field(&self) -> Option<&'static str> {
        match self {
            Self::InvalidName => Some("name"),
            Self::InvalidIdentifier => Some("identifier"),
            Self::InvalidScope(_) => Some("scopes"),
            Self::InvalidTokenLifetime => Some("token_lifetime"),
            Self::AlreadyExists | Self::NotFound | Self::SystemEntity | Self::NotSystem => None,
        }
    }
}

impl Aggregate for ResourceServer {
    type Command = ResourceServerCommand;
    type Event = ResourceServerEvent;
    type Error = ResourceServerError;

    fn decide(&self, command: ResourceServerCommand) -> Result<Vec<ResourceServerEvent>, ResourceServerError> {
        match (self, command) {
            (Self::Absent, ResourceServerCommand::Create(fields)) => {
                check(&fields)?;
                Ok(vec![ResourceServerEvent::Created(fields)])
            }
            (Self::Live(_) | Self::Deleted, ResourceServerCommand::Create(_)) => {
                Err(ResourceServerError::AlreadyExists)
            }
            (Self::Absent | Self::Deleted, _) => Err(ResourceServerError::NotFound),
            (Self::Live(current), ResourceServerCommand::AddSystemScopes(scopes)) if current.is_system => {
                let mut next = current.clone();
                next.scopes.extend(scopes.into_iter().filter(|scope| !current.has_scope(&scope.value)));
                check(&next)?;
                Ok(if next == *current { Vec::new() } else { vec![ResourceServerEvent::Updated(next)] })
            }
            (Self::Live(current), _) if current.is_system => Err(ResourceServerError::SystemEntity),
            // Ordinary APIs change their scopes through `Update`, where removals revoke.
            (Self::Live(_), ResourceServerCommand::AddSystemScopes(_)) => Err(ResourceServerError::NotSystem),
            (Self::Live(current), ResourceServerCommand::Update(changes)) => {
                let next = ResourceServerFields {
                    name: changes.name.unwrap_or_else(|| current.name.clone()),
                    scopes: changes.scopes.unwrap_or_else(|| current.scopes.clone()),
                    signing_alg: changes.signing_alg.unwrap_or(current.signing_alg),
                    token_lifetime: changes.token_lifetime.unwrap_or(current.token_lifetime),
                    allow_offline_access: changes.allow_offline_access.unwrap_or(current.allow_offline_access),
                    skip_consent_for_verifiable_first_party_clients: changes
                        .skip_consent_for_verifiable_first_party_clients
                        .unwrap_or(current.skip_consent_for_verifiable_first_party_clients),
                    ..current.clone()
                };
                check(&next)?;
                Ok(if &next == current { Vec::new() } else { vec![ResourceServerEvent::Updated(next)] })
            }
            (Self::Live(current), ResourceServerCommand::Delete) => Ok(vec![ResourceServerEvent::Deleted {
                id: current.id.clone(),
                identifier: current.identifier.clone(),
            }]),
        }
    }

    fn evolve(self, event: &ResourceServerEvent) -> Self {
        match event {
            ResourceServerEvent::Created(fields) | ResourceServerEvent::Updated(fields) => Self::Live(fields.clone()),
            ResourceServerEvent::Deleted { .. } => Self::Deleted,
        }
    }
}

impl ResourceServer {
    pub fn live(&self) -> Option<&ResourceServerFields> {
        match self {
            Self::Live(fields) => Some(fields),
            Self::Absent | Self::Deleted => None,
        }
    }
}

impl ResourceServerFields {
    pub fn has_scope(&self, value: &str) -> bool {
        self.scopes.iter().any(|scope| scope.value == value)
    }
}

fn check(fields: &ResourceServerFields) -> Result<(), ResourceServerError> {
    if !valid_name(&fields.name, RESOURCE_SERVER_NAME_MAX) {
        return Err(ResourceServerError::InvalidName);
    }
    let identifier = &fields.identifier;
    if identifier.is_empty()
        || identifier.chars().count() > IDENTIFIER_MAX
        || identifier.chars().any(char::is_whitespace)
    {
        return Err(ResourceServerError::InvalidIdentifier);
    }
    if fields.token_lifetime == 0 || fields.token_lifetime > TOKEN_LIFETIME_MAX {
        return Err(ResourceServerError::InvalidTokenLifetime);
    }
    let mut seen = std::collections::HashSet::new();
    for scope in &fields.scopes {
        let value = &scope.value;
        if value.is_empty()
            || value.chars().count() > SCOPE_VALUE_MAX
            || value.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(ResourceServerError::InvalidScope(format!(
                "{value:?} is not a valid scope value (1 to {SCOPE_VALUE_MAX} characters, no whitespace)"
            )));
        }
        if !valid_description(&scope.description, SCOPE_DESCRIPTION_MAX) {
            return Err(ResourceServerError::InvalidScope(format!(
                "the description of {value:?} must be at most {SCOPE_DESCRIPTION_MAX} characters"
            )));
        }
        if !seen.insert(value.as_str()) {
            return Err(ResourceServerError::InvalidScope(format!("{value:?} is listed twice")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::testing::{Given, given};

    fn fields() -> ResourceServerFields {
        ResourceServerFields {
            id: "rs1".into(),
            name: "Invoices".into(),
            identifier: "https://invoices/".into(),
            scopes: vec![Scope { value: "read:invoices".into(), description: "Read".into() }],
            signing_alg: SigningAlg::RS256,
            token_lifetime: DEFAULT_TOKEN_LIFETIME,
            allow_offline_access: false,
            skip_consent_for_verifiable_first_party_clients: true,
            is_system: false,
        }
    }

    fn api(events: impl IntoIterator<Item = ResourceServerEvent>) -> Given<ResourceServer> {
        given(events)
    }

    #[test]
    fn a_resource_server_is_created_with_all_its_fields() {
        api([]).when(ResourceServerCommand::Create(fields())).then([ResourceServerEvent::Created(fields())]);
    }

    #[test]
    fn an_identifier_with_whitespace_is_refused() {
        let bad = ResourceServerFields { identifier: "https://in voices/".into(), ..fields() };
        api([]).when(ResourceServerCommand::Create(bad)).then_err(ResourceServerError::InvalidIdentifier);
    }

    #[test]
    fn a_scope_listed_twice_is_refused() {
        let mut bad = fields();
        bad.scopes.push(bad.scopes[0].clone());
        let err = ResourceServer::Absent.decide(ResourceServerCommand::Create(bad)).unwrap_err();
        assert_eq!(err.field(), Some("scopes"));
    }

    #[test]
    fn a_token_lifetime_over_thirty_days_is_refused() {
        let bad = ResourceServerFields { token_lifetime: TOKEN_LIFETIME_MAX + 1, ..fields() };
        api([]).when(ResourceServerCommand::Create(bad)).then_err(ResourceServerError::InvalidTokenLifetime);
    }

    #[test]
    fn an_update_records_the_whole_resource_server_after_the_change() {
        let changes = ResourceServerChanges { name: Some("Billing".into()), ..Default::default() };
        api([ResourceServerEvent::Created(fields())])
            .when(ResourceServerCommand::Update(changes))
            .then([ResourceServerEvent::Updated(ResourceServerFields { name: "Billing".into(), ..fields() })]);
    }

    #[test]
    fn an_update_that_changes_nothing_records_nothing() {
        let changes = ResourceServerChanges { name: Some("Invoices".into()), ..Default::default() };
        api([ResourceServerEvent::Created(fields())]).when(ResourceServerCommand::Update(changes)).then([]);
    }

    #[test]
    fn a_system_resource_server_cannot_be_deleted() {
        let system = ResourceServerFields { is_system: true, ..fields() };
        api([ResourceServerEvent::Created(system)])
            .when(ResourceServerCommand::Delete)
            .then_err(ResourceServerError::SystemEntity);
    }

    fn scope(value: &str) -> Scope {
        Scope { value: value.into(), description: format!("Can {value}") }
    }

    #[test]
    fn a_system_api_gains_the_scopes_it_lacks_and_keeps_the_rest() {
        let system = ResourceServerFields { is_system: true, scopes: vec![scope("read:roles")], ..fields() };
        let upgraded =
            ResourceServerFields { scopes: vec![scope("read:roles"), scope("admin:tenants")], ..system.clone() };
        api([ResourceServerEvent::Created(system)])
            .when(ResourceServerCommand::AddSystemScopes(vec![
                Scope { value: "read:roles".into(), description: "other words".into() },
                scope("admin:tenants"),
            ]))
            .then([ResourceServerEvent::Updated(upgraded)]);
    }

    #[test]
    fn a_system_api_with_every_scope_is_not_upgraded_again() {
        let system = ResourceServerFields { is_system: true, scopes: vec![scope("read:roles")], ..fields() };
        api([ResourceServerEvent::Created(system)])
            .when(ResourceServerCommand::AddSystemScopes(vec![scope("read:roles")]))
            .then([]);
    }

    #[test]
    fn an_ordinary_api_is_not_upgraded_as_a_system_one() {
        api([ResourceServerEvent::Created(fields())])
            .when(ResourceServerCommand::AddSystemScopes(vec![scope("x")]))
            .then_err(ResourceServerError::NotSystem);
    }

    #[test]
    fn a_deleted_resource_server_is_not_found() {
        api([
            ResourceServerEvent::Created(fields()),
            ResourceServerEvent::Deleted { id: "rs1".into(), identifier: "https://invoices/".into() },
        ])
        .when(ResourceServerCommand::Update(ResourceServerChanges::default()))
        .then_err(ResourceServerError::NotFound);
    }
}
