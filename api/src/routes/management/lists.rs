//! Auth0's offset paging: `page` (0-based), `per_page` (default 50, at most 100) and
//! `include_totals`, which wraps the items in `{start, limit, length, total, <items>}`; and its
//! checkpoint paging: `from` and `take`, answered with `{next, <items>}`.

use axum::Json;
use projections::read_models::{Checkpoint, Chunk, Listed, Page};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::ApiError;

pub const PER_PAGE_DEFAULT: u32 = 50;
pub const PER_PAGE_MAX: u32 = 100;

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// 0-based page number.
    #[serde(default)]
    pub page: u32,
    /// Items per page, 1 to 100 (default 50).
    pub per_page: Option<u32>,
    /// Wrap the items in `{start, limit, length, total, <items>}`.
    #[serde(default)]
    pub include_totals: bool,
}

impl Paging {
    pub fn page(&self) -> Result<Page, ApiError> {
        let per_page = self.per_page.unwrap_or(PER_PAGE_DEFAULT);
        if !(1..=PER_PAGE_MAX).contains(&per_page) {
            return Err(ApiError::bad_query(format!("per_page must be between 1 and {PER_PAGE_MAX}")));
        }
        Ok(Page { page: self.page, per_page })
    }
}

/// A bare array, or the envelope when `include_totals` was asked for.
pub fn envelope<T: Serialize>(
    key: &str,
    paging: &Paging,
    page: Page,
    listed: Listed<T>,
) -> Result<Json<Value>, ApiError> {
    let length = listed.items.len();
    let items = serde_json::to_value(listed.items).map_err(ApiError::internal)?;
    if !paging.include_totals {
        return Ok(Json(items));
    }
    let mut body = json!({
        "start": page.offset(),
        "limit": page.per_page,
        "length": length,
        "total": listed.total,
    });
    body[key] = items;
    Ok(Json(body))
}

/// Checkpoint paging: `from` is the `next` of the previous answer.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CheckpointPaging {
    /// Where to go on from: the `next` of the previous answer.
    pub from: Option<String>,
    /// Items per answer, 1 to 100 (default 50).
    pub take: Option<u32>,
}

impl CheckpointPaging {
    /// The checkpoint asked for, or `None` when neither `from` nor `take` was given (offset
    /// paging then).
    pub fn checkpoint(&self) -> Result<Option<Checkpoint>, ApiError> {
        if self.from.is_none() && self.take.is_none() {
            return Ok(None);
        }
        let take = self.take.unwrap_or(PER_PAGE_DEFAULT);
        if !(1..=PER_PAGE_MAX).contains(&take) {
            return Err(ApiError::bad_query(format!("take must be between 1 and {PER_PAGE_MAX}")));
        }
        Ok(Some(Checkpoint { from: self.from.clone().filter(|f| !f.is_empty()), take }))
    }
}

/// `{next, <items>}`, without `next` after the last chunk.
pub fn chunk_envelope<T: Serialize>(key: &str, chunk: Chunk<T>) -> Result<Json<Value>, ApiError> {
    let mut body = json!({});
    if let Some(next) = chunk.next {
        body["next"] = Value::String(next);
    }
    body[key] = serde_json::to_value(chunk.items).map_err(ApiError::internal)?;
    Ok(Json(body))
}
