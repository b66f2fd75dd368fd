//! `POST /oauth/token`: the OAuth 2.0 token endpoint. F2 implements `client_credentials`;
//! errors use OAuth's shape `{error, error_description}` (RFC 6749 §5.2), as Auth0 does.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, PRAGMA};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use projections::read_models::{clients, resource_servers};
use serde::{Deserialize, Deserializer, Serialize};

use crate::app::AppState;
use crate::auth::AccessClaims;
use crate::auth::tokens::sign;
use crate::routing::{Site, UnknownHost};

pub fn router() -> Router<AppState> {
    Router::new().route("/oauth/token", post(token))
}

#[derive(Debug, Default, Deserialize)]
struct TokenRequest {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    audience: Option<String>,
    scope: Option<String>,
    /// Absent, empty and null all mean "no organization".
    #[serde(default, deserialize_with = "empty_as_none")]
    organization: Option<String>,
}

#[derive(Debug, Serialize)]
struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: u32,
    scope: String,
}

#[derive(Debug)]
struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl OAuthError {
    fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self { status, error, description: description.into() }
    }

    fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    fn invalid_client() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_client", "Client authentication failed")
    }

    fn access_denied(description: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "access_denied", description)
    }

    fn server_error(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "token request failed");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "An internal error occurred. It has been logged.")
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.error, "error_description": self.description });
        (self.status, no_store(), Json(body)).into_response()
    }
}

fn no_store() -> [(axum::http::HeaderName, HeaderValue); 2] {
    [(CACHE_CONTROL, HeaderValue::from_static("no-store")), (PRAGMA, HeaderValue::from_static("no-cache"))]
}

/// Tokens of the tenant the host addresses, signed with its key, with its issuer.
async fn token(
    State(state): State<AppState>,
    site: Result<Site, UnknownHost>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthError> {
    let site =
        site.map_err(|unknown| OAuthError::new(StatusCode::NOT_FOUND, "invalid_request", unknown.to_string()))?;
    let mut request = parse(&headers, &body)?;
    basic_credentials(&headers, &mut request)?;
    match request.grant_type.as_deref() {
        Some("client_credentials") => client_credentials(&state, &site, request).await,
        Some(other) => Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            format!("Unsupported grant type: {other}"),
        )),
        None => Err(OAuthError::invalid_request("Missing required parameter: grant_type")),
    }
}

/// JSON or form-encoded, by content type (form when none is given, as OAuth specifies).
fn parse(headers: &HeaderMap, body: &[u8]) -> Result<TokenRequest, OAuthError> {
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if content_type.starts_with("application/json") {
        serde_json::from_slice(body).map_err(|e| OAuthError::invalid_request(format!("Invalid JSON body: {e}")))
    } else {
        serde_urlencoded::from_bytes(body).map_err(|e| OAuthError::invalid_request(format!("Invalid form body: {e}")))
    }
}

/// `Authorization: Basic base64(client_id:client_secret)` (client_secret_basic).
fn basic_credentials(headers: &HeaderMap, request: &mut TokenRequest) -> Result<(), OAuthError> {
    let Some(value) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) else { return Ok(()) };
    let Some(encoded) = value.strip_prefix("Basic ") else { return Ok(()) };
    let decoded = STANDARD.decode(encoded.trim()).ok().and_then(|b| String::from_utf8(b).ok());
    let (id, secret) = decoded.as_deref().and_then(|d| d.split_once(':')).ok_or_else(OAuthError::invalid_client)?;
    if request.client_id.as_deref().is_some_and(|body_id| body_id != id) {
        return Err(OAuthError::invalid_request("client_id in the body and in the Authorization header differ"));
    }
    request.client_id = Some(id.to_owned());
    request.client_secret = Some(secret.to_owned());
    Ok(())
}

async fn client_credentials(state: &AppState, site: &Site, request: TokenRequest) -> Result<Response, OAuthError> {
    let tenant = &site.tenant;
    let client_id =
        request.client_id.ok_or_else(|| OAuthError::invalid_request("Missing required parameter: client_id"))?;
    let secret = request.client_secret.ok_or_else(OAuthError::invalid_client)?;
    let client = clients::credentials(&state.db.pool, tenant, &client_id)
        .await
        .map_err(OAuthError::server_error)?
        .filter(|client| state.master_key.verify_client_secret(&secret, &client.secret_hash))
        .ok_or_else(OAuthError::invalid_client)?;
    if !client.grant_types.iter().any(|g| g == "client_credentials") {
        return Err(OAuthError::new(
            StatusCode::FORBIDDEN,
            "unauthorized_client",
            "Grant type 'client_credentials' not allowed for the client.",
        ));
    }
    if request.organization.is_some() {
        return Err(OAuthError::invalid_request("organization is not supported for client_credentials yet"));
    }
    let audience = request.audience.filter(|a| !a.is_empty()).ok_or_else(|| {
        OAuthError::access_denied("No audience parameter was provided, and no default audience has been configured")
    })?;
    let granted = clients::granted_scopes(&state.db.pool, tenant, &client.client_id, &audience)
        .await
        .map_err(OAuthError::server_error)?
        .ok_or_else(|| {
            OAuthError::access_denied(format!(
                "Client is not authorized to access \"{audience}\". You need to create a \"client-grant\" associated to this API."
            ))
        })?;
    let scopes: Vec<String> = match request.scope.as_deref().map(str::split_whitespace) {
        Some(requested) => {
            let requested: Vec<&str> = requested.collect();
            granted.into_iter().filter(|s| requested.contains(&s.as_str())).collect()
        }
        None => granted,
    };
    let lifetime = resource_servers::get(&state.db.pool, tenant, &audience)
        .await
        .map_err(OAuthError::server_error)?
        .map_or(domain::resource_server::DEFAULT_TOKEN_LIFETIME, |api| api.token_lifetime);
    let now = chrono::Utc::now().timestamp();
    let claims = AccessClaims {
        iss: site.issuer.clone(),
        sub: format!("{}@clients", client.client_id),
        aud: audience,
        iat: now,
        exp: now + i64::from(lifetime),
        azp: client.client_id,
        scope: scopes.join(" "),
        gty: Some("client-credentials".into()),
        permissions: scopes.clone(),
        tenant_id: tenant.to_string(),
        org_id: None,
    };
    let keys = state.keys.for_tenant(tenant).await.map_err(OAuthError::server_error)?;
    let access_token = sign(keys, claims).await.map_err(OAuthError::server_error)?;
    let body = TokenResponse { access_token, token_type: "Bearer", expires_in: lifetime, scope: scopes.join(" ") };
    Ok((StatusCode::OK, no_store(), Json(body)).into_response())
}

fn empty_as_none<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let value: Option<String> = Option::deserialize(deserializer)?;
    Ok(value.filter(|v| !v.trim().is_empty()))
}
