//! Group commit: appends from every caller queue up for one writer task, which commits all that
//! are waiting in one transaction. Serializing position assignment then costs one lock and one
//! fsync per batch, not per append, so throughput grows with concurrency instead of capping.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{mpsc, oneshot};

use crate::backend::Backend;
use crate::head::HeadSignal;
use crate::prepare::PreparedAppend;
use crate::recent::RecentEvents;
use crate::{Appended, StoreError, Upcasters};

/// How many appends one transaction takes at most.
pub(crate) const MAX_BATCH: usize = 512;

pub(crate) struct Pending {
    pub append: PreparedAppend,
    pub reply: oneshot::Sender<Result<Appended, StoreError>>,
}

/// Counters for `/metrics` and the benchmarks: how well batching works.
#[derive(Debug, Default)]
pub struct WriterStats {
    pub batches: AtomicU64,
    pub appends: AtomicU64,
    pub events: AtomicU64,
    /// Batches planned from what the writer knew, without reading the log first.
    pub from_known: AtomicU64,
}

/// What the writer tells the rest of the process after each commit.
pub(crate) struct Published {
    pub head: HeadSignal,
    pub recent: Arc<RecentEvents>,
    pub upcasters: Arc<Upcasters>,
    pub stats: Arc<WriterStats>,
}

pub(crate) async fn run(backend: Arc<dyn Backend>, mut queue: mpsc::Receiver<Pending>, published: Published) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        commit(&*backend, std::mem::take(&mut batch), &published).await;
    }
}

async fn commit(backend: &dyn Backend, batch: Vec<Pending>, published: &Published) {
    let appends: Vec<&PreparedAppend> = batch.iter().map(|p| &p.append).collect();
    match backend.commit(&appends).await {
        Ok(plan) => {
            let stats = &published.stats;
            stats.batches.fetch_add(1, Ordering::Relaxed);
            stats.appends.fetch_add(batch.len() as u64, Ordering::Relaxed);
            stats.events.fetch_add(plan.rows.len() as u64, Ordering::Relaxed);
            stats.from_known.fetch_add(u64::from(plan.from_known), Ordering::Relaxed);
            // The events before the head: whoever wakes on the new head finds them here.
            let committed: Result<Vec<_>, _> =
                plan.rows.into_iter().map(|row| row.into_recorded(&published.upcasters)).collect();
            match committed {
                Ok(events) => published.recent.record(events),
                Err(_) => published.recent.clear(),
            }
            published.head.advance(plan.head);
            for (pending, outcome) in batch.into_iter().zip(plan.outcomes) {
                // A caller that stopped waiting still had its append committed; nothing to do.
                let _ = pending.reply.send(outcome);
            }
        }
        Err(err) if batch.len() > 1 => {
            // The database refused the whole transaction. Retry each append alone, so one bad
            // append cannot fail the others that happened to share its batch.
            tracing::warn!(error = %err, appends = batch.len(), "group commit failed; retrying appends one by one");
            for pending in batch {
                Box::pin(commit(backend, vec![pending], published)).await;
            }
        }
        Err(err) => {
            // A batch of one: its caller gets the error itself.
            tracing::error!(error = %err, "append failed");
            if let Some(pending) = batch.into_iter().next() {
                let _ = pending.reply.send(Err(err));
            }
        }
    }
}
