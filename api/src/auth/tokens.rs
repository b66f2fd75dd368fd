//! Access tokens: the claims tenancy signs, and how a presented token is verified.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};

use super::keys::TenantKeys;

/// The claims of an access token, with Auth0's names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    /// The client the token was issued to.
    pub azp: String,
    /// Space-separated granted scopes.
    #[serde(default)]
    pub scope: String,
    /// `client-credentials` for machine tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gty: Option<String>,
    /// The granted scopes as a list, as Auth0 does with RBAC on.
    #[serde(default)]
    pub permissions: Vec<String>,
    /// A user's role names (in the organization, for an organization token).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    pub tenant_id: String,
    /// The organization the token is bound to. A control-plane token bound to the
    /// organization of a child tenant manages that tenant (DESIGN.md §5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
    /// With the tenant setting `allow_organization_name_in_authentication_api`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_name: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("Expired token")]
    Expired,
    #[error("Invalid token")]
    Invalid,
}

/// Signs with the tenant's current key. RSA signing costs a millisecond of CPU, so it runs off
/// the async workers.
pub async fn sign<C: Serialize + Send + 'static>(
    keys: std::sync::Arc<TenantKeys>,
    claims: C,
) -> Result<String, jsonwebtoken::errors::Error> {
    let signed = tokio::task::spawn_blocking(move || {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(keys.kid.clone());
        jsonwebtoken::encode(&header, &claims, &keys.signing)
    })
    .await;
    signed.unwrap_or_else(|join| Err(jsonwebtoken::errors::Error::from(ErrorKind::Provider(join.to_string()))))
}

/// The tenant a token says it was issued by, read without verifying anything: it only picks
/// the keys and issuers [`verify`] then checks the token against.
pub fn claimed_tenant(token: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Claimed {
        tenant_id: String,
    }
    let payload = token.split('.').nth(1)?;
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload).ok()?;
    serde_json::from_slice::<Claimed>(&bytes).ok().map(|c| c.tenant_id)
}

/// Verifies signature (with the key the header names), issuer (one of `issuers`), audience
/// (when one is required), expiry and not-before.
pub fn verify(
    keys: &TenantKeys,
    token: &str,
    issuers: &[String],
    audience: Option<&str>,
) -> Result<AccessClaims, VerifyError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| VerifyError::Invalid)?;
    if header.alg != Algorithm::RS256 {
        return Err(VerifyError::Invalid);
    }
    let key = header.kid.as_deref().and_then(|kid| keys.verifying.get(kid)).ok_or(VerifyError::Invalid)?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.leeway = 5;
    validation.validate_nbf = true;
    validation.set_issuer(issuers);
    match audience {
        Some(audience) => validation.set_audience(&[audience]),
        // Introspection and userinfo accept a token of the tenant for any of its APIs.
        None => validation.validate_aud = false,
    }
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    match jsonwebtoken::decode::<AccessClaims>(token, key, &validation) {
        Ok(data) => Ok(data.claims),
        Err(err) if matches!(err.kind(), ErrorKind::ExpiredSignature) => Err(VerifyError::Expired),
        Err(_) => Err(VerifyError::Invalid),
    }
}
