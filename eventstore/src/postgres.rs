//! The PostgreSQL backend.
//!
//! Writers serialize on a transaction-scoped advisory lock: position assignment and the hash
//! chain both need the previous head, and holding the lock until commit is what makes positions
//! become visible in order (PostgreSQL makes a commit visible before it releases its locks).
//! Group commit amortizes the lock: one transaction per batch, a fixed number of round trips
//! whatever the batch size (arrays in, `unnest` out).
//!
//! Most batches need not read first: when what this writer already knows covers the batch
//! ([`Known`]), its plan is written by one statement that is its own transaction, takes the
//! lock and proves the assumptions through the tables' keys (one round trip where the locked
//! path takes five). A write that fails such a proof is planned again by the locked path.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::TenantId;
use sqlx::postgres::{PgListener, PgRow};
use sqlx::{PgPool, Postgres, Row, Transaction};
use uuid::Uuid;

use crate::append::UniqueKey;
use crate::backend::{Backend, BackendKind};
use crate::hash::GENESIS_HASH;
use crate::head::HeadSignal;
use crate::known::{self, Assumed, Known};
use crate::plan::{self, IdempotencyKey, IdempotencyRecord, Lookups, Plan, Snapshot, StreamKey};
use crate::prepare::PreparedAppend;
use crate::row::{StoredRow, now_micros, to_i64};
use crate::{LogQuery, StoreError};

/// Opens the writer's transaction and takes its `pg_advisory_xact_lock` (key: "tenancy" in
/// ASCII, 0x0074_656e_616e_6379) in one round trip (a simple query may hold several
/// statements). The lookups that follow are later statements, so their snapshot is taken
/// after the lock is held and sees every earlier writer's commit.
const BEGIN_LOCKED: &str = "BEGIN; SELECT pg_advisory_xact_lock(32762622053868409)";
/// Channel on which each commit announces its new head, as `<head> <writer>`.
const CHANNEL: &str = "tenancy_events";

const COLUMNS: &str = "position, event_id, tenant_id, stream_id, stream_version, event_type, revision, \
     payload::text AS payload, metadata::text AS metadata, recorded_at, prev_hash, hash";

#[derive(Debug)]
pub(crate) struct PgBackend {
    pool: PgPool,
    poll_interval: Duration,
    /// What the writer knows of the log; `None` until a locked read, and after any failure.
    known: Mutex<Option<Known>>,
    /// Names this process's writer in its notifications: its own commits reach the head through
    /// the writer, after it kept their events for the projections (`RecentEvents`). Taken from
    /// the notification, which can arrive first, they would be read back from the table.
    writer: String,
}

impl PgBackend {
    pub fn new(pool: PgPool, poll_interval: Duration) -> Self {
        Self { pool, poll_interval, known: Mutex::new(None), writer: Uuid::now_v7().simple().to_string() }
    }

    /// Never held across an await: only the writer task takes it, between its statements.
    fn known(&self) -> MutexGuard<'_, Option<Known>> {
        self.known.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The batch planned from what is known and written in one statement, if what is known
    /// covers it. `Ok(None)`: planned or written, it needs the locked path.
    async fn commit_known(&self, batch: &[&PreparedAppend], lookups: &Lookups) -> Result<Option<Plan>, StoreError> {
        let Some(Assumed { snapshot, unsure }) = self.known().as_ref().map(|known| known.assume(lookups)) else {
            return Ok(None);
        };
        let mut plan = plan::plan(batch, snapshot, now_micros(), Uuid::now_v7);
        if !known::writable(&plan) {
            return Ok(None);
        }
        plan.from_known = true;
        match write_plan(&self.pool, (&plan, &unsure), &self.writer).await {
            Ok(()) => {
                if let Some(known) = self.known().as_mut() {
                    known.committed(&plan);
                }
                Ok(Some(plan))
            }
            Err(error) => {
                *self.known() = None;
                // A key refused the write: something assumed was not so. Nothing was written.
                match &error {
                    StoreError::Database(sqlx::Error::Database(db)) if db.is_unique_violation() => Ok(None),
                    _ => Err(error),
                }
            }
        }
    }
}

