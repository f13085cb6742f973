-- +goose Up
-- The cashier (internal/cashier, seed 002): a Platform's customers deposit
-- and withdraw through PSPs. Amounts are minor units (BIGINT) of the row's
-- currency; timestamps BIGINT Unix microseconds UTC (0: not yet). Money is
-- in the ledger (tenant scope); these rows are the state machines.

-- A tenant's answers to the seed's questions (a JSON object, see
-- cashier.Settings) and the secret its callbacks are signed with (sealed
-- with a key derived from the KEK).
CREATE TABLE cashier_settings (
    tenant_id              TEXT PRIMARY KEY REFERENCES tenants (id),
    settings               TEXT NOT NULL,
    callback_secret_sealed TEXT NOT NULL,
    updated_at             BIGINT NOT NULL
);

-- The Platform's customers, kept in sync by its CRM (PUT …/customers/{id}).
-- A limit of 0 is no limit.
CREATE TABLE cashier_customers (
    tenant_id     TEXT NOT NULL REFERENCES tenants (id),
    id            TEXT NOT NULL,                 -- the Platform's customer id
    name          TEXT NOT NULL,
    email         TEXT NOT NULL,
    country       TEXT NOT NULL CHECK (length(country) = 2),
    currency      TEXT NOT NULL CHECK (length(currency) = 3),
    status        TEXT NOT NULL CHECK (status IN ('active', 'blocked')),
    kyc_level     INTEGER NOT NULL CHECK (kyc_level >= 0),
    max_deposit   BIGINT NOT NULL DEFAULT 0 CHECK (max_deposit >= 0),
    daily_deposit BIGINT NOT NULL DEFAULT 0 CHECK (daily_deposit >= 0),
    max_payout    BIGINT NOT NULL DEFAULT 0 CHECK (max_payout >= 0),
    daily_payout  BIGINT NOT NULL DEFAULT 0 CHECK (daily_payout >= 0),
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

-- created → pending → authorised → captured | voided; created|pending →
-- declined | failed; created → authorised | captured (synchronous PSPs);
-- captured → refunded.
CREATE TABLE cashier_deposits (
    id              TEXT PRIMARY KEY,            -- "cdp_…"
    tenant_id       TEXT NOT NULL REFERENCES tenants (id),
    customer_id     TEXT NOT NULL,
    psp             TEXT NOT NULL,
    channel         TEXT NOT NULL CHECK (channel IN ('api', 'cashier', 'moto', 'offline')),
    amount          BIGINT NOT NULL CHECK (amount > 0),
    captured_amount BIGINT NOT NULL DEFAULT 0 CHECK (captured_amount >= 0 AND captured_amount <= amount),
    currency        TEXT NOT NULL CHECK (length(currency) = 3),
    status          TEXT NOT NULL CHECK (status IN ('created', 'pending', 'authorised', 'captured', 'voided', 'declined', 'failed', 'refunded')),
    reference       TEXT NOT NULL DEFAULT '',    -- the Platform's reference, unique per tenant when given
    session_id      TEXT NOT NULL DEFAULT '',
    psp_reference   TEXT NOT NULL DEFAULT '',    -- the PSP's id (the bank transfer's reference)
    hold_id         TEXT NOT NULL DEFAULT '',    -- the ledger hold of an authorisation
    reason          TEXT NOT NULL DEFAULT '',    -- why declined, failed or voided
    payer           TEXT NOT NULL DEFAULT '',    -- masked card, wallet account number, bank reference
    agent           TEXT NOT NULL DEFAULT '',    -- the back-office agent of a MOTO or offline deposit
    return_url      TEXT NOT NULL DEFAULT '',    -- where the customer's browser returns after 3-D Secure
    psp_seq         BIGINT NOT NULL DEFAULT 0,   -- the last PSP notification applied
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    authorised_at   BIGINT NOT NULL DEFAULT 0,
    captured_at     BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX cashier_deposits_list ON cashier_deposits (tenant_id, created_at, id);
CREATE INDEX cashier_deposits_customer ON cashier_deposits (tenant_id, customer_id, created_at, id);
CREATE INDEX cashier_deposits_status ON cashier_deposits (tenant_id, status, created_at, id);
CREATE UNIQUE INDEX cashier_deposits_reference ON cashier_deposits (tenant_id, reference) WHERE reference <> '';
CREATE INDEX cashier_deposits_session ON cashier_deposits (session_id) WHERE session_id <> '';
CREATE UNIQUE INDEX cashier_deposits_psp_ref ON cashier_deposits (psp, psp_reference) WHERE psp_reference <> '';

-- requested → approved | rejected; approved → processing → paid | failed | returned.
CREATE TABLE cashier_payouts (
    id            TEXT PRIMARY KEY,              -- "cpo_…"
    tenant_id     TEXT NOT NULL REFERENCES tenants (id),
    customer_id   TEXT NOT NULL,
    psp           TEXT NOT NULL,
    channel       TEXT NOT NULL CHECK (channel IN ('api', 'cashier')),
    amount        BIGINT NOT NULL CHECK (amount > 0),
    currency      TEXT NOT NULL CHECK (length(currency) = 3),
    status        TEXT NOT NULL CHECK (status IN ('requested', 'approved', 'rejected', 'processing', 'paid', 'failed', 'returned')),
    reference     TEXT NOT NULL DEFAULT '',
    session_id    TEXT NOT NULL DEFAULT '',
    destination   TEXT NOT NULL DEFAULT '{}',    -- JSON: the PSP's account of the customer
    from_balance  BIGINT NOT NULL CHECK (from_balance >= 0),  -- taken from the customer's balance
    from_platform BIGINT NOT NULL CHECK (from_platform >= 0), -- and from the Platform's funds (CRM authority)
    psp_reference TEXT NOT NULL DEFAULT '',
    batch_id      TEXT NOT NULL DEFAULT '',      -- the pain.001 file of a bank payout
    reason        TEXT NOT NULL DEFAULT '',      -- why rejected, failed or returned
    decided_by    TEXT NOT NULL DEFAULT '',      -- the agent who approved or rejected it
    attempts      INTEGER NOT NULL DEFAULT 0,    -- calls to the PSP
    psp_seq       BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    decided_at    BIGINT NOT NULL DEFAULT 0,
    paid_at       BIGINT NOT NULL DEFAULT 0,
    CHECK (from_balance + from_platform = amount)
);
CREATE INDEX cashier_payouts_list ON cashier_payouts (tenant_id, created_at, id);
CREATE INDEX cashier_payouts_customer ON cashier_payouts (tenant_id, customer_id, created_at, id);
CREATE INDEX cashier_payouts_status ON cashier_payouts (tenant_id, status, created_at, id);
CREATE INDEX cashier_payouts_batch ON cashier_payouts (tenant_id, batch_id) WHERE batch_id <> '';
CREATE UNIQUE INDEX cashier_payouts_reference ON cashier_payouts (tenant_id, reference) WHERE reference <> '';

-- Cashier sessions: an order (deposit or payout, fixed or free amount) the
-- customer completes on the hosted cashier; the URL's token is kept hashed.
CREATE TABLE cashier_sessions (
    id              TEXT PRIMARY KEY,            -- "css_…"
    token_hash      TEXT NOT NULL UNIQUE,
    tenant_id       TEXT NOT NULL REFERENCES tenants (id),
    customer_id     TEXT NOT NULL,
    intent          TEXT NOT NULL CHECK (intent IN ('deposit', 'payout')),
    amount          BIGINT NOT NULL CHECK (amount >= 0),  -- 0: free
    currency        TEXT NOT NULL CHECK (length(currency) = 3),
    order_reference TEXT NOT NULL,
    return_url      TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL CHECK (status IN ('open', 'completed')),
    object_id       TEXT NOT NULL DEFAULT '',    -- the deposit or payout that completed it
    expires_at      BIGINT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE UNIQUE INDEX cashier_sessions_order ON cashier_sessions (tenant_id, intent, order_reference);

-- A card deposit waiting for its 3-D Secure challenge (the card in the vault).
CREATE TABLE cashier_challenges (
    token_hash  TEXT PRIMARY KEY,
    deposit_id  TEXT NOT NULL REFERENCES cashier_deposits (id),
    tenant_id   TEXT NOT NULL,
    card_id     TEXT NOT NULL,
    cvc_result  TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX cashier_challenges_deposit ON cashier_challenges (deposit_id);

-- PSP notifications received, once each (a duplicate changes nothing).
CREATE TABLE cashier_notifications (
    psp             TEXT NOT NULL,
    notification_id TEXT NOT NULL,
    tenant_id       TEXT NOT NULL,
    object_id       TEXT NOT NULL,
    status          TEXT NOT NULL,
    outcome         TEXT NOT NULL CHECK (outcome IN ('applied', 'ignored')),
    received_at     BIGINT NOT NULL,
    PRIMARY KEY (psp, notification_id)
);

-- The simulated external PSP's own books: one operation per merchant
-- reference (a deposit or payout asked twice is one operation).
CREATE TABLE cashier_sim_ops (
    id           TEXT PRIMARY KEY,               -- the PSP's reference "sim_…"
    tenant_id    TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('deposit', 'payout')),
    merchant_ref TEXT NOT NULL,
    amount       BIGINT NOT NULL,
    currency     TEXT NOT NULL,
    status       TEXT NOT NULL,
    calls        INTEGER NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL,
    UNIQUE (tenant_id, kind, merchant_ref)
);

-- What back-office agents did (Agent API), newest first per tenant.
CREATE TABLE cashier_audit (
    id         TEXT PRIMARY KEY,                 -- "cau_…"
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    agent_id   TEXT NOT NULL,
    agent      TEXT NOT NULL,                    -- the admin user's username
    action     TEXT NOT NULL,
    object_id  TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX cashier_audit_list ON cashier_audit (tenant_id, created_at, id);

-- +goose Down
DROP TABLE cashier_audit;
DROP TABLE cashier_sim_ops;
DROP TABLE cashier_notifications;
DROP TABLE cashier_challenges;
DROP TABLE cashier_sessions;
DROP TABLE cashier_payouts;
DROP TABLE cashier_deposits;
DROP TABLE cashier_customers;
DROP TABLE cashier_settings;
