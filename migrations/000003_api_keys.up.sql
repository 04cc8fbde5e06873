-- Only a hash of each key is stored: sha256 of the full key, as lowercase hex. The
-- prefix (the first characters of the key) is kept to show which key is which.
CREATE TABLE api_keys (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id        uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id       uuid REFERENCES users (id) ON DELETE SET NULL,
    name          text NOT NULL CHECK (length(btrim(name)) > 0),
    key_prefix    text NOT NULL CHECK (length(key_prefix) BETWEEN 4 AND 32),
    key_hash      text NOT NULL UNIQUE CHECK (key_hash ~ '^[0-9a-f]{64}$'),
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz,
    last_used_at  timestamptz,
    revoked_at    timestamptz
);

CREATE INDEX api_keys_org_id_idx ON api_keys (org_id);
-- One active key per name in an organisation; revoked keys keep their history.
CREATE UNIQUE INDEX api_keys_active_name_idx ON api_keys (org_id, name) WHERE revoked_at IS NULL;
