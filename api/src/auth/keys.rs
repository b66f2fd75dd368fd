//! `KeyRing`: each tenant's RS256 signing keys, created on first use, sealed at rest with the
//! master key, and cached in memory once loaded. A rotation adds a key that signs from then
//! on while the previous ones keep verifying; a revocation removes a key from verification
//! and from the JWKS. A key's id is its RFC 7638 thumbprint.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::TenantId;
use eventstore::sqlx::{self, AnyPool};
use jsonwebtoken::{DecodingKey, EncodingKey};
use rand::rngs::OsRng;
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::secrets::{KeyError, MasterKey};

const RSA_BITS: usize = 2048;

#[derive(Debug, thiserror::Error)]
pub enum KeyRingError {
    #[error("signing keys cannot be read: {0}")]
    Database(#[from] sqlx::Error),
    #[error("a signing key cannot be used: {0}")]
    Key(String),
    #[error(transparent)]
    Sealed(#[from] KeyError),
    #[error("The signing key does not exist.")]
    UnknownKey,
    #[error("The current signing key cannot be revoked; rotate first, then revoke the previous key.")]
    RevokeCurrent,
}

/// One tenant's keys: the one that signs, and every one that verifies.
pub struct TenantKeys {
    pub kid: String,
    pub signing: EncodingKey,
    pub verifying: HashMap<String, DecodingKey>,
    /// `{"keys": [...]}` as served at `/.well-known/jwks.json`.
    pub jwks: Value,
}

impl std::fmt::Debug for TenantKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantKeys").field("kid", &self.kid).finish_non_exhaustive()
    }
}

/// A signing key as `GET /api/v2/keys/signing` lists it (Auth0's fields; no certificate: the
/// keys are bare, see the JWKS for the public halves).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SigningKeyView {
    pub kid: String,
    /// The RFC 7638 thumbprint of the public key (the kid, for keys created since F5).
    pub thumbprint: String,
    pub alg: &'static str,
    /// Signs new tokens.
    pub current: bool,
    /// Was current before the current one.
    pub previous: bool,
    /// When it began signing.
    pub current_since: String,
    /// When a later key took over.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_until: Option<String>,
    pub revoked: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
}

/// A row of `signing_keys`.
#[derive(Debug)]
struct KeyRow {
    kid: String,
    private_key: String,
    public_jwk: String,
    created_at: String,
    current_since: Option<String>,
    revoked_at: Option<String>,
}

impl KeyRow {
    /// When the key began signing: a tenant's first key from its creation.
    fn signing_since(&self) -> &str {
        self.current_since.as_deref().unwrap_or(&self.created_at)
    }
}

/// The tenant's keys in the order they began signing; the last one not revoked signs. RFC 3339
/// timestamps of one format sort as text.
fn by_signing_order(mut rows: Vec<KeyRow>) -> Vec<KeyRow> {
    rows.sort_by(|a, b| (a.signing_since(), &a.kid).cmp(&(b.signing_since(), &b.kid)));
    rows
}

fn current_of(rows: &[KeyRow]) -> Option<&KeyRow> {
    rows.iter().rev().find(|row| row.revoked_at.is_none())
}

#[derive(Debug)]
pub struct KeyRing {
    pool: AnyPool,
    master: MasterKey,
    cache: RwLock<HashMap<TenantId, Arc<TenantKeys>>>,
    /// One key generation at a time in this process: generating is slow and one is enough.
    creating: tokio::sync::Mutex<()>,
}

impl KeyRing {
    pub fn new(pool: AnyPool, master: MasterKey) -> Self {
        Self { pool, master, cache: RwLock::default(), creating: tokio::sync::Mutex::new(()) }
    }

    /// The tenant's keys, generating the first one if it has none.
    pub async fn for_tenant(&self, tenant: &TenantId) -> Result<Arc<TenantKeys>, KeyRingError> {
        if let Some(keys) = self.cached(tenant) {
            return Ok(keys);
        }
        let _creating = self.creating.lock().await;
        if let Some(keys) = self.cached(tenant) {
            return Ok(keys);
        }
        let keys = match self.load(tenant).await? {
            Some(keys) => keys,
            None => {
                self.create(tenant, None).await?;
                self.load(tenant).await?.ok_or_else(|| KeyRingError::Key("the new key was not stored".into()))?
            }
        };
        let keys = Arc::new(keys);
        self.cache.write().unwrap_or_else(std::sync::PoisonError::into_inner).insert(tenant.clone(), keys.clone());
        Ok(keys)
    }

