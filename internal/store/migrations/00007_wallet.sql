-- +goose Up
-- The e-wallet (internal/wallet, seed 000). All e-money lives in ONE ledger
-- scope, the issuer's (ledger tenant_id 'wallet'): customer wallets, corporate
-- wallets, the issuer's fee revenue, withdrawals in transit and the bank
-- clearing account for the outside world, so that a customer paying a
-- corporate is one balanced entry. The wallet's own rows carry the corporate
-- tenant id where they belong to one. Amounts are EUR cents (BIGINT);
-- timestamps BIGINT Unix microseconds UTC.

-- A wallet user: a private user (customer) or the login of a corporate
-- account. One user has exactly one EUR wallet (its ledger account).
CREATE TABLE wallet_users (
    id            TEXT PRIMARY KEY,                 -- "wus_…"
    username      TEXT NOT NULL UNIQUE,             -- lower-cased
    kind          TEXT NOT NULL CHECK (kind IN ('private', 'corporate')),
    tier          TEXT NOT NULL CHECK (tier IN ('private', 'corporate', 'corporate_plus')),
    tenant_id     TEXT NOT NULL DEFAULT '',         -- the corporate tenant; '' for private users
    account_id    TEXT NOT NULL UNIQUE,             -- ledger account of the wallet
    topup_ref     TEXT NOT NULL UNIQUE,             -- reference to quote on a top-up bank transfer
    password_hash TEXT NOT NULL,                    -- argon2id PHC string (peppered)
    pin_hash      TEXT NOT NULL,                    -- argon2id PHC string (peppered)
    pin_failures  INTEGER NOT NULL DEFAULT 0 CHECK (pin_failures >= 0),
    pin_locked_until BIGINT NOT NULL DEFAULT 0,     -- PIN checks refused until then
    pin_check_until  BIGINT NOT NULL DEFAULT 0,     -- a PIN check is running (one at a time per user) until then
    login_failures INTEGER NOT NULL DEFAULT 0,
    login_locked_until BIGINT NOT NULL DEFAULT 0,
    login_check_until  BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    CHECK ((kind = 'private') = (tenant_id = '')),
    CHECK ((kind = 'private') = (tier = 'private'))
);
CREATE INDEX wallet_users_tenant ON wallet_users (tenant_id);

-- A corporate account: a platform tenant with a wallet user, its bank
-- account, the merchant secret its tokens are built from and its tier.
CREATE TABLE wallet_corporates (
    tenant_id        TEXT PRIMARY KEY REFERENCES tenants (id),
    user_id          TEXT NOT NULL UNIQUE REFERENCES wallet_users (id),
    merchant_id      TEXT NOT NULL UNIQUE,          -- the tenant's business code
    secret_sealed    TEXT NOT NULL,                 -- AES-256-GCM sealed merchant secret (base64)
    company_name     TEXT NOT NULL,
    iban             TEXT NOT NULL,
    bic              TEXT NOT NULL,
    bank_verified    BOOLEAN NOT NULL DEFAULT FALSE,
    verify_code_hash TEXT NOT NULL DEFAULT '',      -- argon2id of the 2-cent transfer's code
    verify_failures  INTEGER NOT NULL DEFAULT 0,
    upgrade_status   TEXT NOT NULL DEFAULT 'none' CHECK (upgrade_status IN ('none', 'requested', 'approved')),
    upgrade_requested_at BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL
);

-- Login sessions of the wallet app: the token is random; only its SHA-256 is kept.
CREATE TABLE wallet_sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES wallet_users (id),
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX wallet_sessions_expiry ON wallet_sessions (expires_at);

