//! Two processes (two store instances on one database) appending in turn: what one writer
//! remembers of the log from its own commits goes stale whenever the other appends, and must
//! never be trusted over the database. Each test first lets writer `a` commit, so that it has
//! something to remember, then lets `b` change what `a` remembers or has never read.

use std::sync::atomic::Ordering;

use eventstore::testing::TestDatabase;
use eventstore::{BackendKind, ExpectedVersion, StoreError, UniqueChange};

use crate::support::{append, claim};

eventstore::backend_tests!(
    appends_in_turn_from_two_processes_chain_without_gaps,
    a_stream_another_process_started_is_not_new_here,
    a_value_another_process_claimed_is_a_duplicate_here,
    a_value_another_process_claimed_after_this_one_released_it_is_a_duplicate_here,
    an_idempotency_key_another_process_used_replays_its_answer_here,
    a_writer_alone_plans_from_what_it_knows_after_its_first_read,
);

async fn appends_in_turn_from_two_processes_chain_without_gaps(db: TestDatabase) {
    let (a, b) = (db.connect().await, db.connect().await);
    for round in 0..10_u64 {
        let first = a.store.append(append("shared", ExpectedVersion::Exact(round * 2), 1)).await.unwrap();
        assert_eq!(first.first_position, round * 3 + 1);
        let second = b.store.append(append("shared", ExpectedVersion::Exact(round * 2 + 1), 1)).await.unwrap();
        assert_eq!(second.first_position, round * 3 + 2);
        let own = a.store.append(append(&format!("a-{round}"), ExpectedVersion::NoStream, 1)).await.unwrap();
        assert_eq!(own.first_position, round * 3 + 3);
    }
    let verification = a.store.verify().await.unwrap();
    assert!(verification.is_intact(), "{verification:?}");
    assert_eq!(verification.checked, 30);
}

async fn a_stream_another_process_started_is_not_new_here(db: TestDatabase) {
    let (a, b) = (db.connect().await, db.connect().await);
    a.store.append(append("warm", ExpectedVersion::NoStream, 1)).await.unwrap();
    b.store.append(append("s", ExpectedVersion::NoStream, 1)).await.unwrap();

    let err = a.store.append(append("s", ExpectedVersion::NoStream, 1)).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { actual: 1, .. }), "{err}");
    let err = a.store.append(append("s", ExpectedVersion::Any, 1)).await.map(|_| ()).err();
    assert!(err.is_none(), "any version appends after the other process's event: {err:?}");
    assert_eq!(a.store.read_stream(&crate::support::tenant("acme"), "s", 0).await.unwrap().len(), 2);
    assert!(a.store.verify().await.unwrap().is_intact());
}

async fn a_value_another_process_claimed_is_a_duplicate_here(db: TestDatabase) {
    let (a, b) = (db.connect().await, db.connect().await);
    a.store.append(append("warm", ExpectedVersion::NoStream, 1)).await.unwrap();
    b.store.append(append("role:1", ExpectedVersion::NoStream, 1).with_unique(claim("ops", "role:1"))).await.unwrap();

    let err = a
        .store
        .append(append("role:2", ExpectedVersion::NoStream, 1).with_unique(claim("ops", "role:2")))
        .await
        .unwrap_err();
    assert!(matches!(&err, StoreError::Duplicate { owner, .. } if owner == "role:1"), "{err}");
    assert_eq!(a.store.head().await.unwrap(), 2, "a refused append writes nothing");
}

async fn a_value_another_process_claimed_after_this_one_released_it_is_a_duplicate_here(db: TestDatabase) {
    let (a, b) = (db.connect().await, db.connect().await);
    let release = UniqueChange::Release {
        tenant_id: crate::support::tenant("acme"),
        scope: "role_name".into(),
        value: "ops".into(),
    };
    a.store.append(append("role:1", ExpectedVersion::NoStream, 1).with_unique(claim("ops", "role:1"))).await.unwrap();
    a.store.append(append("role:1", ExpectedVersion::Exact(1), 1).with_unique(release)).await.unwrap();
    // `a` now remembers "ops" as free.
    b.store.append(append("role:3", ExpectedVersion::NoStream, 1).with_unique(claim("ops", "role:3"))).await.unwrap();

    let err = a
        .store
        .append(append("role:2", ExpectedVersion::NoStream, 1).with_unique(claim("ops", "role:2")))
        .await
        .unwrap_err();
    assert!(matches!(&err, StoreError::Duplicate { owner, .. } if owner == "role:3"), "{err}");
    assert_eq!(a.store.head().await.unwrap(), 3);
}

async fn an_idempotency_key_another_process_used_replays_its_answer_here(db: TestDatabase) {
    let (a, b) = (db.connect().await, db.connect().await);
    a.store.append(append("warm", ExpectedVersion::NoStream, 1)).await.unwrap();
    let first =
        b.store.append(append("s", ExpectedVersion::NoStream, 2).with_idempotency("key-1", "f1")).await.unwrap();

    let again =
        a.store.append(append("s", ExpectedVersion::NoStream, 2).with_idempotency("key-1", "f1")).await.unwrap();
    assert!(again.deduplicated);
    assert_eq!((again.first_position, again.last_position), (first.first_position, first.last_position));
    let err =
        a.store.append(append("t", ExpectedVersion::NoStream, 1).with_idempotency("key-1", "f2")).await.unwrap_err();
    assert!(matches!(err, StoreError::IdempotencyKeyReused { .. }), "{err}");
    assert_eq!(a.store.head().await.unwrap(), 3);
}

/// PostgreSQL's writer reads the log's head (and the keys a batch touches) before its first
/// batch only; SQLite's reads every time (in-process, it costs no round trip).
async fn a_writer_alone_plans_from_what_it_knows_after_its_first_read(db: TestDatabase) {
    let a = db.connect().await;
    for n in 0..5 {
        a.store
            .append(
                append(&format!("role:{n}"), ExpectedVersion::NoStream, 1).with_unique(claim(&format!("r{n}"), "x")),
            )
            .await
            .unwrap();
    }
    a.store.append(append("role:0", ExpectedVersion::Exact(1), 1)).await.unwrap();
    let from_known = a.store.stats().from_known.load(Ordering::Relaxed);
    match db.kind {
        BackendKind::Postgres => assert_eq!(from_known, 5),
        BackendKind::Sqlite => assert_eq!(from_known, 0),
    }
}
