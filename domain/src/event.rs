//! How domain events become stored rows and back: the dotted type name in its own column, the
//! fields as the JSON payload.
//!
//! Event enums are serde-tagged with `#[serde(tag = "type", content = "data")]` and a dotted
//! `rename` per variant; that rename is the stored `event_type` and must never change.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The revision of every payload schema written today. A changed shape becomes revision 2,
/// with an upcaster registered in the event store.
pub const REVISION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("cannot encode the event: {0}")]
    Encode(serde_json::Error),
    #[error("cannot decode a {event_type} event: {source}")]
    Decode { event_type: String, source: serde_json::Error },
}

/// Splits an event into its stored type name and payload.
pub fn encode<E: Serialize>(event: &E) -> Result<(String, Value), CodecError> {
    let mut tagged = serde_json::to_value(event).map_err(CodecError::Encode)?;
    let event_type = match tagged.get_mut("type").map(Value::take) {
        Some(Value::String(name)) => name,
        _ => return Err(CodecError::Encode(serde::ser::Error::custom("the event enum is not tagged with `type`"))),
    };
    let payload = tagged.get_mut("data").map(Value::take).unwrap_or(Value::Null);
    Ok((event_type, payload))
}

/// Rebuilds an event from its stored type name and payload.
pub fn decode<E: DeserializeOwned>(event_type: &str, payload: &Value) -> Result<E, CodecError> {
    let tagged = serde_json::json!({ "type": event_type, "data": payload });
    serde_json::from_value(tagged).map_err(|source| CodecError::Decode { event_type: event_type.to_owned(), source })
}
