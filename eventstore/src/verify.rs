//! Tamper evidence: recompute the hash chain from the first row and name the first position
//! where the stored log stops being the log that was written.
//!
//! A chain proves the log is internally consistent. It cannot tell that the newest rows were cut
//! off, or that the whole chain was recomputed by someone holding the database: for that, keep
//! the `head_hash` of a verification somewhere the database's owners cannot write, and compare.

use crate::hash::{GENESIS_HASH, chain_hash};
use crate::row::StoredRow;

/// The outcome of verifying the whole log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// Rows whose hash was recomputed.
    pub checked: u64,
    /// The last position checked and its hash (hex): an anchor to keep outside the database.
    pub head: u64,
    pub head_hash: String,
    /// The first place the chain breaks, if any. Verification stops there.
    pub tampered: Option<Tampered>,
}

impl Verification {
    pub fn is_intact(&self) -> bool {
        self.tampered.is_none()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tampered {
    pub position: u64,
    pub kind: TamperKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TamperKind {
    /// The row's content no longer matches its own hash: it was changed.
    Changed,
    /// No row holds this position, but later ones exist: it was removed.
    Removed,
    /// The row is consistent in itself but does not chain to the row before it: it was inserted,
    /// or the row before it was replaced together with its hash.
    Inserted,
}

impl std::fmt::Display for TamperKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Changed => "changed",
            Self::Removed => "removed",
            Self::Inserted => "inserted",
        })
    }
}

/// Walks rows in position order, one at a time, so a log of any size verifies in constant memory.
#[derive(Debug)]
pub(crate) struct ChainVerifier {
    next_position: u64,
    prev_hash: [u8; 32],
    checked: u64,
}

impl ChainVerifier {
    pub fn new() -> Self {
        Self { next_position: 1, prev_hash: GENESIS_HASH, checked: 0 }
    }

    pub fn check(&mut self, row: &StoredRow) -> Result<(), Tampered> {
        let position = row.position();
        let tampered = |kind| Err(Tampered { position, kind });
        if position != self.next_position {
            return Err(Tampered { position: self.next_position, kind: TamperKind::Removed });
        }
        let Ok(stored_prev) = <[u8; 32]>::try_from(row.prev_hash.as_slice()) else {
            return tampered(TamperKind::Inserted);
        };
        // The link first: an edit in place leaves it intact (and fails the row's own hash
        // below), while a row that was not written after its predecessor breaks it.
        if stored_prev != self.prev_hash {
            return tampered(TamperKind::Inserted);
        }
        let hash = chain_hash(&stored_prev, &row.chain_fields());
        if hash.as_slice() != row.hash.as_slice() {
            return tampered(TamperKind::Changed);
        }
        self.prev_hash = hash;
        self.next_position += 1;
        self.checked += 1;
        Ok(())
    }

    pub fn finish(self, tampered: Option<Tampered>) -> Verification {
        Verification {
            checked: self.checked,
            head: self.next_position - 1,
            head_hash: hex::encode(self.prev_hash),
            tampered,
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use serde_json::json;
    use uuid::Uuid;

    use super::*;
    use crate::plan::{Snapshot, plan};
    use crate::prepare::{StoreLimits, prepare};
    use crate::{AppendRequest, ExpectedVersion, NewEvent};

    fn rows(n: usize) -> Vec<StoredRow> {
        let events = (0..n).map(|i| NewEvent::new("thing.happened", 1, json!({ "i": i }))).collect();
        let request =
            AppendRequest::to_stream(domain::TenantId::parse("acme").unwrap(), "s", ExpectedVersion::Any, events);
        let prepared = prepare(request, &StoreLimits::default()).unwrap();
        let snapshot = Snapshot {
            head: 0,
            head_hash: GENESIS_HASH,
            versions: Default::default(),
            owners: Default::default(),
            idempotency: Default::default(),
        };
        plan(&[&prepared], snapshot, Utc::now(), Uuid::now_v7).rows
    }

    fn verify(rows: &[StoredRow]) -> Verification {
        let mut verifier = ChainVerifier::new();
        let tampered = rows.iter().find_map(|row| verifier.check(row).err());
        verifier.finish(tampered)
    }

    #[test]
    fn an_untouched_chain_verifies_and_reports_its_head() {
        let rows = rows(5);
        let v = verify(&rows);
        assert!(v.is_intact());
        assert_eq!((v.checked, v.head), (5, 5));
        assert_eq!(v.head_hash, hex::encode(&rows[4].hash));
    }

    #[test]
    fn an_empty_log_verifies() {
        let v = verify(&[]);
        assert!(v.is_intact());
        assert_eq!(v.head, 0);
    }

    #[test]
    fn a_changed_payload_is_found_at_its_position() {
        let mut rows = rows(5);
        rows[2].payload = r#"{"i":99}"#.into();
        assert_eq!(verify(&rows).tampered, Some(Tampered { position: 3, kind: TamperKind::Changed }));
    }

    #[test]
    fn a_removed_row_is_found_at_its_position() {
        let mut rows = rows(5);
        rows.remove(1);
        assert_eq!(verify(&rows).tampered, Some(Tampered { position: 2, kind: TamperKind::Removed }));
    }

    #[test]
    fn an_appended_forgery_that_does_not_chain_is_found() {
        let mut rows = rows(4);
        let mut forged = rows.pop().unwrap();
        forged.prev_hash = rows[0].hash.clone();
        let fields = forged.chain_fields();
        forged.hash = chain_hash(&forged.prev_hash.clone().try_into().unwrap(), &fields).to_vec();
        rows.push(forged);
        assert_eq!(verify(&rows).tampered, Some(Tampered { position: 4, kind: TamperKind::Inserted }));
    }

    #[test]
    fn a_row_replaced_with_a_recomputed_hash_is_found_where_its_successor_stops_linking() {
        let mut rows = rows(4);
        rows[1].payload = r#"{"i":99}"#.into();
        let prev: [u8; 32] = rows[0].hash.clone().try_into().unwrap();
        rows[1].hash = chain_hash(&prev, &rows[1].chain_fields()).to_vec();
        assert_eq!(verify(&rows).tampered, Some(Tampered { position: 3, kind: TamperKind::Inserted }));
    }
}
