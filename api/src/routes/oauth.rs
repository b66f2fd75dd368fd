//! `POST /oauth/token`: the OAuth 2.0 token endpoint: `client_credentials` for machines,
//! `password` (Auth0's resource-owner password grant) for users, whose tokens carry the claims
//! of the in-memory claims model, and `refresh_token` to continue a user's login. Errors use OAuth's shape `{error, error_description}`
//! (RFC 6749 §5.2), with Auth0's codes and messages.

use std::net::{IpAddr, SocketAddr};

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, Request, State};
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, PRAGMA, RETRY_AFTER, USER_AGENT};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use domain::client_grant::{ClientGrantFields, OrganizationUsage};
use projections::read_models::clients::ClientCredentials;
use serde::{Deserialize, Deserializer, Serialize};

use crate::app::AppState;
use crate::auth::AccessClaims;
use crate::auth::signer::KeyAlg;
use crate::auth::tokens::sign;
use crate::routing::{Site, UnknownHost};

mod introspect;
mod password;
mod refresh;
mod user_tokens;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/oauth/token", post(token))
        .route("/oauth/introspect", post(introspect::introspect))
        .route("/oauth/revoke", post(refresh::revoke))
        .route("/userinfo", get(introspect::userinfo).post(introspect::userinfo))
}

#[derive(Debug, Default, Deserialize)]
struct TokenRequest {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    /// The password grant's username or email, and password.
    username: Option<String>,
    password: Option<String>,
    /// The token to introspect or revoke.
    token: Option<String>,
    /// The refresh grant's token.
    refresh_token: Option<String>,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
}

impl TokenResponse {
    fn into_response(self) -> Response {
        (StatusCode::OK, no_store(), Json(self)).into_response()
    }
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

    fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "invalid_grant", description)
    }

    /// The read models did not catch up in time (see [`AppState::read_models`]).
    fn not_yet_visible(error: crate::error::ApiError) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable", error.to_string())
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

/// Past the brute-force limit: 429 with `Retry-After` (whole seconds, rounded up).
fn too_many_attempts(retry_after: std::time::Duration) -> Response {
    let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
    let error = OAuthError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_attempts",
        "Too many failed login attempts; try again later.",
    );
    let mut response = error.into_response();
    response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(seconds));
    response
}

/// A request to an OAuth endpoint: the tenant its host addresses, its parameters (JSON or
/// form, by content type; form when none is given, as OAuth specifies) with HTTP Basic client
/// credentials folded in, and what identifies the device it came from.
#[derive(Debug)]
struct OAuthRequest {
    site: Site,
    params: TokenRequest,
    /// The peer's address, when the server runs with connect info (it does; a router served
    /// without it has none).
    ip: Option<IpAddr>,
    user_agent: Option<String>,
}

impl FromRequest<AppState> for OAuthRequest {
    type Rejection = OAuthError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = request.into_parts();
        let site = Site::of(&parts, state).map_err(unknown_host)?;
        let ip = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
        let headers = parts.headers.clone();
        let user_agent = headers.get(USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let body = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|rejection| OAuthError::new(rejection.status(), "invalid_request", rejection.body_text()))?;
        let mut params = parse(&headers, &body)?;
        basic_credentials(&headers, &mut params)?;
        Ok(Self { site, params, ip, user_agent })
    }
}

/// A host that addresses no tenant.
fn unknown_host(unknown: UnknownHost) -> OAuthError {
    OAuthError::new(StatusCode::NOT_FOUND, "invalid_request", unknown.to_string())
}

fn no_store() -> [(axum::http::HeaderName, HeaderValue); 2] {
    [(CACHE_CONTROL, HeaderValue::from_static("no-store")), (PRAGMA, HeaderValue::from_static("no-cache"))]
}

