-- +goose Up
-- The outbox (internal/outbox): events written in the same transaction as
-- the state change that caused them, the jobs queue the workers claim, and
-- webhook endpoints, deliveries and their attempt log.

-- One row per domain event ("payment.status_changed", …). Never updated.
CREATE TABLE events (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    type       TEXT NOT NULL,
    subject    TEXT NOT NULL DEFAULT '',
    data       TEXT NOT NULL,              -- JSON
    created_at BIGINT NOT NULL
);
CREATE INDEX events_tenant_created ON events (tenant_id, created_at, id);
CREATE INDEX events_tenant_subject ON events (tenant_id, subject);

-- The jobs queue. A job is claimed by setting it running with a lease
-- (locked_by, locked_until); a running job whose lease has expired belongs to
-- a crashed worker and is claimed again.
CREATE TABLE jobs (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    tenant_id    TEXT NOT NULL DEFAULT '',  -- '' for installation-wide jobs
    payload      TEXT NOT NULL,             -- JSON
    run_at       BIGINT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('ready', 'running', 'done', 'failed', 'dead')),
    attempts     INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts INTEGER NOT NULL CHECK (max_attempts >= 1),
    last_error   TEXT NOT NULL DEFAULT '',
    locked_by    TEXT,
    locked_until BIGINT,
    unique_key   TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
-- A scheduled job ("settlement:<tenant>:2026-11-21") is enqueued once.
CREATE UNIQUE INDEX jobs_unique_key ON jobs (unique_key) WHERE unique_key IS NOT NULL;
CREATE INDEX jobs_ready ON jobs (run_at) WHERE state = 'ready';
CREATE INDEX jobs_running ON jobs (locked_until) WHERE state = 'running';

-- Webhook endpoints of a tenant. The signing secret is stored encrypted.
CREATE TABLE webhook_endpoints (
    id                         TEXT PRIMARY KEY,
    tenant_id                  TEXT NOT NULL,
    url                        TEXT NOT NULL,
    description                TEXT NOT NULL DEFAULT '',
    secret                     TEXT NOT NULL,        -- encrypted "whsec_…"
    previous_secret            TEXT NOT NULL DEFAULT '', -- encrypted, still signed with until previous_secret_expires_at
    previous_secret_expires_at BIGINT,
    event_types                TEXT NOT NULL,        -- JSON array of types; "*" = all, "payment.*" = prefix
    enabled                    BOOLEAN NOT NULL,
    created_at                 BIGINT NOT NULL,
    updated_at                 BIGINT NOT NULL
);
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id, created_at);

-- One delivery per (event, endpoint) subscribed to it when it was emitted.
CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL,
    endpoint_id      TEXT NOT NULL,
    event_id         TEXT NOT NULL REFERENCES events (id),
    event_type       TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'succeeded', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    first_attempt_at BIGINT,
    last_attempt_at  BIGINT,
    next_attempt_at  BIGINT,
    last_status      INTEGER,
    last_error       TEXT NOT NULL DEFAULT '',
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_tenant ON webhook_deliveries (tenant_id, created_at, id);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at);

-- The delivery log: one row per attempt.
CREATE TABLE webhook_attempts (
    delivery_id   TEXT NOT NULL REFERENCES webhook_deliveries (id),
    attempt       INTEGER NOT NULL,
    tenant_id     TEXT NOT NULL,
    attempted_at  BIGINT NOT NULL,
    manual        BOOLEAN NOT NULL,
    status_code   INTEGER,                  -- NULL when no response arrived
    response_body TEXT NOT NULL DEFAULT '', -- first 4 KiB, as valid UTF-8
    error         TEXT NOT NULL DEFAULT '',
    duration_ms   BIGINT NOT NULL,
    acknowledged  BOOLEAN NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);

-- +goose Down
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_endpoints;
DROP TABLE jobs;
DROP TABLE events;
