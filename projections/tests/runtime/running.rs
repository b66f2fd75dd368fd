//! Catching up, following live, surviving a kill mid-batch, sharing work across processes.

use std::sync::Arc;
use std::time::Duration;

use domain::TenantId;
use eventstore::testing::TestDatabase;
use eventstore::{AppendRequest, Database, ExpectedVersion, NewEvent};
use projections::{Projection, Projections, RuntimeOptions};
use serde_json::json;

use crate::counting::Counting;

eventstore::backend_tests!(
    a_projection_catches_up_then_follows_live,
    a_runner_killed_mid_batch_resumes_without_applying_any_event_twice,
    two_processes_running_one_projection_apply_each_event_once,
    a_projection_reading_some_types_still_advances_past_the_others,
);

const WAIT: Duration = Duration::from_secs(60);

pub fn options(batch_size: usize) -> RuntimeOptions {
    RuntimeOptions {
        batch_size,
        retry_initial: Duration::from_millis(20),
        retry_max: Duration::from_millis(200),
        ..RuntimeOptions::default()
    }
}

pub async fn append(db: &Database, stream: &str, event_type: &str, payload: serde_json::Value) -> u64 {
    let request = AppendRequest::to_stream(
        TenantId::parse("acme").unwrap(),
        stream,
        ExpectedVersion::Any,
        vec![NewEvent::new(event_type, 1, payload)],
    );
    db.store.append(request).await.unwrap().last_position
}

async fn a_projection_catches_up_then_follows_live(db: TestDatabase) {
    let db = db.connect().await;
    let counting = Arc::new(Counting::new("counting.v1"));
    counting.create_tables(&db).await;
    for i in 0..10 {
        append(&db, &format!("s{}", i % 3), "thing.happened", json!({})).await;
    }
    let projections = Projections::start(&db, vec![counting.clone() as Arc<dyn Projection>], options(4));
    projections.wait_for(10, WAIT).await.unwrap();
    assert_eq!(counting.rows(&db).await.iter().map(|r| r.2).collect::<Vec<_>>(), vec![4, 3, 3]);

    let live = append(&db, "s9", "thing.happened", json!({})).await;
    projections.wait_for(live, WAIT).await.unwrap();
    assert_eq!(counting.applied(&db).await, 11);
    assert_eq!(projections.status()[0].checkpoint, 11);
}

async fn a_runner_killed_mid_batch_resumes_without_applying_any_event_twice(db: TestDatabase) {
    let db = db.connect().await;
    let slow = Counting { delay: Some(Duration::from_millis(2)), ..Counting::new("counting.v1") };
    slow.create_tables(&db).await;
    for i in 0..300 {
        append(&db, &format!("s{}", i % 7), "thing.happened", json!({})).await;
    }
    let projections = Projections::start(&db, vec![Arc::new(slow) as Arc<dyn Projection>], options(50));
    // Let some batches commit, then kill the runner while it is inside the next one.
    projections.wait_for(100, WAIT).await.unwrap();
    tokio::time::sleep(Duration::from_millis(30)).await;
    drop(projections);
    let killed_at = Counting::new("counting.v1").applied(&db).await;
    assert!((100..300).contains(&killed_at), "killed after {killed_at} events");

    let counting = Arc::new(Counting::new("counting.v1"));
    let projections = Projections::start(&db, vec![counting.clone() as Arc<dyn Projection>], options(50));
    projections.wait_for(300, WAIT).await.unwrap();
    let resumed = counting.rows(&db).await;
    assert_eq!(counting.applied(&db).await, 300, "each event applied exactly once");

    projections.rebuild("counting.v1").await.unwrap();
    projections.wait_for(300, WAIT).await.unwrap();
    assert_eq!(counting.rows(&db).await, resumed, "the resumed model equals a rebuild from scratch");
    assert_eq!(counting.applied(&db).await, 300);
}

async fn two_processes_running_one_projection_apply_each_event_once(test_db: TestDatabase) {
    let (a, b) = (test_db.connect().await, test_db.connect().await);
    let counting = Arc::new(Counting::new("counting.v1"));
    counting.create_tables(&a).await;
    let in_a = Projections::start(&a, vec![counting.clone() as Arc<dyn Projection>], options(7));
    let in_b = Projections::start(&b, vec![counting.clone() as Arc<dyn Projection>], options(7));
    let writers: Vec<_> = [a.clone(), b.clone()]
        .into_iter()
        .enumerate()
        .map(|(w, db)| {
            tokio::spawn(async move {
                for _ in 0..100 {
                    append(&db, &format!("w{w}"), "thing.happened", json!({})).await;
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    in_a.wait_for(200, WAIT).await.unwrap();
    in_b.wait_for(200, WAIT).await.unwrap();
    assert_eq!(counting.applied(&a).await, 200);
    assert_eq!(counting.rows(&a).await.iter().map(|r| r.2).collect::<Vec<_>>(), vec![100, 100]);
}

async fn a_projection_reading_some_types_still_advances_past_the_others(db: TestDatabase) {
    let db = db.connect().await;
    let counting = Arc::new(Counting { types: &["role.created"], ..Counting::new("roles.v1") });
    counting.create_tables(&db).await;
    let projections = Projections::start(&db, vec![counting.clone() as Arc<dyn Projection>], options(2));
    let first = append(&db, "r1", "role.created", json!({})).await;
    projections.wait_for(first, WAIT).await.unwrap();
    for _ in 0..5 {
        append(&db, "x", "thing.happened", json!({})).await;
    }
    projections.wait_for(6, WAIT).await.unwrap();
    assert_eq!(counting.applied(&db).await, 1);
    assert_eq!(projections.status()[0].checkpoint, 6);
    // Skipping ignored events writes nothing: the stored checkpoint stays where the last
    // applied batch left it, and catches up with the next batch it applies.
    let stored = || async {
        let sql = "SELECT position FROM projection_checkpoints WHERE name = 'roles.v1'";
        eventstore::sqlx::query_scalar::<_, i64>(sql).fetch_one(&db.pool).await.unwrap()
    };
    assert_eq!(stored().await, 1);
    let live = append(&db, "r2", "role.created", json!({})).await;
    projections.wait_for(live, WAIT).await.unwrap();
    assert_eq!(stored().await, 7);
    assert_eq!(counting.applied(&db).await, 2);
}
