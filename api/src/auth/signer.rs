//! The algorithms tenancy signs tokens with (RS256, what Auth0's clients expect; ES256 and
//! EdDSA, chosen per resource server), a private key of each parsed once and kept ready, its
//! public half as a JWK, and JWS compact serialization (RFC 7515 §7.1).
//!
//! Signing here rather than through `jsonwebtoken::encode`: that parses the private key from
//! DER on every token, which for RSA costs as much as the signature itself. Verification stays
//! with `jsonwebtoken` (api/src/auth/tokens.rs).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey};
use p256::ecdsa::signature::Signer as _;
use rand::RngCore;
use rand::rngs::OsRng;
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::signature::{RandomizedSigner, SignatureEncoding};
use rsa::traits::PublicKeyParts;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const RSA_BITS: usize = 2048;

/// An algorithm tenancy signs with, by its JWS name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyAlg {
    Rs256,
    Es256,
    EdDsa,
}

impl KeyAlg {
    pub const ALL: [Self; 3] = [Self::Rs256, Self::Es256, Self::EdDsa];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|alg| alg.as_str() == name)
    }

    pub fn jwt(self) -> Algorithm {
        match self {
            Self::Rs256 => Algorithm::RS256,
            Self::Es256 => Algorithm::ES256,
            Self::EdDsa => Algorithm::EdDSA,
        }
    }

    /// The algorithm for an API's `signing_alg`: its own, or RS256 for the ones tenancy does not
    /// sign with (HS256 and PS256 need what F5 did not build: a per-API secret, PSS).
    pub fn for_api(signing_alg: &str) -> Self {
        Self::parse(signing_alg).unwrap_or(Self::Rs256)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("a signing key cannot be used: {0}")]
pub struct SignerError(String);

fn error(cause: impl std::fmt::Display) -> SignerError {
    SignerError(cause.to_string())
}

/// A private key, ready to sign.
pub enum Signer {
    Rs256(Box<rsa::pkcs1v15::SigningKey<rsa::sha2::Sha256>>),
    Es256(p256::ecdsa::SigningKey),
    EdDsa(ed25519_dalek::SigningKey),
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Signer").field(&self.alg()).finish_non_exhaustive()
    }
}

impl Signer {
    /// A new key and its secret bytes (to seal and store). RSA generation takes a second or
    /// more: call it off the async workers.
    pub fn generate(alg: KeyAlg) -> Result<(Self, Vec<u8>), SignerError> {
        match alg {
            KeyAlg::Rs256 => {
                let private = rsa::RsaPrivateKey::new(&mut OsRng, RSA_BITS).map_err(error)?;
                let der = private.to_pkcs1_der().map_err(error)?.as_bytes().to_vec();
                Ok((Self::Rs256(Box::new(rsa::pkcs1v15::SigningKey::new(private))), der))
            }
            KeyAlg::Es256 => {
                let key = p256::ecdsa::SigningKey::random(&mut OsRng);
                let secret = key.to_bytes().to_vec();
                Ok((Self::Es256(key), secret))
            }
            KeyAlg::EdDsa => {
                let mut seed = [0u8; 32];
                OsRng.fill_bytes(&mut seed);
                Ok((Self::EdDsa(ed25519_dalek::SigningKey::from_bytes(&seed)), seed.to_vec()))
            }
        }
    }

    /// The key `generate` gave these secret bytes for.
    pub fn from_secret(alg: KeyAlg, secret: &[u8]) -> Result<Self, SignerError> {
        Ok(match alg {
            KeyAlg::Rs256 => {
                let private = rsa::RsaPrivateKey::from_pkcs1_der(secret).map_err(error)?;
                Self::Rs256(Box::new(rsa::pkcs1v15::SigningKey::new(private)))
            }
            KeyAlg::Es256 => Self::Es256(p256::ecdsa::SigningKey::from_slice(secret).map_err(error)?),
            KeyAlg::EdDsa => {
                let seed: [u8; 32] = secret.try_into().map_err(|_| error("an Ed25519 seed is 32 bytes"))?;
                Self::EdDsa(ed25519_dalek::SigningKey::from_bytes(&seed))
            }
        })
    }

    pub fn alg(&self) -> KeyAlg {
        match self {
            Self::Rs256(_) => KeyAlg::Rs256,
            Self::Es256(_) => KeyAlg::Es256,
            Self::EdDsa(_) => KeyAlg::EdDsa,
        }
    }

    /// RSA signatures cost about a millisecond of CPU: worth moving off the async workers.
    /// ECDSA and EdDSA cost tens of microseconds, less than the move.
    pub fn is_slow(&self) -> bool {
        matches!(self, Self::Rs256(_))
    }

