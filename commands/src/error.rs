//! `CommandError`: why a command did not change the log. Every failure appends nothing.

use domain::{Rejection, RejectionKind};
use eventstore::StoreError;

use crate::streams::describe_unique;

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The domain refused the command.
    #[error("{message}")]
    Rejected { kind: RejectionKind, field: Option<&'static str>, message: String },
    /// A unique value (role name, identifier…) is held by another entity.
    #[error("{0}")]
    Duplicate(String),
    /// Another command changed the same entity between our read and our append.
    #[error("{0}")]
    Conflict(String),
    /// The idempotency key was used before with a different request.
    #[error("The Idempotency-Key was already used with a different request")]
    IdempotencyKeyReused,
    /// The log could not be read or written.
    #[error(transparent)]
    Store(StoreError),
    /// Personal data could not be sealed or opened (the data keys' table, the master key).
    #[error("personal data: {0}")]
    Personal(String),
    /// An event in the log could not be decoded into the domain.
    #[error("cannot decode an event of the log: {0}")]
    Corrupt(String),
}

impl CommandError {
    pub fn rejected(error: impl Rejection) -> Self {
        Self::Rejected { kind: error.kind(), field: error.field(), message: error.to_string() }
    }

    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Rejected { kind: RejectionKind::Invalid, field: Some(field), message: message.into() }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::Rejected { kind: RejectionKind::NotFound, field: None, message: message.into() }
    }
}

impl From<StoreError> for CommandError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict { .. } => {
                Self::Conflict("The entity was changed by another request; read it again and retry".into())
            }
            StoreError::Duplicate { scope, value, .. } => Self::Duplicate(describe_unique(&scope, &value)),
            StoreError::IdempotencyKeyReused { .. } => Self::IdempotencyKeyReused,
            other => Self::Store(other),
        }
    }
}
