//! Group-commit throughput: durable single-event appends per second, 1 and 16 concurrent
//! writers, on each backend. Not a test: it reports, it does not assert.
//!
//!     cargo bench -p eventstore --bench append
//!
//! PostgreSQL is measured too when `TENANCY_TEST_DATABASE_URL` names a server. `BENCH_SECONDS`
//! sets the measured time per row (default 10). Prints a Markdown table for docs/performance.md.

#![allow(clippy::unwrap_used)] // a benchmark that cannot unwrap should stop loudly

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use domain::TenantId;
use eventstore::testing::TestDatabase;
use eventstore::{AppendRequest, BackendKind, ExpectedVersion, NewEvent};
use serde_json::json;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let seconds: u64 = std::env::var("BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
    println!("| backend | writers | appends/s | appends per commit | p50 latency | p99 latency |");
    println!("|---|---:|---:|---:|---:|---:|");
    for kind in [BackendKind::Sqlite, BackendKind::Postgres] {
        for writers in [1, 16] {
            let Some(db) = TestDatabase::of(kind).await else { continue };
            let row = run(&db, writers, Duration::from_secs(seconds)).await;
            println!(
                "| {} | {writers} | {:.0} | {:.1} | {:.2} ms | {:.2} ms |",
                kind.name(),
                row.per_second,
                row.per_commit,
                row.p50.as_secs_f64() * 1e3,
                row.p99.as_secs_f64() * 1e3
            );
        }
    }
}

struct Row {
    per_second: f64,
    per_commit: f64,
    p50: Duration,
    p99: Duration,
}

async fn run(db: &TestDatabase, writers: usize, measure: Duration) -> Row {
    let db = db.connect().await;
    let tenant = TenantId::parse("bench").unwrap();
    // Warm up connections and statement caches before measuring.
    for i in 0..50 {
        db.store.append(append(&tenant, "warmup", ExpectedVersion::Exact(i))).await.unwrap();
    }
    let (batches, appends) = counts(&db);
    let started = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let (store, tenant) = (db.store.clone(), tenant.clone());
            tokio::spawn(async move {
                let stream = format!("writer-{w}");
                let mut latencies = Vec::new();
                let mut version = 0;
                while started.elapsed() < measure {
                    let sent = Instant::now();
                    store.append(append(&tenant, &stream, ExpectedVersion::Exact(version))).await.unwrap();
                    latencies.push(sent.elapsed());
                    version += 1;
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    let elapsed = started.elapsed();
    let (batches_after, appends_after) = counts(&db);
    latencies.sort_unstable();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    Row {
        per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        per_commit: (appends_after - appends) as f64 / (batches_after - batches).max(1) as f64,
        p50: at(0.50),
        p99: at(0.99),
    }
}

fn append(tenant: &TenantId, stream: &str, expected: ExpectedVersion) -> AppendRequest {
    let event = NewEvent::new("role.created", 1, json!({ "id": stream, "name": "operators", "description": "" }));
    AppendRequest::to_stream(tenant.clone(), stream, expected, vec![event])
}

fn counts(db: &eventstore::Database) -> (u64, u64) {
    let stats = db.store.stats();
    (stats.batches.load(Ordering::Relaxed), stats.appends.load(Ordering::Relaxed))
}
