//! The decision of one group commit, as a pure function: given a batch of appends and what the
//! database holds for the keys they touch, which rows to write and what each caller gets back.
//!
//! Each append is all-or-nothing on its own: one that fails its checks is answered with its
//! error and contributes nothing, while the others in the batch still commit. Appends are
//! judged in arrival order, each seeing the effects of the ones before it.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use domain::TenantId;
use uuid::Uuid;

use crate::append::UniqueKey;
use crate::hash::{ChainFields, chain_hash};
use crate::prepare::PreparedAppend;
use crate::row::StoredRow;
use crate::{Appended, StoreError, UniqueChange};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct StreamKey {
    pub tenant_id: TenantId,
    pub stream_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct IdempotencyKey {
    pub tenant_id: TenantId,
    pub key: String,
}

/// What the store remembers of an idempotency key: the request's fingerprint and the positions
/// the first append committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub fingerprint: String,
    pub first_position: u64,
    pub last_position: u64,
}

/// The keys a batch touches, each once: what a backend must look up before planning.
#[derive(Debug, Default)]
pub(crate) struct Lookups {
    pub streams: Vec<StreamKey>,
    pub unique: Vec<UniqueKey>,
    pub idempotency: Vec<IdempotencyKey>,
}

/// What the database holds for the batch's keys, read under the writer's lock.
#[derive(Debug)]
pub(crate) struct Snapshot {
    pub head: u64,
    pub head_hash: [u8; 32],
    /// Current version of each looked-up stream; absent means 0.
    pub versions: HashMap<StreamKey, u64>,
    /// Current owner of each looked-up unique value; absent means free.
    pub owners: HashMap<UniqueKey, String>,
    pub idempotency: HashMap<IdempotencyKey, IdempotencyRecord>,
}

/// What to write, and the answer for each append in the batch, in order.
#[derive(Debug)]
pub(crate) struct Plan {
    pub rows: Vec<StoredRow>,
    /// Final state of every unique value the batch changed: `Some(owner)` held, `None` free.
    pub unique: Vec<(UniqueKey, Option<String>)>,
    pub idempotency: Vec<(IdempotencyKey, IdempotencyRecord)>,
    pub outcomes: Vec<Result<Appended, StoreError>>,
    pub head: u64,
    /// Planned from what the writer knew, not from a read (see `known.rs`).
    pub from_known: bool,
}

pub(crate) fn lookups(batch: &[&PreparedAppend]) -> Lookups {
    let mut seen_streams = HashSet::new();
    let mut seen_unique = HashSet::new();
    let mut out = Lookups::default();
    for append in batch {
        for write in &append.streams {
            let key = StreamKey { tenant_id: write.tenant_id.clone(), stream_id: write.stream_id.clone() };
            if seen_streams.insert(key.clone()) {
                out.streams.push(key);
            }
        }
        for change in &append.unique {
            let key = change.key();
            if seen_unique.insert(key.clone()) {
                out.unique.push(key);
            }
        }
        if let Some(idempotency) = &append.idempotency {
            let key = IdempotencyKey { tenant_id: append.tenant_id.clone(), key: idempotency.key.clone() };
            if !out.idempotency.contains(&key) {
                out.idempotency.push(key);
            }
        }
    }
    out
}

