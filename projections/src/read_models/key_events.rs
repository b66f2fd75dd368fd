//! `KeyEvents`: how many signing-key events (`signing_key.created`, `signing_key.revoked`) this
//! process has applied, of any tenant. What caches signing keys or verified tokens remembers the
//! generation it filled them at and drops them once it changes; so a key revoked by one server
//! process stops verifying in every other as soon as each applies the event. Key events are
//! rare: dropping every tenant's cached keys at each costs one query per tenant afterwards.

use std::sync::atomic::{AtomicU64, Ordering};

use eventstore::RecordedEvent;

use crate::{MemoryProjection, ProjectionError};

#[derive(Debug, Default)]
pub struct KeyEvents {
    generation: AtomicU64,
}

impl KeyEvents {
    pub fn new() -> Self {
        Self::default()
    }

    /// Changes with every signing-key event applied.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }
}

impl MemoryProjection for KeyEvents {
    fn name(&self) -> &str {
        "key_events.memory"
    }

    fn event_types(&self) -> &[&str] {
        &["signing_key.created", "signing_key.revoked"]
    }

    fn apply(&self, _: &RecordedEvent) -> Result<(), ProjectionError> {
        self.generation.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }
}
