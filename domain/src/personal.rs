//! `Sealed`: a personal field as events carry it — ciphertext under the person's data key,
//! never plaintext, so that erasing the key erases the field without rewriting the log.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Sealed(String);

impl Sealed {
    /// Wraps ciphertext produced by the vault; the domain never sees the plaintext.
    pub fn new(ciphertext: impl Into<String>) -> Self {
        Self(ciphertext.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}
