//! Extractors that answer bad input in the API's error shape: JSON bodies, query strings, and
//! the `Command` extractor that also carries the caller's idempotency key.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use commands::Context;
use eventstore::{Idempotency, Metadata};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";
const IDEMPOTENCY_KEY_MAX: usize = 255;

/// A query string parsed into `T`; a bad one is a 400 naming the parameter.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::try_from_uri(&parts.uri)
            .map(|Query(value)| Self(value))
            .map_err(|rejection| ApiError::bad_query(format!("Query validation error: {}", rejection.body_text())))
    }
}

/// A Management API command: the authenticated caller, the context to run it in (tenant,
/// actor, idempotency key with a fingerprint of the request) and the parsed JSON body. A
/// command without a body takes `T = IgnoredAny`, which accepts an empty body or any object.
#[derive(Debug)]
pub struct Command<T> {
    pub caller: Caller,
    pub context: Context,
    pub body: T,
}

impl<T: DeserializeOwned> FromRequest<AppState> for Command<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let caller = Caller::from_request_parts(&mut parts, state).await?;
        let bytes =
            Bytes::from_request(Request::from_parts(parts.clone(), body), state).await.map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge { limit: state.config.max_body_bytes }
                } else {
                    ApiError::bad_body(rejection.body_text())
                }
            })?;
        let body = parse_json(&bytes)?;
        let idempotency = idempotency(&parts, &bytes)?;
        let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let metadata = Metadata {
            actor: Some(caller.actor()),
            correlation_id: header("x-correlation-id").or_else(|| header("x-request-id")),
            user_agent: header("user-agent"),
            ..Metadata::default()
        };
        let context = Context { tenant: caller.tenant.clone(), metadata, idempotency };
        Ok(Self { caller, context, body })
    }
}

/// A JSON body into `T`; on failure the message names the field at fault (`scopes[1].value:
/// invalid type…`).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let blank = bytes.iter().all(u8::is_ascii_whitespace);
    // serde accepts a struct as a JSON array of its fields; the API takes objects only.
    if !blank && bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::bad_body("Payload validation error: the body must be a JSON object"));
    }
    let text: &[u8] = if blank { b"null" } else { bytes };
    let mut deserializer = serde_json::Deserializer::from_slice(text);
    let parsed = match serde_path_to_error::deserialize(&mut deserializer) {
        Ok(value) => deserializer.end().map(|()| value).map_err(|inner| (".".to_owned(), inner)),
        Err(err) => Err((err.path().to_string(), err.into_inner())),
    };
    parsed.map_err(|(path, inner)| {
        let message = match inner.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                format!("Invalid request payload JSON format: {inner}")
            }
            _ if blank => "Payload validation error: a JSON body is required".into(),
            _ if path == "." => format!("Payload validation error: {inner}"),
            _ => format!("Payload validation error: {path}: {inner}"),
        };
        ApiError::bad_body(message)
    })
}

/// The `Idempotency-Key` header, with a fingerprint of what it was sent with: method, path,
/// query and body. The same key with another fingerprint is refused by the command layer.
fn idempotency(parts: &Parts, body: &[u8]) -> Result<Option<Idempotency>, ApiError> {
    let Some(value) = parts.headers.get(IDEMPOTENCY_HEADER) else { return Ok(None) };
    let key =
        value.to_str().ok().map(str::trim).filter(|k| !k.is_empty() && k.len() <= IDEMPOTENCY_KEY_MAX).ok_or_else(
            || ApiError::BadRequest {
                message: format!("Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_MAX} visible ASCII characters"),
                code: "invalid_headers",
            },
        )?;
    let mut hash = Sha256::new();
    hash.update(parts.method.as_str().as_bytes());
    hash.update(b"\n");
    hash.update(parts.uri.path_and_query().map_or("", |p| p.as_str()).as_bytes());
    hash.update(b"\n");
    hash.update(body);
    Ok(Some(Idempotency { key: key.to_owned(), fingerprint: hex::encode(hash.finalize()) }))
}
