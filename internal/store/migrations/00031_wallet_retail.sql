-- +goose Up
-- A retail money request (wallet.MoneyRequestSpec.Retail): made at a shop
-- till, with a short time frame (wallet.Config.RetailTimeFrame, default 5
-- minutes) and no callback URL required; the merchant polls its status.
-- callback_url is '' when a retail request has none.
ALTER TABLE wallet_requests ADD COLUMN retail BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE wallet_requests DROP COLUMN retail;
