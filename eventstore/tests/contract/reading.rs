//! Reads: filters, upcasting of old revisions, and typed errors for rows that cannot be read.

use std::sync::Arc;

use eventstore::testing::TestDatabase;
use eventstore::{AppendRequest, BackendKind, Database, ExpectedVersion, LogQuery, NewEvent, StoreError, Upcasters};
use serde_json::json;

use crate::support::{append, sql, tenant};

eventstore::backend_tests!(
    reads_filter_by_tenant_stream_type_time_and_position,
    an_old_revision_is_upcast_on_read_and_the_stored_row_is_untouched,
    an_unknown_event_type_is_a_typed_error_naming_its_position,
    an_unreadable_row_is_a_typed_error_naming_its_position,
);

async fn reads_filter_by_tenant_stream_type_time_and_position(db: TestDatabase) {
    let db = db.connect().await;
    db.store.append(append("s1", ExpectedVersion::Any, 2)).await.unwrap();
    let globex = AppendRequest::to_stream(
        tenant("globex"),
        "s1",
        ExpectedVersion::Any,
        vec![NewEvent::new("other.happened", 1, json!({}))],
    );
    db.store.append(globex).await.unwrap();
    db.store.append(append("s2", ExpectedVersion::Any, 1)).await.unwrap();

    let positions = |events: Vec<eventstore::RecordedEvent>| events.iter().map(|e| e.position).collect::<Vec<_>>();
    let read = |q: LogQuery| {
        let store = db.store.clone();
        async move { positions(store.read(&q).await.unwrap()) }
    };
    assert_eq!(read(LogQuery::after(0)).await, vec![1, 2, 3, 4]);
    assert_eq!(read(LogQuery::after(1).limit(2)).await, vec![2, 3]);
    assert_eq!(read(LogQuery::after(0).up_to(2)).await, vec![1, 2]);
    assert_eq!(read(LogQuery::after(0).tenant(tenant("globex"))).await, vec![3]);
    assert_eq!(read(LogQuery::after(0).tenant(tenant("acme")).stream("s1")).await, vec![1, 2]);
    assert_eq!(read(LogQuery::after(0).types(["other.happened"])).await, vec![3]);
    assert_eq!(read(LogQuery::after(0).types(["thing.happened", "other.happened"])).await, vec![1, 2, 3, 4]);
    let now = chrono::Utc::now();
    let hour = chrono::Duration::hours(1);
    assert_eq!(read(LogQuery::after(0).recorded_between(Some(now - hour), Some(now + hour))).await, vec![1, 2, 3, 4]);
    assert!(read(LogQuery::after(0).recorded_between(Some(now + hour), None)).await.is_empty());
}

/// `role.created` revision 1 had `title`; revision 2 calls it `name`.
fn upcasters() -> Upcasters {
    Upcasters::strict().register("thing.happened", 1).step("role.created", 1, |mut payload| {
        let title = payload.get_mut("title").map(serde_json::Value::take).ok_or("no title")?;
        Ok(json!({ "name": title }))
    })
}

async fn reconnect(db: &TestDatabase, upcasters: Upcasters) -> Database {
    let mut options = TestDatabase::options();
    options.store.upcasters = Arc::new(upcasters);
    db.try_connect(options).await.unwrap()
}

async fn an_old_revision_is_upcast_on_read_and_the_stored_row_is_untouched(test_db: TestDatabase) {
    let db = test_db.connect().await;
    let old = NewEvent::new("role.created", 1, json!({ "title": "ops" }));
    db.store
        .append(AppendRequest::to_stream(tenant("acme"), "role:acme:1", ExpectedVersion::NoStream, vec![old]))
        .await
        .unwrap();

    let upcasting = reconnect(&test_db, upcasters()).await;
    let events = upcasting.store.read_stream(&tenant("acme"), "role:acme:1", 0).await.unwrap();
    assert_eq!((events[0].revision, &events[0].payload), (2, &json!({ "name": "ops" })));
    // Stored bytes are what was written; the chain still verifies.
    assert!(upcasting.store.verify().await.unwrap().is_intact());
    assert_eq!(db.store.read(&LogQuery::after(0)).await.unwrap()[0].payload, json!({ "title": "ops" }));
}

async fn an_unknown_event_type_is_a_typed_error_naming_its_position(test_db: TestDatabase) {
    let db = test_db.connect().await;
    db.store.append(append("s", ExpectedVersion::Any, 1)).await.unwrap();
    let unknown = NewEvent::new("nobody.knows", 1, json!({}));
    db.store.append(AppendRequest::to_stream(tenant("acme"), "s", ExpectedVersion::Any, vec![unknown])).await.unwrap();

    let strict = reconnect(&test_db, upcasters()).await;
    let err = strict.store.read(&LogQuery::after(0)).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::UnknownEventType { position: 2, event_type } if event_type == "nobody.knows"),
        "{err}"
    );
}

async fn an_unreadable_row_is_a_typed_error_naming_its_position(db: TestDatabase) {
    let db = db.connect().await;
    db.store.append(append("s", ExpectedVersion::Any, 1)).await.unwrap();
    let (event_id, now, zeros) = match db.kind() {
        BackendKind::Postgres => {
            ("CAST('0190c6a0-0000-7000-8000-000000000002' AS uuid)", "now()", "decode(repeat('00', 32), 'hex')")
        }
        BackendKind::Sqlite => ("'0190c6a0-0000-7000-8000-000000000002'", "0", "zeroblob(32)"),
    };
    // Valid JSON (PostgreSQL's json type would refuse anything else) but not metadata.
    sql(
        &db,
        &format!(
            "INSERT INTO events (position, event_id, tenant_id, stream_id, stream_version, event_type, revision, \
                                 payload, metadata, recorded_at, prev_hash, hash) \
             VALUES (2, {event_id}, 'acme', 's', 2, 'thing.happened', 1, '{{}}', '{{\"actor\": 5}}', {now}, {zeros}, {zeros})"
        ),
    )
    .await
    .unwrap();
    let err = db.store.read(&LogQuery::after(0)).await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { position: 2, .. }), "{err}");

    if db.kind() == BackendKind::Sqlite {
        // SQLite stores text as given, so a row can hold something that is not JSON at all.
        sql(
            &db,
            &format!(
                "INSERT INTO events (position, event_id, tenant_id, stream_id, stream_version, event_type, revision, \
                                     payload, metadata, recorded_at, prev_hash, hash) \
                 VALUES (3, '0190c6a0-0000-7000-8000-000000000003', 'acme', 's', 3, 'thing.happened', 1, \
                         '{{\"n\": ', '{{}}', 0, {zeros}, {zeros})"
            ),
        )
        .await
        .unwrap();
        let err = db.store.read(&LogQuery::after(2)).await.unwrap_err();
        assert!(matches!(&err, StoreError::Corrupt { position: 3, reason } if reason.contains("not JSON")), "{err}");
    }
}
