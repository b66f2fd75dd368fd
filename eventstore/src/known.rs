//! What a writer knows of the log without asking the database: the head and its hash, and the
//! versions of streams and owners of unique values it has read or written since.
//!
//! It is exact for as long as no other process appends, which is the common case (one server
//! per database, or one writing at a time). A batch whose keys it knows, or may assume absent,
//! can then be planned without reading anything; the write itself proves the assumptions (see
//! `postgres.rs`): the log's primary key refuses positions another process took meanwhile, the
//! `(tenant, stream, version)` key refuses a first version of a stream that exists, and a value
//! assumed free is inserted without `ON CONFLICT`, so a holder makes the write fail. A failed
//! proof forgets everything and the batch is planned again from a locked read.

use std::collections::{HashMap, HashSet};

use crate::append::UniqueKey;
use crate::plan::{Lookups, Plan, Snapshot, StreamKey};

/// How many stream versions, and unique owners, are remembered. Past it they are forgotten at
/// once: an unknown stream or value only costs the batch that needs it a locked read.
const CAPACITY: usize = 65_536;

#[derive(Debug)]
pub(crate) struct Known {
    head: u64,
    head_hash: [u8; 32],
    versions: HashMap<StreamKey, u64>,
    /// `None`: known to be free.
    owners: HashMap<UniqueKey, Option<String>>,
}

/// A snapshot made of what is known, and the unique values in it that are only assumed free.
#[derive(Debug)]
pub(crate) struct Assumed {
    pub snapshot: Snapshot,
    pub unsure: HashSet<UniqueKey>,
}

impl Known {
    /// What a locked read showed, before the batch it was read for is planned. Everything known
    /// before is kept only if the head did not move meanwhile (no other writer).
    pub fn read(previous: Option<Self>, lookups: &Lookups, snapshot: &Snapshot) -> Self {
        let mut known = match previous {
            Some(known) if known.head == snapshot.head => known,
            _ => Self {
                head: snapshot.head,
                head_hash: snapshot.head_hash,
                versions: HashMap::new(),
                owners: HashMap::new(),
            },
        };
        for key in &lookups.streams {
            known.versions.insert(key.clone(), snapshot.versions.get(key).copied().unwrap_or(0));
        }
        for key in &lookups.unique {
            known.owners.insert(key.clone(), snapshot.owners.get(key).cloned());
        }
        known
    }

    /// A snapshot for `lookups` without reading: known values as they are, unknown streams
    /// absent, unknown unique values free (and listed as unsure), idempotency keys unused (an
    /// idempotency key is inserted without `ON CONFLICT`, so a used one fails the write).
    pub fn assume(&self, lookups: &Lookups) -> Assumed {
        let versions = lookups
            .streams
            .iter()
            .filter_map(|key| self.versions.get(key).map(|version| (key.clone(), *version)))
            .collect();
        let mut owners = HashMap::new();
        let mut unsure = HashSet::new();
        for key in &lookups.unique {
            match self.owners.get(key) {
                Some(Some(owner)) => {
                    owners.insert(key.clone(), owner.clone());
                }
                Some(None) => {}
                None => {
                    unsure.insert(key.clone());
                }
            }
        }
        let snapshot =
            Snapshot { head: self.head, head_hash: self.head_hash, versions, owners, idempotency: HashMap::new() };
        Assumed { snapshot, unsure }
    }

    /// The state after `plan` committed.
    pub fn committed(&mut self, plan: &Plan) {
        // Head and hash move together: a head without its hash would chain the next write wrong.
        if let Some(hash) = plan.rows.last().and_then(|last| <[u8; 32]>::try_from(last.hash.as_slice()).ok()) {
            self.head = plan.head;
            self.head_hash = hash;
        }
        if self.versions.len() + plan.rows.len() > CAPACITY {
            self.versions.clear();
        }
        for row in &plan.rows {
            if let Ok(tenant_id) = domain::TenantId::parse(&row.tenant_id) {
                self.versions
                    .insert(StreamKey { tenant_id, stream_id: row.stream_id.clone() }, row.stream_version as u64);
            }
        }
        if self.owners.len() + plan.unique.len() > CAPACITY {
            self.owners.clear();
        }
        for (key, owner) in &plan.unique {
            self.owners.insert(key.clone(), owner.clone());
        }
    }
}

/// Whether a plan made from assumptions may be written as it is: every append in, none
/// answered from an idempotency record, no unique value released (a release is a delete, which
/// proves nothing), something to write. Anything else is planned again from a locked read,
/// which also gives refusals (conflicts, duplicates) their authoritative answer.
pub(crate) fn writable(plan: &Plan) -> bool {
    !plan.rows.is_empty()
        && plan.outcomes.iter().all(|outcome| outcome.as_ref().is_ok_and(|appended| !appended.deduplicated))
        && plan.unique.iter().all(|(_, owner)| owner.is_some())
}

#[cfg(test)]
mod tests {
    use domain::TenantId;

