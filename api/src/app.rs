//! `AppState` and `app(state)`: the whole HTTP surface as one `Router`, without a socket, so
//! tests can drive it with `oneshot` and the server can bind it.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use eventstore::Database;
use projections::Projections;
use tower_http::trace::TraceLayer;

use crate::config::ServeConfig;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::routes;

/// What every handler may reach. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    pub db: Database,
    pub projections: Arc<Projections>,
    pub metrics: Arc<Metrics>,
    pub config: Arc<ServeConfig>,
}

impl AppState {
    pub fn new(db: Database, projections: Projections, config: ServeConfig) -> Self {
        let projections = Arc::new(projections);
        let metrics = Arc::new(Metrics::new(db.store.clone(), projections.clone()));
        Self { db, projections, metrics, config: Arc::new(config) }
    }
}

pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(routes::health::router())
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), record_metrics))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::NotFound("Not Found".into())
}

/// Counts requests and their latency by route template (never by raw path: ids would explode
/// the label space).
async fn record_metrics(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    state.metrics.observe_request(&method, &route, response.status().as_u16(), started.elapsed());
    response
}
