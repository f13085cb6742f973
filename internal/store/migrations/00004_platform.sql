-- +goose Up
-- The platform (internal/platform, seed 001): tenants (business profiles),
-- their admin users, APP keys, card-gateway configurations and the
-- Idempotency-Key records shared by every API. Timestamps are BIGINT Unix
-- microseconds UTC; NULL means "never" / "not set".

CREATE TABLE tenants (
    id            TEXT PRIMARY KEY,                 -- "ten_…"
    business_code TEXT NOT NULL UNIQUE,             -- 8 uppercase alphanumerics, shown to humans
    name          TEXT NOT NULL,
    mode          TEXT NOT NULL CHECK (mode IN ('sandbox', 'production')),
    timezone      TEXT NOT NULL,                    -- IANA name, e.g. "Europe/Berlin"
    settings      TEXT NOT NULL DEFAULT '{}',       -- JSON object of tenant settings
    created_at    BIGINT NOT NULL
);

CREATE TABLE admin_users (
    id              TEXT PRIMARY KEY,               -- "usr_…"
    tenant_id       TEXT NOT NULL REFERENCES tenants (id),
    username        TEXT NOT NULL,
    password_hash   TEXT NOT NULL,                  -- argon2id PHC string (peppered)
    pin_hash        TEXT,                           -- argon2id PHC string; NULL = no PIN
    timezone        TEXT NOT NULL,                  -- IANA name; defaults to the tenant's
    failed_attempts INTEGER NOT NULL DEFAULT 0,     -- wrong password/PIN since the last success or lock
    locked_until    BIGINT,                         -- password grant refused until then
    created_at      BIGINT NOT NULL,
    UNIQUE (tenant_id, username)
);

CREATE TABLE app_keys (
    id           TEXT PRIMARY KEY,                  -- "key_<hex>"; the APP key is "cgk_<hex>_<secret>"
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,                     -- non-secret display prefix "cgk_<hex>"
    secret_hash  TEXT NOT NULL,                     -- hex SHA-256 of the secret part (never the secret)
    apis         TEXT NOT NULL,                     -- comma-separated allowed APIs: platform,remote,cashier
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    revoked_at   BIGINT,                            -- may lie in the future: rotation grace period
    last_used_at BIGINT,                            -- updated at most once a minute per key and process
    replaced_by  TEXT                               -- the key that replaced it by rotation
);
CREATE INDEX app_keys_tenant ON app_keys (tenant_id, created_at);

CREATE TABLE gateway_configurations (
    id                    TEXT PRIMARY KEY,         -- numeric string, the gateway's ConfigurationId
    tenant_id             TEXT NOT NULL REFERENCES tenants (id),
    -- The gateway verifies SHA-512(signingKey + body), so it needs the key
    -- itself, not a hash. With a key-encryption key configured the key is
    -- stored AES-256-GCM sealed in signing_key_sealed; without one it is
    -- stored AS IS in signing_key_plaintext. Exactly one of the two is set.
    signing_key_sealed    TEXT,
    signing_key_plaintext TEXT,
    created_at            BIGINT NOT NULL,
    CHECK ((signing_key_sealed IS NULL) <> (signing_key_plaintext IS NULL))
);
CREATE INDEX gateway_configurations_tenant ON gateway_configurations (tenant_id);

CREATE TABLE idempotency_keys (
    tenant_id     TEXT NOT NULL,
    key           TEXT NOT NULL,                    -- the Idempotency-Key header
    method        TEXT NOT NULL,
    path          TEXT NOT NULL,                    -- path and query of the first request
    request_hash  TEXT NOT NULL,                    -- hex SHA-256 of method, path and body
    state         TEXT NOT NULL CHECK (state IN ('in_progress', 'done')),
    status        INTEGER,                          -- set when done
    content_type  TEXT,                             -- the stored response header subset
    response_body BYTEA,                            -- replayed byte for byte
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,                  -- after it, the key may be reused
    PRIMARY KEY (tenant_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- +goose Down
DROP TABLE idempotency_keys;
DROP TABLE gateway_configurations;
DROP TABLE app_keys;
DROP TABLE admin_users;
DROP TABLE tenants;
