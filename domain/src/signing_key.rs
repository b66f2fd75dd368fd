//! Signing keys' lifecycle as the log records it: facts, not decisions. The keys themselves
//! (private halves sealed with the master key) live in the `signing_keys` table and never in the
//! log; the rules (the current key of an algorithm cannot be revoked) are the key ring's, which
//! decides on that table. These events make each key's creation and revocation part of the audit
//! trail, and tell every server process to drop the keys and verified tokens it cached.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum SigningKeyEvent {
    /// A key was generated: the tenant's first of its algorithm, or by a rotation (it signs
    /// from now on, the previous ones keep verifying).
    #[serde(rename = "signing_key.created")]
    Created { kid: String, alg: String, rotation: bool },
    /// A key stopped verifying and left the JWKS.
    #[serde(rename = "signing_key.revoked")]
    Revoked { kid: String },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{decode, encode};

    #[test]
    fn a_revocation_is_stored_under_its_dotted_name_and_reads_back() {
        let revoked = SigningKeyEvent::Revoked { kid: "NzbLsXh8uDCcd".into() };
        let (event_type, payload) = encode(&revoked).unwrap();
        assert_eq!(event_type, "signing_key.revoked");
        assert_eq!(decode::<SigningKeyEvent>(&event_type, &payload).unwrap(), revoked);
    }
}
