//! `Backend`: the one trait both storage engines implement. Everything above it (validation,
//! group commit, upcasting, verification, subscriptions) is shared and lives in the facade.

use async_trait::async_trait;
use domain::TenantId;

use crate::head::HeadSignal;
use crate::plan::{IdempotencyRecord, Plan};
use crate::prepare::PreparedAppend;
use crate::row::StoredRow;
use crate::{LogQuery, StoreError};

/// Which engine holds the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Postgres,
    Sqlite,
}

impl BackendKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Postgres => "postgres",
            Self::Sqlite => "sqlite",
        }
    }
}

#[async_trait]
pub(crate) trait Backend: Send + Sync + std::fmt::Debug + 'static {
    fn kind(&self) -> BackendKind;

    /// In one transaction holding the log's write lock: read the snapshot of the keys the batch
    /// touches, [`crate::plan::plan`] the batch, write the plan, commit. Called by one writer
    /// task at a time per process; the lock serializes writers across processes.
    async fn commit(&self, batch: &[&PreparedAppend]) -> Result<Plan, StoreError>;

    async fn read(&self, query: &LogQuery) -> Result<Vec<StoredRow>, StoreError>;

    async fn read_stream(
        &self,
        tenant_id: &TenantId,
        stream_id: &str,
        after_version: u64,
    ) -> Result<Vec<StoredRow>, StoreError>;

    /// The stream that holds `value` in `scope`, if any.
    async fn unique_owner(&self, tenant_id: &TenantId, scope: &str, value: &str) -> Result<Option<String>, StoreError>;

    /// What was stored for an idempotency key of `tenant_id`, if anything.
    async fn idempotency(&self, tenant_id: &TenantId, key: &str) -> Result<Option<IdempotencyRecord>, StoreError>;

    /// The highest committed position, 0 for an empty log.
    async fn head(&self) -> Result<u64, StoreError>;

    /// Keeps `head` up to date with commits made by other processes, until the task is aborted.
    async fn follow_head(&self, head: HeadSignal);
}
