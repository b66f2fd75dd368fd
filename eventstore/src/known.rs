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
        if let Some(last) = plan.rows.last() {
            self.head = plan.head;
            if let Ok(hash) = <[u8; 32]>::try_from(last.hash.as_slice()) {
                self.head_hash = hash;
            }
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