    /// The public half as a JWK with `kid`, as the JWKS serves it.
    pub fn public_jwk(&self, kid: &str) -> Value {
        let mut jwk = match self {
            Self::Rs256(key) => {
                let public = key.as_ref().as_ref().to_public_key();
                json!({ "kty": "RSA", "n": b64(&public.n().to_bytes_be()), "e": b64(&public.e().to_bytes_be()) })
            }
            Self::Es256(key) => {
                let point = key.verifying_key().to_encoded_point(false);
                let (x, y) = (point.x().map(|x| b64(x)), point.y().map(|y| b64(y)));
                json!({ "kty": "EC", "crv": "P-256", "x": x, "y": y })
            }
            Self::EdDsa(key) => json!({ "kty": "OKP", "crv": "Ed25519", "x": b64(key.verifying_key().as_bytes()) }),
        };
        jwk["use"] = json!("sig");
        jwk["alg"] = json!(self.alg().as_str());
        jwk["kid"] = json!(kid);
        jwk
    }

    /// A JWS in compact serialization: `header.claims.signature`, each base64url.
    pub fn jwt<C: Serialize>(&self, kid: &str, claims: &C) -> Result<String, SignerError> {
        let header = json!({ "typ": "JWT", "alg": self.alg().as_str(), "kid": kid });
        let mut jwt = b64(header.to_string().as_bytes());
        jwt.push('.');
        jwt.push_str(&b64(&serde_json::to_vec(claims).map_err(error)?));
        let signature = match self {
            Self::Rs256(key) => key.sign_with_rng(&mut OsRng, jwt.as_bytes()).to_vec(),
            Self::Es256(key) => {
                let signature: p256::ecdsa::Signature = key.sign(jwt.as_bytes());
                signature.to_bytes().to_vec()
            }
            Self::EdDsa(key) => ed25519_dalek::Signer::sign(key, jwt.as_bytes()).to_bytes().to_vec(),
        };
        jwt.push('.');
        jwt.push_str(&b64(&signature));
        Ok(jwt)
    }
}

/// The key that verifies what the JWK's private half signed, with its algorithm.
pub fn verifying_key(jwk: &Value) -> Result<(KeyAlg, DecodingKey), SignerError> {
    let text = |name: &str| jwk[name].as_str().unwrap_or_default();
    let alg = KeyAlg::parse(text("alg")).ok_or_else(|| error(format!("unknown alg {}", jwk["alg"])))?;
    let key = match alg {
        KeyAlg::Rs256 => DecodingKey::from_rsa_components(text("n"), text("e")),
        KeyAlg::Es256 => DecodingKey::from_ec_components(text("x"), text("y")),
        KeyAlg::EdDsa => DecodingKey::from_ed_components(text("x")),
    };
    Ok((alg, key.map_err(error)?))
}

/// RFC 7638 (RFC 8037 §2 for OKP): SHA-256 over the key type's required members in
/// lexicographic order, without whitespace; base64url. serde_json's maps are ordered, so the
/// JSON text is canonical.
pub fn thumbprint(jwk: &Value) -> String {
    let members: &[&str] = match jwk["kty"].as_str() {
        Some("EC") => &["crv", "kty", "x", "y"],
        Some("OKP") => &["crv", "kty", "x"],
        _ => &["e", "kty", "n"],
    };
    let canonical: serde_json::Map<String, Value> =
        members.iter().map(|m| ((*m).to_owned(), jwk[*m].clone())).collect();
    b64(&Sha256::digest(Value::Object(canonical).to_string().as_bytes()))
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::Validation;

    use super::*;

    /// RFC 7638 §3.1's example key and thumbprint.
    #[test]
    fn the_thumbprint_of_an_rsa_key_is_rfc_7638s() {
        let jwk = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29",
        });
        assert_eq!(thumbprint(&jwk), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    }

    /// RFC 8037 Appendix A.3's example key and thumbprint.
    #[test]
    fn the_thumbprint_of_an_ed25519_key_is_rfc_8037s() {
        let jwk = json!({ "kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" });
        assert_eq!(thumbprint(&jwk), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    }

    #[test]
    fn every_algorithm_signs_what_its_jwk_verifies_and_survives_being_stored() {
        for alg in [KeyAlg::Es256, KeyAlg::EdDsa] {
            let (_, secret) = Signer::generate(alg).unwrap();
            let signer = Signer::from_secret(alg, &secret).unwrap();
            let jwk = signer.public_jwk("kid-1");
            let token = signer.jwt("kid-1", &json!({ "sub": "auth0|1", "exp": 4_000_000_000_i64 })).unwrap();
            let header = jsonwebtoken::decode_header(&token).unwrap();
            assert_eq!((header.alg, header.kid.as_deref()), (alg.jwt(), Some("kid-1")));
            let (verified_alg, key) = verifying_key(&jwk).unwrap();
            assert_eq!(verified_alg, alg);
            let mut validation = Validation::new(alg.jwt());
            validation.validate_aud = false;
            let claims = jsonwebtoken::decode::<Value>(&token, &key, &validation).unwrap().claims;
            assert_eq!(claims["sub"], "auth0|1");
        }
    }
}
