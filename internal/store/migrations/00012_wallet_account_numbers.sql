-- +goose Up
-- Cashii account numbers (seed 004 names wallets by them: from, to,
-- payable_to) and balances in several currencies.

-- A wallet user's account number: 12 digits, 10 random (the first not 0)
-- and 2 ISO 7064 MOD 97-10 check digits (wallet.ValidAccountNumber). New
-- users get theirs when they are created; users that existed before this
-- migration get theirs from the wallet service when it starts (in batches,
-- only where it is NULL), so the column stays nullable. The unique index
-- allows any number of NULLs on both engines and serves the backfill's
-- "IS NULL" lookup.
ALTER TABLE wallet_users ADD COLUMN account_number TEXT;
CREATE UNIQUE INDEX wallet_users_account_number ON wallet_users (account_number);

-- A wallet may hold balances in any currency (one ledger account per user
-- and currency, created when first needed). The seed-000 movements stay in
-- EUR; a sandbox top-up may be in another currency, so a movement records
-- its currency (amounts are minor units of it).
ALTER TABLE wallet_transactions ADD COLUMN currency TEXT NOT NULL DEFAULT 'EUR' CHECK (length(currency) = 3);

-- +goose Down
ALTER TABLE wallet_transactions DROP COLUMN currency;
DROP INDEX wallet_users_account_number;
ALTER TABLE wallet_users DROP COLUMN account_number;