    fn cached(&self, tenant: &TenantId) -> Option<Arc<TenantKeys>> {
        self.cache.read().unwrap_or_else(std::sync::PoisonError::into_inner).get(tenant).cloned()
    }

    async fn rows(&self, tenant: &TenantId) -> Result<Vec<KeyRow>, KeyRingError> {
        type Columns = (String, String, String, String, Option<String>, Option<String>);
        let rows: Vec<Columns> = sqlx::query_as(
            "SELECT kid, private_key, public_jwk, created_at, current_since, revoked_at \
             FROM signing_keys WHERE tenant_id = $1",
        )
        .bind(tenant.as_str())
        .fetch_all(&self.pool)
        .await?;
        let rows = rows.into_iter().map(|(kid, private_key, public_jwk, created_at, current_since, revoked_at)| {
            KeyRow { kid, private_key, public_jwk, created_at, current_since, revoked_at }
        });
        Ok(by_signing_order(rows.collect()))
    }

    async fn load(&self, tenant: &TenantId) -> Result<Option<TenantKeys>, KeyRingError> {
        let rows = self.rows(tenant).await?;
        let Some(current) = current_of(&rows) else { return Ok(None) };
        let der = self.master.open(&seal_context(tenant, &current.kid), &current.private_key)?;
        let private = RsaPrivateKey::from_pkcs1_der(&der).map_err(|e| KeyRingError::Key(e.to_string()))?;
        let signing = EncodingKey::from_rsa_der(
            &private.to_pkcs1_der().map_err(|e| KeyRingError::Key(e.to_string()))?.to_bytes(),
        );
        let mut verifying = HashMap::new();
        let mut jwks = Vec::new();
        for row in rows.iter().filter(|row| row.revoked_at.is_none()) {
            let jwk: Value = serde_json::from_str(&row.public_jwk).map_err(|e| KeyRingError::Key(e.to_string()))?;
            let (n, e) = (jwk["n"].as_str().unwrap_or_default(), jwk["e"].as_str().unwrap_or_default());
            let key = DecodingKey::from_rsa_components(n, e).map_err(|e| KeyRingError::Key(e.to_string()))?;
            verifying.insert(row.kid.clone(), key);
            jwks.push(jwk);
        }
        Ok(Some(TenantKeys { kid: current.kid.clone(), signing, verifying, jwks: json!({ "keys": jwks }) }))
    }

    /// Every key of the tenant, revoked ones included, in the order they began signing.
    pub async fn list(&self, tenant: &TenantId) -> Result<Vec<SigningKeyView>, KeyRingError> {
        self.for_tenant(tenant).await?;
        let rows = self.rows(tenant).await?;
        let current = current_of(&rows).map(|row| row.kid.clone());
        let position = rows.iter().position(|row| Some(&row.kid) == current.as_ref());
        let mut views = Vec::with_capacity(rows.len());
        for (index, row) in rows.iter().enumerate() {
            let jwk: Value = serde_json::from_str(&row.public_jwk).map_err(|e| KeyRingError::Key(e.to_string()))?;
            views.push(SigningKeyView {
                kid: row.kid.clone(),
                thumbprint: thumbprint(&jwk),
                alg: "RS256",
                current: Some(index) == position,
                previous: position.is_some_and(|p| p > 0 && index == p - 1),
                current_since: row.signing_since().to_owned(),
                current_until: rows.get(index + 1).map(|next| next.signing_since().to_owned()),
                revoked: row.revoked_at.is_some(),
                revoked_at: row.revoked_at.clone(),
            });
        }
        Ok(views)
    }

    /// Adds a key that signs from now on; the previous ones keep verifying until revoked.
    /// Returns its kid.
    pub async fn rotate(&self, tenant: &TenantId) -> Result<String, KeyRingError> {
        self.for_tenant(tenant).await?;
        let _creating = self.creating.lock().await;
        let kid = self.create(tenant, Some(now())).await?;
        self.forget(tenant);
        Ok(kid)
    }

