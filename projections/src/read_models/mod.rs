//! The read models of the Management API: one file per model, each with its projection and
//! the queries that answer from it. Every query takes the tenant.

pub mod applications;
pub mod claims;
pub mod clients;
pub mod fanout;
pub mod key_events;
pub mod organizations;
pub mod resource_servers;
pub mod role_permissions;
pub mod roles;
pub mod tenant_directory;
pub mod tenants;
pub mod users;

use std::sync::Arc;

use eventstore::{RecordedEvent, Vault};
use serde::de::DeserializeOwned;

use crate::{Projection, ProjectionError};

/// Every read model this crate maintains, for the server to start. `vault` opens the
/// personal fields the log holds sealed; `sync` says what the control plane fans out.
pub fn all(vault: Arc<Vault>, sync: fanout::SyncOptions) -> Vec<Arc<dyn Projection>> {
    vec![
        Arc::new(tenants::TenantsProjection),
        Arc::new(resource_servers::ResourceServersProjection),
        Arc::new(roles::RolesProjection),
        Arc::new(clients::ClientsProjection),
        Arc::new(users::UsersProjection::new(vault)),
        Arc::new(organizations::OrganizationsProjection),
        Arc::new(fanout::FanoutProjection::new(sync)),
    ]
}

/// One page of a list: 0-based `page` of `per_page` rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub page: u32,
    pub per_page: u32,
}

impl Page {
    pub fn offset(self) -> i64 {
        i64::from(self.page) * i64::from(self.per_page)
    }

    pub fn limit(self) -> i64 {
        i64::from(self.per_page)
    }
}

/// A page of rows and how many rows there are in all.
#[derive(Debug, Clone)]
pub struct Listed<T> {
    pub items: Vec<T>,
    pub total: u64,
}

/// Checkpoint paging: the rows after `from` (a key of the list's order, exclusive), at most
/// `take`. Unlike an offset, a checkpoint stays put while rows come and go before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub from: Option<String>,
    pub take: u32,
}

/// One chunk of a checkpoint-paged list; `next` is the `from` of the following chunk.
#[derive(Debug, Clone)]
pub struct Chunk<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

impl Checkpoint {
    /// The exclusive lower bound ("" is below every id).
    pub fn after(&self) -> &str {
        self.from.as_deref().unwrap_or_default()
    }

    /// One row more than `take`: that row's presence says whether there is a next chunk.
    pub fn limit(&self) -> i64 {
        i64::from(self.take) + 1
    }

    /// The first `take` of `rows` (fetched with [`Self::limit`]), and the key to go on from.
    pub fn chunk<T>(&self, mut rows: Vec<T>, key: impl Fn(&T) -> String) -> Chunk<T> {
        let take = self.take as usize;
        let next = if rows.len() > take {
            rows.truncate(take);
            rows.last().map(key)
        } else {
            None
        };
        Chunk { items: rows, next }
    }
}

/// Rows per multi-row statement: at 7 parameters a row, far below both backends' limits
/// (PostgreSQL 65,535, SQLite 32,766).
pub(crate) const ROWS_PER_STATEMENT: usize = 500;

/// The placeholders of `rows` rows of `columns` parameters each, numbered in order:
/// `($1, $2), ($3, $4)` for 2 × 2: the `VALUES` of a multi-row INSERT.
pub(crate) fn placeholder_rows(rows: usize, columns: usize) -> String {
    let row = |r: usize| {
        let params: Vec<String> = (1..=columns).map(|c| format!("${}", r * columns + c)).collect();
        format!("({})", params.join(", "))
    };
    (0..rows).map(row).collect::<Vec<_>>().join(", ")
}

/// `count` placeholders numbered from `first`: `$2, $3, $4` for an `IN` list after one parameter.
pub(crate) fn placeholder_list(first: usize, count: usize) -> String {
    (first..first + count).map(|p| format!("${p}")).collect::<Vec<_>>().join(", ")
}

/// For [`drop_tenant`] and resets of tables the fan-out writes into too.
pub(crate) const OWN_ROWS: &str = " AND synced = 0";
/// For [`drop_tenant`]: every row of the tenant.
pub(crate) const ALL_ROWS: &str = "";

/// `tenant.deleted`, which every read model follows: a deleted tenant leaves no row behind.
pub(crate) const TENANT_DELETED: &str = "tenant.deleted";

/// Deletes the deleted tenant's rows from `tables` (each keyed by `tenant_id`): all of them, or
/// with [`OWN_ROWS`] only those not synced from the control plane (the fan-out drops those).
pub(crate) async fn drop_tenant(
    tx: &mut eventstore::sqlx::AnyConnection,
    event: &RecordedEvent,
    (tables, rows): (&[&str], &str),
) -> Result<(), ProjectionError> {
    if let domain::tenant::TenantEvent::Deleted { id } = decode::<domain::tenant::TenantEvent>(event)? {
        for table in tables {
            let sql = format!("DELETE FROM {table} WHERE tenant_id = $1{rows}");
            eventstore::sqlx::query(eventstore::sqlx::AssertSqlSafe(sql)).bind(id.as_str()).execute(&mut *tx).await?;
        }
    }
    Ok(())
}

pub(crate) fn decode<E: DeserializeOwned>(event: &RecordedEvent) -> Result<E, ProjectionError> {
    domain::event::decode(&event.event_type, &event.payload).map_err(|e| ProjectionError::event(event, e))
}

pub(crate) fn timestamp(event: &RecordedEvent) -> String {
    event.recorded_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub(crate) fn json_text<T: serde::Serialize>(event: &RecordedEvent, value: &T) -> Result<String, ProjectionError> {
    serde_json::to_string(value).map_err(|e| ProjectionError::event(event, e))
}

/// `LIKE` pattern for "contains", with the pattern's own wildcards escaped.
pub(crate) fn contains_pattern(text: &str) -> String {
    let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

/// A recorded event of `tenant` carrying `event`, for the in-memory models' unit tests.
#[cfg(test)]
pub(crate) fn recorded<E: serde::Serialize>(tenant: &str, event: &E) -> RecordedEvent {
    let (event_type, payload) = domain::event::encode(event).unwrap();
    RecordedEvent {
        position: 1,
        event_id: uuid::Uuid::nil(),
        tenant_id: domain::TenantId::parse(tenant).unwrap(),
        stream_id: "test:1".into(),
        stream_version: 1,
        event_type,
        revision: 1,
        payload,
        metadata: eventstore::Metadata::default(),
        recorded_at: chrono::Utc::now(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholder_rows_number_parameters_row_by_row() {
        assert_eq!(placeholder_rows(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(placeholder_rows(2, 1), "($1), ($2)");
    }

    #[test]
    fn placeholder_lists_start_where_they_are_told() {
        assert_eq!(placeholder_list(2, 3), "$2, $3, $4");
    }
}
