-- +goose Up
-- Indexes for the lists the APIs page (issue: a page in <= 20 ms with 10
-- million ledger entries). Each list walks an index in its ORDER BY from
-- its scope (tenant, account, user…) and, after a cursor, from the cursor:
-- no whole-table scan, no sort of a tenant's rows. The query plans are
-- checked on both engines by each package's TestListQueryPlans.
--
-- Every index costs every write of its table: where an index served a list
-- but for its tie-breaker column (id), which let the planners prefer
-- another walk, it is replaced rather than joined by a new one. Each block
-- says which list it serves and whether it is new.

-- GET /platform/ledger/accounts (ledger.Accounts): a tenant's accounts in
-- id order after the cursor id, and with ?owner= (also the wallet's
-- balances: one owner's accounts among every wallet's in the issuer's
-- scope) an owner's. Two new indexes, as without the second the owner's
-- list would walk the whole tenant by id; both cost only the insert of an
-- account (once per owner, purpose and currency): postings update balance
-- columns, which no index holds.
CREATE INDEX ledger_accounts_tenant ON ledger_accounts (tenant_id, id);
CREATE INDEX ledger_accounts_owner ON ledger_accounts (tenant_id, owner, id);

-- +goose Down
DROP INDEX ledger_accounts_owner;
DROP INDEX ledger_accounts_tenant;
