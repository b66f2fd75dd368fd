//! Appends: round trip, optimistic concurrency, atomicity, uniqueness, idempotency, bad input.

use eventstore::testing::TestDatabase;
use eventstore::{Actor, ExpectedVersion, LogQuery, Metadata, NewEvent, StoreError, StoreLimits, UniqueChange};
use serde_json::json;

use crate::support::{append, claim, event, tenant, write};

eventstore::backend_tests!(
    an_append_reads_back_exactly_as_written,
    a_stale_expected_version_conflicts_and_leaves_the_log_unchanged,
    a_multi_stream_append_is_all_or_nothing,
    a_multi_stream_append_spans_tenants_in_one_transaction,
    a_duplicate_unique_value_is_refused_and_nothing_is_appended,
    a_released_unique_value_can_be_claimed_again,
    an_idempotent_retry_appends_nothing_and_returns_the_first_result,
    an_idempotency_key_reused_with_another_request_is_refused,
    an_oversized_payload_is_refused_before_anything_is_appended,
    a_stream_write_without_events_guards_that_streams_version,
    unique_owners_and_idempotency_records_can_be_looked_up,
);

async fn an_append_reads_back_exactly_as_written(db: TestDatabase) {
    let db = db.connect().await;
    let metadata = Metadata {
        actor: Some(Actor { sub: "auth0|admin".into(), tenant_id: Some("control_plane".into()), client_id: None }),
        correlation_id: Some("corr-1".into()),
        ip: Some("10.0.0.1".into()),
        ..Metadata::default()
    };
    let before = chrono::Utc::now();
    let appended = db
        .store
        .append(append("role:acme:r1", ExpectedVersion::NoStream, 3).with_metadata(metadata.clone()))
        .await
        .unwrap();
    assert_eq!((appended.first_position, appended.last_position, appended.deduplicated), (1, 3, false));

    let events = db.store.read_stream(&tenant("acme"), "role:acme:r1", 0).await.unwrap();
    assert_eq!(events.len(), 3);
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.position, i as u64 + 1);
        assert_eq!(e.stream_version, i as u64 + 1);
        assert_eq!(e.tenant_id, tenant("acme"));
        assert_eq!(e.event_type, "thing.happened");
        assert_eq!(e.revision, 1);
        assert_eq!(e.payload, json!({ "n": i }));
        assert_eq!(e.metadata, metadata);
        assert_eq!(e.event_id.get_version_num(), 7);
        assert!(e.recorded_at >= before - chrono::Duration::seconds(1));
    }
    assert_eq!(db.store.read_stream(&tenant("acme"), "role:acme:r1", 2).await.unwrap().len(), 1);
    assert_eq!(db.store.read(&LogQuery::after(0)).await.unwrap(), events);
    assert_eq!(db.store.head().await.unwrap(), 3);
}

async fn a_stale_expected_version_conflicts_and_leaves_the_log_unchanged(db: TestDatabase) {
    let db = db.connect().await;
    db.store.append(append("s", ExpectedVersion::NoStream, 2)).await.unwrap();
    for stale in [ExpectedVersion::NoStream, ExpectedVersion::Exact(1), ExpectedVersion::Exact(3)] {
        let err = db.store.append(append("s", stale, 1)).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict { actual: 2, .. }), "{err}");
    }
    assert_eq!(db.store.head().await.unwrap(), 2);
    db.store.append(append("s", ExpectedVersion::Exact(2), 1)).await.unwrap();
    assert_eq!(db.store.head().await.unwrap(), 3);
}

async fn a_multi_stream_append_is_all_or_nothing(db: TestDatabase) {
    let db = db.connect().await;
    db.store.append(append("a", ExpectedVersion::NoStream, 1)).await.unwrap();
    let request = append("b", ExpectedVersion::NoStream, 1).with_stream(write("acme", "a", ExpectedVersion::NoStream));
    let err = db.store.append(request).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { ref stream_id, .. } if stream_id == "a"), "{err}");
    assert!(db.store.read_stream(&tenant("acme"), "b", 0).await.unwrap().is_empty());
    assert_eq!(db.store.head().await.unwrap(), 1);
}

async fn a_multi_stream_append_spans_tenants_in_one_transaction(db: TestDatabase) {
    let db = db.connect().await;
    // Creating a tenant: its own stream, and its organization on the control plane.
    let request = eventstore::AppendRequest::to_stream(
        tenant("control_plane"),
        "tenant:acme",
        ExpectedVersion::NoStream,
        vec![NewEvent::new("tenant.created", 1, json!({ "id": "acme" }))],
    )
    .with_stream(write("control_plane", "organization:control_plane:acme", ExpectedVersion::NoStream));
    let appended = db.store.append(request).await.unwrap();
    assert_eq!((appended.first_position, appended.last_position), (1, 2));
    let org = db.store.read_stream(&tenant("control_plane"), "organization:control_plane:acme", 0).await.unwrap();
    assert_eq!(org[0].position, 2);
}

async fn a_duplicate_unique_value_is_refused_and_nothing_is_appended(db: TestDatabase) {
    let db = db.connect().await;
    db.store
        .append(append("role:acme:1", ExpectedVersion::NoStream, 1).with_unique(claim("ops", "role:acme:1")))
        .await
        .unwrap();
    let err = db
        .store
        .append(append("role:acme:2", ExpectedVersion::NoStream, 1).with_unique(claim("ops", "role:acme:2")))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Duplicate { value, owner, .. } if value == "ops" && owner == "role:acme:1"),
        "{err}"
    );
    assert_eq!(db.store.head().await.unwrap(), 1);
    // The same value in another tenant is free.
    let other = eventstore::AppendRequest::to_stream(
        tenant("globex"),
        "role:globex:1",
        ExpectedVersion::NoStream,
        vec![event(0)],
    )
    .with_unique(UniqueChange::Claim {
        tenant_id: tenant("globex"),
        scope: "role_name".into(),
        value: "ops".into(),
        owner: "role:globex:1".into(),
    });
    db.store.append(other).await.unwrap();
}

