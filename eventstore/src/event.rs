//! Events as callers write them (`NewEvent`) and as readers get them back (`RecordedEvent`).

use chrono::{DateTime, Utc};
use domain::TenantId;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An event to append: a dotted, stable type name, the revision of its payload schema and the
/// payload itself.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub event_type: String,
    pub revision: u32,
    pub payload: serde_json::Value,
}

impl NewEvent {
    pub fn new(event_type: impl Into<String>, revision: u32, payload: serde_json::Value) -> Self {
        Self { event_type: event_type.into(), revision, payload }
    }
}

/// Who caused an event: the token's subject, the tenant it was issued by and the client.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Actor {
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

/// Context stored with every event of one append. It is part of the hash chain, so the audit
/// trail's "who, from where, why" cannot be edited either.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Metadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<Actor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<String>,
    /// Set by the store from [`crate::Idempotency::key`]; whatever the caller puts here is
    /// replaced, so the recorded key is always the one that was de-duplicated on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

/// A committed event, after upcasting to the newest revision of its type.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedEvent {
    /// Global, contiguous, strictly increasing: the order every reader sees.
    pub position: u64,
    pub event_id: Uuid,
    pub tenant_id: TenantId,
    pub stream_id: String,
    pub stream_version: u64,
    pub event_type: String,
    pub revision: u32,
    pub payload: serde_json::Value,
    pub metadata: Metadata,
    pub recorded_at: DateTime<Utc>,
}
