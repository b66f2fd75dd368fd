//! `KeyRing`: each tenant's signing keys, created on first use (RS256 at once; ES256 and EdDSA
//! when an API first asks for them), sealed at rest with the master key, and cached in memory
//! once loaded. Each algorithm has its own current key. A rotation adds a key of every algorithm
//! in use that signs from then on while the previous ones keep verifying; a revocation removes
//! a key from verification and from the JWKS. A key's id is its RFC 7638 thumbprint.
//!
//! Every creation and revocation is then recorded in the log (`signing_key.created`,
//! `signing_key.revoked`): the audit trail's account of the keys, and, through the key events'
//! generation ([`KeyEvents`]), what makes every process drop the keys it cached.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use commands::Commands;
use domain::TenantId;
use domain::signing_key::SigningKeyEvent;
use eventstore::sqlx::{self, AnyPool};
use eventstore::{Actor, Metadata};
use jsonwebtoken::DecodingKey;
use projections::read_models::key_events::KeyEvents;
use serde::Serialize;
use serde_json::{Value, json};

use super::signer::{KeyAlg, Signer, SignerError, thumbprint, verifying_key};
use crate::secrets::{KeyError, MasterKey};

#[derive(Debug, thiserror::Error)]
pub enum KeyRingError {
    #[error("signing keys cannot be read: {0}")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Key(#[from] SignerError),
    #[error("a stored signing key cannot be used: {0}")]
    Unusable(String),
    #[error("the signing key's event cannot be recorded: {0}")]
    Record(String),
    #[error(transparent)]
    Sealed(#[from] KeyError),
    #[error("The signing key does not exist.")]
    UnknownKey,
    #[error("The current signing key cannot be revoked; rotate first, then revoke the previous key.")]
    RevokeCurrent,
}

/// One tenant's keys: the current one of each algorithm it signs with, and every one that
/// verifies.
pub struct TenantKeys {
    signing: HashMap<KeyAlg, (String, Signer)>,
    verifying: HashMap<String, (KeyAlg, DecodingKey)>,
    /// `{"keys": [...]}` as served at `/.well-known/jwks.json`.
    pub jwks: Value,
}

impl std::fmt::Debug for TenantKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<&str> = self.verifying.keys().map(String::as_str).collect();
        f.debug_struct("TenantKeys").field("verifying", &kids).finish_non_exhaustive()
    }
}

impl TenantKeys {
    /// The current key of `alg` and its kid.
    pub fn signer(&self, alg: KeyAlg) -> Option<(&str, &Signer)> {
        self.signing.get(&alg).map(|(kid, signer)| (kid.as_str(), signer))
    }

    /// The key `kid` names, with the one algorithm it verifies.
    pub fn verifier(&self, kid: &str) -> Option<&(KeyAlg, DecodingKey)> {
        self.verifying.get(kid)
    }
}

/// A signing key as `GET /api/v2/keys/signing` lists it (Auth0's fields; no certificate: the
/// keys are bare, see the JWKS for the public halves).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SigningKeyView {
    pub kid: String,
    /// The RFC 7638 thumbprint of the public key (the kid, for keys created since F5).
    pub thumbprint: String,
    /// RS256, ES256 or EdDSA.
    pub alg: &'static str,
    /// Signs new tokens (of its algorithm).
    pub current: bool,
    /// Was current before the current one of its algorithm.
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
    alg: KeyAlg,
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

/// The tenant's keys in the order they began signing; of each algorithm, the last one not
/// revoked signs. RFC 3339 timestamps of one format sort as text.
fn by_signing_order(mut rows: Vec<KeyRow>) -> Vec<KeyRow> {
    rows.sort_by(|a, b| (a.signing_since(), &a.kid).cmp(&(b.signing_since(), &b.kid)));
    rows
}

fn current_of(rows: &[KeyRow], alg: KeyAlg) -> Option<&KeyRow> {
    rows.iter().rev().find(|row| row.alg == alg && row.revoked_at.is_none())
}

