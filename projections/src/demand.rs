//! `Demand`: how far anyone is waiting for the SQL read models to be, so that their runners can
//! let commits gather while nobody is.
//!
//! A SQL runner that applied every commit as it came would run one transaction (four or five
//! statements) per group commit, competing with the writer for the database. Nothing waits
//! for it most of the time — commands wait for the in-memory models only — so when its
//! projection is not wanted it lingers a few milliseconds first and then applies what gathered
//! in one transaction. A read that needs it (or any `wait_for`) says so here and ends the
//! linger at once, so no reader waits for it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

#[derive(Debug, Default)]
pub(crate) struct Demand {
    /// The highest position anyone has waited for.
    wanted: AtomicU64,
    changed: Notify,
}

impl Demand {
    /// Someone waits for `position`: runners behind it stop lingering.
    pub fn want(&self, position: u64) {
        if self.wanted.fetch_max(position, Ordering::AcqRel) < position {
            self.changed.notify_waiters();
        }
    }

    /// Waits up to `linger` unless, or until, someone wants a position past `reached`.
    pub async fn linger(&self, reached: u64, linger: Duration) {
        let changed = self.changed.notified();
        tokio::pin!(changed);
        // Registered before looking, so a `want` between the look and the wait is not missed.
        changed.as_mut().enable();
        if self.wanted.load(Ordering::Acquire) > reached {
            return;
        }
        let _ = tokio::time::timeout(linger, changed).await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Instant;

    use super::*;

    #[tokio::test]
    async fn a_runner_nobody_waits_for_lingers_the_whole_time() {
        let demand = Demand::default();
        let started = Instant::now();
        demand.linger(10, Duration::from_millis(30)).await;
        assert!(started.elapsed() >= Duration::from_millis(30));
    }

    #[tokio::test]
    async fn a_runner_behind_what_was_wanted_does_not_linger() {
        let demand = Demand::default();
        demand.want(11);
        let started = Instant::now();
        demand.linger(10, Duration::from_secs(30)).await;
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[tokio::test]
    async fn a_want_ends_a_linger_under_way() {
        let demand = Arc::new(Demand::default());
        let lingering = tokio::spawn({
            let demand = demand.clone();
            async move { demand.linger(10, Duration::from_secs(30)).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        demand.want(12);
        tokio::time::timeout(Duration::from_secs(5), lingering).await.expect("the linger ends").unwrap();
    }
}
