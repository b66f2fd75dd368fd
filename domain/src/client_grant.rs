//! The ClientGrant aggregate: which scopes of which API (audience) a client may ask for with
//! `client_credentials`. One grant per (client, audience), and the client, the API and its
//! scopes existing, are checked by the command layer.

use serde::{Deserialize, Serialize};

use crate::{Aggregate, Rejection, RejectionKind};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientGrantFields {
    pub id: String,
    pub client_id: String,
    pub audience: String,
    pub scope: Vec<String>,
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
    /// The scopes the client may ask for from now on (replacing the old ones).
    Update {
        scope: Vec<String>,
    },
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
            (Self::Live(grant), ClientGrantCommand::Update { scope }) => {
                let scope = check_scope(scope)?;
                if scope == grant.scope {
                    return Ok(Vec::new());
                }
                Ok(vec![ClientGrantEvent::Updated(ClientGrantFields { scope, ..grant.clone() })])
            }
            (Self::Live(grant), ClientGrantCommand::Delete) => Ok(vec![ClientGrantEvent::Deleted {
                id: grant.id.clone(),
                client_id: grant.client_id.clone(),
                audience: grant.audience.clone(),
            }]),
        }
    }

    fn evolve(self, event: &ClientGrantEvent) -> Self {
        match event {
            ClientGrantEvent::Created(fields) | ClientGrantEvent::Updated(fields) => Self::Live(fields.clone()),
            ClientGrantEvent::Deleted { .. } => Self::Deleted,
        }
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
            .when(ClientGrantCommand::Update {
                scope: vec!["read:roles".into(), "create:roles".into(), "read:roles".into()],
            })
            .then([ClientGrantEvent::Updated(updated)]);
        given::<ClientGrant>([created]).when(ClientGrantCommand::Update { scope: vec!["read:roles".into()] }).then([]);
    }

    #[test]
    fn a_deleted_grant_names_its_client_and_audience_and_is_gone() {
        let deleted =
            ClientGrantEvent::Deleted { id: "cgr_1".into(), client_id: "abc".into(), audience: "https://api/".into() };
        given::<ClientGrant>([ClientGrantEvent::Created(grant("https://api/"))])
            .when(ClientGrantCommand::Delete)
            .then([deleted.clone()]);
        given::<ClientGrant>([ClientGrantEvent::Created(grant("https://api/")), deleted])
            .when(ClientGrantCommand::Update { scope: vec![] })
            .then_err(ClientGrantError::NotFound);
    }

    #[test]
    fn a_grant_without_an_audience_is_refused() {
        given::<ClientGrant>([])
            .when(ClientGrantCommand::Create(grant(" ")))
            .then_err(ClientGrantError::InvalidAudience);
    }
}
