-- +goose Up
-- The payment method a gateway payment was taken with (gateway.MethodPayPal
-- for a payment approved in PayPal; the card method chosen on a hosted page
-- that offered PayPal too). '' for a card payment of a job that offered
-- cards only: its payment methods are the job's.
ALTER TABLE gateway_payments ADD COLUMN payment_method TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE gateway_payments DROP COLUMN payment_method;
