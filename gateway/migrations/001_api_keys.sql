-- API keys: each belongs to a tenant; only the SHA-256 of its secret is kept.
CREATE TABLE api_keys (
    key_id        text PRIMARY KEY CHECK (key_id ~ '^[0-9a-f]{16}$'),
    tenant_id     text NOT NULL,
    name          text NOT NULL DEFAULT '',
    secret_sha256 bytea NOT NULL CHECK (length(secret_sha256) = 32),
    created_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz
);

CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id, created_at);
