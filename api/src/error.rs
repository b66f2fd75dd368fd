//! `ApiError`: the one error type of the HTTP layer, rendered in Auth0's error shape
//! `{"statusCode", "error", "message", "errorCode"}`.
//!
//! Each variant's status is decided in one exhaustive match, so a new variant cannot reach a
//! client without someone choosing its status. Causes of 5xx answers are logged, never sent.

use axum::Json;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use commands::CommandError;
use domain::RejectionKind;
use serde::Serialize;

use crate::consistency::POSITION_HEADER;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Malformed input: a body, a query string or a path segment.
    #[error("{message}")]
    BadRequest { message: String, code: &'static str },
    /// No valid bearer token.
    #[error("{0}")]
    Unauthorized(String),
    /// The token lacks a permission, or the entity cannot be changed by anyone.
    #[error("{message}")]
    Forbidden { message: String, code: &'static str },
    #[error("{message}")]
    NotFound { message: String, code: &'static str },
    /// A unique value is taken, or the entity changed under the request.
    #[error("{0}")]
    Conflict(String),
    #[error("Request body is larger than the limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// Same idempotency key, different request.
    #[error("{0}")]
    Unprocessable(String),
    /// The command committed at `position` but the read models did not reach it in time.
    #[error(
        "The change was committed at position {position} but is not yet visible; retry the read shortly \
         (or pass min_position={position})"
    )]
    NotYetVisible { position: u64 },
    /// A dependency (database, projections) cannot serve the request right now.
    #[error("{0}")]
    Unavailable(String),
    /// Anything unexpected. The cause is logged; the client sees a generic message.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Every error of the Management API, as Auth0 shapes it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    pub status_code: u16,
    pub error: &'static str,
    pub message: String,
    pub error_code: &'static str,
}

impl ApiError {
    pub fn bad_body(message: impl Into<String>) -> Self {
        Self::BadRequest { message: message.into(), code: "invalid_body" }
    }

    pub fn bad_query(message: impl Into<String>) -> Self {
        Self::BadRequest { message: message.into(), code: "invalid_query_string" }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound { message: message.into(), code: "inexistent_resource" }
    }

    /// A command's refusal, with the entity's own 404 (Auth0's message and error code for it).
    pub fn from_command(err: CommandError, not_found: fn() -> Self) -> Self {
        match Self::from(err) {
            Self::NotFound { .. } => not_found(),
            other => other,
        }
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::NotYetVisible { .. } | Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_code(&self) -> &'static str {
        match self {
            Self::BadRequest { code, .. } | Self::Forbidden { code, .. } | Self::NotFound { code, .. } => code,
            Self::Unauthorized(_) => "invalid_token",
            Self::Conflict(_) => "conflict",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::Unprocessable(_) => "idempotency_key_reused",
            Self::NotYetVisible { .. } => "not_yet_visible",
            Self::Unavailable(_) => "temporarily_unavailable",
            Self::Internal(_) => "internal_error",
        }
    }

    fn public_message(&self) -> String {
        match self {
            Self::Internal(_) => "An internal error occurred. It has been logged.".into(),
            other => other.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, status = status.as_u16(), "request failed");
        }
        let body = ErrorBody {
            status_code: status.as_u16(),
            error: status.canonical_reason().unwrap_or("Error"),
            message: self.public_message(),
            error_code: self.error_code(),
        };
        let mut response = (status, Json(body)).into_response();
        if let Self::NotYetVisible { position } = self {
            response.headers_mut().insert(POSITION_HEADER, HeaderValue::from(position));
        }
        response
    }
}

impl From<eventstore::StoreError> for ApiError {
    fn from(err: eventstore::StoreError) -> Self {
        Self::Internal(err.to_string())
    }
}

impl From<eventstore::sqlx::Error> for ApiError {
    fn from(err: eventstore::sqlx::Error) -> Self {
        Self::Internal(err.to_string())
    }
}

impl From<CommandError> for ApiError {
    fn from(err: CommandError) -> Self {
        match err {
            CommandError::Rejected { kind, field, message } => match kind {
                RejectionKind::Invalid => Self::bad_body(match field {
                    Some(field) if !message.starts_with(field) => format!("{field}: {message}"),
                    _ => message,
                }),
                RejectionKind::NotFound => Self::not_found(message),
                RejectionKind::AlreadyExists => Self::Conflict(message),
                RejectionKind::Forbidden => Self::Forbidden { message, code: "operation_not_supported" },
            },
            CommandError::Duplicate(message) | CommandError::Conflict(message) => Self::Conflict(message),
            CommandError::IdempotencyKeyReused => Self::Unprocessable(err.to_string()),
            CommandError::Store(_) | CommandError::Corrupt(_) | CommandError::Personal(_) => {
                Self::Internal(err.to_string())
            }
        }
    }
}