-- Conversion rates to EUR: 1 unit of currency = rate EUR (decimal text).
CREATE TABLE wallet_rates (
    currency   TEXT PRIMARY KEY CHECK (length(currency) = 3),
    rate       TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Installation-wide wallet settings (key → value), e.g. sandbox top-ups.
CREATE TABLE wallet_settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Money requests from a merchant (corporate tenant) to a customer.
-- pending → approved | denied | expired; approved → partially_refunded → refunded.
CREATE TABLE wallet_requests (
    id                TEXT PRIMARY KEY,             -- "mrq_…"
    tenant_id         TEXT NOT NULL REFERENCES tenants (id),
    customer_id       TEXT NOT NULL REFERENCES wallet_users (id),
    merchant_user_id  TEXT NOT NULL REFERENCES wallet_users (id),
    order_id          TEXT NOT NULL,                -- the merchant's reference ('' when none)
    description       TEXT NOT NULL,
    amount            BIGINT NOT NULL CHECK (amount > 0),   -- EUR cents the customer pays
    original_amount   BIGINT NOT NULL,              -- in original_currency minor units
    original_currency TEXT NOT NULL,
    rate              TEXT NOT NULL,                -- EUR per unit used ('1' for EUR)
    callback_url      TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'expired', 'partially_refunded', 'refunded')),
    fee               BIGINT NOT NULL DEFAULT 0,    -- receive fee charged to the merchant
    refunded          BIGINT NOT NULL DEFAULT 0 CHECK (refunded >= 0),
    transaction_id    TEXT NOT NULL DEFAULT '',     -- the payment's wallet transaction
    expires_at        BIGINT NOT NULL,
    decided_at        BIGINT NOT NULL DEFAULT 0,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    CHECK (refunded <= amount)
);
CREATE INDEX wallet_requests_customer ON wallet_requests (customer_id, status, created_at);
CREATE INDEX wallet_requests_tenant ON wallet_requests (tenant_id, created_at);

-- Every movement a wallet user sees: top-ups, sends, payments of money
-- requests, refunds, withdrawals. Each is one ledger entry (entry_id) with
-- its fee posting; from_user/to_user are '' for the outside world.
CREATE TABLE wallet_transactions (
    id           TEXT PRIMARY KEY,                  -- "wtx_…"
    kind         TEXT NOT NULL CHECK (kind IN ('topup', 'send', 'payment', 'refund', 'withdrawal', 'verification')),
    -- completed; payouts (withdrawal, verification): requested → exported → paid | returned
    status       TEXT NOT NULL CHECK (status IN ('completed', 'requested', 'exported', 'paid', 'returned')),
    tenant_id    TEXT NOT NULL DEFAULT '',          -- corporate tenant involved ('' when none)
    from_user    TEXT NOT NULL,
    to_user      TEXT NOT NULL,
    amount       BIGINT NOT NULL CHECK (amount > 0), -- EUR cents moved from sender to recipient
    sender_fee   BIGINT NOT NULL DEFAULT 0 CHECK (sender_fee >= 0),    -- paid by from_user on top of amount
    recipient_fee BIGINT NOT NULL DEFAULT 0 CHECK (recipient_fee >= 0), -- deducted from what to_user receives
    description  TEXT NOT NULL,
    request_id   TEXT NOT NULL DEFAULT '',
    reference    TEXT NOT NULL DEFAULT '',          -- bank reference of a top-up (unique) or withdrawal end-to-end id
    iban         TEXT NOT NULL DEFAULT '',          -- withdrawal beneficiary
    bic          TEXT NOT NULL DEFAULT '',
    beneficiary  TEXT NOT NULL DEFAULT '',
    batch_id     TEXT NOT NULL DEFAULT '',          -- pain.001 message id once exported
    return_reason TEXT NOT NULL DEFAULT '',         -- why the bank returned a payout (status returned)
    entry_id     TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX wallet_transactions_from ON wallet_transactions (from_user, created_at);
CREATE INDEX wallet_transactions_to ON wallet_transactions (to_user, created_at);
CREATE INDEX wallet_transactions_payouts ON wallet_transactions (status, created_at) WHERE kind IN ('withdrawal', 'verification');
CREATE UNIQUE INDEX wallet_transactions_topup_ref ON wallet_transactions (reference) WHERE kind = 'topup';

-- Usage counters for the tier limits: per user, period ('2026-11-21' or
-- '2026') and metric, a count and an amount, updated with guarded UPDATEs in
-- the transaction of the movement they count.
CREATE TABLE wallet_usage (
    user_id TEXT NOT NULL,
    period  TEXT NOT NULL,
    metric  TEXT NOT NULL,
    n       BIGINT NOT NULL DEFAULT 0,
    amount  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, period, metric)
);

-- +goose Down
DROP TABLE wallet_usage;
DROP TABLE wallet_transactions;
DROP TABLE wallet_requests;
DROP TABLE wallet_settings;
DROP TABLE wallet_rates;
DROP TABLE wallet_sessions;
DROP TABLE wallet_corporates;
DROP TABLE wallet_users;
