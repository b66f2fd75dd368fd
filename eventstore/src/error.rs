//! `StoreError`: the one error type of the event store. Every variant a caller can act on is
//! typed; positions are named wherever a stored row is at fault.

use crate::ExpectedVersion;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A stream was not at the expected version. Nothing was appended; the caller reloads and
    /// decides again, or reports a conflict (HTTP 409). Never retried silently.
    #[error("stream {stream_id} is at version {actual}, expected {expected}")]
    Conflict { stream_id: String, expected: ExpectedVersion, actual: u64 },

    /// A unique value is already held by another owner. Nothing was appended.
    #[error("{scope} {value:?} is already taken")]
    Duplicate { scope: String, value: String, owner: String },

    /// The idempotency key was used before with a different request. Nothing was appended.
    #[error("idempotency key {key:?} was already used with a different request")]
    IdempotencyKeyReused { key: String },

    /// The request itself is malformed (no events, a bad type name, an empty stream id…).
    #[error("invalid append: {0}")]
    InvalidAppend(String),

    /// One event's serialized payload exceeds the configured limit.
    #[error("event {index} has a payload of {size} bytes, over the limit of {limit}")]
    PayloadTooLarge { index: usize, size: usize, limit: usize },

    /// A stored row cannot be read (invalid JSON, an impossible value). The log itself is damaged.
    #[error("the event at position {position} is unreadable: {reason}")]
    Corrupt { position: u64, reason: String },

    /// A stored event has a type this build does not know.
    #[error("the event at position {position} has the unknown type {event_type:?}")]
    UnknownEventType { position: u64, event_type: String },

    /// A stored event could not be brought to the current revision of its type.
    #[error("the event at position {position} ({event_type} revision {revision}) cannot be upcast: {reason}")]
    Upcast { position: u64, event_type: String, revision: u32, reason: String },

    /// The writer task has stopped (the store is shutting down).
    #[error("the event store is shutting down")]
    Closed,

    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),

    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),

    /// The database URL names no backend this build supports.
    #[error("unsupported database url {0:?}: expected postgres://… or sqlite://…")]
    UnsupportedUrl(String),
}

impl StoreError {
    pub(crate) fn corrupt(position: u64, reason: impl std::fmt::Display) -> Self {
        Self::Corrupt { position, reason: reason.to_string() }
    }
}
