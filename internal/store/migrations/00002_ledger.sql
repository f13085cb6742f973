-- +goose Up
-- The double-entry ledger (internal/ledger). Amounts are signed int64 minor
-- units: every entry's postings sum to zero per currency and an account's
-- posted balance is the sum of its postings, so per currency all balances sum
-- to zero. Clearing accounts for the outside world may go negative
-- (allow_overdraft); wallets and merchant balances may not, which the CHECK
-- below enforces as a backstop to the ledger's guarded updates.

CREATE TABLE ledger_accounts (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    owner           TEXT NOT NULL,
    purpose         TEXT NOT NULL,
    currency        TEXT NOT NULL CHECK (length(currency) = 3),
    allow_overdraft BOOLEAN NOT NULL,
    posted          BIGINT NOT NULL DEFAULT 0,
    pending_out     BIGINT NOT NULL DEFAULT 0, -- reserved by pending holds from this account
    pending_in      BIGINT NOT NULL DEFAULT 0, -- expected by pending holds to this account
    posting_count   BIGINT NOT NULL DEFAULT 0, -- number of postings = the last account_seq
    created_at      BIGINT NOT NULL,
    UNIQUE (tenant_id, owner, purpose, currency),
    CHECK (allow_overdraft OR posted - pending_out >= 0),
    CHECK (pending_out >= 0),
    CHECK (pending_in >= 0)
);

CREATE TABLE ledger_entries (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    kind        TEXT NOT NULL,           -- "transfer", "capture", "fee"…
    reference   TEXT NOT NULL,           -- the caller's reference
    description TEXT NOT NULL,
    hold_id     TEXT,                    -- set when the entry posts (part of) a hold
    created_at  BIGINT NOT NULL
);

CREATE TABLE ledger_postings (
    entry_id      TEXT NOT NULL REFERENCES ledger_entries (id),
    seq           INTEGER NOT NULL,      -- position within the entry
    account_id    TEXT NOT NULL REFERENCES ledger_accounts (id),
    account_seq   BIGINT NOT NULL,       -- 1, 2, 3… per account: statement order and cursor
    currency      TEXT NOT NULL,
    amount        BIGINT NOT NULL CHECK (amount <> 0),
    balance_after BIGINT NOT NULL,       -- the account's posted balance after this posting
    PRIMARY KEY (entry_id, seq),
    UNIQUE (account_id, account_seq)
);

CREATE TABLE ledger_holds (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL,
    kind          TEXT NOT NULL,         -- the kind of the entries that post it
    from_account  TEXT NOT NULL REFERENCES ledger_accounts (id),
    to_account    TEXT NOT NULL REFERENCES ledger_accounts (id),
    currency      TEXT NOT NULL,
    amount        BIGINT NOT NULL CHECK (amount > 0),
    posted_amount BIGINT NOT NULL DEFAULT 0 CHECK (posted_amount >= 0),
    status        TEXT NOT NULL CHECK (status IN ('pending', 'posted', 'voided')),
    reference     TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    CHECK (posted_amount <= amount),
    CHECK (from_account <> to_account)
);

-- +goose Down
DROP TABLE ledger_holds;
DROP TABLE ledger_postings;
DROP TABLE ledger_entries;
DROP TABLE ledger_accounts;
