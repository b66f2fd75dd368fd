//! `KeyRing`: each tenant's RS256 signing key, created on first use, sealed at rest with the
//! master key, and cached in memory once loaded.

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
use serde_json::{Value, json};

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
                self.create(tenant).await?;
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

    async fn load(&self, tenant: &TenantId) -> Result<Option<TenantKeys>, KeyRingError> {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT kid, private_key, public_jwk FROM signing_keys WHERE tenant_id = $1 ORDER BY created_at, kid",
        )
        .bind(tenant.as_str())
        .fetch_all(&self.pool)
        .await?;
        let Some((kid, sealed, _)) = rows.first() else { return Ok(None) };
        let der = self.master.open(&seal_context(tenant, kid), sealed)?;
        let private = RsaPrivateKey::from_pkcs1_der(&der).map_err(|e| KeyRingError::Key(e.to_string()))?;
        let signing = EncodingKey::from_rsa_der(
            &private.to_pkcs1_der().map_err(|e| KeyRingError::Key(e.to_string()))?.to_bytes(),
        );
        let mut verifying = HashMap::new();
        let mut jwks = Vec::new();
        for (kid, _, jwk) in &rows {
            let jwk: Value = serde_json::from_str(jwk).map_err(|e| KeyRingError::Key(e.to_string()))?;
            let (n, e) = (jwk["n"].as_str().unwrap_or_default(), jwk["e"].as_str().unwrap_or_default());
            let key = DecodingKey::from_rsa_components(n, e).map_err(|e| KeyRingError::Key(e.to_string()))?;
            verifying.insert(kid.clone(), key);
            jwks.push(jwk);
        }
        Ok(Some(TenantKeys { kid: kid.clone(), signing, verifying, jwks: json!({ "keys": jwks }) }))
    }

    async fn create(&self, tenant: &TenantId) -> Result<(), KeyRingError> {
        let private = tokio::task::spawn_blocking(|| RsaPrivateKey::new(&mut OsRng, RSA_BITS))
            .await
            .map_err(|e| KeyRingError::Key(e.to_string()))?
            .map_err(|e| KeyRingError::Key(e.to_string()))?;
        let kid = commands::random_string(22);
        let jwk = public_jwk(&kid, &private.to_public_key());
        let der = private.to_pkcs1_der().map_err(|e| KeyRingError::Key(e.to_string()))?;
        let sealed = self.master.seal(&seal_context(tenant, &kid), der.as_bytes());
        sqlx::query(
            "INSERT INTO signing_keys (tenant_id, kid, private_key, public_jwk, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(tenant.as_str())
        .bind(&kid)
        .bind(sealed)
        .bind(jwk.to_string())
        .bind(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
        .execute(&self.pool)
        .await?;
        tracing::info!(tenant = %tenant, kid = %kid, "created a signing key");
        Ok(())
    }
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
