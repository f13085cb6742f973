-- +goose Up
-- Remote payments paid by card on the hosted page (internal/remote): a card
-- enrolled in 3-D Secure waits for its challenge here, with the card kept
-- in the vault (card_vault, encrypted) until the challenge ends.
CREATE TABLE remote_card_challenges (
    token      TEXT PRIMARY KEY,                  -- random, in the challenge page's form
    payment_id TEXT NOT NULL REFERENCES remote_payments (id),
    card_id    TEXT NOT NULL,                     -- card_vault id (tenant of the payment)
    masked_pan TEXT NOT NULL,
    cvc_result TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX remote_card_challenges_payment ON remote_card_challenges (payment_id);

-- +goose Down
DROP TABLE remote_card_challenges;
