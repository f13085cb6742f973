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

-- GET /remote/v1/payments?status=… (remote.ListFilter.query): replaces
-- (tenant_id, status, created_at).
DROP INDEX remote_payments_status;
CREATE INDEX remote_payments_status ON remote_payments (tenant_id, status, created_at, id);

-- GET /remote/v1/payments?metadata[KEY]=VALUE: the payments with a metadata
-- value newest first, walked from the metadata index itself (a lookup of
-- one orderId no longer walks every payment of the tenant). The payment's
-- created_at is copied into its metadata rows (written with them; a
-- payment's created_at never changes). Replaces (tenant_id, key, value).
ALTER TABLE remote_payment_metadata ADD COLUMN created_at BIGINT NOT NULL DEFAULT 0;
UPDATE remote_payment_metadata SET created_at =
    (SELECT p.created_at FROM remote_payments p WHERE p.id = remote_payment_metadata.payment_id);
DROP INDEX remote_payment_metadata_lookup;
CREATE INDEX remote_payment_metadata_lookup ON remote_payment_metadata (tenant_id, key, value, created_at, payment_id);

-- GET /wallet/app/v1/transactions and /wallet/api/v1/transactions
-- (wallet.TxFilter.query): the movements from the user and those to the
-- user, each newest first, merged. Replace (from_user, created_at) and
-- (to_user, created_at).
DROP INDEX wallet_transactions_from;
CREATE INDEX wallet_transactions_from ON wallet_transactions (from_user, created_at, id);
DROP INDEX wallet_transactions_to;
CREATE INDEX wallet_transactions_to ON wallet_transactions (to_user, created_at, id);

-- GET /platform/events?subject=… (outbox eventsQuery): a subject's events
-- newest first. Replaces (tenant_id, subject).
DROP INDEX events_tenant_subject;
CREATE INDEX events_tenant_subject ON events (tenant_id, subject, created_at, id);

-- GET /platform/webhooks/deliveries?endpoint_id=… (outbox
-- deliveriesQuery): an endpoint's deliveries newest first. Replaces
-- (endpoint_id, created_at).
DROP INDEX webhook_deliveries_endpoint;
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at, id);

-- GET /platform/webhooks/deliveries?event_id=…: the deliveries of one event
-- (one per endpoint subscribed to it, or its callback) newest first. New:
-- no index began with event_id (UNIQUE (endpoint_id, event_id) needs the
-- endpoint, and the deliveries of deleted endpoints stay), so the filter
-- walked all of the tenant's deliveries. With the page's order in it, as
-- otherwise both planners prefer that walk to sorting the few rows.
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id, created_at, id);

-- +goose Down
DROP INDEX webhook_deliveries_event;
DROP INDEX webhook_deliveries_endpoint;
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at);
DROP INDEX events_tenant_subject;
CREATE INDEX events_tenant_subject ON events (tenant_id, subject);
DROP INDEX wallet_transactions_to;
CREATE INDEX wallet_transactions_to ON wallet_transactions (to_user, created_at);
DROP INDEX wallet_transactions_from;
CREATE INDEX wallet_transactions_from ON wallet_transactions (from_user, created_at);
DROP INDEX remote_payment_metadata_lookup;
CREATE INDEX remote_payment_metadata_lookup ON remote_payment_metadata (tenant_id, key, value);
ALTER TABLE remote_payment_metadata DROP COLUMN created_at;
DROP INDEX remote_payments_status;
CREATE INDEX remote_payments_status ON remote_payments (tenant_id, status, created_at);
DROP INDEX ledger_accounts_owner;
DROP INDEX ledger_accounts_tenant;
