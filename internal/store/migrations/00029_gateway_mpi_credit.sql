-- +goose Up
-- The card gateway's External MPI Provider flag (seed 003's "External 3DS
-- v2 solutions"): the tenant authenticates its card payments with its own
-- 3-D Secure provider and sends the values with each payment job; cashgate
-- runs no challenge of its own, and the Virtual Terminal and payment links
-- (whose pages would) are unavailable. Off by default.
ALTER TABLE gateway_settings ADD COLUMN external_mpi BOOLEAN NOT NULL DEFAULT FALSE;
-- Credit payments (money to a card, payment jobs of type Credit): whether
-- the tenant may make them and its limits per currency, as JSON
-- {"enabled": bool, "limits": {"GBP": {"perPayment": minor, "perDay": minor}}}.
ALTER TABLE gateway_settings ADD COLUMN credit_json TEXT NOT NULL DEFAULT '{}';
-- What a tenant credited (or holds for a credit under way) per currency and
-- local day: the guarded update of its row (total + amount <= the day's
-- limit) keeps concurrent credits within the limit.
CREATE TABLE gateway_credit_days (
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    currency  TEXT NOT NULL,
    day       TEXT NOT NULL,
    total     BIGINT NOT NULL CHECK (total >= 0),
    PRIMARY KEY (tenant_id, currency, day)
);

-- +goose Down
DROP TABLE gateway_credit_days;
ALTER TABLE gateway_settings DROP COLUMN credit_json;
ALTER TABLE gateway_settings DROP COLUMN external_mpi;
