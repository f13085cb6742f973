-- +goose Up
-- The card gateway (seed 003, internal/gateway): payment jobs, their payments
-- with steps, captures and refunds; per-tenant gateway settings; request
-- authentication lock-out; the card vault (internal/card).
--
-- Amounts are minor units of the job's currency. Money invariants are held
-- by CHECK constraints and guarded updates (captured + $1 <= authorised,
-- refunded + $1 <= captured); every money movement is a ledger entry written
-- in the same transaction.

CREATE TABLE gateway_settings (
    tenant_id            TEXT PRIMARY KEY REFERENCES tenants (id),
    auto_capture         BOOLEAN NOT NULL DEFAULT TRUE,
    fee_basis_points     BIGINT NOT NULL DEFAULT 0 CHECK (fee_basis_points BETWEEN 0 AND 10000),
    fee_fixed_minor      BIGINT NOT NULL DEFAULT 0 CHECK (fee_fixed_minor >= 0),
    return_url_success   TEXT NOT NULL DEFAULT '',
    return_url_failed    TEXT NOT NULL DEFAULT '',
    return_url_cancelled TEXT NOT NULL DEFAULT '',
    webhook_url          TEXT NOT NULL DEFAULT '',
    require_hmac         BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at           BIGINT NOT NULL
);

-- Failed request signatures per configuration and client address
-- (lock_key = configurationId "@" address): after too many within the
-- window that pair is locked until locked_until.
CREATE TABLE gateway_auth_failures (
    lock_key         TEXT PRIMARY KEY,
    failures         INTEGER NOT NULL,
    window_start     BIGINT NOT NULL,
    locked_until     BIGINT NOT NULL DEFAULT 0
);

-- Signatures of the HMAC scheme already accepted: each may be used once.
-- A signature is only valid while its Timestamp is within SignatureSkew of
-- the clock, so a row is needed until then (expires_at) and is purged by the
-- recurring job gateway.purge_signatures afterwards.
CREATE TABLE gateway_seen_signatures (
    signature  TEXT PRIMARY KEY,                -- lower-case hex
    expires_at BIGINT NOT NULL
);
CREATE INDEX gateway_seen_signatures_expires ON gateway_seen_signatures (expires_at);

-- The card vault: a PAN sealed with AES-256-GCM under a per-card data key,
-- itself wrapped with the vault's key-encryption key. Never the CVC.
CREATE TABLE card_vault (
    id           TEXT PRIMARY KEY,               -- "card_…"
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    token        TEXT NOT NULL,                  -- 16-digit token handed to the merchant; '-' || id while not tokenised
    masked_pan   TEXT NOT NULL,                  -- first 6 and last 4 digits: "400000******0002"
    pan_sealed   BYTEA NOT NULL,                 -- nonce || AES-GCM(data key, PAN)
    key_wrapped  BYTEA NOT NULL,                 -- nonce || AES-GCM(KEK, data key)
    expiry_month INTEGER NOT NULL CHECK (expiry_month BETWEEN 1 AND 12),
    expiry_year  INTEGER NOT NULL,
    holder_name  TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    UNIQUE (tenant_id, token)
);

CREATE TABLE gateway_jobs (
    reference         TEXT PRIMARY KEY,          -- 18-digit paymentJobReference
    tenant_id         TEXT NOT NULL REFERENCES tenants (id),
    configuration_id  TEXT NOT NULL,
    trace_reference   TEXT NOT NULL,
    type              TEXT NOT NULL,
    locale            TEXT NOT NULL,
    order_number      TEXT,                      -- NULL when the merchant gave none
    order_json        TEXT NOT NULL,
    methods           TEXT NOT NULL,             -- JSON array, e.g. ["Card"]
    options           TEXT NOT NULL,             -- JSON array of the options given
    flags             TEXT NOT NULL,             -- JSON object
    params_json       TEXT NOT NULL,             -- non-card parameters (return URLs, webhookUrl)
    currency          TEXT NOT NULL,
    amount            BIGINT NOT NULL CHECK (amount >= 0),
    collected         BIGINT NOT NULL DEFAULT 0 CHECK (collected >= 0),
    status            TEXT NOT NULL CHECK (status IN ('Pending', 'Authorised', 'Paid', 'Cancelled', 'Expired')),
    parent_reference  TEXT NOT NULL DEFAULT '',
    expires_at        BIGINT NOT NULL,
    due_at            BIGINT NOT NULL,
    paid_at           BIGINT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    UNIQUE (tenant_id, order_number)
);
CREATE INDEX gateway_jobs_expiry ON gateway_jobs (status, expires_at);

