-- +goose Up
-- An orderNumber is unique among a tenant's live and paid jobs (Pending,
-- Authorised, Paid), and for recurring children among the children of one
-- parent, instead of among every job ever created: a cancelled or expired
-- job frees its number for a new job of the same order. order_key holds the
-- number while the job holds it (NULL once it is Cancelled or Expired) under
-- the partial unique index below. The old column order_number keeps the
-- numbers of the jobs created before this migration, whose table-wide
-- UNIQUE (tenant_id, order_number) SQLite cannot drop without rebuilding the
-- table; new jobs leave it NULL (their number is in order_json).
ALTER TABLE gateway_jobs ADD COLUMN order_key TEXT;
UPDATE gateway_jobs SET order_key = order_number
    WHERE order_number IS NOT NULL AND status IN ('Pending', 'Authorised', 'Paid');
CREATE UNIQUE INDEX gateway_jobs_order_key ON gateway_jobs (tenant_id, parent_reference, order_key)
    WHERE order_key IS NOT NULL;

-- +goose Down
DROP INDEX gateway_jobs_order_key;
ALTER TABLE gateway_jobs DROP COLUMN order_key;
