-- Rotation and revocation of signing keys (POST /api/v2/keys/signing/rotate,
-- PUT /api/v2/keys/signing/{kid}/revoke). RFC 3339 text, like created_at.
-- A key signs from current_since on; the first key of a tenant has none and signs until a
-- rotation. A revoked key neither signs nor verifies, and leaves the JWKS.
ALTER TABLE signing_keys ADD COLUMN current_since TEXT;
ALTER TABLE signing_keys ADD COLUMN revoked_at TEXT;
