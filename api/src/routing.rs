//! Which tenant a request's host addresses (DESIGN.md §5): a custom domain of a tenant, else a
//! subdomain of the base domain (`acme.<base-domain>` is tenant `acme`), else the control
//! plane. The `tenant-id` header comes after these and only for control-plane tokens allowed
//! to manage that tenant: that decision is the `Caller`'s, not the host's.

use axum::extract::FromRequestParts;
use axum::http::header::HOST;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use domain::TenantId;

use crate::app::AppState;
use crate::error::ApiError;

/// The tenant the host addresses, and the issuer of tokens requested there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub tenant: TenantId,
    pub issuer: String,
}

/// A host under the base domain that names no tenant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("No tenant is served at {0:?}")]
pub struct UnknownHost(pub String);

impl From<UnknownHost> for ApiError {
    fn from(error: UnknownHost) -> Self {
        ApiError::NotFound { message: error.to_string(), code: "inexistent_tenant" }
    }
}

impl IntoResponse for UnknownHost {
    fn into_response(self) -> Response {
        ApiError::from(self).into_response()
    }
}

impl Site {
    /// The site of a request with these parts: by its `Host` header, or the URI's authority
    /// (HTTP/2 has no `Host`).
    pub fn of(parts: &Parts, state: &AppState) -> Result<Self, UnknownHost> {
        let host = parts.headers.get(HOST).and_then(|v| v.to_str().ok()).or_else(|| parts.uri.host());
        Self::at(host.unwrap_or_default(), state)
    }

    pub fn at(host: &str, state: &AppState) -> Result<Self, UnknownHost> {
        let host = without_port(host).trim_end_matches('.').to_ascii_lowercase();
        let control_plane = || Self { tenant: TenantId::control_plane(), issuer: state.urls.issuer() };
        if let Some(tenant) = state.directory.by_domain(&host) {
            return Ok(Self { tenant, issuer: state.urls.issuer_at(&host) });
        }
        let Some(base) = &state.urls.base_domain else { return Ok(control_plane()) };
        let Some(label) = host.strip_suffix(base.as_str()).and_then(|rest| rest.strip_suffix('.')) else {
            // The base domain itself, or a host outside it (the public URL's, an address).
            return Ok(control_plane());
        };
        match TenantId::parse(label) {
            Ok(tenant) if tenant.is_reserved() => Ok(control_plane()),
            Ok(tenant) if !tenant.is_control_plane() && state.directory.exists(&tenant) => {
                Ok(Self { tenant, issuer: state.urls.issuer_at(&host) })
            }
            _ => Err(UnknownHost(host)),
        }
    }
}

impl FromRequestParts<AppState> for Site {
    type Rejection = UnknownHost;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Self::of(parts, state)
    }
}

/// `host` without a `:port` (an IPv6 literal keeps its brackets).
fn without_port(host: &str) -> &str {
    match host.rfind(':') {
        Some(colon) if !host[colon..].contains(']') => &host[..colon],
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_is_dropped_but_an_ipv6_literal_is_kept_whole() {
        assert_eq!(without_port("acme.example:8080"), "acme.example");
        assert_eq!(without_port("acme.example"), "acme.example");
        assert_eq!(without_port("[::1]:3000"), "[::1]");
        assert_eq!(without_port("[::1]"), "[::1]");
    }
}
