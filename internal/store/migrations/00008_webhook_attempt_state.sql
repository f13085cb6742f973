-- +goose Up
-- Webhook attempts in flight at a crash (internal/outbox, delivery.go): an
-- attempt is recorded, in its own committed transaction, before its request
-- is sent (state 'in_flight', with the job whose claim makes it), and
-- completed with the response afterwards. An attempt whose worker died
-- stays 'in_flight' until the next claim of the delivery marks it
-- 'interrupted': the receiver may or may not have got it, and the log
-- counts it either way (it never under-reports attempts). Rows written
-- before this migration were all completed.
ALTER TABLE webhook_attempts ADD COLUMN state TEXT NOT NULL DEFAULT 'completed' CHECK (state IN ('in_flight', 'completed', 'interrupted'));
ALTER TABLE webhook_attempts ADD COLUMN job_id TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE webhook_attempts DROP COLUMN job_id;
ALTER TABLE webhook_attempts DROP COLUMN state;
