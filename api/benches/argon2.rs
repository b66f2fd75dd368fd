//! argon2id hashes per second on this machine, with the parameters password logins use: the
//! ceiling password logins are measured against (docs/performance.md). One hashing task per
//! core, as the token endpoint's blocking pool would run them. Reports; asserts nothing.
//!
//! `BENCH_SECONDS=10 cargo bench -p api --bench argon2`

use std::time::{Duration, Instant};

use domain::settings::PasswordPolicy;

#[tokio::main]
async fn main() {
    let seconds: u64 = std::env::var("BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let phc = api::passwords::hash("correct horse battery".into(), PasswordPolicy::default()).await.expect("hashes");
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let phc = phc.clone();
            tokio::spawn(async move {
                let mut verified = 0u64;
                while Instant::now() < deadline {
                    let ok = api::passwords::verify("correct horse battery".into(), Some(phc.clone())).await;
                    assert!(ok.expect("verifies"));
                    verified += 1;
                }
                verified
            })
        })
        .collect();
    let mut total = 0;
    for task in tasks {
        total += task.await.expect("the task finishes");
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "argon2id (m=19456, t=2, p=1) verifications: {total} in {elapsed:.1} s with {workers} tasks = {:.1}/s",
        total as f64 / elapsed
    );
}
