//! The log defends itself: the database refuses changes, and `verify` finds the ones made
//! behind its back (here, by dropping the triggers first, as an attacker with the owner's
//! rights could).

use eventstore::testing::TestDatabase;
use eventstore::{BackendKind, Database, ExpectedVersion, TamperKind, Tampered};

use crate::support::{append, sql};

eventstore::backend_tests!(
    update_and_delete_on_events_are_refused_by_the_database,
    an_untouched_log_verifies,
    a_changed_row_is_found_at_its_position,
    a_removed_row_is_found_at_its_position,
    an_inserted_row_is_found_at_its_position,
);

async fn filled(db: &TestDatabase) -> Database {
    let db = db.connect().await;
    for stream in ["a", "b", "c", "d", "e"] {
        db.store.append(append(stream, ExpectedVersion::NoStream, 1)).await.unwrap();
    }
    db
}

async fn drop_triggers(db: &Database) {
    let on = if db.kind() == BackendKind::Postgres { " ON events" } else { "" };
    for trigger in ["events_no_update", "events_no_delete"] {
        sql(db, &format!("DROP TRIGGER {trigger}{on}")).await.unwrap();
    }
}

async fn update_and_delete_on_events_are_refused_by_the_database(db: TestDatabase) {
    let db = filled(&db).await;
    let update = sql(&db, "UPDATE events SET tenant_id = 'evil' WHERE position = 1").await.unwrap_err();
    assert!(update.to_string().contains("append-only"), "{update}");
    let delete = sql(&db, "DELETE FROM events WHERE position = 1").await.unwrap_err();
    assert!(delete.to_string().contains("append-only"), "{delete}");
    if db.kind() == BackendKind::Postgres {
        let truncate = sql(&db, "TRUNCATE events").await.unwrap_err();
        assert!(truncate.to_string().contains("append-only"), "{truncate}");
    }
    assert_eq!(db.store.head().await.unwrap(), 5);
    assert!(db.store.verify().await.unwrap().is_intact());
}

async fn an_untouched_log_verifies(db: TestDatabase) {
    let db = filled(&db).await;
    let verification = db.store.verify().await.unwrap();
    assert!(verification.is_intact(), "{verification:?}");
    assert_eq!((verification.checked, verification.head), (5, 5));
    assert_eq!(verification.head_hash.len(), 64);
}

async fn a_changed_row_is_found_at_its_position(db: TestDatabase) {
    let db = filled(&db).await;
    drop_triggers(&db).await;
    sql(&db, r#"UPDATE events SET payload = '{"n":99}' WHERE position = 3"#).await.unwrap();
    let verification = db.store.verify().await.unwrap();
    assert_eq!(verification.tampered, Some(Tampered { position: 3, kind: TamperKind::Changed }));
    assert_eq!(verification.checked, 2);
}

async fn a_removed_row_is_found_at_its_position(db: TestDatabase) {
    let db = filled(&db).await;
    drop_triggers(&db).await;
    sql(&db, "DELETE FROM events WHERE position = 2").await.unwrap();
    let verification = db.store.verify().await.unwrap();
    assert_eq!(verification.tampered, Some(Tampered { position: 2, kind: TamperKind::Removed }));
}

async fn an_inserted_row_is_found_at_its_position(db: TestDatabase) {
    // No trigger stands in the way of INSERT: the log is append-only, not write-once. A forged
    // row copies a genuine one (hash included) to the end of the log.
    let db = filled(&db).await;
    let event_id = match db.kind() {
        BackendKind::Postgres => "CAST('0190c6a0-0000-7000-8000-000000000001' AS uuid)",
        BackendKind::Sqlite => "'0190c6a0-0000-7000-8000-000000000001'",
    };
    sql(
        &db,
        &format!(
            "INSERT INTO events (position, event_id, tenant_id, stream_id, stream_version, event_type, revision, \
                                 payload, metadata, recorded_at, prev_hash, hash) \
             SELECT 6, {event_id}, tenant_id, stream_id, 2, event_type, revision, payload, metadata, recorded_at, \
                    prev_hash, hash FROM events WHERE position = 2"
        ),
    )
    .await
    .unwrap();
    let verification = db.store.verify().await.unwrap();
    assert_eq!(verification.tampered, Some(Tampered { position: 6, kind: TamperKind::Inserted }));
    assert_eq!(verification.checked, 5);
}