pub(crate) fn plan(
    batch: &[&PreparedAppend],
    mut snapshot: Snapshot,
    recorded_at: DateTime<Utc>,
    mut next_event_id: impl FnMut() -> Uuid,
) -> Plan {
    let recorded_at_micros = recorded_at.timestamp_micros();
    let mut rows = Vec::new();
    let mut touched_unique = Vec::new();
    let mut new_idempotency = Vec::new();
    let mut outcomes = Vec::with_capacity(batch.len());
    for append in batch {
        // The key and the fingerprint it must come with, if the append carries one.
        let idempotency = append.idempotency.as_ref().map(|i| {
            (IdempotencyKey { tenant_id: append.tenant_id.clone(), key: i.key.clone() }, i.fingerprint.as_str())
        });
        if let Some((key, fingerprint)) = &idempotency
            && let Some(seen) = snapshot.idempotency.get(key)
        {
            outcomes.push(if seen.fingerprint == *fingerprint {
                Ok(Appended {
                    first_position: seen.first_position,
                    last_position: seen.last_position,
                    deduplicated: true,
                })
            } else {
                Err(StoreError::IdempotencyKeyReused { key: key.key.clone() })
            });
            continue;
        }
        let checked = match check(append, &snapshot) {
            Ok(checked) => checked,
            Err(err) => {
                outcomes.push(Err(err));
                continue;
            }
        };
        // Every check passed: the append is in. Assign positions and chain the hashes.
        let first_position = snapshot.head + 1;
        for (write, base_version) in append.streams.iter().zip(checked.base_versions) {
            for (offset, event) in write.events.iter().enumerate() {
                let position = snapshot.head + 1;
                let stream_version = base_version + offset as u64 + 1;
                let event_id = next_event_id();
                let fields = ChainFields {
                    position,
                    event_id,
                    tenant_id: write.tenant_id.as_str(),
                    stream_id: &write.stream_id,
                    stream_version,
                    event_type: &event.event_type,
                    revision: event.revision,
                    payload: &event.payload,
                    metadata: &append.metadata,
                    recorded_at_micros,
                };
                let hash = chain_hash(&snapshot.head_hash, &fields);
                rows.push(StoredRow {
                    position: position as i64,
                    event_id,
                    tenant_id: write.tenant_id.to_string(),
                    stream_id: write.stream_id.clone(),
                    stream_version: stream_version as i64,
                    event_type: event.event_type.clone(),
                    revision: event.revision as i32,
                    payload: event.payload.clone(),
                    metadata: append.metadata.clone(),
                    recorded_at_micros,
                    prev_hash: snapshot.head_hash.to_vec(),
                    hash: hash.to_vec(),
                });
                snapshot.head = position;
                snapshot.head_hash = hash;
            }
        }
        snapshot.versions.extend(checked.versions);
        for (key, owner) in checked.owners {
            match owner {
                Some(owner) => snapshot.owners.insert(key.clone(), owner),
                None => snapshot.owners.remove(&key),
            };
            if !touched_unique.contains(&key) {
                touched_unique.push(key);
            }
        }
        let appended = Appended { first_position, last_position: snapshot.head, deduplicated: false };
        if let Some((key, fingerprint)) = idempotency {
            let record =
                IdempotencyRecord { fingerprint: fingerprint.to_owned(), first_position, last_position: snapshot.head };
            snapshot.idempotency.insert(key.clone(), record.clone());
            new_idempotency.push((key, record));
        }
        outcomes.push(Ok(appended));
    }
    let unique = touched_unique
        .into_iter()
        .map(|key| {
            let owner = snapshot.owners.get(&key).cloned();
            (key, owner)
        })
        .collect();
    Plan { rows, unique, idempotency: new_idempotency, outcomes, head: snapshot.head, from_known: false }
}

/// The effects of one append that passed every check, not yet merged into the snapshot.
struct Checked {
    /// Version of each stream write's stream before it, in the order of `streams`.
    base_versions: Vec<u64>,
    versions: HashMap<StreamKey, u64>,
    owners: Vec<(UniqueKey, Option<String>)>,
}