    use super::*;
    use crate::hash::GENESIS_HASH;
    use crate::{Appended, StoreError};

    fn acme() -> TenantId {
        TenantId::parse("acme").unwrap()
    }

    fn stream(id: &str) -> StreamKey {
        StreamKey { tenant_id: acme(), stream_id: id.into() }
    }

    fn value(v: &str) -> UniqueKey {
        UniqueKey { tenant_id: acme(), scope: "role_name".into(), value: v.into() }
    }

    fn snapshot(head: u64) -> Snapshot {
        Snapshot {
            head,
            head_hash: GENESIS_HASH,
            versions: HashMap::new(),
            owners: HashMap::new(),
            idempotency: HashMap::new(),
        }
    }

    fn lookups(streams: &[&str], values: &[&str]) -> Lookups {
        Lookups {
            streams: streams.iter().map(|s| stream(s)).collect(),
            unique: values.iter().map(|v| value(v)).collect(),
            idempotency: Vec::new(),
        }
    }

    fn plan(outcomes: Vec<Result<Appended, StoreError>>, unique: Vec<(UniqueKey, Option<String>)>) -> Plan {
        let rows = vec![crate::row::StoredRow {
            position: 7,
            event_id: uuid::Uuid::nil(),
            tenant_id: "acme".into(),
            stream_id: "s".into(),
            stream_version: 1,
            event_type: "thing.happened".into(),
            revision: 1,
            payload: "{}".into(),
            metadata: "{}".into(),
            recorded_at_micros: 0,
            prev_hash: GENESIS_HASH.to_vec(),
            hash: [7; 32].to_vec(),
        }];
        Plan { rows, unique, idempotency: Vec::new(), outcomes, head: 7, from_known: false }
    }

    fn appended() -> Result<Appended, StoreError> {
        Ok(Appended { first_position: 7, last_position: 7, deduplicated: false })
    }

    #[test]
    fn what_a_read_showed_is_assumed_as_it_was_and_what_was_never_read_is_assumed_absent_but_unsure() {
        let mut read = snapshot(5);
        read.versions.insert(stream("known"), 3);
        read.owners.insert(value("held"), "role:1".into());
        let known = Known::read(None, &lookups(&["known", "empty"], &["held", "free"]), &read);

        let assumed = known.assume(&lookups(&["known", "empty", "never-read"], &["held", "free", "never-read"]));
        assert_eq!(assumed.snapshot.head, 5);
        assert_eq!(assumed.snapshot.versions.get(&stream("known")), Some(&3));
        assert_eq!(assumed.snapshot.versions.get(&stream("never-read")), None, "absent: version 0");
        assert_eq!(assumed.snapshot.owners.get(&value("held")).map(String::as_str), Some("role:1"));
        assert_eq!(assumed.unsure, HashSet::from([value("never-read")]), "a value read free is known free");
    }

    #[test]
    fn what_was_known_is_kept_only_while_the_head_did_not_move() {
        let mut read = snapshot(5);
        read.versions.insert(stream("a"), 2);
        let known = Known::read(None, &lookups(&["a"], &[]), &read);

        let same_head = Known::read(Some(known), &lookups(&[], &[]), &snapshot(5));
        assert_eq!(same_head.assume(&lookups(&["a"], &[])).snapshot.versions.get(&stream("a")), Some(&2));
        let moved = Known::read(Some(same_head), &lookups(&[], &[]), &snapshot(6));
        assert_eq!(moved.assume(&lookups(&["a"], &[])).snapshot.versions.get(&stream("a")), None);
    }

    #[test]
    fn a_commit_moves_the_head_and_remembers_its_streams_and_values() {
        let mut known = Known::read(None, &lookups(&[], &[]), &snapshot(6));
        known.committed(&plan(vec![appended()], vec![(value("ops"), Some("role:1".into()))]));
        let assumed = known.assume(&lookups(&["s"], &["ops"]));
        assert_eq!(assumed.snapshot.head, 7);
        assert_eq!(assumed.snapshot.versions.get(&stream("s")), Some(&1));
        assert_eq!(assumed.snapshot.owners.get(&value("ops")).map(String::as_str), Some("role:1"));
        assert!(assumed.unsure.is_empty());
    }

    #[test]
    fn only_a_plan_of_appends_all_in_and_no_release_is_written_from_assumptions() {
        assert!(writable(&plan(vec![appended()], vec![(value("ops"), Some("role:1".into()))])));
        let refused =
            Err(StoreError::Conflict { stream_id: "s".into(), expected: crate::ExpectedVersion::NoStream, actual: 0 });
        assert!(!writable(&plan(vec![appended(), refused], Vec::new())), "a refusal gets its answer from a read");
        assert!(!writable(&plan(vec![appended()], vec![(value("ops"), None)])), "a release proves nothing");
        let replayed = Ok(Appended { first_position: 1, last_position: 1, deduplicated: true });
        assert!(!writable(&plan(vec![replayed], Vec::new())));
    }
}