#[async_trait]
impl Backend for PgBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Postgres
    }

    async fn commit(&self, batch: &[&PreparedAppend]) -> Result<Plan, StoreError> {
        let lookups = plan::lookups(batch);
        if let Some(plan) = self.commit_known(batch, &lookups).await? {
            return Ok(plan);
        }
        let previous = self.known().take();
        let mut tx = self.pool.begin_with(BEGIN_LOCKED).await?;
        let snapshot = snapshot(&mut tx, &lookups).await?;
        let mut known = Known::read(previous, &lookups, &snapshot);
        let plan = plan::plan(batch, snapshot, now_micros(), Uuid::now_v7);
        if plan.rows.is_empty() && plan.unique.is_empty() {
            tx.rollback().await?;
        } else {
            release_unique(&mut tx, &plan.unique).await?;
            write_plan(&mut *tx, (&plan, &HashSet::new()), &self.writer).await?;
            tx.commit().await?;
            known.committed(&plan);
        }
        *self.known() = Some(known);
        Ok(plan)
    }

    async fn read(&self, query: &LogQuery) -> Result<Vec<StoredRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM events \
             WHERE position > $1 AND ($2::int8 IS NULL OR position <= $2) \
               AND ($3::text IS NULL OR tenant_id = $3) AND ($4::text IS NULL OR stream_id = $4) \
               AND ($5::text[] IS NULL OR event_type = ANY($5)) \
               AND ($6::timestamptz IS NULL OR recorded_at >= $6) AND ($7::timestamptz IS NULL OR recorded_at < $7) \
             ORDER BY position LIMIT $8"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(to_i64(query.after))
            .bind(query.up_to.map(to_i64))
            .bind(query.tenant_id.as_ref().map(TenantId::as_str))
            .bind(query.stream_id.as_deref())
            .bind(query.event_types.as_deref())
            .bind(query.recorded_from)
            .bind(query.recorded_before)
            .bind(query.sql_limit())
            .fetch_all(&self.pool)
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
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(decode).collect()
    }

    async fn unique_owner(&self, tenant_id: &TenantId, scope: &str, value: &str) -> Result<Option<String>, StoreError> {
        let owner =
            sqlx::query_scalar("SELECT owner FROM unique_keys WHERE tenant_id = $1 AND scope = $2 AND value = $3")
                .bind(tenant_id.as_str())
                .bind(scope)
                .bind(value)
                .fetch_optional(&self.pool)
                .await?;
        Ok(owner)
    }

    async fn idempotency(&self, tenant_id: &TenantId, key: &str) -> Result<Option<IdempotencyRecord>, StoreError> {
        let record: Option<(String, i64, i64)> = sqlx::query_as(
            "SELECT fingerprint, first_position, last_position FROM idempotency_keys WHERE tenant_id = $1 AND key = $2",
        )
        .bind(tenant_id.as_str())
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        Ok(record.map(|(fingerprint, first, last)| IdempotencyRecord {
            fingerprint,
            first_position: first as u64,
            last_position: last as u64,
        }))
    }

    async fn head(&self) -> Result<u64, StoreError> {
        let head: Option<i64> = sqlx::query_scalar("SELECT max(position) FROM events").fetch_one(&self.pool).await?;
        Ok(head.map_or(0, |h| h as u64))
    }

    async fn follow_head(&self, head: HeadSignal) {
        let mut listener = match PgListener::connect_with(&self.pool).await {
            Ok(mut listener) => match listener.listen(CHANNEL).await {
                Ok(()) => Some(listener),
                Err(err) => {
                    tracing::warn!(error = %err, "LISTEN failed; following the log by polling only");
                    None
                }
            },
            Err(err) => {
                tracing::warn!(error = %err, "no listener connection; following the log by polling only");
                None
            }
        };
        let mut poll = tokio::time::interval(self.poll_interval);
        loop {
            tokio::select! {
                notification = async { listener.as_mut()?.try_recv().await.transpose() }, if listener.is_some() => {
                    match notification {
                        Some(Ok(n)) => {
                            if let Some(position) = foreign_head(n.payload(), &self.writer) {
                                head.advance(position);
                            }
                        }
                        // The connection dropped: notifications may have been lost meanwhile,
                        // so look at the table now; the listener reconnects on the next call.
                        None => {
                            if let Ok(position) = self.head().await {
                                head.advance(position);
                            }
                        }
                        Some(Err(err)) => {
                            tracing::warn!(error = %err, "listening for commits failed; retrying");
                            tokio::time::sleep(self.poll_interval).await;
                        }
                    }
                }
                _ = poll.tick() => {
                    match self.head().await {
                        Ok(position) => head.advance(position),
                        Err(err) => tracing::warn!(error = %err, "polling the log's head failed"),
                    }
                }
            }
        }
    }
}

