//! Small builders shared by the contract tests.

use domain::TenantId;
use eventstore::{AppendRequest, Database, ExpectedVersion, NewEvent, StreamWrite, UniqueChange};
use serde_json::json;

pub fn tenant(id: &str) -> TenantId {
    TenantId::parse(id).unwrap()
}

pub fn event(n: u64) -> NewEvent {
    NewEvent::new("thing.happened", 1, json!({ "n": n }))
}

pub fn append(stream: &str, expected: ExpectedVersion, n: u64) -> AppendRequest {
    AppendRequest::to_stream(tenant("acme"), stream, expected, (0..n).map(event).collect())
}

pub fn write(tenant_id: &str, stream: &str, expected: ExpectedVersion) -> StreamWrite {
    StreamWrite { tenant_id: tenant(tenant_id), stream_id: stream.into(), expected, events: vec![event(0)] }
}

pub fn claim(value: &str, owner: &str) -> UniqueChange {
    UniqueChange::Claim {
        tenant_id: tenant("acme"),
        scope: "role_name".into(),
        value: value.into(),
        owner: owner.into(),
    }
}

/// Runs raw SQL through the read-model pool, as a person with database access would.
pub async fn sql(db: &Database, statement: &str) -> Result<u64, eventstore::sqlx::Error> {
    let done = eventstore::sqlx::query(eventstore::sqlx::AssertSqlSafe(statement.to_owned())).execute(&db.pool).await?;
    Ok(done.rows_affected())
}
