//! A failing event is retried with backoff and recorded; it never stops other projections,
//! and nothing past it is applied until it succeeds.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use eventstore::sqlx;
use eventstore::testing::TestDatabase;
use projections::{Projection, Projections, WaitError};
use serde_json::json;

use crate::counting::Counting;
use crate::running::{append, options};

eventstore::backend_tests!(a_failing_event_is_retried_recorded_and_does_not_stop_the_others);

async fn a_failing_event_is_retried_recorded_and_does_not_stop_the_others(db: TestDatabase) {
    let db = db.connect().await;
    let fragile = Arc::new(Counting::new("fragile.v1"));
    fragile.poisoned.store(true, Ordering::SeqCst);
    let healthy = Arc::new(Counting::new("healthy.v1"));
    fragile.create_tables(&db).await;
    healthy.create_tables(&db).await;
    for i in 1..=5 {
        append(&db, "s", "thing.happened", json!({ "poison": i == 3 })).await;
    }
    let projections = Projections::start(
        &db,
        vec![fragile.clone() as Arc<dyn Projection>, healthy.clone() as Arc<dyn Projection>],
        options(10),
    );

    // The healthy projection is not held back…
    let err = projections.wait_for(5, Duration::from_millis(500)).await.unwrap_err();
    assert!(matches!(&err, WaitError::Timeout { lagging, .. } if lagging == &["fragile.v1".to_string()]), "{err}");
    assert_eq!(healthy.applied(&db).await, 5);

    // …the fragile one applied what precedes the failing event, and keeps retrying it.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let status = projections.status().into_iter().find(|s| s.name == "fragile.v1").unwrap();
    assert_eq!(status.checkpoint, 2);
    let failure = status.failure.expect("the failure is reported");
    assert_eq!(failure.position, Some(3));
    assert!(failure.attempts >= 2, "retried: {failure:?}");
    assert!(failure.error.contains("poisoned"));
    assert_eq!(fragile.applied(&db).await, 2);
    let (failing, recorded, attempts): (Option<i64>, Option<String>, i64) = sqlx::query_as(
        "SELECT failing_position, failure, attempts FROM projection_checkpoints WHERE name = 'fragile.v1'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(failing, Some(3));
    assert!(recorded.unwrap().contains("poisoned") && attempts >= 2);

    // Once the event applies, the projection catches up and the failure is cleared.
    fragile.poisoned.store(false, Ordering::SeqCst);
    projections.wait_for(5, Duration::from_secs(10)).await.unwrap();
    assert_eq!(fragile.applied(&db).await, 5);
    assert!(projections.status().iter().all(|s| s.failure.is_none()));
    let failing: Option<i64> =
        sqlx::query_scalar("SELECT failing_position FROM projection_checkpoints WHERE name = 'fragile.v1'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(failing, None);
}
