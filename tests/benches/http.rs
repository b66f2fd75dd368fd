//! The Management API over HTTP, as clients use it: role creations per second with 16
//! concurrent clients, and `GET /roles/{id}/permissions` reads per second. Not a test: it
//! reports, it does not assert.
//!
//!     cargo bench -p tenancy-tests --bench http
//!
//! PostgreSQL is measured too when `TENANCY_TEST_DATABASE_URL` names a server. `BENCH_SECONDS`
//! sets the measured time per row (default 10). The clients run in the server's process and
//! share its 2 cores. Prints a Markdown table for docs/performance.md.

#![allow(clippy::unwrap_used)] // a benchmark that cannot unwrap should stop loudly

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use eventstore::BackendKind;
use eventstore::testing::TestDatabase;
use reqwest::Method;
use serde_json::json;
use tenancy_tests::TestApp;

const CLIENTS: usize = 16;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(run_all());
}

async fn run_all() {
    let seconds: u64 = std::env::var("BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
    let window = Duration::from_secs(seconds);
    println!("| backend | operation | clients | requests/s | p50 latency | p99 latency |");
    println!("|---|---|---:|---:|---:|---:|");
    for kind in [BackendKind::Sqlite, BackendKind::Postgres] {
        let Some(db) = TestDatabase::of(kind).await else { continue };
        let app = Arc::new(TestApp::start(db).await);
        let token = Arc::new(app.token().await);

        let creates = measure(window, {
            let (app, token) = (app.clone(), token.clone());
            move |client, n| {
                let (app, token) = (app.clone(), token.clone());
                async move {
                    let body = json!({ "name": format!("role-{client}-{n}") });
                    let response = app.api_with(Method::POST, "/roles", Some(body), &token).await;
                    assert_eq!(response.status(), 200);
                }
            }
        })
        .await;
        print_row(kind, "POST /roles", &creates);

        let role = app.api(Method::POST, "/roles", Some(json!({ "name": "readers" }))).await;
        let role_id = role.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        let scopes: Vec<_> = (0..10).map(|i| json!({ "value": format!("read:thing{i}") })).collect();
        let api = json!({ "name": "Bench", "identifier": "https://bench/", "scopes": scopes });
        assert_eq!(app.api(Method::POST, "/resource-servers", Some(api)).await.status(), 201);
        let permissions: Vec<_> = (0..10)
            .map(|i| json!({ "resource_server_identifier": "https://bench/", "permission_name": format!("read:thing{i}") }))
            .collect();
        let path = format!("/roles/{role_id}/permissions");
        let added = app.api(Method::POST, &path, Some(json!({ "permissions": permissions }))).await;
        assert_eq!(added.status(), 201);

        let reads = measure(window, {
            let (app, token, path) = (app.clone(), token.clone(), Arc::new(path));
            move |_, _| {
                let (app, token, path) = (app.clone(), token.clone(), path.clone());
                async move {
                    let response = app.api_with(Method::GET, &path, None, &token).await;
                    assert_eq!(response.status(), 200);
                    response.bytes().await.unwrap();
                }
            }
        })
        .await;
        print_row(kind, "GET /roles/{id}/permissions", &reads);
    }
}

struct Measured {
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

/// Runs `CLIENTS` loops of `request(client, n)` for `window`, after a one-second warm-up.
async fn measure<F, Fut>(window: Duration, request: F) -> Measured
where
    F: Fn(usize, usize) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let warmup = Duration::from_secs(1);
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let (request, measuring, stop) = (request.clone(), measuring.clone(), stop.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    request(client, n).await;
                    n += 1;
                    if measuring.load(Ordering::Relaxed) {
                        latencies.push(started.elapsed());
                    }
                }
                latencies
            })
        })
        .collect();
    tokio::time::sleep(warmup).await;
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(window).await;
    measuring.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    Measured { per_second: latencies.len() as f64 / elapsed.as_secs_f64(), p50: at(0.5), p99: at(0.99) }
}

fn print_row(kind: BackendKind, operation: &str, m: &Measured) {
    println!(
        "| {} | {operation} | {CLIENTS} | {:.0} | {:.2} ms | {:.2} ms |",
        kind.name(),
        m.per_second,
        m.p50.as_secs_f64() * 1e3,
        m.p99.as_secs_f64() * 1e3
    );
}
