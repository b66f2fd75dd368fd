//! The master key and what is derived from it: the pepper of client-secret hashes, the blind
//! indexes of personal data, and the AEAD that seals private keys and data keys at rest.
//! Nothing here ever logs or prints key material.
//!
//! The master key comes from `TENANCY_MASTER_KEY` (32 bytes, base64 or hex) or from a key
//! file; for the embedded SQLite default the file sits beside the database and is generated
//! on first start. Losing it makes sealed keys and client secrets unusable.

use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit as _, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use rand::RngCore;
use rand::rngs::OsRng;
use sha2::Sha256;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the master key must be 32 bytes, base64 or hex encoded")]
    Malformed,
    #[error("cannot read or create the master key file {path}: {source}")]
    File { path: PathBuf, source: std::io::Error },
    #[error(
        "no master key: set TENANCY_MASTER_KEY (32 random bytes, base64) or --master-key-file; \
         generate one with `openssl rand -base64 32`"
    )]
    Missing,
    #[error("sealed data cannot be opened with this master key")]
    Unseal,
}

/// 32 bytes of key material. Cloning is cheap and the bytes never print.
#[derive(Clone)]
pub struct MasterKey([u8; 32]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(***)")
    }
}

impl MasterKey {
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let text = text.trim();
        let bytes = hex::decode(text).ok().filter(|b| b.len() == 32).or_else(|| STANDARD.decode(text).ok());
        let bytes: [u8; 32] = bytes.and_then(|b| b.try_into().ok()).ok_or(KeyError::Malformed)?;
        Ok(Self(bytes))
    }

    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// Reads the key file, or creates it (readable by the owner only) when `create` is set.
    pub fn from_file(path: &Path, create: bool) -> Result<Self, KeyError> {
        let file_error = |source| KeyError::File { path: path.to_owned(), source };
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound && create => {
                let key = Self::generate();
                write_private(path, &STANDARD.encode(key.0)).map_err(file_error)?;
                tracing::warn!(
                    path = %path.display(),
                    "generated a new master key; back it up, and set TENANCY_MASTER_KEY in production"
                );
                Ok(key)
            }
            Err(err) => Err(file_error(err)),
        }
    }

    /// A key for one purpose, so that no two uses share key material.
    fn derive(&self, purpose: &str) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Seals `plaintext` with AES-256-GCM, bound to `context` (e.g. the tenant and key id) so
    /// a sealed value cannot be moved to another row.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> String {
        seal_with(&self.derive("tenancy/seal/v1"), context, plaintext)
    }

    pub fn open(&self, context: &str, sealed: &str) -> Result<Vec<u8>, KeyError> {
        open_with(&self.derive("tenancy/seal/v1"), context, sealed)
    }

    /// A stable keyed digest of `value`, for looking personal data up (uniqueness of an email)
    /// without storing it: equal inputs give equal digests, and the digest reveals nothing
    /// without the master key.
    pub fn blind_index(&self, context: &str, value: &str) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.derive("tenancy/blind-index/v1"))
            .expect("HMAC takes keys of any length");
        mac.update(context.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// The stored form of a client secret: HMAC-SHA256 under a pepper derived from the master
    /// key. Client secrets are long random strings, so a fast keyed hash is as strong as a slow
    /// one, and a stolen database alone cannot be used to test guesses.
    pub fn hash_client_secret(&self, secret: &str) -> String {
        format!("hmac-sha256:{}", hex::encode(self.client_secret_mac(secret).finalize().into_bytes()))
    }

    /// Compares in constant time.
    pub fn verify_client_secret(&self, secret: &str, stored: &str) -> bool {
        let Some(expected) = stored.strip_prefix("hmac-sha256:").and_then(|h| hex::decode(h).ok()) else {
            return false;
        };
        self.client_secret_mac(secret).verify_slice(&expected).is_ok()
    }

    /// The stored form of a refresh token: like a client secret's, under its own pepper, and
    /// compared as text (the digest of a random token tells an attacker nothing to aim at).
    pub fn hash_refresh_token(&self, token: &str) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.derive("tenancy/refresh-token/v1"))
            .expect("any key length");
        mac.update(token.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    fn client_secret_mac(&self, secret: &str) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.derive("tenancy/client-secret/v1"))
            .expect("any key length");
        mac.update(secret.as_bytes());
        mac
    }
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

/// AES-256-GCM under `key`, with a random nonce, bound to `context`: base64(nonce ‖ ciphertext).
pub(crate) fn seal_with(key: &[u8; 32], context: &str, plaintext: &[u8]) -> String {
    let cipher = Aes256Gcm::new(&(*key).into());
    let mut nonce = [0u8; 12];
    OsRng.fill_bytes(&mut nonce);
    let sealed = cipher
        .encrypt(&Nonce::from(nonce), Payload { msg: plaintext, aad: context.as_bytes() })
        .expect("AES-GCM encryption of an in-memory buffer cannot fail");
    let mut out = nonce.to_vec();
    out.extend(sealed);
    STANDARD.encode(out)
}

pub(crate) fn open_with(key: &[u8; 32], context: &str, sealed: &str) -> Result<Vec<u8>, KeyError> {
    let bytes = STANDARD.decode(sealed).map_err(|_| KeyError::Unseal)?;
    if bytes.len() < 12 {
        return Err(KeyError::Unseal);
    }
    let (nonce, ciphertext) = bytes.split_at(12);
    let nonce: [u8; 12] = nonce.try_into().map_err(|_| KeyError::Unseal)?;
    Aes256Gcm::new(&(*key).into())
        .decrypt(&Nonce::from(nonce), Payload { msg: ciphertext, aad: context.as_bytes() })
        .map_err(|_| KeyError::Unseal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_secret_verifies_against_its_hash_and_nothing_else() {
        let key = MasterKey::generate();
        let stored = key.hash_client_secret("s3cret");
        assert!(key.verify_client_secret("s3cret", &stored));
        assert!(!key.verify_client_secret("s3cret!", &stored));
        assert!(!MasterKey::generate().verify_client_secret("s3cret", &stored));
    }

    #[test]
    fn sealed_data_opens_only_in_its_context() {
        let key = MasterKey::generate();
        let sealed = key.seal("acme/kid1", b"private");
        assert_eq!(key.open("acme/kid1", &sealed).unwrap(), b"private");
        assert!(key.open("other/kid1", &sealed).is_err());
    }

    #[test]
    fn a_blind_index_is_stable_keyed_and_context_bound() {
        let key = MasterKey::generate();
        assert_eq!(key.blind_index("acme", "a@b.c"), key.blind_index("acme", "a@b.c"));
        assert_ne!(key.blind_index("acme", "a@b.c"), key.blind_index("other", "a@b.c"));
        assert_ne!(key.blind_index("acme", "a@b.c"), MasterKey::generate().blind_index("acme", "a@b.c"));
    }

    #[test]
    fn a_master_key_parses_from_base64_or_hex() {
        let hex = "00".repeat(32);
        assert!(MasterKey::parse(&hex).is_ok());
        assert!(MasterKey::parse(&STANDARD.encode([7u8; 32])).is_ok());
        assert!(MasterKey::parse("short").is_err());
    }

    #[test]
    fn a_master_key_does_not_print() {
        assert_eq!(format!("{:?}", MasterKey::generate()), "MasterKey(***)");
    }
}