    /// Stops verifying with `kid` and drops it from the JWKS. Revoking a revoked key changes
    /// nothing; the current key cannot be revoked.
    pub async fn revoke(&self, tenant: &TenantId, kid: &str) -> Result<SigningKeyView, KeyRingError> {
        let creating = self.creating.lock().await;
        let rows = self.rows(tenant).await?;
        if !rows.iter().any(|row| row.kid == kid) {
            return Err(KeyRingError::UnknownKey);
        }
        if current_of(&rows).is_some_and(|row| row.kid == kid) {
            return Err(KeyRingError::RevokeCurrent);
        }
        sqlx::query("UPDATE signing_keys SET revoked_at = $3 WHERE tenant_id = $1 AND kid = $2 AND revoked_at IS NULL")
            .bind(tenant.as_str())
            .bind(kid)
            .bind(now())
            .execute(&self.pool)
            .await?;
        self.forget(tenant);
        drop(creating);
        let views = self.list(tenant).await?;
        views.into_iter().find(|view| view.kid == kid).ok_or(KeyRingError::UnknownKey)
    }

    /// Drops the cached keys of `tenant`: the next use loads them again.
    fn forget(&self, tenant: &TenantId) {
        self.cache.write().unwrap_or_else(std::sync::PoisonError::into_inner).remove(tenant);
    }

    /// Generates and stores a key; `current_since` makes it the signing key from then on.
    async fn create(&self, tenant: &TenantId, current_since: Option<String>) -> Result<String, KeyRingError> {
        let private = tokio::task::spawn_blocking(|| RsaPrivateKey::new(&mut OsRng, RSA_BITS))
            .await
            .map_err(|e| KeyRingError::Key(e.to_string()))?
            .map_err(|e| KeyRingError::Key(e.to_string()))?;
        let public = private.to_public_key();
        let kid = thumbprint(&public_jwk("", &public));
        let jwk = public_jwk(&kid, &public);
        let der = private.to_pkcs1_der().map_err(|e| KeyRingError::Key(e.to_string()))?;
        let sealed = self.master.seal(&seal_context(tenant, &kid), der.as_bytes());
        sqlx::query(
            "INSERT INTO signing_keys (tenant_id, kid, private_key, public_jwk, created_at, current_since) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(tenant.as_str())
        .bind(&kid)
        .bind(sealed)
        .bind(jwk.to_string())
        .bind(now())
        .bind(current_since)
        .execute(&self.pool)
        .await?;
        tracing::info!(tenant = %tenant, kid = %kid, "created a signing key");
        Ok(kid)
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// RFC 7638: SHA-256 over the required members of the JWK, in lexicographic order, without
/// whitespace; base64url.
fn thumbprint(jwk: &Value) -> String {
    let canonical = json!({ "e": jwk["e"], "kty": jwk["kty"], "n": jwk["n"] });
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.to_string().as_bytes()))
}

fn seal_context(tenant: &TenantId, kid: &str) -> String {
    format!("{tenant}/{kid}")
}

fn public_jwk(kid: &str, key: &RsaPublicKey) -> Value {
    json!({
        "kty": "RSA",
        "use": "sig",
        "alg": "RS256",
        "kid": kid,
        "n": URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()),
        "e": URL_SAFE_NO_PAD.encode(key.e().to_bytes_be()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7638 §3.1's example key and thumbprint.
    #[test]
    fn the_thumbprint_is_rfc_7638s() {
        let jwk = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29",
        });
        assert_eq!(thumbprint(&jwk), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    }

    fn row(kid: &str, created_at: &str, current_since: Option<&str>, revoked: bool) -> KeyRow {
        KeyRow {
            kid: kid.into(),
            private_key: String::new(),
            public_jwk: String::new(),
            created_at: created_at.into(),
            current_since: current_since.map(Into::into),
            revoked_at: revoked.then(|| "2026-11-23T12:00:00.000000Z".into()),
        }
    }

    #[test]
    fn the_latest_rotated_key_that_is_not_revoked_signs() {
        let rows = by_signing_order(vec![
            row("c", "2026-11-23T10:00:00.000000Z", Some("2026-11-23T10:00:00.000000Z"), true),
            row("a", "2026-11-01T00:00:00.000000Z", None, false),
            row("b", "2026-11-23T09:00:00.000000Z", Some("2026-11-23T09:00:00.000000Z"), false),
        ]);
        assert_eq!(rows.iter().map(|r| r.kid.as_str()).collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(current_of(&rows).map(|r| r.kid.as_str()), Some("b"));
    }

    #[test]
    fn two_first_keys_created_at_once_by_two_processes_agree_on_the_signing_one() {
        let rows = by_signing_order(vec![
            row("y", "2026-11-01T00:00:00.000002Z", None, false),
            row("x", "2026-11-01T00:00:00.000001Z", None, false),
        ]);
        // Both began signing at creation; every process orders them alike and picks the later.
        assert_eq!(current_of(&rows).map(|r| r.kid.as_str()), Some("y"));
    }
}
