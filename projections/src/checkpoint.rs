//! The `projection_checkpoints` rows: how far each projection got, and why it is stuck if it is.

use chrono::Utc;
use eventstore::sqlx::{self, AnyConnection, AnyPool};

use crate::ProjectionError;

fn now() -> String {
    Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// Creates the projection's row if this is its first run, and returns its checkpoint.
pub(crate) async fn ensure(pool: &AnyPool, name: &str) -> Result<u64, ProjectionError> {
    sqlx::query(
        "INSERT INTO projection_checkpoints (name, position, updated_at, attempts) VALUES ($1, 0, $2, 0) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(now())
    .execute(pool)
    .await?;
    stored(pool, name).await
}

/// Takes the projection's row lock for the rest of the transaction and returns the stored
/// checkpoint. A write as first statement: on PostgreSQL it locks the row, on SQLite it takes
/// the write lock up front. Either way a second process running the same projection waits
/// here, then sees the checkpoint moved and does not apply the same events again.
pub(crate) async fn lock(tx: &mut AnyConnection, name: &str) -> Result<u64, ProjectionError> {
    let position: i64 =
        sqlx::query_scalar("UPDATE projection_checkpoints SET updated_at = $2 WHERE name = $1 RETURNING position")
            .bind(name)
            .bind(now())
            .fetch_one(&mut *tx)
            .await?;
    Ok(position as u64)
}

/// The stored checkpoint.
pub(crate) async fn stored(pool: &AnyPool, name: &str) -> Result<u64, ProjectionError> {
    let position: i64 = sqlx::query_scalar("SELECT position FROM projection_checkpoints WHERE name = $1")
        .bind(name)
        .fetch_one(pool)
        .await?;
    Ok(position as u64)
}

/// Moves the checkpoint from `expected` to `position`, if it is still at `expected`; false when
/// another process moved it. The UPDATE waits for that process's transaction and then sees
/// its committed value, so two runners never both advance from the same position.
pub(crate) async fn advance_from(
    tx: &mut AnyConnection,
    name: &str,
    expected: u64,
    position: u64,
) -> Result<bool, ProjectionError> {
    let done = sqlx::query(
        "UPDATE projection_checkpoints \
         SET position = $2, updated_at = $3, failing_position = NULL, failure = NULL, attempts = 0, failed_at = NULL \
         WHERE name = $1 AND position = $4",
    )
    .bind(name)
    .bind(position as i64)
    .bind(now())
    .bind(expected as i64)
    .execute(&mut *tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Moves the checkpoint; an advance also means the previously failing event now applied.
pub(crate) async fn advance(tx: &mut AnyConnection, name: &str, position: u64) -> Result<(), ProjectionError> {
    sqlx::query(
        "UPDATE projection_checkpoints \
         SET position = $2, updated_at = $3, failing_position = NULL, failure = NULL, attempts = 0, failed_at = NULL \
         WHERE name = $1",
    )
    .bind(name)
    .bind(position as i64)
    .bind(now())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Records a failed attempt, in its own transaction (the failed one was rolled back).
pub(crate) async fn record_failure(
    pool: &AnyPool,
    name: &str,
    position: Option<u64>,
    error: &str,
) -> Result<(), ProjectionError> {
    sqlx::query(
        "UPDATE projection_checkpoints \
         SET failing_position = $2, failure = $3, attempts = attempts + 1, failed_at = $4 WHERE name = $1",
    )
    .bind(name)
    .bind(position.map(|p| p as i64))
    .bind(error)
    .bind(now())
    .execute(pool)
    .await?;
    Ok(())
}
