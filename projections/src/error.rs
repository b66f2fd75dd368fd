//! `ProjectionError`: why a projection could not apply an event or a batch.

#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    /// The event's payload does not have the shape this projection expects.
    #[error("event at position {position} ({event_type}) cannot be applied: {reason}")]
    Event { position: u64, event_type: String, reason: String },

    #[error("database error: {0}")]
    Database(#[from] eventstore::sqlx::Error),

    #[error("reading the log failed: {0}")]
    Store(#[from] eventstore::StoreError),

    #[error("no projection is named {0:?}")]
    Unknown(String),

    #[error("projection {0} is not running")]
    Unavailable(String),
}

impl ProjectionError {
    /// A payload that does not decode into what the projection needs.
    pub fn event(event: &eventstore::RecordedEvent, reason: impl std::fmt::Display) -> Self {
        Self::Event { position: event.position, event_type: event.event_type.clone(), reason: reason.to_string() }
    }
}
