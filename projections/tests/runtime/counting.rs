//! A test read model: events per stream, and every applied position once (the primary key
//! turns a double application into an error the tests would see).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use eventstore::sqlx::{self, AnyConnection, AssertSqlSafe};
use eventstore::{Database, RecordedEvent};
use projections::{Projection, ProjectionError};

pub struct Counting {
    pub name: &'static str,
    pub types: &'static [&'static str],
    /// Per-event delay, to give a test time to kill the runner mid-batch.
    pub delay: Option<Duration>,
    /// While set, an event whose payload has `"poison": true` fails to apply.
    pub poisoned: Arc<AtomicBool>,
}

impl Counting {
    pub fn new(name: &'static str) -> Self {
        Self { name, types: &[], delay: None, poisoned: Arc::new(AtomicBool::new(false)) }
    }

    fn table(&self, suffix: &str) -> String {
        format!("{}_{suffix}", self.name.replace('.', "_"))
    }

    pub async fn create_tables(&self, db: &Database) {
        for ddl in [
            format!("CREATE TABLE IF NOT EXISTS {} (position BIGINT PRIMARY KEY)", self.table("applied")),
            format!(
                "CREATE TABLE IF NOT EXISTS {} (tenant_id TEXT NOT NULL, stream_id TEXT NOT NULL, \
                 events BIGINT NOT NULL, PRIMARY KEY (tenant_id, stream_id))",
                self.table("counts")
            ),
        ] {
            sqlx::query(AssertSqlSafe(ddl)).execute(&db.pool).await.unwrap();
        }
    }

    /// The read model's rows, in a stable order.
    pub async fn rows(&self, db: &Database) -> Vec<(String, String, i64)> {
        let sql =
            format!("SELECT tenant_id, stream_id, events FROM {} ORDER BY tenant_id, stream_id", self.table("counts"));
        sqlx::query_as(AssertSqlSafe(sql)).fetch_all(&db.pool).await.unwrap()
    }

    pub async fn applied(&self, db: &Database) -> i64 {
        let sql = format!("SELECT COUNT(*) FROM {}", self.table("applied"));
        sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(&db.pool).await.unwrap()
    }
}

#[async_trait]
impl Projection for Counting {
    fn name(&self) -> &str {
        self.name
    }

    fn event_types(&self) -> &[&str] {
        self.types
    }

    async fn apply(&self, tx: &mut AnyConnection, event: &RecordedEvent) -> Result<(), ProjectionError> {
        if let Some(delay) = self.delay {
            tokio::time::sleep(delay).await;
        }
        if self.poisoned.load(Ordering::SeqCst) && event.payload["poison"] == true {
            return Err(ProjectionError::event(event, "poisoned"));
        }
        sqlx::query(AssertSqlSafe(format!("INSERT INTO {} (position) VALUES ($1)", self.table("applied"))))
            .bind(event.position as i64)
            .execute(&mut *tx)
            .await?;
        let upsert = format!(
            "INSERT INTO {t} (tenant_id, stream_id, events) VALUES ($1, $2, 1) \
             ON CONFLICT (tenant_id, stream_id) DO UPDATE SET events = {t}.events + 1",
            t = self.table("counts")
        );
        sqlx::query(AssertSqlSafe(upsert))
            .bind(event.tenant_id.as_str())
            .bind(event.stream_id.as_str())
            .execute(&mut *tx)
            .await?;
        Ok(())
    }

    async fn reset(&self, tx: &mut AnyConnection) -> Result<(), ProjectionError> {
        for table in [self.table("applied"), self.table("counts")] {
            sqlx::query(AssertSqlSafe(format!("DELETE FROM {table}"))).execute(&mut *tx).await?;
        }
        Ok(())
    }
}
