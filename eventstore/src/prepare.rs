//! Validation and serialization of an append before it reaches the writer: everything that can
//! be checked without the database is checked here, on the caller's task, so the single writer
//! spends its time only on what must be serialized.

use domain::TenantId;

use crate::{AppendRequest, ExpectedVersion, Idempotency, StoreError, UniqueChange};

/// Limits on what one append may carry.
#[derive(Debug, Clone, Copy)]
pub struct StoreLimits {
    /// Serialized size limit of one event's payload.
    pub max_payload_bytes: usize,
    /// Events in one append.
    pub max_events_per_append: usize,
}

impl Default for StoreLimits {
    fn default() -> Self {
        Self { max_payload_bytes: 1024 * 1024, max_events_per_append: 10_000 }
    }
}

const MAX_NAME_LEN: usize = 512;

/// An [`AppendRequest`] that passed validation, with payloads and metadata serialized to the
/// exact text that will be stored and hashed.
#[derive(Debug, Clone)]
pub(crate) struct PreparedAppend {
    pub tenant_id: TenantId,
    pub streams: Vec<PreparedStream>,
    pub unique: Vec<UniqueChange>,
    pub idempotency: Option<Idempotency>,
    pub metadata: String,
}

#[derive(Debug, Clone)]
pub(crate) struct PreparedStream {
    pub tenant_id: TenantId,
    pub stream_id: String,
    pub expected: ExpectedVersion,
    pub events: Vec<PreparedEvent>,
}

#[derive(Debug, Clone)]
pub(crate) struct PreparedEvent {
    pub event_type: String,
    pub revision: u32,
    pub payload: String,
}

pub(crate) fn prepare(request: AppendRequest, limits: &StoreLimits) -> Result<PreparedAppend, StoreError> {
    let invalid = |msg: String| Err(StoreError::InvalidAppend(msg));
    let count = request.event_count();
    if count == 0 {
        return invalid("an append must carry at least one event".into());
    }
    if count > limits.max_events_per_append {
        return invalid(format!("{count} events in one append, over the limit of {}", limits.max_events_per_append));
    }
    let mut metadata = request.metadata;
    if let Some(idempotency) = &request.idempotency {
        check_name("idempotency key", &idempotency.key)?;
        metadata.idempotency_key = Some(idempotency.key.clone());
    } else {
        metadata.idempotency_key = None;
    }
    for change in &request.unique {
        let key = change.key();
        check_name("unique scope", &key.scope)?;
        check_name("unique value", &key.value)?;
        if let UniqueChange::Claim { owner, .. } = change {
            check_name("unique owner", owner)?;
        }
    }
    let mut index = 0;
    let mut streams = Vec::with_capacity(request.streams.len());
    for write in request.streams {
        check_name("stream id", &write.stream_id)?;
        let mut events = Vec::with_capacity(write.events.len());
        for event in write.events {
            check_event_type(&event.event_type)?;
            if event.revision == 0 || event.revision > i32::MAX as u32 {
                return invalid(format!("event {index} has revision {}, expected 1 or more", event.revision));
            }
            let payload = serde_json::to_string(&event.payload)
                .map_err(|e| StoreError::InvalidAppend(format!("event {index}: {e}")))?;
            if payload.len() > limits.max_payload_bytes {
                return Err(StoreError::PayloadTooLarge {
                    index,
                    size: payload.len(),
                    limit: limits.max_payload_bytes,
                });
            }
            events.push(PreparedEvent { event_type: event.event_type, revision: event.revision, payload });
            index += 1;
        }
        streams.push(PreparedStream {
            tenant_id: write.tenant_id,
            stream_id: write.stream_id,
            expected: write.expected,
            events,
        });
    }
    let metadata = serde_json::to_string(&metadata).map_err(|e| StoreError::InvalidAppend(format!("metadata: {e}")))?;
    Ok(PreparedAppend {
        tenant_id: request.tenant_id,
        streams,
        unique: request.unique,
        idempotency: request.idempotency,
        metadata,
    })
}

fn check_name(what: &str, value: &str) -> Result<(), StoreError> {
    if value.is_empty() || value.len() > MAX_NAME_LEN || value.chars().any(char::is_control) {
        return Err(StoreError::InvalidAppend(format!(
            "{what} must be 1 to {MAX_NAME_LEN} bytes without control characters"
        )));
    }
    Ok(())
}

/// Event types are dotted lowercase names of at least two segments: `role.permissions_added`.
fn check_event_type(event_type: &str) -> Result<(), StoreError> {
    let segment_ok = |s: &str| {
        let mut chars = s.chars();
        chars.next().is_some_and(|c| c.is_ascii_lowercase())
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    };
    let segments: Vec<&str> = event_type.split('.').collect();
    if event_type.len() > 128 || segments.len() < 2 || !segments.iter().all(|s| segment_ok(s)) {
        return Err(StoreError::InvalidAppend(format!(
            "event type {event_type:?} must be dotted lowercase segments, like \"role.created\""
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::NewEvent;

    fn tenant() -> TenantId {
        TenantId::parse("acme").unwrap()
    }

    fn request(events: Vec<NewEvent>) -> AppendRequest {
        AppendRequest::to_stream(tenant(), "role:acme:1", ExpectedVersion::Any, events)
    }

    #[test]
    fn an_append_without_events_is_invalid() {
        let err = prepare(request(vec![]), &StoreLimits::default()).unwrap_err();
        assert!(matches!(err, StoreError::InvalidAppend(_)), "{err}");
    }

    #[test]
    fn a_payload_over_the_limit_is_refused_with_its_index_and_size() {
        let limits = StoreLimits { max_payload_bytes: 10, ..StoreLimits::default() };
        let events = vec![NewEvent::new("a.b", 1, json!(1)), NewEvent::new("a.b", 1, json!("0123456789"))];
        let err = prepare(request(events), &limits).unwrap_err();
        assert!(matches!(err, StoreError::PayloadTooLarge { index: 1, size: 12, limit: 10 }), "{err}");
    }

    #[test]
    fn event_types_must_be_dotted_lowercase_names() {
        for bad in ["role", "Role.created", "role..created", "role.created.", "role.crea-ted", ".a"] {
            let err = prepare(request(vec![NewEvent::new(bad, 1, json!({}))]), &StoreLimits::default());
            assert!(err.is_err(), "{bad} was accepted");
        }
        let ok = prepare(request(vec![NewEvent::new("role.permissions_added", 1, json!({}))]), &StoreLimits::default());
        assert!(ok.is_ok());
    }

    #[test]
    fn revision_zero_is_invalid() {
        let err = prepare(request(vec![NewEvent::new("a.b", 0, json!({}))]), &StoreLimits::default());
        assert!(err.is_err());
    }

    #[test]
    fn the_idempotency_key_is_recorded_in_the_metadata() {
        let prepared = prepare(
            request(vec![NewEvent::new("a.b", 1, json!({}))]).with_idempotency("k1", "f"),
            &StoreLimits::default(),
        )
        .unwrap();
        assert!(prepared.metadata.contains("\"idempotency_key\":\"k1\""), "{}", prepared.metadata);
    }

    #[test]
    fn a_caller_cannot_forge_an_idempotency_key_in_the_metadata() {
        let mut req = request(vec![NewEvent::new("a.b", 1, json!({}))]);
        req.metadata.idempotency_key = Some("forged".into());
        let prepared = prepare(req, &StoreLimits::default()).unwrap();
        assert!(!prepared.metadata.contains("forged"));
    }
}
