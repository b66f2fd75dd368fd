//! The ClientGrant aggregate: which scopes of which API (audience) a client may ask for with
//! `client_credentials`. One grant per (client, audience), checked by the command layer.

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
}

#[derive(Debug, Clone, PartialEq)]
pub enum ClientGrantCommand {
    Create(ClientGrantFields),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum ClientGrantEvent {
    #[serde(rename = "client_grant.created")]
    Created(ClientGrantFields),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientGrantError {
    #[error("audience must not be empty")]
    InvalidAudience,
    #[error("The client grant already exists")]
    AlreadyExists,
}

impl Rejection for ClientGrantError {
    fn kind(&self) -> RejectionKind {
        match self {
            Self::InvalidAudience => RejectionKind::Invalid,
            Self::AlreadyExists => RejectionKind::AlreadyExists,
        }
    }

    fn field(&self) -> Option<&'static str> {
        match self {
            Self::InvalidAudience => Some("audience"),
            Self::AlreadyExists => None,
        }
    }
}

impl Aggregate for ClientGrant {
    type Command = ClientGrantCommand;
    type Event = ClientGrantEvent;
    type Error = ClientGrantError;

    fn decide(&self, command: ClientGrantCommand) -> Result<Vec<ClientGrantEvent>, ClientGrantError> {
        match (self, command) {
            (Self::Absent, ClientGrantCommand::Create(fields)) if fields.audience.trim().is_empty() => {
                Err(ClientGrantError::InvalidAudience)
            }
            (Self::Absent, ClientGrantCommand::Create(fields)) => Ok(vec![ClientGrantEvent::Created(fields)]),
            (Self::Live(_), ClientGrantCommand::Create(_)) => Err(ClientGrantError::AlreadyExists),
        }
    }

    fn evolve(self, event: &ClientGrantEvent) -> Self {
        match event {
            ClientGrantEvent::Created(fields) => Self::Live(fields.clone()),
        }
    }
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
    fn a_grant_without_an_audience_is_refused() {
        given::<ClientGrant>([])
            .when(ClientGrantCommand::Create(grant(" ")))
            .then_err(ClientGrantError::InvalidAudience);
    }
}