CREATE TABLE gateway_payments (
    reference        TEXT PRIMARY KEY,           -- 18-digit paymentReference
    job_reference    TEXT NOT NULL REFERENCES gateway_jobs (reference),
    tenant_id        TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('Pending', 'Authorised', 'Paid', 'Failed', 'Cancelled', 'Expired', 'Refunded', 'PartiallyRefunded')),
    currency         TEXT NOT NULL,
    amount           BIGINT NOT NULL CHECK (amount >= 0),
    authorised       BIGINT NOT NULL DEFAULT 0 CHECK (authorised >= 0),
    captured         BIGINT NOT NULL DEFAULT 0 CHECK (captured >= 0 AND captured <= authorised),
    refunded         BIGINT NOT NULL DEFAULT 0 CHECK (refunded >= 0 AND refunded <= captured),
    pending_amount   BIGINT NOT NULL DEFAULT 0 CHECK (pending_amount >= 0),  -- captured, not yet settled, not refunded
    settled_amount   BIGINT NOT NULL DEFAULT 0 CHECK (settled_amount >= 0),
    capture_closed   BOOLEAN NOT NULL DEFAULT FALSE,
    first_capture_at BIGINT,
    last_capture_at  BIGINT,
    hold_id          TEXT NOT NULL DEFAULT '',
    moto             BOOLEAN NOT NULL,
    card_id          TEXT NOT NULL DEFAULT '',   -- card_vault id
    masked_pan       TEXT NOT NULL DEFAULT '',
    three_ds         TEXT NOT NULL DEFAULT '',   -- '', 'challenge', 'passed', 'failed'
    cvc_result       TEXT NOT NULL DEFAULT '',   -- the CVC check made when the card arrived (the CVC itself is never stored)
    page_token       TEXT NOT NULL DEFAULT '',   -- the hosted page ref of the action URL (a capability for this payment's page only)
    acquiring        TEXT NOT NULL DEFAULT '{}', -- cashFlowsAcquiringDetails JSON
    txn_id           TEXT NOT NULL DEFAULT '',
    void_txn_id      TEXT NOT NULL DEFAULT '',
    token            TEXT NOT NULL DEFAULT '',
    paid_at          BIGINT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX gateway_payments_job ON gateway_payments (job_reference);
CREATE INDEX gateway_payments_page ON gateway_payments (page_token);
CREATE INDEX gateway_payments_settle ON gateway_payments (tenant_id, pending_amount);

CREATE TABLE gateway_steps (
    reference         TEXT PRIMARY KEY,
    payment_reference TEXT NOT NULL REFERENCES gateway_payments (reference),
    seq               INTEGER NOT NULL,
    action            TEXT NOT NULL,
    status            TEXT NOT NULL,
    amount            BIGINT NOT NULL,
    message           TEXT NOT NULL DEFAULT '',
    created_at        BIGINT NOT NULL,
    UNIQUE (payment_reference, seq)
);

CREATE TABLE gateway_captures (
    reference         TEXT PRIMARY KEY,
    payment_reference TEXT NOT NULL REFERENCES gateway_payments (reference),
    amount            BIGINT NOT NULL CHECK (amount > 0),
    is_final          BOOLEAN NOT NULL,
    status            TEXT NOT NULL,
    txn_id            TEXT NOT NULL,
    created_at        BIGINT NOT NULL
);
CREATE INDEX gateway_captures_payment ON gateway_captures (payment_reference);

CREATE TABLE gateway_refunds (
    reference         TEXT PRIMARY KEY,
    payment_reference TEXT NOT NULL REFERENCES gateway_payments (reference),
    refund_number     TEXT NOT NULL,
    amount            BIGINT NOT NULL CHECK (amount > 0),
    status            TEXT NOT NULL,
    txn_id            TEXT NOT NULL,
    created_at        BIGINT NOT NULL
);
CREATE INDEX gateway_refunds_payment ON gateway_refunds (payment_reference);

-- +goose Down
DROP TABLE gateway_refunds;
DROP TABLE gateway_captures;
DROP TABLE gateway_steps;
DROP TABLE gateway_payments;
DROP TABLE gateway_jobs;
DROP TABLE card_vault;
DROP TABLE gateway_seen_signatures;
DROP TABLE gateway_auth_failures;
DROP TABLE gateway_settings;
