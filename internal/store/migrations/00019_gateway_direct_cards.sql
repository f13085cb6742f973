-- +goose Up
-- A tenant may refuse card details in the API (hosted pages only): the
-- guide's "Direct card payments are not allowed.".
ALTER TABLE gateway_settings ADD COLUMN refuse_direct_cards BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE gateway_settings DROP COLUMN refuse_direct_cards;
