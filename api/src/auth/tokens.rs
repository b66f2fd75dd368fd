//! Access tokens: the claims tenancy signs, and how a presented token is verified.

use domain::TenantId;
use jsonwebtoken::Validation;
use jsonwebtoken::errors::ErrorKind;
use serde::{Deserialize, Serialize};

use super::keys::{KeyRing, KeyRingError, TenantKeys};
use super::signer::{KeyAlg, SignerError};

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

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error(transparent)]
    Keys(#[from] KeyRingError),
    #[error(transparent)]
    Signer(#[from] SignerError),
    #[error("signing was interrupted: {0}")]
    Interrupted(String),
}

/// Signs with the tenant's current key of `alg`. An RSA signature costs a millisecond of CPU,
/// so it runs off the async workers; the others are cheaper than the move.
pub async fn sign<C: Serialize + Send + 'static>(
    ring: &KeyRing,
    tenant: &TenantId,
    alg: KeyAlg,
    claims: C,
) -> Result<String, SignError> {
    let keys = ring.signing_with(tenant, alg).await?;
    let slow = keys.signer(alg).is_some_and(|(_, signer)| signer.is_slow());
    let sign = move || {
        let (kid, signer) =
            keys.signer(alg).ok_or_else(|| KeyRingError::Unusable(format!("no {} key", alg.as_str())))?;
        Ok(signer.jwt(kid, &claims)?)
    };
    if slow {
        tokio::task::spawn_blocking(sign).await.map_err(|e| SignError::Interrupted(e.to_string()))?
    } else {
        sign()
    }
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

/// Verifies signature (with the key the header names, in its algorithm), issuer (one of `issuers`), audience
/// (when one is required), expiry and not-before.
pub fn verify(
    keys: &TenantKeys,
    token: &str,
    issuers: &[String],
    audience: Option<&str>,
) -> Result<AccessClaims, VerifyError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| VerifyError::Invalid)?;
    let (alg, key) = header.kid.as_deref().and_then(|kid| keys.verifier(kid)).ok_or(VerifyError::Invalid)?;
    // The key decides the algorithm, never the token: `none`, or HS256 keyed with a public key,
    // do not pass for the key's own.
    if header.alg != alg.jwt() {
        return Err(VerifyError::Invalid);
    }
    let mut validation = Validation::new(alg.jwt());
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