/// The algorithms the tenant has a current key of.
fn algorithms_of(rows: &[KeyRow]) -> Vec<KeyAlg> {
    KeyAlg::ALL.into_iter().filter(|alg| current_of(rows, *alg).is_some()).collect()
}

#[derive(Debug)]
pub struct KeyRing {
    pool: AnyPool,
    master: MasterKey,
    commands: Commands,
    events: Arc<KeyEvents>,
    /// Each tenant's keys, with the key events' generation they were loaded at.
    cache: RwLock<HashMap<TenantId, (u64, Arc<TenantKeys>)>>,
    /// One key generation at a time in this process: generating is slow and one is enough.
    creating: tokio::sync::Mutex<()>,
}

impl KeyRing {
    pub fn new(pool: AnyPool, master: MasterKey, (commands, events): (Commands, Arc<KeyEvents>)) -> Self {
        Self { pool, master, commands, events, cache: RwLock::default(), creating: tokio::sync::Mutex::new(()) }
    }

    /// The tenant's keys, generating its first RS256 key if it has none.
    pub async fn for_tenant(&self, tenant: &TenantId) -> Result<Arc<TenantKeys>, KeyRingError> {
        self.signing_with(tenant, KeyAlg::Rs256).await
    }

    /// The tenant's keys, with a current key of `alg`, generated if it has none.
    pub async fn signing_with(&self, tenant: &TenantId, alg: KeyAlg) -> Result<Arc<TenantKeys>, KeyRingError> {
        if let Some(keys) = self.cached(tenant).filter(|keys| keys.signer(alg).is_some()) {
            return Ok(keys);
        }
        let _creating = self.creating.lock().await;
        if let Some(keys) = self.cached(tenant).filter(|keys| keys.signer(alg).is_some()) {
            return Ok(keys);
        }
        // Read before the keys: a key event applied meanwhile makes this entry stale, not kept.
        let generation = self.events.generation();
        let mut keys = self.load(tenant).await?;
        if keys.signer(alg).is_none() {
            self.create(tenant, alg, None, system(tenant)).await?;
            keys = self.load(tenant).await?;
        }
        let keys = Arc::new(keys);
        let mut cache = self.cache.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        cache.insert(tenant.clone(), (generation, keys.clone()));
        Ok(keys)
    }

    fn cached(&self, tenant: &TenantId) -> Option<Arc<TenantKeys>> {
        let cache = self.cache.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let generation = self.events.generation();
        cache.get(tenant).filter(|(loaded_at, _)| *loaded_at == generation).map(|(_, keys)| keys.clone())
    }

    async fn rows(&self, tenant: &TenantId) -> Result<Vec<KeyRow>, KeyRingError> {
        type Columns = (String, String, String, String, String, Option<String>, Option<String>);
        let rows: Vec<Columns> = sqlx::query_as(
            "SELECT kid, alg, private_key, public_jwk, created_at, current_since, revoked_at \
             FROM signing_keys WHERE tenant_id = $1",
        )
        .bind(tenant.as_str())
        .fetch_all(&self.pool)
        .await?;
        let mut keys = Vec::with_capacity(rows.len());
        for (kid, alg, private_key, public_jwk, created_at, current_since, revoked_at) in rows {
            let alg =
                KeyAlg::parse(&alg).ok_or_else(|| KeyRingError::Unusable(format!("key {kid}: algorithm {alg}")))?;
            keys.push(KeyRow { kid, alg, private_key, public_jwk, created_at, current_since, revoked_at });
        }
        Ok(by_signing_order(keys))
    }

