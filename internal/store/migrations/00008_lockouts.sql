-- +goose Up
-- Lock-outs that a stranger cannot trigger (issue 7 §2) and the gateway's
-- refusal of body-less writes under the plain Hash scheme (issue 7 §3).

-- Refuse body-less writes (the cancel PATCHes) signed with the plain Hash:
-- every body-less request carries the same Hash, SHA-512 of the key alone.
ALTER TABLE gateway_settings ADD COLUMN require_hmac_bodyless BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE gateway_settings DROP COLUMN require_hmac_bodyless;
