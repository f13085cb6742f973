-- +goose Up
-- The developer portal's remaining parts (seed 001, issue 10): requests per
-- APP key per UTC day, go-live requests an operator approves, the operators
-- of the console, and a developer's production tenant next to the sandbox.

-- Requests per APP key per UTC day ("the APP key is used to track API
-- requests usage and for billing"). Counted in memory by the platform's
-- authentication middleware and added here by a periodic flush (every few
-- seconds and on shutdown), never inside a request's own transaction.
CREATE TABLE app_key_usage (
    key_id    TEXT NOT NULL REFERENCES app_keys (id),
    day       TEXT NOT NULL,                     -- UTC date, YYYY-MM-DD
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    requests  BIGINT NOT NULL CHECK (requests >= 0),
    PRIMARY KEY (key_id, day)
);
CREATE INDEX app_key_usage_tenant ON app_key_usage (tenant_id, day);

-- Operators: whoever runs cashgate, signing in to the console at /operator
-- (created with `cashgate operator create`). Passwords are argon2id hashes
-- of a peppered input, like developers' and admin users'.
CREATE TABLE operators (
    id            TEXT PRIMARY KEY,              -- "opr_…"
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);

-- A developer's production account, created next to the sandbox when an
-- operator approves the go-live request; its first APP key is sealed like
-- the sandbox's. environment is the one the portal's pages show.
ALTER TABLE developers ADD COLUMN production_tenant_id TEXT; -- a tenants id
ALTER TABLE developers ADD COLUMN production_key_id TEXT NOT NULL DEFAULT '';
ALTER TABLE developers ADD COLUMN production_key_sealed TEXT NOT NULL DEFAULT '';
ALTER TABLE developers ADD COLUMN environment TEXT NOT NULL DEFAULT 'sandbox' CHECK (environment IN ('sandbox', 'production'));

-- Go-live requests: a sandbox developer with a business profile and an
-- admin user asks; an operator approves (a production tenant is created) or
-- rejects, with a note the developer sees. One open request per tenant.
CREATE TABLE go_live_requests (
    id                   TEXT PRIMARY KEY,       -- "glr_…"
    developer_id         TEXT NOT NULL REFERENCES developers (id),
    tenant_id            TEXT NOT NULL REFERENCES tenants (id), -- the sandbox
    website              TEXT NOT NULL,
    reason               TEXT NOT NULL,
    status               TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    note                 TEXT NOT NULL DEFAULT '', -- the operator's
    operator_id          TEXT REFERENCES operators (id),
    production_tenant_id TEXT REFERENCES tenants (id),
    created_at           BIGINT NOT NULL,
    decided_at           BIGINT
);
CREATE UNIQUE INDEX go_live_requests_open ON go_live_requests (tenant_id) WHERE status = 'pending';
CREATE INDEX go_live_requests_tenant ON go_live_requests (tenant_id, created_at);
CREATE INDEX go_live_requests_status ON go_live_requests (status, created_at);

-- +goose Down
DROP TABLE go_live_requests;
ALTER TABLE developers DROP COLUMN environment;
ALTER TABLE developers DROP COLUMN production_key_sealed;
ALTER TABLE developers DROP COLUMN production_key_id;
ALTER TABLE developers DROP COLUMN production_tenant_id;
DROP TABLE operators;
DROP TABLE app_key_usage;
