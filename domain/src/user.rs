//! The User aggregate, as far as bootstrap needs it: an administrator of the control plane.
//! F3 adds the profile, roles and the rest of Auth0's user.
//!
//! Personal fields arrive sealed ([`Sealed`]) and the password as its argon2id hash: the domain
//! never holds either in plaintext.

use serde::{Deserialize, Serialize};

use crate::personal::Sealed;
use crate::{Aggregate, Rejection, RejectionKind};

/// Auth0's default database connection, which every tenant has.
pub const DEFAULT_CONNECTION: &str = "Username-Password-Authentication";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserFields {
    pub user_id: String,
    pub connection: String,
    pub email: Sealed,
    pub email_verified: bool,
    /// argon2id PHC string; a secret, never exported.
    pub password_hash: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub enum User {
    #[default]
    Absent,
    Live(UserFields),
}

#[derive(Debug, Clone, PartialEq)]
pub enum UserCommand {
    Create(UserFields),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum UserEvent {
    #[serde(rename = "user.created")]
    Created(UserFields),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserError {
    #[error("The user already exists")]
    AlreadyExists,
}

impl Rejection for UserError {
    fn kind(&self) -> RejectionKind {
        match self {
            Self::AlreadyExists => RejectionKind::AlreadyExists,
        }
    }
}

impl Aggregate for User {
    type Command = UserCommand;
    type Event = UserEvent;
    type Error = UserError;

    fn decide(&self, command: UserCommand) -> Result<Vec<UserEvent>, UserError> {
        match (self, command) {
            (Self::Absent, UserCommand::Create(fields)) => Ok(vec![UserEvent::Created(fields)]),
            (Self::Live(_), UserCommand::Create(_)) => Err(UserError::AlreadyExists),
        }
    }

    fn evolve(self, event: &UserEvent) -> Self {
        match event {
            UserEvent::Created(fields) => Self::Live(fields.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::testing::given;

    fn admin() -> UserFields {
        UserFields {
            user_id: "auth0|1".into(),
            connection: DEFAULT_CONNECTION.into(),
            email: Sealed::new("ciphertext"),
            email_verified: true,
            password_hash: Some("$argon2id$...".into()),
        }
    }

    #[test]
    fn a_user_is_created_with_sealed_personal_data() {
        given::<User>([]).when(UserCommand::Create(admin())).then([UserEvent::Created(admin())]);
    }

    #[test]
    fn a_user_id_cannot_be_taken_twice() {
        given::<User>([UserEvent::Created(admin())])
            .when(UserCommand::Create(admin()))
            .then_err(UserError::AlreadyExists);
    }
}
