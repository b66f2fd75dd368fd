//! `StoredRow`: an `events` row exactly as stored, before JSON parsing and upcasting. Both
//! backends decode into it; reading and verifying share everything after that.

use chrono::{DateTime, Utc};
use domain::TenantId;
use uuid::Uuid;

use crate::hash::ChainFields;
use crate::{Metadata, RecordedEvent, StoreError, Upcasters};

#[derive(Debug, Clone)]
pub(crate) struct StoredRow {
    pub position: i64,
    pub event_id: Uuid,
    pub tenant_id: String,
    pub stream_id: String,
    pub stream_version: i64,
    pub event_type: String,
    pub revision: i32,
    pub payload: String,
    pub metadata: String,
    pub recorded_at_micros: i64,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
}

impl StoredRow {
    pub fn position(&self) -> u64 {
        u64::try_from(self.position).unwrap_or(0)
    }

    /// The fields the hash chain covers. Negative numbers cannot be stored legitimately (the
    /// schema has CHECKs), so they are mapped to values no honest row hashes to.
    pub fn chain_fields(&self) -> ChainFields<'_> {
        ChainFields {
            position: self.position(),
            event_id: self.event_id,
            tenant_id: &self.tenant_id,
            stream_id: &self.stream_id,
            stream_version: u64::try_from(self.stream_version).unwrap_or(u64::MAX),
            event_type: &self.event_type,
            revision: u32::try_from(self.revision).unwrap_or(u32::MAX),
            payload: &self.payload,
            metadata: &self.metadata,
            recorded_at_micros: self.recorded_at_micros,
        }
    }

    pub fn into_recorded(self, upcasters: &Upcasters) -> Result<RecordedEvent, StoreError> {
        let position = self.position();
        let corrupt = |reason: String| StoreError::corrupt(position, reason);
        let tenant_id = TenantId::parse(self.tenant_id).map_err(|e| corrupt(format!("tenant_id: {e}")))?;
        let stream_version =
            u64::try_from(self.stream_version).map_err(|_| corrupt("negative stream_version".into()))?;
        let revision = u32::try_from(self.revision).map_err(|_| corrupt("negative revision".into()))?;
        let payload = serde_json::from_str(&self.payload).map_err(|e| corrupt(format!("payload is not JSON: {e}")))?;
        let metadata: Metadata =
            serde_json::from_str(&self.metadata).map_err(|e| corrupt(format!("metadata is not valid: {e}")))?;
        let recorded_at = DateTime::<Utc>::from_timestamp_micros(self.recorded_at_micros)
            .ok_or_else(|| corrupt("recorded_at out of range".into()))?;
        let (revision, payload) = upcasters.upcast(position, &self.event_type, revision, payload)?;
        Ok(RecordedEvent {
            position,
            event_id: self.event_id,
            tenant_id,
            stream_id: self.stream_id,
            stream_version,
            event_type: self.event_type,
            revision,
            payload,
            metadata,
            recorded_at,
        })
    }
}

/// Commit time, truncated to what both databases store: microseconds.
pub(crate) fn now_micros() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

/// Positions and versions are below 2^63 by construction (they start at 1 and count up).
pub(crate) fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
