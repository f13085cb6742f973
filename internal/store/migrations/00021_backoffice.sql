-- +goose Up
-- The merchant back office (internal/backoffice, issue 10): the roles of a
-- tenant's admin users, the audit log of every back-office action, and the
-- indexes of the unified payments list and the home page's figures.

-- An admin user is an owner (everything, including settings and users) or
-- an agent (payments and their actions; settings read-only). The users that
-- exist (CREATE ADMIN USER, `cashgate tenant create`) are owners.
ALTER TABLE admin_users ADD COLUMN role TEXT NOT NULL DEFAULT 'owner' CHECK (role IN ('owner', 'agent'));

-- Who did what, when, from which address: one row per back-office action,
-- written in the same transaction as the action's effects. Never updated.
CREATE TABLE office_audit (
    id          TEXT PRIMARY KEY,               -- "aud_…"
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    user_id     TEXT NOT NULL,                  -- the admin user ("usr_…")
    username    TEXT NOT NULL,                  -- as it was then
    action      TEXT NOT NULL,                  -- e.g. "gateway.refund", "office.sign_in"
    subject     TEXT NOT NULL DEFAULT '',       -- what it was done to (a payment's reference…)
    detail      TEXT NOT NULL DEFAULT '',       -- e.g. "5.00 GBP"
    remote_addr TEXT NOT NULL,                  -- the connection's address
    created_at  BIGINT NOT NULL
);
-- The audit page: a tenant's rows newest first.
CREATE INDEX office_audit_tenant ON office_audit (tenant_id, created_at, id);

-- The unified payments list (newest first, by status, by order number) and
-- the home page's figures (a tenant's payments of the last 30 days). Each
-- walks one of these from the tenant's scope; the plans are checked on both
-- engines by the products' TestListQueryPlans.
CREATE INDEX gateway_jobs_tenant ON gateway_jobs (tenant_id, created_at, reference);
CREATE INDEX gateway_jobs_tenant_status ON gateway_jobs (tenant_id, status, created_at, reference);
CREATE INDEX gateway_jobs_tenant_order ON gateway_jobs (tenant_id, order_number, created_at, reference);
CREATE INDEX gateway_payments_tenant_created ON gateway_payments (tenant_id, created_at);
-- Replaces (tenant_id, created_at): the list's tie-breaker joins it.
DROP INDEX wallet_requests_tenant;
CREATE INDEX wallet_requests_tenant ON wallet_requests (tenant_id, created_at, id);
CREATE INDEX wallet_requests_tenant_status ON wallet_requests (tenant_id, status, created_at, id);
CREATE INDEX wallet_requests_tenant_order ON wallet_requests (tenant_id, order_id, created_at, id);

-- +goose Down
DROP INDEX wallet_requests_tenant_order;
DROP INDEX wallet_requests_tenant_status;
DROP INDEX wallet_requests_tenant;
CREATE INDEX wallet_requests_tenant ON wallet_requests (tenant_id, created_at);
DROP INDEX gateway_payments_tenant_created;
DROP INDEX gateway_jobs_tenant_order;
DROP INDEX gateway_jobs_tenant_status;
DROP INDEX gateway_jobs_tenant;
DROP TABLE office_audit;
ALTER TABLE admin_users DROP COLUMN role;
