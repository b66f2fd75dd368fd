//! `Vault`: personal data in the log as ciphertext, under one data key per person, the keys
//! kept in `personal_data_keys` beside (never inside) the log (DESIGN.md §6).
//!
//! Sealing a field creates the person's key on first use. Erasing a person deletes the key:
//! their fields stay in the log, hash chain intact, but open to `None` from then on.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use domain::TenantId;
use domain::personal::Sealed;
use rand::RngCore;
use rand::rngs::OsRng;
use sqlx::AnyPool;

use crate::keys::{KeyError, MasterKey, open_with, seal_with};

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("personal data keys cannot be read: {0}")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Key(#[from] KeyError),
}

type DataKey = Arc<[u8; 32]>;

#[derive(Debug)]
pub struct Vault {
    pool: AnyPool,
    master: MasterKey,
    /// Unwrapped keys of this process; `erase` removes from here before deleting the row.
    keys: RwLock<HashMap<(TenantId, String), DataKey>>,
}

impl Vault {
    pub fn new(pool: AnyPool, master: MasterKey) -> Self {
        Self { pool, master, keys: RwLock::default() }
    }

    /// Encrypts one personal field of `subject`, creating their data key if they have none.
    pub async fn seal(&self, tenant: &TenantId, subject: &str, plaintext: &str) -> Result<Sealed, VaultError> {
        let key = match self.key(tenant, subject).await? {
            Some(key) => key,
            None => self.create(tenant, subject).await?,
        };
        Ok(Sealed::new(seal_with(&key, &field_context(tenant, subject), plaintext.as_bytes())))
    }

    /// The plaintext of a sealed field, or `None` when the person was erased.
    pub async fn open(&self, tenant: &TenantId, subject: &str, sealed: &Sealed) -> Result<Option<String>, VaultError> {
        let Some(key) = self.key(tenant, subject).await? else { return Ok(None) };
        let bytes = open_with(&key, &field_context(tenant, subject), sealed.as_str())?;
        Ok(Some(String::from_utf8(bytes).map_err(|_| KeyError::Unseal)?))
    }

    /// A keyed digest of a personal value (an email), for uniqueness checks without plaintext.
    pub fn blind_index(&self, tenant: &TenantId, value: &str) -> String {
        self.master.blind_index(tenant.as_str(), value)
    }

    async fn key(&self, tenant: &TenantId, subject: &str) -> Result<Option<DataKey>, VaultError> {
        let id = (tenant.clone(), subject.to_owned());
        if let Some(key) = self.keys.read().unwrap_or_else(std::sync::PoisonError::into_inner).get(&id) {
            return Ok(Some(key.clone()));
        }
        let wrapped: Option<String> =
            sqlx::query_scalar("SELECT wrapped_key FROM personal_data_keys WHERE tenant_id = $1 AND subject = $2")
                .bind(tenant.as_str())
                .bind(subject)
                .fetch_optional(&self.pool)
                .await?;
        let Some(wrapped) = wrapped else { return Ok(None) };
        let bytes = self.master.open(&wrap_context(tenant, subject), &wrapped)?;
        let key: DataKey = Arc::new(bytes.try_into().map_err(|_| KeyError::Unseal)?);
        self.keys.write().unwrap_or_else(std::sync::PoisonError::into_inner).insert(id, key.clone());
        Ok(Some(key))
    }

    /// Stores a new key; if another process stored one first, uses that one.
    async fn create(&self, tenant: &TenantId, subject: &str) -> Result<DataKey, VaultError> {
        let mut key = [0u8; 32];
        OsRng.fill_bytes(&mut key);
        let wrapped = self.master.seal(&wrap_context(tenant, subject), &key);
        sqlx::query(
            "INSERT INTO personal_data_keys (tenant_id, subject, wrapped_key, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tenant_id, subject) DO NOTHING",
        )
        .bind(tenant.as_str())
        .bind(subject)
        .bind(wrapped)
        .bind(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
        .execute(&self.pool)
        .await?;
        self.key(tenant, subject).await?.ok_or(VaultError::Key(KeyError::Unseal))
    }
}

fn wrap_context(tenant: &TenantId, subject: &str) -> String {
    format!("personal-data-key/{tenant}/{subject}")
}

fn field_context(tenant: &TenantId, subject: &str) -> String {
    format!("personal-data/{tenant}/{subject}")
}
