//! The SQLite backend, the embedded default.
//!
//! SQLite has one writer at a time by design; the writer here is one connection whose
//! transactions start with `BEGIN IMMEDIATE`, taking the write lock before reading the head,
//! so even another process on the same file cannot interleave. Reads use a separate pool and
//! run beside the writer thanks to WAL. Statements run in-process, so the per-key lookups that
//! PostgreSQL batches into arrays are cheap here one by one.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use domain::TenantId;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, SqlitePool, Transaction};
use uuid::Uuid;

use crate::backend::{Backend, BackendKind};
use crate::hash::GENESIS_HASH;
use crate::head::HeadSignal;
use crate::plan::{self, IdempotencyRecord, Lookups, Plan, Snapshot};
use crate::prepare::PreparedAppend;
use crate::row::{StoredRow, now_micros, to_i64};
use crate::{LogQuery, StoreError};

const COLUMNS: &str = "position, event_id, tenant_id, stream_id, stream_version, event_type, revision, \
     payload, metadata, recorded_at, prev_hash, hash";

#[derive(Debug)]
pub(crate) struct SqliteBackend {
    /// A pool of exactly one connection: the only one that writes the log.
    writer: SqlitePool,
    readers: SqlitePool,
    poll_interval: Duration,
}

impl SqliteBackend {
    pub fn new(writer: SqlitePool, readers: SqlitePool, poll_interval: Duration) -> Self {
        Self { writer, readers, poll_interval }
    }
}

