//! Read-your-writes: a command answers once its change is durable and the in-memory models
//! show it, and says at which log position that is. A read of a SQL read model first waits
//! until those models reached every position a command of this process answered with, so
//! whatever a client reads after an answer shows the change; the models catch up in the
//! background meanwhile, several commits per transaction, instead of in each command's
//! latency. A read may also ask to see at least a given position (`?min_position=`), e.g.
//! one another process answered with.

use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use eventstore::sqlx::AnyPool;
use projections::WaitError;
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::error::ApiError;

pub const POSITION_HEADER: &str = "x-tenancy-position";
/// Set on the answer to a retried idempotency key (Stripe's name for it).
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

impl AppState {
    /// Waits until the in-memory models applied `position`, within the configured bound, and
    /// makes every later read of this process wait for the SQL read models to reach it.
    pub async fn visible(&self, position: u64) -> Result<(), ApiError> {
        let waited = self.projections.wait_for_command(position, self.config.consistency_timeout()).await;
        waited.map_err(|_: WaitError| ApiError::NotYetVisible { position })?;
        self.answered.fetch_max(position, Ordering::AcqRel);
        Ok(())
    }

    /// The pool to read the SQL read models with, once they show every change a command of
    /// this process answered for (the control plane's fan-out into child tenants aside).
    pub async fn read_models(&self) -> Result<&AnyPool, ApiError> {
        let position = self.answered.load(Ordering::Acquire);
        let waited = self.projections.wait_for_reads(position, self.config.consistency_timeout()).await;
        waited.map_err(|_: WaitError| ApiError::NotYetVisible { position })?;
        Ok(&self.db.pool)
    }

    /// Waits until every projection applied `position`: what `?min_position=` asks for.
    async fn visible_everywhere(&self, position: u64) -> Result<(), ApiError> {
        let waited = self.projections.wait_for(position, self.config.consistency_timeout()).await;
        waited.map_err(|_: WaitError| ApiError::NotYetVisible { position })
    }
}

/// The answer to a command: its status, body and the position it committed at.
#[derive(Debug)]
pub struct Written<T> {
    pub status: StatusCode,
    pub position: u64,
    pub replayed: bool,
    pub body: Option<T>,
}

impl<T: Serialize> IntoResponse for Written<T> {
    fn into_response(self) -> Response {
        let mut response = match self.body {
            Some(body) => (self.status, Json(body)).into_response(),
            None => self.status.into_response(),
        };
        let headers = response.headers_mut();
        headers.insert(POSITION_HEADER, HeaderValue::from(self.position));
        if self.replayed {
            headers.insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
        }
        response
    }
}

/// `?min_position=N` on a read: wait (bounded) until the read models reached N.
#[derive(Debug)]
pub struct Consistent;

#[derive(Debug, Deserialize)]
struct MinPosition {
    min_position: Option<u64>,
}

impl FromRequestParts<AppState> for Consistent {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Query(query) = Query::<MinPosition>::try_from_uri(&parts.uri)
            .map_err(|_| ApiError::bad_query("min_position must be a non-negative integer"))?;
        if let Some(position) = query.min_position {
            state.visible_everywhere(position).await?;
        }
        Ok(Self)
    }
}
