//! Schema evolution on read: stored rows are never rewritten; an old revision is brought to the
//! current one, step by step, each time it is read.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use serde_json::Value;

use crate::StoreError;

/// Turns a payload of revision `n` into one of revision `n + 1`.
pub type UpcastStep = Arc<dyn Fn(Value) -> Result<Value, String> + Send + Sync>;

#[derive(Default)]
struct TypeSchema {
    current: u32,
    steps: HashMap<u32, UpcastStep>,
}

/// The registry of event types and their upcasters, applied to every event read (never to
/// `verify`, which checks the bytes as stored).
#[derive(Default)]
pub struct Upcasters {
    types: HashMap<String, TypeSchema>,
    strict: bool,
}

impl fmt::Debug for Upcasters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut current: Vec<_> = self.types.iter().map(|(t, s)| (t.as_str(), s.current)).collect();
        current.sort_unstable();
        f.debug_struct("Upcasters").field("strict", &self.strict).field("types", &current).finish()
    }
}

impl Upcasters {
    /// Passes unregistered event types through unchanged.
    pub fn permissive() -> Self {
        Self::default()
    }

    /// Refuses unregistered event types with [`StoreError::UnknownEventType`].
    pub fn strict() -> Self {
        Self { strict: true, ..Self::default() }
    }

    /// Declares `event_type` with its current revision.
    pub fn register(mut self, event_type: impl Into<String>, current_revision: u32) -> Self {
        self.types.entry(event_type.into()).or_default().current = current_revision;
        self
    }

    /// Adds the step from `from_revision` to `from_revision + 1` of `event_type`.
    pub fn step(
        mut self,
        event_type: impl Into<String>,
        from_revision: u32,
        step: impl Fn(Value) -> Result<Value, String> + Send + Sync + 'static,
    ) -> Self {
        let schema = self.types.entry(event_type.into()).or_default();
        schema.current = schema.current.max(from_revision + 1);
        schema.steps.insert(from_revision, Arc::new(step));
        self
    }

    /// Brings `payload` from `revision` to the current revision of `event_type`.
    pub(crate) fn upcast(
        &self,
        position: u64,
        event_type: &str,
        revision: u32,
        payload: Value,
    ) -> Result<(u32, Value), StoreError> {
        let failed =
            |reason: String| StoreError::Upcast { position, event_type: event_type.to_owned(), revision, reason };
        let Some(schema) = self.types.get(event_type) else {
            return if self.strict {
                Err(StoreError::UnknownEventType { position, event_type: event_type.to_owned() })
            } else {
                Ok((revision, payload))
            };
        };
        if revision > schema.current {
            return Err(failed(format!("revision {revision} is newer than this build's revision {}", schema.current)));
        }
        let (mut at, mut payload) = (revision, payload);
        while at < schema.current {
            let step = schema.steps.get(&at).ok_or_else(|| failed(format!("no upcaster from revision {at}")))?;
            payload = step(payload).map_err(failed)?;
            at += 1;
        }
        Ok((at, payload))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn renamed() -> Upcasters {
        Upcasters::strict()
            .register("role.created", 3)
            .step("role.created", 1, |mut p| {
                let name = p["title"].take();
                Ok(json!({ "name": name }))
            })
            .step("role.created", 2, |mut p| {
                p["description"] = json!("");
                Ok(p)
            })
    }

    #[test]
    fn an_old_revision_is_upcast_step_by_step_to_the_current_one() {
        let (revision, payload) = renamed().upcast(7, "role.created", 1, json!({"title": "ops"})).unwrap();
        assert_eq!(revision, 3);
        assert_eq!(payload, json!({"name": "ops", "description": ""}));
    }

    #[test]
    fn the_current_revision_passes_unchanged() {
        let payload = json!({"name": "ops", "description": "d"});
        assert_eq!(renamed().upcast(7, "role.created", 3, payload.clone()).unwrap(), (3, payload));
    }

    #[test]
    fn an_unknown_type_is_refused_by_a_strict_registry_with_its_position() {
        let err = renamed().upcast(7, "role.exploded", 1, json!({})).unwrap_err();
        assert!(matches!(err, StoreError::UnknownEventType { position: 7, .. }), "{err}");
    }

    #[test]
    fn an_unknown_type_passes_a_permissive_registry() {
        assert_eq!(Upcasters::permissive().upcast(1, "x.y", 4, json!(1)).unwrap(), (4, json!(1)));
    }

    #[test]
    fn a_revision_newer_than_the_build_is_an_upcast_error() {
        let err = renamed().upcast(9, "role.created", 4, json!({})).unwrap_err();
        assert!(matches!(err, StoreError::Upcast { position: 9, revision: 4, .. }), "{err}");
    }

    #[test]
    fn a_failing_step_names_the_position() {
        let up = Upcasters::strict().step("a.b", 1, |_| Err("missing field".into()));
        let err = up.upcast(5, "a.b", 1, json!({})).unwrap_err();
        assert!(err.to_string().contains("position 5"), "{err}");
    }
}
