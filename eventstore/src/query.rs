//! `LogQuery`: a keyset read of the global log, by position, with optional filters.

use chrono::{DateTime, Utc};
use domain::TenantId;

/// Reads events with `position > after`, in position order, at most `limit` of them.
/// Keyset paging: pass the last position you saw as the next `after`; never an offset.
#[derive(Debug, Clone, PartialEq)]
pub struct LogQuery {
    pub after: u64,
    /// Inclusive upper bound on the position.
    pub up_to: Option<u64>,
    pub limit: usize,
    pub tenant_id: Option<TenantId>,
    pub stream_id: Option<String>,
    /// `None` reads every type.
    pub event_types: Option<Vec<String>>,
    /// Inclusive lower bound on `recorded_at`.
    pub recorded_from: Option<DateTime<Utc>>,
    /// Exclusive upper bound on `recorded_at`.
    pub recorded_before: Option<DateTime<Utc>>,
}

impl LogQuery {
    pub const DEFAULT_LIMIT: usize = 500;

    pub fn after(position: u64) -> Self {
        Self {
            after: position,
            up_to: None,
            limit: Self::DEFAULT_LIMIT,
            tenant_id: None,
            stream_id: None,
            event_types: None,
            recorded_from: None,
            recorded_before: None,
        }
    }

    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    pub fn up_to(mut self, position: u64) -> Self {
        self.up_to = Some(position);
        self
    }

    pub fn tenant(mut self, tenant_id: TenantId) -> Self {
        self.tenant_id = Some(tenant_id);
        self
    }

    pub fn stream(mut self, stream_id: impl Into<String>) -> Self {
        self.stream_id = Some(stream_id.into());
        self
    }

    pub fn types<I, S>(mut self, types: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.event_types = Some(types.into_iter().map(Into::into).collect());
        self
    }

    pub fn recorded_between(mut self, from: Option<DateTime<Utc>>, before: Option<DateTime<Utc>>) -> Self {
        self.recorded_from = from;
        self.recorded_before = before;
        self
    }

    /// The limit as SQL wants it.
    pub(crate) fn sql_limit(&self) -> i64 {
        i64::try_from(self.limit).unwrap_or(i64::MAX)
    }
}