    async fn load(&self, tenant: &TenantId) -> Result<TenantKeys, KeyRingError> {
        let rows = self.rows(tenant).await?;
        let mut signing = HashMap::new();
        for alg in algorithms_of(&rows) {
            let Some(current) = current_of(&rows, alg) else { continue };
            let secret = self.master.open(&seal_context(tenant, &current.kid), &current.private_key)?;
            signing.insert(alg, (current.kid.clone(), Signer::from_secret(alg, &secret)?));
        }
        let mut verifying = HashMap::new();
        let mut jwks = Vec::new();
        for row in rows.iter().filter(|row| row.revoked_at.is_none()) {
            let jwk: Value =
                serde_json::from_str(&row.public_jwk).map_err(|e| KeyRingError::Unusable(e.to_string()))?;
            verifying.insert(row.kid.clone(), verifying_key(&jwk)?);
            jwks.push(jwk);
        }
        Ok(TenantKeys { signing, verifying, jwks: json!({ "keys": jwks }) })
    }

    /// Every key of the tenant, revoked ones included, in the order they began signing.
    pub async fn list(&self, tenant: &TenantId) -> Result<Vec<SigningKeyView>, KeyRingError> {
        self.for_tenant(tenant).await?;
        let rows = self.rows(tenant).await?;
        let mut views = Vec::with_capacity(rows.len());
        for row in &rows {
            let jwk: Value =
                serde_json::from_str(&row.public_jwk).map_err(|e| KeyRingError::Unusable(e.to_string()))?;
            // Current, previous and until are about the keys of the row's own algorithm.
            let same_alg: Vec<&KeyRow> = rows.iter().filter(|other| other.alg == row.alg).collect();
            let position = same_alg.iter().position(|other| other.kid == row.kid);
            let current = same_alg.iter().rposition(|other| other.revoked_at.is_none());
            views.push(SigningKeyView {
                kid: row.kid.clone(),
                thumbprint: thumbprint(&jwk),
                alg: row.alg.as_str(),
                current: position.is_some() && position == current,
                previous: matches!((position, current), (Some(p), Some(c)) if p + 1 == c),
                current_since: row.signing_since().to_owned(),
                current_until: position.and_then(|p| same_alg.get(p + 1)).map(|next| next.signing_since().to_owned()),
                revoked: row.revoked_at.is_some(),
                revoked_at: row.revoked_at.clone(),
            });
        }
        Ok(views)
    }

    /// Adds a key of every algorithm in use that signs from now on; the previous ones keep
    /// verifying until revoked. Returns the new RS256 key's kid and the log position of the
    /// last `signing_key.created`.
    pub async fn rotate(&self, tenant: &TenantId, metadata: Metadata) -> Result<(String, u64), KeyRingError> {
        self.for_tenant(tenant).await?;
        let _creating = self.creating.lock().await;
        let since = now();
        let (mut rs256, mut position) = (String::new(), 0);
        for alg in algorithms_of(&self.rows(tenant).await?) {
            let (kid, recorded) = self.create(tenant, alg, Some(since.clone()), metadata.clone()).await?;
            position = recorded;
            if alg == KeyAlg::Rs256 {
                rs256 = kid;
            }
        }
        self.forget(tenant);
        Ok((rs256, position))
    }

    /// Stops verifying with `kid` and drops it from the JWKS, and records it. Revoking a revoked
    /// key changes nothing; the current key cannot be revoked. Returns the key and the log
    /// position to wait for (0 when nothing changed).
    pub async fn revoke(
        &self,
        tenant: &TenantId,
        kid: &str,
        metadata: Metadata,
    ) -> Result<(SigningKeyView, u64), KeyRingError> {
        let creating = self.creating.lock().await;
        let rows = self.rows(tenant).await?;
        if !rows.iter().any(|row| row.kid == kid) {
            return Err(KeyRingError::UnknownKey);
        }
        if rows.iter().any(|row| row.kid == kid && current_of(&rows, row.alg).is_some_and(|c| c.kid == kid)) {
            return Err(KeyRingError::RevokeCurrent);
        }
        let revoked = sqlx::query(
            "UPDATE signing_keys SET revoked_at = $3 WHERE tenant_id = $1 AND kid = $2 AND revoked_at IS NULL",
        )
        .bind(tenant.as_str())
        .bind(kid)
        .bind(now())
        .execute(&self.pool)
        .await?;
        self.forget(tenant);
        let position = match revoked.rows_affected() {
            0 => 0,
            _ => self.record(tenant, SigningKeyEvent::Revoked { kid: kid.to_owned() }, metadata).await?,
        };
        drop(creating);
        let views = self.list(tenant).await?;
        let view = views.into_iter().find(|view| view.kid == kid).ok_or(KeyRingError::UnknownKey)?;
        Ok((view, position))
    }