/// Tokens of the tenant the host addresses, signed with its key, with its issuer.
async fn token(State(state): State<AppState>, oauth: OAuthRequest) -> Result<Response, OAuthError> {
    let OAuthRequest { site, params: request, ip, user_agent } = oauth;
    match request.grant_type.clone().as_deref() {
        Some(grant @ "client_credentials") => {
            let client = allowed(authenticated(&state, &site.tenant, &request, Public::Refused).await?, grant)?;
            client_credentials(&state, &site, client, request).await
        }
        Some(grant @ (PASSWORD | PASSWORD_REALM)) => {
            let client = allowed(authenticated(&state, &site.tenant, &request, Public::Allowed).await?, grant)?;
            password::grant(&state, &site, client, request, (ip, user_agent)).await
        }
        Some(grant @ REFRESH_TOKEN) => {
            let client = allowed(authenticated(&state, &site.tenant, &request, Public::Allowed).await?, grant)?;
            refresh::grant(&state, &site, client, request).await
        }
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

/// Auth0's names of the password grant.
const PASSWORD: &str = "password";
const PASSWORD_REALM: &str = "http://auth0.com/oauth/grant-type/password-realm";
const REFRESH_TOKEN: &str = "refresh_token";

/// Whether a public client (`token_endpoint_auth_method` `none`: no secret) may do something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Public {
    Allowed,
    Refused,
}

/// The client the request authenticates: with its secret, or, where `public` allows, as a
/// public client that has none. A secret presented must match.
async fn authenticated(
    state: &AppState,
    tenant: &domain::TenantId,
    request: &TokenRequest,
    public: Public,
) -> Result<ClientCredentials, OAuthError> {
    let client_id = request
        .client_id
        .as_deref()
        .ok_or_else(|| OAuthError::invalid_request("Missing required parameter: client_id"))?;
    let client = state.applications.credentials(tenant, client_id).ok_or_else(OAuthError::invalid_client)?;
    let authenticated = match request.client_secret.as_deref() {
        Some(secret) => state.master_key.verify_client_secret(secret, &client.secret_hash),
        None => client.token_endpoint_auth_method == "none" && public == Public::Allowed,
    };
    if authenticated { Ok(client) } else { Err(OAuthError::invalid_client()) }
}

/// The client, if it may use `grant`.
fn allowed(client: ClientCredentials, grant: &str) -> Result<ClientCredentials, OAuthError> {
    if client.grant_types.iter().any(|g| g == grant) {
        return Ok(client);
    }
    Err(OAuthError::new(
        StatusCode::FORBIDDEN,
        "unauthorized_client",
        format!("Grant type '{grant}' not allowed for the client."),
    ))
}

async fn client_credentials(
    state: &AppState,
    site: &Site,
    client: ClientCredentials,
    request: TokenRequest,
) -> Result<Response, OAuthError> {
    let tenant = &site.tenant;
    let audience = request.audience.filter(|a| !a.is_empty()).ok_or_else(|| {
        OAuthError::access_denied("No audience parameter was provided, and no default audience has been configured")
    })?;
    let grant = state.applications.grant(tenant, &client.client_id, &audience).ok_or_else(|| {
        OAuthError::access_denied(format!(
            "Client is not authorized to access \"{audience}\". You need to create a \"client-grant\" associated to this API."
        ))
    })?;
    let organization = machine_organization(state, site, &grant, request.organization.as_deref())?;
    let granted = grant.scope;
    let scopes: Vec<String> = match request.scope.as_deref().map(str::split_whitespace) {
        Some(requested) => {
            let requested: Vec<&str> = requested.collect();
            granted.into_iter().filter(|s| requested.contains(&s.as_str())).collect()
        }
        None => granted,
    };
    let api = state.role_permissions.resource_server(tenant, &audience);
    let lifetime = api.as_ref().map_or(domain::resource_server::DEFAULT_TOKEN_LIFETIME, |api| api.token_lifetime);
    let alg = api.as_ref().map_or(KeyAlg::Rs256, |api| KeyAlg::for_api(&api.signing_alg));
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
        org_id: organization.as_ref().map(|(id, _)| id.clone()),
        org_name: organization
            .map(|(_, name)| name)
            .filter(|_| state.claims.settings(tenant).allow_organization_name_in_authentication_api),
        roles: Vec::new(),
    };
    let access_token = sign(&state.keys, tenant, alg, claims).await.map_err(OAuthError::server_error)?;
    let body = TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: lifetime,
        scope: scopes.join(" "),
        id_token: None,
        refresh_token: None,
    };
    Ok(body.into_response())
}

/// The organization (id, name) a machine token is for, by the grant's rules (Auth0's
/// organizations for machine-to-machine access): `deny` refuses one, `require` insists on one,
/// and one asked for must be associated with the grant unless it allows any.
fn machine_organization(
    state: &AppState,
    site: &Site,
    grant: &ClientGrantFields,
    asked: Option<&str>,
) -> Result<Option<(String, String)>, OAuthError> {
    let Some(asked) = asked else {
        if grant.organization_usage == OrganizationUsage::Require {
            return Err(OAuthError::invalid_request("An organization is required for this client and audience."));
        }
        return Ok(None);
    };
    if grant.organization_usage == OrganizationUsage::Deny {
        return Err(OAuthError::access_denied(
            "The client grant does not allow organizations (organization_usage is deny).",
        ));
    }
    let invalid = || OAuthError::access_denied(format!("parameter organization is invalid: {asked}"));
    let (id, name) = state.claims.organization(&site.tenant, asked).ok_or_else(invalid)?;
    if !grant.allows_organization(&id) {
        return Err(invalid());
    }
    Ok(Some((id, name)))
}

fn empty_as_none<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let value: Option<String> = Option::deserialize(deserializer)?;
    Ok(value.filter(|v| !v.trim().is_empty()))
}
