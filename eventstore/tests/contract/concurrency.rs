//! No gaps for readers, under concurrent writers from more than one "process" (separate store
//! instances with their own pools and writer tasks on the same database).

use std::time::Duration;

use eventstore::testing::TestDatabase;
use eventstore::{ExpectedVersion, LogQuery};
use tokio::time::timeout;

use crate::support::append;

eventstore::backend_tests!(
    concurrent_writers_never_let_a_reader_see_a_gap,
    a_subscription_with_a_type_filter_catches_up_then_follows_live,
    the_head_follows_commits_made_by_another_process,
);

const WRITERS: usize = 8;
const APPENDS_PER_WRITER: u64 = 500;

async fn concurrent_writers_never_let_a_reader_see_a_gap(db: TestDatabase) {
    let total = WRITERS as u64 * APPENDS_PER_WRITER;
    let processes = [db.connect().await, db.connect().await];
    let reader = db.connect().await;

    // A subscriber that relies on the head signal…
    let mut subscription = reader.store.subscribe(LogQuery::after(0));
    let subscriber = tokio::spawn(async move {
        let mut seen = Vec::with_capacity(total as usize);
        while (seen.len() as u64) < total {
            seen.push(subscription.next().await.unwrap().position);
        }
        seen
    });
    // …and a poller that reads the table as fast as it can, with no bound at all: whatever it
    // sees must always continue exactly where it left off.
    let poller = tokio::spawn({
        let store = reader.store.clone();
        async move {
            let mut last = 0;
            while last < total {
                for event in store.read(&LogQuery::after(last).limit(1000)).await.unwrap() {
                    assert_eq!(event.position, last + 1, "the poller met a gap after {last}");
                    last = event.position;
                }
                tokio::task::yield_now().await;
            }
        }
    });

    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = processes[w % processes.len()].store.clone();
            tokio::spawn(async move {
                let stream = format!("writer-{w}");
                for version in 0..APPENDS_PER_WRITER {
                    store.append(append(&stream, ExpectedVersion::Exact(version), 1)).await.unwrap();
                }
            })
        })
        .collect();
    for writer in writers {
        timeout(Duration::from_secs(300), writer).await.expect("writers finish").unwrap();
    }

    let seen = timeout(Duration::from_secs(60), subscriber).await.expect("the subscriber catches up").unwrap();
    assert_eq!(seen, (1..=total).collect::<Vec<_>>(), "every position exactly once, in order, contiguous");
    timeout(Duration::from_secs(60), poller).await.expect("the poller catches up").unwrap();
    assert_eq!(reader.store.head().await.unwrap(), total);
    assert!(reader.store.verify().await.unwrap().is_intact());
}

async fn a_subscription_with_a_type_filter_catches_up_then_follows_live(db: TestDatabase) {
    let db = db.connect().await;
    let other = |n| {
        eventstore::AppendRequest::to_stream(
            crate::support::tenant("acme"),
            "o",
            ExpectedVersion::Any,
            vec![eventstore::NewEvent::new("other.happened", 1, serde_json::json!({ "n": n }))],
        )
    };
    db.store.append(append("s", ExpectedVersion::Any, 2)).await.unwrap(); // 1, 2
    db.store.append(other(1)).await.unwrap(); // 3
    let mut subscription = db.store.subscribe(LogQuery::after(0).types(["other.happened"]).limit(1));
    assert_eq!(subscription.next().await.unwrap().position, 3);

    let store = db.store.clone();
    tokio::spawn(async move {
        store.append(append("s", ExpectedVersion::Any, 3)).await.unwrap(); // 4..6
        store.append(other(2)).await.unwrap(); // 7
    });
    let live = timeout(Duration::from_secs(10), subscription.next()).await.expect("a live event arrives").unwrap();
    assert_eq!(live.position, 7);
    assert_eq!(subscription.position(), 7);
}

async fn the_head_follows_commits_made_by_another_process(db: TestDatabase) {
    let watcher = db.connect().await;
    let writer = db.connect().await;
    let mut head = watcher.store.watch_head();
    assert_eq!(*head.borrow(), 0);
    writer.store.append(append("s", ExpectedVersion::Any, 2)).await.unwrap();
    timeout(Duration::from_secs(5), head.wait_for(|h| *h == 2)).await.expect("the head moves").unwrap();
    assert_eq!(watcher.store.known_head(), 2);
}
