//! Liveness, readiness and metrics: `GET /healthz`, `GET /readyz`, `GET /metrics`.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use crate::app::AppState;
use crate::error::ApiError;

pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz)).route("/metrics", get(metrics))
}

/// The process is up and serving HTTP. Says nothing about its dependencies.
async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

#[derive(Debug, Serialize)]
struct Readiness {
    status: &'static str,
    backend: &'static str,
    head: u64,
    projections: Vec<ProjectionReadiness>,
}

#[derive(Debug, Serialize)]
struct ProjectionReadiness {
    name: String,
    checkpoint: u64,
    lag: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    failing_position: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Ready when the database answers and every projection is healthy and close to the head.
async fn readyz(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let head = state.db.store.head().await.map_err(|err| {
        tracing::error!(error = %err, "readiness: the database does not answer");
        ApiError::Unavailable("The database is unavailable".into())
    })?;
    let projections: Vec<ProjectionReadiness> = state
        .projections
        .status()
        .into_iter()
        .map(|s| ProjectionReadiness {
            lag: head.saturating_sub(s.checkpoint),
            checkpoint: s.checkpoint,
            failing_position: s.failure.as_ref().and_then(|f| f.position),
            error: s.failure.map(|f| f.error),
            name: s.name,
        })
        .collect();
    let ready = projections.iter().all(|p| p.error.is_none() && p.lag <= state.config.ready_max_lag);
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body = Readiness {
        status: if ready { "ready" } else { "not_ready" },
        backend: state.db.kind().name(),
        head,
        projections,
    };
    Ok((status, Json(body)))
}

async fn metrics(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let text = state.metrics.render().map_err(|err| ApiError::Internal(err.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text))
}