fn check(append: &PreparedAppend, snapshot: &Snapshot) -> Result<Checked, StoreError> {
    let mut versions: HashMap<StreamKey, u64> = HashMap::new();
    let mut base_versions = Vec::with_capacity(append.streams.len());
    for write in &append.streams {
        let key = StreamKey { tenant_id: write.tenant_id.clone(), stream_id: write.stream_id.clone() };
        let actual = versions.get(&key).or_else(|| snapshot.versions.get(&key)).copied().unwrap_or(0);
        if !write.expected.admits(actual) {
            return Err(StoreError::Conflict { stream_id: write.stream_id.clone(), expected: write.expected, actual });
        }
        base_versions.push(actual);
        versions.insert(key, actual + write.events.len() as u64);
    }
    let mut owners: Vec<(UniqueKey, Option<String>)> = Vec::new();
    for change in &append.unique {
        let key = change.key();
        let current = match owners.iter().rev().find(|(k, _)| *k == key) {
            Some((_, owner)) => owner.clone(),
            None => snapshot.owners.get(&key).cloned(),
        };
        match change {
            UniqueChange::Claim { owner, .. } => {
                if let Some(holder) = current.filter(|holder| holder != owner) {
                    return Err(StoreError::Duplicate { scope: key.scope, value: key.value, owner: holder });
                }
                owners.push((key, Some(owner.clone())));
            }
            UniqueChange::Release { .. } => owners.push((key, None)),
        }
    }
    Ok(Checked { base_versions, versions, owners })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::hash::GENESIS_HASH;
    use crate::prepare::{StoreLimits, prepare};
    use crate::{AppendRequest, ExpectedVersion, NewEvent};

    fn acme() -> TenantId {
        TenantId::parse("acme").unwrap()
    }

    fn append(stream: &str, expected: ExpectedVersion, n: usize) -> AppendRequest {
        let events = (0..n).map(|i| NewEvent::new("thing.happened", 1, json!({ "i": i }))).collect();
        AppendRequest::to_stream(acme(), stream, expected, events)
    }

    fn claim(value: &str, owner: &str) -> UniqueChange {
        UniqueChange::Claim { tenant_id: acme(), scope: "role_name".into(), value: value.into(), owner: owner.into() }
    }

    fn empty() -> Snapshot {
        Snapshot {
            head: 0,
            head_hash: GENESIS_HASH,
            versions: HashMap::new(),
            owners: HashMap::new(),
            idempotency: HashMap::new(),
        }
    }

    fn run(requests: Vec<AppendRequest>, snapshot: Snapshot) -> Plan {
        let prepared: Vec<_> = requests.into_iter().map(|r| prepare(r, &StoreLimits::default()).unwrap()).collect();
        let batch: Vec<&PreparedAppend> = prepared.iter().collect();
        let mut n = 0u128;
        plan(&batch, snapshot, Utc::now(), || {
            n += 1;
            Uuid::from_u128(n)
        })
    }

    #[test]
    fn positions_continue_from_the_head_without_gaps_across_the_batch() {
        let mut snapshot = empty();
        snapshot.head = 41;
        let plan = run(vec![append("s1", ExpectedVersion::Any, 2), append("s2", ExpectedVersion::Any, 3)], snapshot);
        let positions: Vec<i64> = plan.rows.iter().map(|r| r.position).collect();
        assert_eq!(positions, vec![42, 43, 44, 45, 46]);
        assert_eq!(plan.head, 46);
        assert_eq!(plan.outcomes[1].as_ref().unwrap().first_position, 44);
    }

    #[test]
    fn each_row_chains_to_the_one_before_it() {
        let plan = run(vec![append("s1", ExpectedVersion::Any, 3)], empty());
        assert_eq!(plan.rows[0].prev_hash, GENESIS_HASH.to_vec());
        assert_eq!(plan.rows[1].prev_hash, plan.rows[0].hash);
        assert_eq!(plan.rows[2].prev_hash, plan.rows[1].hash);
    }

    #[test]
    fn a_stale_expected_version_fails_only_that_append() {
        let mut snapshot = empty();
        snapshot.versions.insert(StreamKey { tenant_id: acme(), stream_id: "s1".into() }, 3);
        let plan =
            run(vec![append("s1", ExpectedVersion::Exact(2), 1), append("s2", ExpectedVersion::NoStream, 1)], snapshot);
        assert!(matches!(plan.outcomes[0], Err(StoreError::Conflict { actual: 3, .. })));
        assert!(plan.outcomes[1].is_ok());
        assert_eq!(plan.rows.len(), 1);
        assert_eq!(plan.rows[0].position, 1);
    }

    #[test]
    fn a_later_append_in_the_batch_sees_the_versions_of_an_earlier_one() {
        let plan =
            run(vec![append("s1", ExpectedVersion::NoStream, 2), append("s1", ExpectedVersion::Exact(2), 1)], empty());
        assert!(plan.outcomes.iter().all(Result::is_ok));
        let versions: Vec<i64> = plan.rows.iter().map(|r| r.stream_version).collect();
        assert_eq!(versions, vec![1, 2, 3]);
    }

    #[test]
    fn two_appends_racing_for_a_new_stream_let_exactly_one_win() {
        let plan =
            run(vec![append("s1", ExpectedVersion::NoStream, 1), append("s1", ExpectedVersion::NoStream, 1)], empty());
        assert!(plan.outcomes[0].is_ok());
        assert!(matches!(plan.outcomes[1], Err(StoreError::Conflict { actual: 1, .. })));
    }

    #[test]
    fn a_multi_stream_append_with_one_stale_stream_writes_nothing() {
        let mut snapshot = empty();
        snapshot.versions.insert(StreamKey { tenant_id: acme(), stream_id: "s2".into() }, 1);
        let request = append("s1", ExpectedVersion::NoStream, 1).with_stream(crate::StreamWrite {
            tenant_id: acme(),
            stream_id: "s2".into(),
            expected: ExpectedVersion::NoStream,
            events: vec![NewEvent::new("thing.happened", 1, json!({}))],
        });
        let plan = run(vec![request], snapshot);
        assert!(plan.outcomes[0].is_err());
        assert!(plan.rows.is_empty());
    }

    #[test]
    fn a_value_held_by_another_owner_is_a_duplicate_and_nothing_of_the_append_is_written() {
        let mut snapshot = empty();
        snapshot.owners.insert(claim("ops", "x").key(), "role:acme:1".into());
        let plan = run(
            vec![append("role:acme:2", ExpectedVersion::NoStream, 1).with_unique(claim("ops", "role:acme:2"))],
            snapshot,
        );
        assert!(matches!(&plan.outcomes[0], Err(StoreError::Duplicate { owner, .. }) if owner == "role:acme:1"));
        assert!(plan.rows.is_empty() && plan.unique.is_empty());
    }

    #[test]
    fn claiming_a_value_one_already_holds_succeeds() {
        let mut snapshot = empty();
        snapshot.owners.insert(claim("ops", "x").key(), "role:acme:1".into());
        let plan = run(
            vec![append("role:acme:1", ExpectedVersion::Any, 1).with_unique(claim("ops", "role:acme:1"))],
            snapshot,
        );
        assert!(plan.outcomes[0].is_ok());
    }

    #[test]
    fn a_released_value_can_be_claimed_by_a_later_append_in_the_same_batch() {
        let mut snapshot = empty();
        snapshot.owners.insert(claim("ops", "x").key(), "role:acme:1".into());
        let release = UniqueChange::Release { tenant_id: acme(), scope: "role_name".into(), value: "ops".into() };
        let plan = run(
            vec![
                append("role:acme:1", ExpectedVersion::Any, 1).with_unique(release),
                append("role:acme:2", ExpectedVersion::Any, 1).with_unique(claim("ops", "role:acme:2")),
            ],
            snapshot,
        );
        assert!(plan.outcomes.iter().all(Result::is_ok));
        assert_eq!(plan.unique, vec![(claim("ops", "x").key(), Some("role:acme:2".to_string()))]);
    }

    #[test]
    fn a_seen_idempotency_key_with_the_same_fingerprint_returns_the_first_result_and_appends_nothing() {
        let mut snapshot = empty();
        snapshot.head = 10;
        snapshot.idempotency.insert(
            IdempotencyKey { tenant_id: acme(), key: "k".into() },
            IdempotencyRecord { fingerprint: "f".into(), first_position: 3, last_position: 4 },
        );
        let plan = run(vec![append("s1", ExpectedVersion::Any, 1).with_idempotency("k", "f")], snapshot);
        assert_eq!(
            plan.outcomes[0].as_ref().unwrap(),
            &Appended { first_position: 3, last_position: 4, deduplicated: true }
        );
        assert!(plan.rows.is_empty());
    }

    #[test]
    fn a_seen_idempotency_key_with_another_fingerprint_is_refused() {
        let mut snapshot = empty();
        snapshot.idempotency.insert(
            IdempotencyKey { tenant_id: acme(), key: "k".into() },
            IdempotencyRecord { fingerprint: "f".into(), first_position: 1, last_position: 1 },
        );
        let plan = run(vec![append("s1", ExpectedVersion::Any, 1).with_idempotency("k", "other")], snapshot);
        assert!(matches!(plan.outcomes[0], Err(StoreError::IdempotencyKeyReused { .. })));
    }

    #[test]
    fn the_same_idempotency_key_twice_in_one_batch_appends_once() {
        let plan = run(
            vec![
                append("s1", ExpectedVersion::Any, 1).with_idempotency("k", "f"),
                append("s1", ExpectedVersion::Any, 1).with_idempotency("k", "f"),
            ],
            empty(),
        );
        assert_eq!(plan.rows.len(), 1);
        assert!(plan.outcomes[1].as_ref().unwrap().deduplicated);
        assert_eq!(plan.idempotency.len(), 1);
    }

    #[test]
    fn idempotency_keys_are_scoped_by_tenant() {
        let mut snapshot = empty();
        snapshot.idempotency.insert(
            IdempotencyKey { tenant_id: TenantId::parse("other").unwrap(), key: "k".into() },
            IdempotencyRecord { fingerprint: "f".into(), first_position: 1, last_position: 1 },
        );
        let plan = run(vec![append("s1", ExpectedVersion::Any, 1).with_idempotency("k", "f")], snapshot);
        assert!(!plan.outcomes[0].as_ref().unwrap().deduplicated);
    }

    #[test]
    fn a_failed_append_does_not_record_its_idempotency_key() {
        let plan = run(vec![append("s1", ExpectedVersion::Exact(5), 1).with_idempotency("k", "f")], empty());
        assert!(plan.outcomes[0].is_err());
        assert!(plan.idempotency.is_empty());
    }

    #[test]
    fn lookups_name_each_key_once() {
        let requests = [
            append("s1", ExpectedVersion::Any, 1),
            append("s1", ExpectedVersion::Any, 1).with_unique(claim("a", "s1")),
        ];
        let prepared: Vec<_> = requests.into_iter().map(|r| prepare(r, &StoreLimits::default()).unwrap()).collect();
        let batch: Vec<&PreparedAppend> = prepared.iter().collect();
        let keys = lookups(&batch);
        assert_eq!(keys.streams.len(), 1);
        assert_eq!(keys.unique.len(), 1);
    }
}