async fn snapshot(tx: &mut Transaction<'static, Postgres>, lookups: &Lookups) -> Result<Snapshot, StoreError> {
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
    if !lookups.streams.is_empty() {
        let (tenants, streams): (Vec<&str>, Vec<&str>) =
            lookups.streams.iter().map(|k| (k.tenant_id.as_str(), k.stream_id.as_str())).unzip();
        // Stream heads, not `events`: see migrations/postgres/0006_stream_heads.sql.
        let rows: Vec<(String, String, Option<i64>)> = sqlx::query_as(
            "SELECT k.tenant_id, k.stream_id, \
                    (SELECT s.version FROM stream_heads s \
                      WHERE s.tenant_id = k.tenant_id AND s.stream_id = k.stream_id) \
             FROM unnest($1::text[], $2::text[]) AS k(tenant_id, stream_id)",
        )
        .bind(tenants)
        .bind(streams)
        .fetch_all(&mut **tx)
        .await?;
        for (tenant, stream_id, version) in rows {
            if let (Ok(tenant_id), Some(version)) = (TenantId::parse(tenant), version) {
                versions.insert(StreamKey { tenant_id, stream_id }, version as u64);
            }
        }
    }

    let mut owners = HashMap::new();
    if !lookups.unique.is_empty() {
        let (mut tenants, mut scopes, mut values) = (Vec::new(), Vec::new(), Vec::new());
        for key in &lookups.unique {
            tenants.push(key.tenant_id.as_str());
            scopes.push(key.scope.as_str());
            values.push(key.value.as_str());
        }
        // A correlated subquery per key, not a join: the planner guesses 100 rows for unnest and
        // would hash the whole table; this is one primary-key probe per key.
        let rows: Vec<(String, String, String, Option<String>)> = sqlx::query_as(
            "SELECT k.tenant_id, k.scope, k.value, \
                    (SELECT u.owner FROM unique_keys u \
                      WHERE u.tenant_id = k.tenant_id AND u.scope = k.scope AND u.value = k.value) \
             FROM unnest($1::text[], $2::text[], $3::text[]) AS k(tenant_id, scope, value)",
        )
        .bind(tenants)
        .bind(scopes)
        .bind(values)
        .fetch_all(&mut **tx)
        .await?;
        for (tenant, scope, value, owner) in rows {
            if let (Ok(tenant_id), Some(owner)) = (TenantId::parse(tenant), owner) {
                owners.insert(UniqueKey { tenant_id, scope, value }, owner);
            }
        }
    }

    let mut idempotency = HashMap::new();
    if !lookups.idempotency.is_empty() {
        let (tenants, keys): (Vec<&str>, Vec<&str>) =
            lookups.idempotency.iter().map(|k| (k.tenant_id.as_str(), k.key.as_str())).unzip();
        let rows: Vec<(String, String, String, i64, i64)> = sqlx::query_as(
            // LATERAL: one primary-key probe per key (see the unique keys above). `LIMIT 1` keeps
            // the planner from flattening the subquery into a hash join over the whole table.
            "SELECT i.tenant_id, i.key, i.fingerprint, i.first_position, i.last_position \
             FROM unnest($1::text[], $2::text[]) AS k(tenant_id, key) \
             JOIN LATERAL (SELECT * FROM idempotency_keys x \
                            WHERE x.tenant_id = k.tenant_id AND x.key = k.key LIMIT 1) i \
               ON true",
        )
        .bind(tenants)
        .bind(keys)
        .fetch_all(&mut **tx)
        .await?;
        for (tenant, key, fingerprint, first, last) in rows {
            if let Ok(tenant_id) = TenantId::parse(tenant) {
                let record =
                    IdempotencyRecord { fingerprint, first_position: first as u64, last_position: last as u64 };
                idempotency.insert(IdempotencyKey { tenant_id, key }, record);
            }
        }
    }
    Ok(Snapshot { head, head_hash, versions, owners, idempotency })
}

