-- +goose Up
-- Refunds return the fee pro rata (issue 7 §6): refunding X of a payment of
-- amount A that cost the merchant fee F gives back F·X/A of the fee, rounded
-- so that the refunds of the whole amount give back exactly F.

-- The receive fee given back to the merchant by the refunds of a money request.
ALTER TABLE wallet_requests ADD COLUMN fee_refunded BIGINT NOT NULL DEFAULT 0 CHECK (fee_refunded >= 0);
-- Refunds: the part of amount the platform's fee account paid (the receive
-- fee's share); from_user paid amount − fee_returned.
ALTER TABLE wallet_transactions ADD COLUMN fee_returned BIGINT NOT NULL DEFAULT 0 CHECK (fee_returned >= 0);
-- The fee taken at settlement, and what refunds gave back of it.
ALTER TABLE gateway_payments ADD COLUMN fee_charged BIGINT NOT NULL DEFAULT 0 CHECK (fee_charged >= 0);
ALTER TABLE gateway_payments ADD COLUMN fee_returned BIGINT NOT NULL DEFAULT 0 CHECK (fee_returned >= 0);

-- +goose Down
ALTER TABLE gateway_payments DROP COLUMN fee_returned;
ALTER TABLE gateway_payments DROP COLUMN fee_charged;
ALTER TABLE wallet_transactions DROP COLUMN fee_returned;
ALTER TABLE wallet_requests DROP COLUMN fee_refunded;
