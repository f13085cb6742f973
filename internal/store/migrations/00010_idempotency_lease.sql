-- +goose Up
-- Idempotency records survive crashes: a claim holds its key only for a short
-- lease (a process that died frees it), identified by a claim token that the
-- handler's own transaction must still match when it stores the answer, and
-- stored bodies are sealed under the key-encryption key (they may carry
-- secrets: new APP keys, webhook secrets, session tokens).
ALTER TABLE idempotency_keys ADD COLUMN claim_token TEXT NOT NULL DEFAULT '';
ALTER TABLE idempotency_keys ADD COLUMN lease_until BIGINT NOT NULL DEFAULT 0;
ALTER TABLE idempotency_keys ADD COLUMN sealed BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE idempotency_keys DROP COLUMN sealed;
ALTER TABLE idempotency_keys DROP COLUMN lease_until;
ALTER TABLE idempotency_keys DROP COLUMN claim_token;