async fn a_released_unique_value_can_be_claimed_again(db: TestDatabase) {
    let db = db.connect().await;
    db.store
        .append(append("role:acme:1", ExpectedVersion::NoStream, 1).with_unique(claim("ops", "role:acme:1")))
        .await
        .unwrap();
    let release = UniqueChange::Release { tenant_id: tenant("acme"), scope: "role_name".into(), value: "ops".into() };
    db.store.append(append("role:acme:1", ExpectedVersion::Exact(1), 1).with_unique(release)).await.unwrap();
    db.store
        .append(append("role:acme:2", ExpectedVersion::NoStream, 1).with_unique(claim("ops", "role:acme:2")))
        .await
        .unwrap();
}

async fn an_idempotent_retry_appends_nothing_and_returns_the_first_result(db: TestDatabase) {
    let db = db.connect().await;
    db.store.append(append("other", ExpectedVersion::Any, 1)).await.unwrap();
    let first =
        db.store.append(append("s", ExpectedVersion::NoStream, 2).with_idempotency("key-1", "f1")).await.unwrap();
    // The retry would conflict if it were appended again: it is answered from the key instead.
    let retry =
        db.store.append(append("s", ExpectedVersion::NoStream, 2).with_idempotency("key-1", "f1")).await.unwrap();
    assert_eq!((retry.first_position, retry.last_position), (first.first_position, first.last_position));
    assert!(retry.deduplicated && !first.deduplicated);
    assert_eq!(db.store.head().await.unwrap(), 3);
    let events = db.store.read_stream(&tenant("acme"), "s", 0).await.unwrap();
    assert_eq!(events[0].metadata.idempotency_key.as_deref(), Some("key-1"));
}

async fn an_idempotency_key_reused_with_another_request_is_refused(db: TestDatabase) {
    let db = db.connect().await;
    db.store.append(append("s", ExpectedVersion::Any, 1).with_idempotency("key-1", "f1")).await.unwrap();
    let err = db.store.append(append("s", ExpectedVersion::Any, 1).with_idempotency("key-1", "f2")).await.unwrap_err();
    assert!(matches!(err, StoreError::IdempotencyKeyReused { .. }), "{err}");
    assert_eq!(db.store.head().await.unwrap(), 1);
}

async fn an_oversized_payload_is_refused_before_anything_is_appended(db: TestDatabase) {
    let mut options = TestDatabase::options();
    options.store.limits = StoreLimits { max_payload_bytes: 64, ..StoreLimits::default() };
    let db = db.try_connect(options).await.unwrap();
    let request = append("s", ExpectedVersion::Any, 1).with_stream(eventstore::StreamWrite {
        tenant_id: tenant("acme"),
        stream_id: "s2".into(),
        expected: ExpectedVersion::Any,
        events: vec![NewEvent::new("thing.happened", 1, json!({ "blob": "x".repeat(100) }))],
    });
    let err = db.store.append(request).await.unwrap_err();
    assert!(matches!(err, StoreError::PayloadTooLarge { index: 1, limit: 64, .. }), "{err}");
    assert_eq!(db.store.head().await.unwrap(), 0);
}

async fn a_stream_write_without_events_guards_that_streams_version(db: TestDatabase) {
    let db = db.connect().await;
    db.store.append(append("resource_server:1", ExpectedVersion::NoStream, 2)).await.unwrap();
    let guard = |expected| eventstore::StreamWrite {
        tenant_id: tenant("acme"),
        stream_id: "resource_server:1".into(),
        expected,
        events: Vec::new(),
    };

    let stale = append("role:1", ExpectedVersion::NoStream, 1).with_stream(guard(ExpectedVersion::Exact(1)));
    let err = db.store.append(stale).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err}");
    assert_eq!(db.store.head().await.unwrap(), 2);

    let current = append("role:1", ExpectedVersion::NoStream, 1).with_stream(guard(ExpectedVersion::Exact(2)));
    assert_eq!(db.store.append(current).await.unwrap().last_position, 3);
    assert_eq!(db.store.read_stream(&tenant("acme"), "resource_server:1", 0).await.unwrap().len(), 2);
}

async fn unique_owners_and_idempotency_records_can_be_looked_up(db: TestDatabase) {
    let db = db.connect().await;
    let request = append("role:1", ExpectedVersion::NoStream, 2).with_unique(claim("admin", "role:1"));
    db.store.append(request.with_idempotency("key-1", "fp")).await.unwrap();

    assert_eq!(db.store.unique_owner(&tenant("acme"), "role_name", "admin").await.unwrap().as_deref(), Some("role:1"));
    assert_eq!(db.store.unique_owner(&tenant("acme"), "role_name", "other").await.unwrap(), None);
    assert_eq!(db.store.unique_owner(&tenant("other"), "role_name", "admin").await.unwrap(), None);

    let record = db.store.idempotency(&tenant("acme"), "key-1").await.unwrap().unwrap();
    assert_eq!((record.fingerprint.as_str(), record.first_position, record.last_position), ("fp", 1, 2));
    assert_eq!(db.store.idempotency(&tenant("other"), "key-1").await.unwrap(), None);
}
