-- One data key per person (tenant, subject), wrapping the personal fields of their events.
-- Kept outside the log on purpose: erasing a person deletes this row, after which their
-- fields in the log (ciphertext, still covered by the hash chain) can no longer be read.
CREATE TABLE personal_data_keys (
    tenant_id   TEXT NOT NULL,
    -- The person's stable id (a user id).
    subject     TEXT NOT NULL,
    -- The 32-byte AES key, sealed with a key derived from the master key and bound to
    -- "<tenant_id>/<subject>", base64.
    wrapped_key TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, subject)
);
