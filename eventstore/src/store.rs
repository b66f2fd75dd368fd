//! `EventStore`: the log's public face. Validates appends, queues them for the group-commit
//! writer, upcasts what it reads, verifies the chain and hands out subscriptions. Cheap to
//! clone; the writer and the head follower stop when the last clone is dropped.

use std::sync::Arc;
use std::time::Duration;

use domain::TenantId;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::backend::{Backend, BackendKind};
use crate::head::HeadSignal;
use crate::plan::IdempotencyRecord;
use crate::prepare::{StoreLimits, prepare};
use crate::recent::RecentEvents;
use crate::verify::ChainVerifier;
use crate::writer::{self, Pending, Published, WriterStats};
use crate::{AppendRequest, Appended, LogQuery, RecordedEvent, StoreError, Subscription, Upcasters, Verification};

/// Everything about a store that is not where it lives.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub limits: StoreLimits,
    pub upcasters: Arc<Upcasters>,
    /// How often to look for commits made by other processes when no notification arrives.
    pub poll_interval: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            limits: StoreLimits::default(),
            upcasters: Arc::new(Upcasters::permissive()),
            poll_interval: Duration::from_secs(1),
        }
    }
}

#[derive(Debug, Clone)]
pub struct EventStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    backend: Arc<dyn Backend>,
    queue: mpsc::Sender<Pending>,
    head: HeadSignal,
    recent: Arc<RecentEvents>,
    options: StoreOptions,
    stats: Arc<WriterStats>,
    follower: JoinHandle<()>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.follower.abort();
    }
}

/// Rows fetched per round trip when walking the whole log.
const VERIFY_PAGE: usize = 2_000;

impl EventStore {
    pub(crate) async fn start(backend: Arc<dyn Backend>, options: StoreOptions) -> Result<Self, StoreError> {
        let head = HeadSignal::new(backend.head().await?);
        let stats = Arc::new(WriterStats::default());
        let recent = Arc::new(RecentEvents::default());
        let (queue, pending) = mpsc::channel(writer::MAX_BATCH * 8);
        let published = Published {
            head: head.clone(),
            recent: recent.clone(),
            upcasters: options.upcasters.clone(),
            stats: stats.clone(),
        };
        tokio::spawn(writer::run(backend.clone(), pending, published));
        let follower = tokio::spawn({
            let (backend, head) = (backend.clone(), head.clone());
            async move { backend.follow_head(head).await }
        });
        Ok(Self { inner: Arc::new(Inner { backend, queue, head, recent, options, stats, follower }) })
    }

    pub fn kind(&self) -> BackendKind {
        self.inner.backend.kind()
    }

    /// Appends atomically: every stream write, unique claim and the idempotency key, or nothing.
    /// Returns once the events are durably committed.
    pub async fn append(&self, request: AppendRequest) -> Result<Appended, StoreError> {
        let append = prepare(request, &self.inner.options.limits)?;
        let (reply, answer) = oneshot::channel();
        self.inner.queue.send(Pending { append, reply }).await.map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Events of the log matching `query`, in position order, upcast to current revisions.
    pub async fn read(&self, query: &LogQuery) -> Result<Vec<RecordedEvent>, StoreError> {
        let rows = self.inner.backend.read(query).await?;
        rows.into_iter().map(|row| row.into_recorded(&self.inner.options.upcasters)).collect()
    }

    /// The events with `after < position <= up_to` if this process committed them all recently:
    /// what [`Self::read`] would answer for that range, without a round trip. `None` means:
    /// read the log.
    pub fn read_recent(&self, after: u64, up_to: u64) -> Option<Vec<RecordedEvent>> {
        self.inner.recent.read(after, up_to)
    }

    /// Events of one stream with a version above `after_version` (0 reads it all), in order.
    pub async fn read_stream(
        &self,
        tenant_id: &TenantId,
        stream_id: &str,
        after_version: u64,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let rows = self.inner.backend.read_stream(tenant_id, stream_id, after_version).await?;
        rows.into_iter().map(|row| row.into_recorded(&self.inner.options.upcasters)).collect()
    }

    /// The stream holding `value` in `scope` of `tenant_id`, as committed. For finding an
    /// aggregate by a unique value (a resource server by identifier); uniqueness itself is
    /// enforced by [`crate::UniqueChange`] in the append, never by this read.
    pub async fn unique_owner(
        &self,
        tenant_id: &TenantId,
        scope: &str,
        value: &str,
    ) -> Result<Option<String>, StoreError> {
        self.inner.backend.unique_owner(tenant_id, scope, value).await
    }

    /// What the log remembers of an idempotency key, so a command handler can answer a retry
    /// with the first result before deciding anything again.
    pub async fn idempotency(&self, tenant_id: &TenantId, key: &str) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.inner.backend.idempotency(tenant_id, key).await
    }

    /// The highest committed position, read from the database.
    pub async fn head(&self) -> Result<u64, StoreError> {
        let head = self.inner.backend.head().await?;
        self.inner.head.advance(head);
        Ok(head)
    }

    /// The highest committed position this process knows of, without a round trip.
    pub fn known_head(&self) -> u64 {
        self.inner.head.current()
    }

    /// Changes whenever the known head moves forward.
    pub fn watch_head(&self) -> watch::Receiver<u64> {
        self.inner.head.subscribe()
    }

    /// Follows the log from `query.after`, first catching up, then live.
    pub fn subscribe(&self, query: LogQuery) -> Subscription {
        Subscription::new(self.clone(), query)
    }

    /// Recomputes the hash chain over the whole log.
    pub async fn verify(&self) -> Result<Verification, StoreError> {
        let mut verifier = ChainVerifier::new();
        let mut after = 0;
        loop {
            let rows = self.inner.backend.read(&LogQuery::after(after).limit(VERIFY_PAGE)).await?;
            for row in &rows {
                if let Err(tampered) = verifier.check(row) {
                    return Ok(verifier.finish(Some(tampered)));
                }
            }
            match rows.last() {
                Some(last) if rows.len() == VERIFY_PAGE => after = last.position(),
                _ => return Ok(verifier.finish(None)),
            }
        }
    }

    /// Batching counters of the writer.
    pub fn stats(&self) -> &WriterStats {
        &self.inner.stats
    }
}
