-- +goose Up
-- A corporate wallet is a merchant's: every remote payment, widget payment
-- and paid request of its tenant credits it, so its ledger accounts are hot
-- (00037): on PostgreSQL those credits no longer queue on the account row.
-- New corporate wallets are opened hot; this marks the ones opened before.
UPDATE ledger_accounts SET hot = TRUE WHERE tenant_id = 'wallet' AND owner LIKE 'corporate:%' AND purpose = 'wallet';

-- +goose Down
-- Hot is never unmarked (ledger.EnsureAccount): an account may hold
-- unfolded postings, which only a hot account may.
SELECT 1;
