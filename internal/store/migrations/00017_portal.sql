-- +goose Up
-- The web kit (internal/webkit) and the developer portal (internal/portal,
-- seed 001): browser sessions, login throttling, developer accounts, and
-- the business profile created from the portal (CREATE COMPANY) after the
-- sandbox tenant that sign-up creates.

-- Browser sessions of every server-rendered page set (the portal now, the
-- back offices later). The cookie carries a random token; only its SHA-256
-- is kept. A login always opens a new row (no fixation), a logout deletes
-- it, and rows past expires_at are refused and purged.
CREATE TABLE web_sessions (
    token_hash TEXT PRIMARY KEY,                  -- hex SHA-256 of the cookie's token
    kind       TEXT NOT NULL,                     -- who: 'developer' (later: admin users, operators)
    subject_id TEXT NOT NULL,                     -- the developer's id, …
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX web_sessions_subject ON web_sessions (kind, subject_id);
CREATE INDEX web_sessions_expiry ON web_sessions (expires_at);

-- Login throttling: one row per throttle key (e.g. an account from one
-- address, or an account from anywhere). Attempts are counted before the
-- password is checked; the attempt that reaches the limit locks the key.
CREATE TABLE web_login_throttle (
    key          TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0),
    window_start BIGINT NOT NULL,
    locked_until BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX web_login_throttle_window ON web_login_throttle (window_start);

-- Developer accounts of the portal: an e-mail, an argon2id password hash
-- and the sandbox tenant created at sign-up, whose first APP key is kept
-- sealed (AES-256-GCM under a key derived from the KEK) so the Settings
-- page can show it again after the password is re-entered.
CREATE TABLE developers (
    id             TEXT PRIMARY KEY,              -- "dev_…"
    email          TEXT NOT NULL UNIQUE,          -- lower case
    name           TEXT NOT NULL DEFAULT '',
    password_hash  TEXT NOT NULL,                 -- argon2id PHC string (peppered)
    tenant_id      TEXT NOT NULL REFERENCES tenants (id),
    app_key_id     TEXT NOT NULL,                 -- the key sealed below
    app_key_sealed TEXT NOT NULL,                 -- base64 nonce ‖ AES-GCM(APP key)
    created_at     BIGINT NOT NULL
);
CREATE INDEX developers_tenant ON developers (tenant_id);

-- A tenant's business profile exists from profile_created_at on: tenants
-- made by the CLI or the API have one from the start; a developer's sandbox
-- tenant gets one when the developer creates the company.
ALTER TABLE tenants ADD COLUMN profile_created_at BIGINT;
UPDATE tenants SET profile_created_at = created_at;

-- The admin user's name and e-mail (seed 001: the developer's by default).
ALTER TABLE admin_users ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE admin_users ADD COLUMN email TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE admin_users DROP COLUMN email;
ALTER TABLE admin_users DROP COLUMN name;
ALTER TABLE tenants DROP COLUMN profile_created_at;
DROP TABLE developers;
DROP TABLE web_login_throttle;
DROP TABLE web_sessions;