#[async_trait]
impl Backend for SqliteBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Sqlite
    }

    async fn commit(&self, batch: &[&PreparedAppend]) -> Result<Plan, StoreError> {
        let lookups = plan::lookups(batch);
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let snapshot = snapshot(&mut tx, &lookups).await?;
        let plan = plan::plan(batch, snapshot, now_micros(), Uuid::now_v7);
        if plan.rows.is_empty() && plan.unique.is_empty() {
            tx.rollback().await?;
            return Ok(plan);
        }
        for row in &plan.rows {
            sqlx::query(
                "INSERT INTO events (position, event_id, tenant_id, stream_id, stream_version, event_type, revision, \
                                     payload, metadata, recorded_at, prev_hash, hash) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(row.position)
            .bind(row.event_id.hyphenated().to_string())
            .bind(row.tenant_id.as_str())
            .bind(row.stream_id.as_str())
            .bind(row.stream_version)
            .bind(row.event_type.as_str())
            .bind(row.revision)
            .bind(row.payload.as_str())
            .bind(row.metadata.as_str())
            .bind(row.recorded_at_micros)
            .bind(row.prev_hash.as_slice())
            .bind(row.hash.as_slice())
            .execute(&mut *tx)
            .await?;
        }
        for (key, owner) in &plan.unique {
            let statement = match owner {
                Some(_) => {
                    "INSERT INTO unique_keys (tenant_id, scope, value, owner) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (tenant_id, scope, value) DO UPDATE SET owner = excluded.owner"
                }
                None => "DELETE FROM unique_keys WHERE tenant_id = $1 AND scope = $2 AND value = $3",
            };
            sqlx::query(statement)
                .bind(key.tenant_id.as_str())
                .bind(key.scope.as_str())
                .bind(key.value.as_str())
                .bind(owner.as_deref())
                .execute(&mut *tx)
                .await?;
        }
        let recorded_at = now_micros().timestamp_micros();
        for (key, record) in &plan.idempotency {
            sqlx::query(
                "INSERT INTO idempotency_keys (tenant_id, key, fingerprint, first_position, last_position, recorded_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(key.tenant_id.as_str())
            .bind(key.key.as_str())
            .bind(record.fingerprint.as_str())
            .bind(to_i64(record.first_position))
            .bind(to_i64(record.last_position))
            .bind(recorded_at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(plan)
    }

    async fn read(&self, query: &LogQuery) -> Result<Vec<StoredRow>, StoreError> {
        let types = query.event_types.as_ref().map(|t| serde_json::Value::from(t.clone()).to_string());
        let sql = format!(
            "SELECT {COLUMNS} FROM events \
             WHERE position > $1 AND ($2 IS NULL OR position <= $2) \
               AND ($3 IS NULL OR tenant_id = $3) AND ($4 IS NULL OR stream_id = $4) \
               AND ($5 IS NULL OR event_type IN (SELECT value FROM json_each($5))) \
               AND ($6 IS NULL OR recorded_at >= $6) AND ($7 IS NULL OR recorded_at < $7) \
             ORDER BY position LIMIT $8"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(to_i64(query.after))
            .bind(query.up_to.map(to_i64))
            .bind(query.tenant_id.as_ref().map(TenantId::as_str))
            .bind(query.stream_id.as_deref())
            .bind(types)
            .bind(query.recorded_from.map(|t| t.timestamp_micros()))
            .bind(query.recorded_before.map(|t| t.timestamp_micros()))
            .bind(query.sql_limit())
            .fetch_all(&self.readers)
            .await?;
        rows.iter().map(decode).collect()
    }

    async fn read_stream(
        &self,
        tenant_id: &TenantId,
        stream_id: &str,
        after_version: u64,
    ) -> Result<Vec<StoredRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM events WHERE tenant_id = $1 AND stream_id = $2 AND stream_version > $3 \
             ORDER BY stream_version"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant_id.as_str())
            .bind(stream_id)
            .bind(to_i64(after_version))
            .fetch_all(&self.readers)
            .await?;
        rows.iter().map(decode).collect()
    }

    async fn unique_owner(&self, tenant_id: &TenantId, scope: &str, value: &str) -> Result<Option<String>, StoreError> {
        let owner =
            sqlx::query_scalar("SELECT owner FROM unique_keys WHERE tenant_id = $1 AND scope = $2 AND value = $3")
                .bind(tenant_id.as_str())
                .bind(scope)
                .bind(value)
                .fetch_optional(&self.readers)
                .await?;
        Ok(owner)
    }

    async fn idempotency(&self, tenant_id: &TenantId, key: &str) -> Result<Option<IdempotencyRecord>, StoreError> {
        let record: Option<(String, i64, i64)> = sqlx::query_as(
            "SELECT fingerprint, first_position, last_position FROM idempotency_keys WHERE tenant_id = $1 AND key = $2",
        )
        .bind(tenant_id.as_str())
        .bind(key)
        .fetch_optional(&self.readers)
        .await?;
        Ok(record.map(|(fingerprint, first, last)| IdempotencyRecord {
            fingerprint,
            first_position: first as u64,
            last_position: last as u64,
        }))
    }

    async fn head(&self) -> Result<u64, StoreError> {
        let head: Option<i64> = sqlx::query_scalar("SELECT max(position) FROM events").fetch_one(&self.readers).await?;
        Ok(head.map_or(0, |h| h as u64))
    }

    /// This process's own commits advance the head directly; polling catches other processes.
    async fn follow_head(&self, head: HeadSignal) {
        let mut poll = tokio::time::interval(self.poll_interval);
        loop {
            poll.tick().await;
            match self.head().await {
                Ok(position) => head.advance(position),
                Err(err) => tracing::warn!(error = %err, "polling the log's head failed"),
            }
        }
    }
}

async fn snapshot(tx: &mut Transaction<'static, Sqlite>, lookups: &Lookups) -> Result<Snapshot, StoreError> {
    let last: Option<(i64, Vec<u8>)> =
        sqlx::query_as("SELECT position, hash FROM events ORDER BY position DESC LIMIT 1")
            .fetch_optional(&mut **tx)
            .await?;
    let (head, head_hash) = match last {
        Some((position, hash)) => {
            let hash = <[u8; 32]>::try_from(hash.as_slice())
                .map_err(|_| StoreError::corrupt(position as u64, "hash is not 32 bytes"))?;
            (position as u64, hash)
        }
        None => (0, GENESIS_HASH),
    };
    let mut versions = HashMap::new();
    for key in &lookups.streams {
        let version: Option<i64> =
            sqlx::query_scalar("SELECT max(stream_version) FROM events WHERE tenant_id = $1 AND stream_id = $2")
                .bind(key.tenant_id.as_str())
                .bind(key.stream_id.as_str())
                .fetch_one(&mut **tx)
                .await?;
        if let Some(version) = version {
            versions.insert(key.clone(), version as u64);
        }
    }
    let mut owners = HashMap::new();
    for key in &lookups.unique {
        let owner: Option<String> =
            sqlx::query_scalar("SELECT owner FROM unique_keys WHERE tenant_id = $1 AND scope = $2 AND value = $3")
                .bind(key.tenant_id.as_str())
                .bind(key.scope.as_str())
                .bind(key.value.as_str())
                .fetch_optional(&mut **tx)
                .await?;
        if let Some(owner) = owner {
            owners.insert(key.clone(), owner);
        }
    }
    let mut idempotency = HashMap::new();
    for key in &lookups.idempotency {
        let record: Option<(String, i64, i64)> = sqlx::query_as(
            "SELECT fingerprint, first_position, last_position FROM idempotency_keys WHERE tenant_id = $1 AND key = $2",
        )
        .bind(key.tenant_id.as_str())
        .bind(key.key.as_str())
        .fetch_optional(&mut **tx)
        .await?;
        if let Some((fingerprint, first, last)) = record {
            let record = IdempotencyRecord { fingerprint, first_position: first as u64, last_position: last as u64 };
            idempotency.insert(key.clone(), record);
        }
    }
    Ok(Snapshot { head, head_hash, versions, owners, idempotency })
}

fn decode(row: &SqliteRow) -> Result<StoredRow, StoreError> {
    let position: i64 = row.try_get("position")?;
    let event_id: String = row.try_get("event_id")?;
    let event_id =
        Uuid::parse_str(&event_id).map_err(|e| StoreError::corrupt(position as u64, format!("event_id: {e}")))?;
    Ok(StoredRow {
        position,
        event_id,
        tenant_id: row.try_get("tenant_id")?,
        stream_id: row.try_get("stream_id")?,
        stream_version: row.try_get("stream_version")?,
        event_type: row.try_get("event_type")?,
        revision: row.try_get("revision")?,
        payload: row.try_get("payload")?,
        metadata: row.try_get("metadata")?,
        recorded_at_micros: row.try_get("recorded_at")?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}
