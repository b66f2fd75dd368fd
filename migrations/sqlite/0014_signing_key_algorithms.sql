-- Signing keys of more than one algorithm (F5): RS256 (every existing key), ES256, EdDSA.
-- Each algorithm a tenant signs with has its own current key; private_key holds the sealed
-- PKCS#1 DER (RS256), the P-256 scalar (ES256) or the Ed25519 seed (EdDSA).
ALTER TABLE signing_keys ADD COLUMN alg TEXT NOT NULL DEFAULT 'RS256';
