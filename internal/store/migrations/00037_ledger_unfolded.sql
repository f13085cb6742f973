-- +goose Up
-- Hot accounts (issue 9). An account every payment of a tenant credits (the
-- card scheme's clearing, a merchant's pending balance, a fee account) is
-- marked hot. On PostgreSQL a posting to it that cannot be refused does not
-- update its row: it is kept in ledger_unfolded, which only ever takes
-- inserts, and folded into the account (its posted balance, posting_count
-- and a ledger_postings row with account_seq and balance_after) later, in
-- batches, by the folder or before anything needs the exact row. Its
-- balance is the row's plus its unfolded amounts.
ALTER TABLE ledger_accounts ADD COLUMN hot BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE ledger_unfolded (
    entry_id   TEXT NOT NULL REFERENCES ledger_entries (id),
    seq        INTEGER NOT NULL,      -- the posting's position within the entry
    -- No foreign key to the account: the KEY SHARE lock it would take on the
    -- hot row for every insert is what PostgreSQL turns into multixacts
    -- under load. The invariants check that the account exists.
    account_id TEXT NOT NULL,
    currency   TEXT NOT NULL,
    amount     BIGINT NOT NULL CHECK (amount <> 0),
    PRIMARY KEY (entry_id, seq)
);
CREATE INDEX ledger_unfolded_account ON ledger_unfolded (account_id, entry_id, seq);

-- +goose Down
DROP TABLE ledger_unfolded;
ALTER TABLE ledger_accounts DROP COLUMN hot;