/// The statement of [`write_plan`].
const WRITE_PLAN: &str = "WITH locked AS (SELECT pg_advisory_xact_lock(32762622053868409)), \
     events_written AS ( \
       INSERT INTO events (position, event_id, tenant_id, stream_id, stream_version, event_type, revision, \
                           payload, metadata, recorded_at, prev_hash, hash) \
       SELECT position, event_id, tenant_id, stream_id, stream_version, event_type, revision, \
              payload::json, metadata::json, recorded_at, prev_hash, hash \
       FROM locked, unnest($1::int8[], $2::uuid[], $3::text[], $4::text[], $5::int8[], $6::text[], $7::int4[], \
                   $8::text[], $9::text[], $10::timestamptz[], $11::bytea[], $12::bytea[]) \
         AS r(position, event_id, tenant_id, stream_id, stream_version, event_type, revision, \
              payload, metadata, recorded_at, prev_hash, hash) \
     ), heads_written AS ( \
       INSERT INTO stream_heads (tenant_id, stream_id, version) \
       SELECT tenant_id, stream_id, max(version) \
       FROM unnest($3::text[], $4::text[], $5::int8[]) AS h(tenant_id, stream_id, version) \
       GROUP BY tenant_id, stream_id \
       ON CONFLICT (tenant_id, stream_id) DO UPDATE SET version = EXCLUDED.version \
     ), unique_written AS ( \
       INSERT INTO unique_keys (tenant_id, scope, value, owner) \
       SELECT * FROM unnest($13::text[], $14::text[], $15::text[], $16::text[]) \
       ON CONFLICT (tenant_id, scope, value) DO UPDATE SET owner = EXCLUDED.owner \
     ), unique_claimed AS ( \
       INSERT INTO unique_keys (tenant_id, scope, value, owner) \
       SELECT * FROM unnest($17::text[], $18::text[], $19::text[], $20::text[]) \
     ), idempotency_written AS ( \
       INSERT INTO idempotency_keys (tenant_id, key, fingerprint, first_position, last_position) \
       SELECT * FROM unnest($21::text[], $22::text[], $23::text[], $24::int8[], $25::int8[]) \
     ) \
     SELECT pg_notify($26, $27)";

/// Every row of the plan in one statement (one round trip): the events, the heads of the
/// streams they extend, the claimed unique values and the idempotency keys, each through
/// `unnest` of array parameters, and the notification that wakes other processes' followers
/// (delivered at commit). It takes the writer's lock itself, so that run on its own (its own
/// transaction) it still excludes other writers. Values in `unsure` are inserted, not upserted:
/// one held meanwhile fails the statement.
async fn write_plan(
    executor: impl sqlx::PgExecutor<'_>,
    (plan, unsure): (&Plan, &HashSet<UniqueKey>),
    writer: &str,
) -> Result<(), StoreError> {
    let rows = &plan.rows;
    let mut recorded_at = Vec::with_capacity(rows.len());
    for row in rows {
        recorded_at.push(from_micros(row.position(), row.recorded_at_micros)?);
    }
    let (claimed, held): (Vec<_>, Vec<_>) = plan
        .unique
        .iter()
        .filter_map(|(k, owner)| owner.as_deref().map(|o| (k, o)))
        .partition(|(k, _)| unsure.contains(*k));
    let records = &plan.idempotency;
    sqlx::query(WRITE_PLAN)
        .bind(rows.iter().map(|r| r.position).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.event_id).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.tenant_id.as_str()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.stream_id.as_str()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.stream_version).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.event_type.as_str()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.revision).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.payload.as_str()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.metadata.as_str()).collect::<Vec<_>>())
        .bind(recorded_at)
        .bind(rows.iter().map(|r| r.prev_hash.as_slice()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.hash.as_slice()).collect::<Vec<_>>())
        .bind(held.iter().map(|(k, _)| k.tenant_id.as_str()).collect::<Vec<_>>())
        .bind(held.iter().map(|(k, _)| k.scope.as_str()).collect::<Vec<_>>())
        .bind(held.iter().map(|(k, _)| k.value.as_str()).collect::<Vec<_>>())
        .bind(held.iter().map(|(_, owner)| *owner).collect::<Vec<_>>())
        .bind(claimed.iter().map(|(k, _)| k.tenant_id.as_str()).collect::<Vec<_>>())
        .bind(claimed.iter().map(|(k, _)| k.scope.as_str()).collect::<Vec<_>>())
        .bind(claimed.iter().map(|(k, _)| k.value.as_str()).collect::<Vec<_>>())
        .bind(claimed.iter().map(|(_, owner)| *owner).collect::<Vec<_>>())
        .bind(records.iter().map(|(k, _)| k.tenant_id.as_str()).collect::<Vec<_>>())
        .bind(records.iter().map(|(k, _)| k.key.as_str()).collect::<Vec<_>>())
        .bind(records.iter().map(|(_, r)| r.fingerprint.as_str()).collect::<Vec<_>>())
        .bind(records.iter().map(|(_, r)| to_i64(r.first_position)).collect::<Vec<_>>())
        .bind(records.iter().map(|(_, r)| to_i64(r.last_position)).collect::<Vec<_>>())
        .bind(CHANNEL)
        .bind(format!("{} {writer}", plan.head))
        .execute(executor)
        .await?;
    Ok(())
}

