//! Password hashing: argon2id with OWASP's parameters (m = 19 MiB, t = 2, p = 1), run off the
//! async workers because one hash takes tens of milliseconds of CPU by design.
//!
//! At most one hash per core runs at a time; the others wait their turn without a thread. More
//! at once would not finish sooner: they would share the cores, evict each other's 19 MiB
//! from the caches, and let a burst of logins allocate 19 MiB each (a thousand of them, 19 GiB).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::rngs::OsRng;

use domain::settings::PasswordPolicy;
use tokio::sync::{Semaphore, SemaphorePermit};

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("password must be at least {min_length} characters (the tenant's password policy)")]
    TooShort { min_length: u32 },
    #[error("password hashing failed: {0}")]
    Hashing(String),
}

fn argon2() -> Result<Argon2<'static>, PasswordError> {
    let params = Params::new(19 * 1024, 2, 1, None).map_err(|e| PasswordError::Hashing(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// A turn to hash: one per core. Held by the blocking thread that hashes.
async fn turn() -> Result<SemaphorePermit<'static>, PasswordError> {
    static TURNS: std::sync::OnceLock<Semaphore> = std::sync::OnceLock::new();
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
    let turns = TURNS.get_or_init(|| Semaphore::new(cores));
    turns.acquire().await.map_err(|e| PasswordError::Hashing(e.to_string()))
}

/// The PHC string of `password` (`$argon2id$v=19$m=19456,t=2,p=1$…`), if it meets `policy`.
pub async fn hash(password: String, policy: PasswordPolicy) -> Result<String, PasswordError> {
    if password.chars().count() < policy.min_length as usize {
        return Err(PasswordError::TooShort { min_length: policy.min_length });
    }
    let turn = turn().await?;
    tokio::task::spawn_blocking(move || {
        let _turn = turn;
        let salt = SaltString::generate(&mut OsRng);
        argon2()?
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| PasswordError::Hashing(e.to_string()))
    })
    .await
    .map_err(|e| PasswordError::Hashing(e.to_string()))?
}

/// Whether `password` matches the PHC string `phc`, checked off the async workers. Without a
/// hash (no such user, or a user without a password) a fixed hash is checked instead and the
/// answer is no: a login takes as long whether the user exists or not.
pub async fn verify(password: String, phc: Option<String>) -> Result<bool, PasswordError> {
    let turn = turn().await?;
    tokio::task::spawn_blocking(move || {
        // The turn ends when the hash does, on this thread, not when the waiting task is next
        // polled: a busy runtime would otherwise keep a core's turn idle.
        let _turn = turn;
        let argon2 = argon2()?;
        let known = phc.is_some();
        let phc = match phc {
            Some(phc) => phc,
            None => decoy()?.to_owned(),
        };
        let parsed = PasswordHash::new(&phc).map_err(|e| PasswordError::Hashing(e.to_string()))?;
        Ok(argon2.verify_password(password.as_bytes(), &parsed).is_ok() && known)
    })
    .await
    .map_err(|e| PasswordError::Hashing(e.to_string()))?
}

/// A hash of a random password, made once per process.
fn decoy() -> Result<&'static str, PasswordError> {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    if let Some(decoy) = DECOY.get() {
        return Ok(decoy);
    }
    let salt = SaltString::generate(&mut OsRng);
    let hash =
        argon2()?.hash_password(salt.as_str().as_bytes(), &salt).map_err(|e| PasswordError::Hashing(e.to_string()))?;
    Ok(DECOY.get_or_init(|| hash.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_password_hashes_to_argon2id_with_owasp_parameters_and_verifies() {
        let phc = hash("correct horse".into(), PasswordPolicy::default()).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        let parsed = PasswordHash::new(&phc).unwrap();
        assert!(argon2().unwrap().verify_password(b"correct horse", &parsed).is_ok());
        assert!(argon2().unwrap().verify_password(b"wrong horse", &parsed).is_err());
    }

    #[tokio::test]
    async fn verify_accepts_the_password_and_refuses_others_and_missing_hashes() {
        let phc = hash("correct horse".into(), PasswordPolicy::default()).await.unwrap();
        assert!(verify("correct horse".into(), Some(phc.clone())).await.unwrap());
        assert!(!verify("wrong horse".into(), Some(phc)).await.unwrap());
        assert!(!verify("correct horse".into(), None).await.unwrap());
    }

    #[tokio::test]
    async fn a_password_shorter_than_the_policy_is_refused() {
        let policy = PasswordPolicy { min_length: 12 };
        assert!(hash("eleven chars".into(), policy).await.is_ok());
        assert!(matches!(hash("ten chars!".into(), policy).await, Err(PasswordError::TooShort { min_length: 12 })));
    }
}
