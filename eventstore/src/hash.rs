//! The hash chain: `hash = SHA-256(domain tag ‖ prev_hash ‖ canonical row bytes)`.
//!
//! The canonical encoding is length-prefixed and fixed-order, so no two different rows encode
//! to the same bytes. Payload and metadata are hashed as the exact JSON text stored (PostgreSQL
//! `json`, SQLite `TEXT`, both verbatim), so a hash never depends on how a database re-renders
//! JSON. Changing this encoding invalidates every stored chain: it is versioned by its tag.

use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The `prev_hash` of the first event.
pub const GENESIS_HASH: [u8; 32] = [0; 32];

const DOMAIN_TAG: &[u8] = b"tenancy.events.v1";

/// The fields of an event row the chain covers: all of them but the hashes themselves.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChainFields<'a> {
    pub position: u64,
    pub event_id: Uuid,
    pub tenant_id: &'a str,
    pub stream_id: &'a str,
    pub stream_version: u64,
    pub event_type: &'a str,
    pub revision: u32,
    pub payload: &'a str,
    pub metadata: &'a str,
    pub recorded_at_micros: i64,
}

pub(crate) fn chain_hash(prev_hash: &[u8; 32], row: &ChainFields<'_>) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(DOMAIN_TAG);
    h.update(prev_hash);
    h.update(row.position.to_be_bytes());
    h.update(row.event_id.as_bytes());
    for text in [row.tenant_id, row.stream_id] {
        put_text(&mut h, text);
    }
    h.update(row.stream_version.to_be_bytes());
    put_text(&mut h, row.event_type);
    h.update(row.revision.to_be_bytes());
    for text in [row.payload, row.metadata] {
        put_text(&mut h, text);
    }
    h.update(row.recorded_at_micros.to_be_bytes());
    h.finalize().into()
}

fn put_text(h: &mut Sha256, text: &str) {
    h.update((text.len() as u64).to_be_bytes());
    h.update(text.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> ChainFields<'static> {
        ChainFields {
            position: 1,
            event_id: Uuid::nil(),
            tenant_id: "acme",
            stream_id: "role:acme:rol_1",
            stream_version: 1,
            event_type: "role.created",
            revision: 1,
            payload: r#"{"name":"ops"}"#,
            metadata: "{}",
            recorded_at_micros: 1_700_000_000_000_000,
        }
    }

    #[test]
    fn the_same_row_and_predecessor_always_hash_the_same() {
        assert_eq!(chain_hash(&GENESIS_HASH, &row()), chain_hash(&GENESIS_HASH, &row()));
    }

    #[test]
    fn any_changed_field_changes_the_hash() {
        let base = chain_hash(&GENESIS_HASH, &row());
        let variants = [
            ChainFields { position: 2, ..row() },
            ChainFields { tenant_id: "acme2", ..row() },
            ChainFields { stream_version: 2, ..row() },
            ChainFields { revision: 2, ..row() },
            ChainFields { payload: r#"{"name":"dev"}"#, ..row() },
            ChainFields { metadata: r#"{"ip":"1.2.3.4"}"#, ..row() },
            ChainFields { recorded_at_micros: 1, ..row() },
        ];
        for variant in variants {
            assert_ne!(chain_hash(&GENESIS_HASH, &variant), base, "{variant:?}");
        }
    }

    #[test]
    fn moving_bytes_between_adjacent_fields_changes_the_hash() {
        let a = ChainFields { tenant_id: "ab", stream_id: "c", ..row() };
        let b = ChainFields { tenant_id: "a", stream_id: "bc", ..row() };
        assert_ne!(chain_hash(&GENESIS_HASH, &a), chain_hash(&GENESIS_HASH, &b));
    }

    #[test]
    fn the_predecessor_is_part_of_the_hash() {
        assert_ne!(chain_hash(&GENESIS_HASH, &row()), chain_hash(&[1; 32], &row()));
    }
}
