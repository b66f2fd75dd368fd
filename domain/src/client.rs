//! The Client aggregate: an application that asks for tokens. F2 needs machine-to-machine
//! clients for the Management API; the rest of Auth0's client comes with F3.
//!
//! The secret itself never reaches the domain: only its keyed hash, computed by the caller.

use serde::{Deserialize, Serialize};

use crate::text::valid_name;
use crate::{Aggregate, Rejection, RejectionKind};

pub const CLIENT_NAME_MAX: usize = 255;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientFields {
    pub client_id: String,
    pub name: String,
    /// Auth0's `app_type`: `non_interactive` for machine-to-machine clients.
    pub app_type: String,
    pub grant_types: Vec<String>,
    /// Keyed hash of the client secret; a secret, never exported.
    pub secret_hash: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub enum Client {
    #[default]
    Absent,
    Live(ClientFields),
}

#[derive(Debug, Clone, PartialEq)]
pub enum ClientCommand {
    Create(ClientFields),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum ClientEvent {
    #[serde(rename = "client.created")]
    Created(ClientFields),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error("name must be 1 to {CLIENT_NAME_MAX} characters, without control characters")]
    InvalidName,
    #[error("The client already exists")]
    AlreadyExists,
}

impl Rejection for ClientError {
    fn kind(&self) -> RejectionKind {
        match self {
            Self::InvalidName => RejectionKind::Invalid,
            Self::AlreadyExists => RejectionKind::AlreadyExists,
        }
    }

    fn field(&self) -> Option<&'static str> {
        match self {
            Self::InvalidName => Some("name"),
            Self::AlreadyExists => None,
        }
    }
}

impl Aggregate for Client {
    type Command = ClientCommand;
    type Event = ClientEvent;
    type Error = ClientError;

    fn decide(&self, command: ClientCommand) -> Result<Vec<ClientEvent>, ClientError> {
        match (self, command) {
            (Self::Absent, ClientCommand::Create(fields)) if !valid_name(&fields.name, CLIENT_NAME_MAX) => {
                Err(ClientError::InvalidName)
            }
            (Self::Absent, ClientCommand::Create(fields)) => Ok(vec![ClientEvent::Created(fields)]),
            (Self::Live(_), ClientCommand::Create(_)) => Err(ClientError::AlreadyExists),
        }
    }

    fn evolve(self, event: &ClientEvent) -> Self {
        match event {
            ClientEvent::Created(fields) => Self::Live(fields.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::testing::given;

    fn m2m() -> ClientFields {
        ClientFields {
            client_id: "abc".into(),
            name: "Deploy bot".into(),
            app_type: "non_interactive".into(),
            grant_types: vec!["client_credentials".into()],
            secret_hash: "hmac".into(),
        }
    }

    #[test]
    fn a_client_is_created_with_its_secret_hash() {
        given::<Client>([]).when(ClientCommand::Create(m2m())).then([ClientEvent::Created(m2m())]);
    }

    #[test]
    fn a_client_id_cannot_be_taken_twice() {
        given::<Client>([ClientEvent::Created(m2m())])
            .when(ClientCommand::Create(m2m()))
            .then_err(ClientError::AlreadyExists);
    }
}
