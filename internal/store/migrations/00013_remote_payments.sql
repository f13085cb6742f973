-- +goose Up
-- Remote payments (internal/remote, seed 004): a merchant's backend creates
-- a payment request; the user pays it on the hosted page /pay/{id} with a
-- cashgate wallet or a card. Amounts are minor units of the payment's
-- currency (BIGINT); timestamps BIGINT Unix microseconds UTC (0: not yet).
--
-- pending → paid | canceled | rejected;  rejected → paid | canceled | rejected
-- (a rejected attempt leaves the payment payable until it expires);
-- paid → refunded (when refunds reach the amount).
CREATE TABLE remote_payments (
    id             TEXT PRIMARY KEY,              -- 16 random digits, never reused
    tenant_id      TEXT NOT NULL REFERENCES tenants (id),
    amount         BIGINT NOT NULL CHECK (amount > 0),
    currency       TEXT NOT NULL CHECK (length(currency) = 3),
    note           TEXT NOT NULL DEFAULT '',
    metadata       TEXT NOT NULL DEFAULT '{}',    -- the JSON object as given (compacted)
    status         TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'canceled', 'rejected', 'refunded')),
    to_account     TEXT NOT NULL,                 -- the merchant's wallet account number (credited)
    payable_to     TEXT NOT NULL DEFAULT '',      -- only this wallet account may pay ('' anyone)
    from_account   TEXT NOT NULL DEFAULT '',      -- the payer's account number, or the masked card
    method         TEXT NOT NULL DEFAULT '' CHECK (method IN ('', 'wallet', 'card')),
    redirect_url   TEXT NOT NULL DEFAULT '',
    reject_reason  TEXT NOT NULL DEFAULT '',      -- why the last attempt was rejected
    cancel_reason  TEXT NOT NULL DEFAULT '',      -- 'merchant' or 'expired'
    refunded_amount BIGINT NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0 AND refunded_amount <= amount),
    ledger_entry   TEXT NOT NULL DEFAULT '',      -- the payment's ledger entry once paid
    expires_at     BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    paid_at        BIGINT NOT NULL DEFAULT 0,
    canceled_at    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX remote_payments_list ON remote_payments (tenant_id, created_at, id);
CREATE INDEX remote_payments_status ON remote_payments (tenant_id, status, created_at);

-- The top-level scalar values of a payment's metadata, for the list filter
-- metadata[key]=value (strings as they are, numbers and booleans as JSON).
CREATE TABLE remote_payment_metadata (
    payment_id TEXT NOT NULL REFERENCES remote_payments (id),
    tenant_id  TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    PRIMARY KEY (payment_id, key)
);
CREATE INDEX remote_payment_metadata_lookup ON remote_payment_metadata (tenant_id, key, value);

-- Refunds of a paid remote payment (full or partial).
CREATE TABLE remote_refunds (
    id           TEXT PRIMARY KEY,                -- "rrf_…"
    payment_id   TEXT NOT NULL REFERENCES remote_payments (id),
    tenant_id    TEXT NOT NULL,
    amount       BIGINT NOT NULL CHECK (amount > 0),
    reason       TEXT NOT NULL DEFAULT '',
    ledger_entry TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX remote_refunds_payment ON remote_refunds (payment_id, created_at);

-- Every attempt to pay (accepted or rejected), for the merchant's support
-- and the page's "try again".
CREATE TABLE remote_attempts (
    id         TEXT PRIMARY KEY,                  -- "rat_…"
    payment_id TEXT NOT NULL REFERENCES remote_payments (id),
    method     TEXT NOT NULL CHECK (method IN ('wallet', 'card')),
    payer      TEXT NOT NULL DEFAULT '',          -- account number or masked card
    outcome    TEXT NOT NULL CHECK (outcome IN ('paid', 'rejected')),
    reason     TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX remote_attempts_payment ON remote_attempts (payment_id, created_at);

-- +goose Down
DROP TABLE remote_attempts;
DROP TABLE remote_refunds;
DROP TABLE remote_payment_metadata;
DROP TABLE remote_payments;
