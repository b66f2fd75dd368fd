//! What one append asks for and what it answers: stream writes with expected versions, claims
//! on unique values and an idempotency key, all applied atomically or not at all.

use domain::TenantId;

use crate::{Metadata, NewEvent};

/// The version a stream must be at for a write to it to succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedVersion {
    /// No check: append whatever the stream's version is.
    Any,
    /// The stream must not exist yet (version 0).
    NoStream,
    /// The stream's last event must have exactly this version.
    Exact(u64),
}

impl ExpectedVersion {
    pub(crate) fn admits(self, actual: u64) -> bool {
        match self {
            Self::Any => true,
            Self::NoStream => actual == 0,
            Self::Exact(expected) => actual == expected,
        }
    }
}

impl std::fmt::Display for ExpectedVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Any => f.write_str("any"),
            Self::NoStream => f.write_str("no stream"),
            Self::Exact(v) => write!(f, "{v}"),
        }
    }
}

/// Events for one stream. Versions continue from the stream's current version, starting at 1.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamWrite {
    pub tenant_id: TenantId,
    pub stream_id: String,
    pub expected: ExpectedVersion,
    pub events: Vec<NewEvent>,
}

/// A change to a unique value (a role name, a resource server identifier…), checked and applied
/// in the same transaction as the events, so uniqueness never depends on a racing read model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UniqueChange {
    /// Reserve `value` in `scope` for `owner` (a stream id). Claiming a value the same owner
    /// already holds succeeds; one held by another owner fails with `StoreError::Duplicate`.
    Claim { tenant_id: TenantId, scope: String, value: String, owner: String },
    /// Free `value` in `scope`. Releasing a value nobody holds is a no-op.
    Release { tenant_id: TenantId, scope: String, value: String },
}

impl UniqueChange {
    pub(crate) fn key(&self) -> UniqueKey {
        match self {
            Self::Claim { tenant_id, scope, value, .. } | Self::Release { tenant_id, scope, value } => {
                UniqueKey { tenant_id: tenant_id.clone(), scope: scope.clone(), value: value.clone() }
            }
        }
    }
}

/// The identity of a unique value: tenant first, like every key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct UniqueKey {
    pub tenant_id: TenantId,
    pub scope: String,
    pub value: String,
}

/// An idempotency key and a fingerprint of the request it was sent with. A second append with
/// the same key (for the same tenant) and the same fingerprint returns the first result and
/// appends nothing; with another fingerprint it fails with `StoreError::IdempotencyKeyReused`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idempotency {
    pub key: String,
    pub fingerprint: String,
}

/// One atomic append.
#[derive(Debug, Clone, PartialEq)]
pub struct AppendRequest {
    /// The tenant the command acts on: the scope of the idempotency key.
    pub tenant_id: TenantId,
    pub streams: Vec<StreamWrite>,
    pub unique: Vec<UniqueChange>,
    pub idempotency: Option<Idempotency>,
    pub metadata: Metadata,
}

impl AppendRequest {
    /// A request writing `events` to one stream, with no unique values and no idempotency key.
    pub fn to_stream(
        tenant_id: TenantId,
        stream_id: impl Into<String>,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Self {
        Self {
            streams: vec![StreamWrite { tenant_id: tenant_id.clone(), stream_id: stream_id.into(), expected, events }],
            tenant_id,
            unique: Vec::new(),
            idempotency: None,
            metadata: Metadata::default(),
        }
    }

    pub fn with_stream(mut self, write: StreamWrite) -> Self {
        self.streams.push(write);
        self
    }

    pub fn with_unique(mut self, change: UniqueChange) -> Self {
        self.unique.push(change);
        self
    }

    pub fn with_idempotency(mut self, key: impl Into<String>, fingerprint: impl Into<String>) -> Self {
        self.idempotency = Some(Idempotency { key: key.into(), fingerprint: fingerprint.into() });
        self
    }

    pub fn with_metadata(mut self, metadata: Metadata) -> Self {
        self.metadata = metadata;
        self
    }

    pub(crate) fn event_count(&self) -> usize {
        self.streams.iter().map(|s| s.events.len()).sum()
    }
}

/// The result of a successful append: the positions it committed, inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    pub first_position: u64,
    pub last_position: u64,
    /// True when the idempotency key had been seen: nothing was appended, and the positions are
    /// those of the first append.
    pub deduplicated: bool,
}