/// Frees the unique values the plan releases, one primary-key delete each: releases are rare
/// (deletes, renames), and a join with unnest could be planned as a scan of the whole table.
async fn release_unique(
    tx: &mut Transaction<'static, Postgres>,
    changes: &[(UniqueKey, Option<String>)],
) -> Result<(), StoreError> {
    for (key, _) in changes.iter().filter(|(_, owner)| owner.is_none()) {
        sqlx::query("DELETE FROM unique_keys WHERE tenant_id = $1 AND scope = $2 AND value = $3")
            .bind(key.tenant_id.as_str())
            .bind(key.scope.as_str())
            .bind(key.value.as_str())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// The head a notification announces, unless `own` (this process's writer) sent it.
fn foreign_head(payload: &str, own: &str) -> Option<u64> {
    let (head, writer) = payload.split_once(' ').unwrap_or((payload, ""));
    if writer == own { None } else { head.parse().ok() }
}

fn decode(row: &PgRow) -> Result<StoredRow, StoreError> {
    let position: i64 = row.try_get("position")?;
    let recorded_at: DateTime<Utc> = row.try_get("recorded_at")?;
    Ok(StoredRow {
        position,
        event_id: row.try_get("event_id")?,
        tenant_id: row.try_get("tenant_id")?,
        stream_id: row.try_get("stream_id")?,
        stream_version: row.try_get("stream_version")?,
        event_type: row.try_get("event_type")?,
        revision: row.try_get("revision")?,
        payload: row.try_get("payload")?,
        metadata: row.try_get("metadata")?,
        recorded_at_micros: recorded_at.timestamp_micros(),
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

fn from_micros(position: u64, micros: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(micros).ok_or_else(|| StoreError::corrupt(position, "recorded_at out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// "tenancy" in ASCII.
    const WRITER_LOCK: i64 = 0x0074_656e_616e_6379;

    #[test]
    fn the_locking_begin_takes_the_writer_lock() {
        assert!(BEGIN_LOCKED.ends_with(&format!("pg_advisory_xact_lock({WRITER_LOCK})")));
    }

    #[test]
    fn a_notification_moves_the_head_only_when_another_writer_sent_it() {
        assert_eq!(foreign_head("42 abc", "xyz"), Some(42));
        assert_eq!(foreign_head("42 xyz", "xyz"), None);
        assert_eq!(foreign_head("42", "xyz"), Some(42), "the format before writers were named");
        assert_eq!(foreign_head("garbage other", "xyz"), None);
    }

    #[test]
    fn the_write_takes_the_same_lock_before_any_event() {
        let lock = format!("WITH locked AS (SELECT pg_advisory_xact_lock({WRITER_LOCK}))");
        assert!(WRITE_PLAN.starts_with(&lock));
        assert!(WRITE_PLAN.contains("FROM locked, unnest("));
    }
}
