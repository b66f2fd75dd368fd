-- Per-tenant token signing keys. Deliberately not in the log: a private key must never reach
-- an export, a replay or Kafka. F5 adds rotation and revocation as events about these rows.
CREATE TABLE signing_keys (
    tenant_id   TEXT NOT NULL,
    kid         TEXT NOT NULL,
    -- The RSA private key (PKCS#1 DER), sealed with AES-256-GCM under a key derived from the
    -- master key and bound to "<tenant_id>/<kid>", base64.
    private_key TEXT NOT NULL,
    -- The public half as a JWK (JSON text), as /.well-known/jwks.json serves it.
    public_jwk  TEXT NOT NULL,
    -- RFC 3339; the oldest key of a tenant signs (two processes may race to create one).
    created_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, kid)
);
