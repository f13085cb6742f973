-- +goose Up
-- A remote payment remembers whether a 3-D Secure challenge was ever opened
-- for it, so a payment that never had one (every wallet payment) skips the
-- look-up of challenges to purge when it ends.
ALTER TABLE remote_payments ADD COLUMN challenged BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE remote_payments SET challenged = TRUE WHERE id IN (SELECT payment_id FROM remote_card_challenges);

-- +goose Down
ALTER TABLE remote_payments DROP COLUMN challenged;