    /// Drops the cached keys of `tenant`: the next use loads them again.
    fn forget(&self, tenant: &TenantId) {
        self.cache.write().unwrap_or_else(std::sync::PoisonError::into_inner).remove(tenant);
    }

    /// Generates, stores and records a key of `alg`; `current_since` (a rotation) makes it that
    /// algorithm's signing key from then on. Returns its kid and the position of its event.
    async fn create(
        &self,
        tenant: &TenantId,
        alg: KeyAlg,
        current_since: Option<String>,
        metadata: Metadata,
    ) -> Result<(String, u64), KeyRingError> {
        let rotation = current_since.is_some();
        let (signer, secret) = tokio::task::spawn_blocking(move || Signer::generate(alg))
            .await
            .map_err(|e| KeyRingError::Unusable(e.to_string()))??;
        let kid = thumbprint(&signer.public_jwk(""));
        let jwk = signer.public_jwk(&kid);
        let sealed = self.master.seal(&seal_context(tenant, &kid), &secret);
        sqlx::query(
            "INSERT INTO signing_keys (tenant_id, kid, alg, private_key, public_jwk, created_at, current_since) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(tenant.as_str())
        .bind(&kid)
        .bind(alg.as_str())
        .bind(sealed)
        .bind(jwk.to_string())
        .bind(now())
        .bind(current_since)
        .execute(&self.pool)
        .await?;
        tracing::info!(tenant = %tenant, kid = %kid, alg = alg.as_str(), "created a signing key");
        let event = SigningKeyEvent::Created { kid: kid.clone(), alg: alg.as_str().to_owned(), rotation };
        let position = self.record(tenant, event, metadata).await?;
        Ok((kid, position))
    }

    async fn record(&self, tenant: &TenantId, event: SigningKeyEvent, metadata: Metadata) -> Result<u64, KeyRingError> {
        self.commands.record_signing_key(tenant, event, metadata).await.map_err(|e| KeyRingError::Record(e.to_string()))
    }
}

/// The actor of a key the ring made on its own (a tenant's first key of an algorithm).
fn system(tenant: &TenantId) -> Metadata {
    let actor = Actor { sub: "system".into(), tenant_id: Some(tenant.to_string()), client_id: None };
    Metadata { actor: Some(actor), ..Metadata::default() }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn seal_context(tenant: &TenantId, kid: &str) -> String {
    format!("{tenant}/{kid}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kid: &str, created_at: &str, current_since: Option<&str>, revoked: bool) -> KeyRow {
        KeyRow {
            kid: kid.into(),
            alg: KeyAlg::Rs256,
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
        assert_eq!(current_of(&rows, KeyAlg::Rs256).map(|r| r.kid.as_str()), Some("b"));
    }

    #[test]
    fn two_first_keys_created_at_once_by_two_processes_agree_on_the_signing_one() {
        let rows = by_signing_order(vec![
            row("y", "2026-11-01T00:00:00.000002Z", None, false),
            row("x", "2026-11-01T00:00:00.000001Z", None, false),
        ]);
        // Both began signing at creation; every process orders them alike and picks the later.
        assert_eq!(current_of(&rows, KeyAlg::Rs256).map(|r| r.kid.as_str()), Some("y"));
    }
}
