-- +goose Up
-- Outbox callbacks (internal/outbox, Webhooks.Callback): a delivery of an
-- event to a URL the caller supplies — the card gateway's payment job
-- webhookUrl (seed 003), the e-wallet's merchant callback URL (seed 000) —
-- instead of to one of the tenant's registered endpoints. A callback
-- delivery has endpoint_id = '' and its target in target_url; an endpoint
-- delivery has target_url = '' (its URL is the endpoint's, read at each
-- attempt). UNIQUE (endpoint_id, event_id) thus allows one callback per
-- event, which is what Callback writes (it emits a new event each time).
-- Callbacks share the retry schedule, the attempt log and resend with
-- endpoint deliveries.
ALTER TABLE webhook_deliveries ADD COLUMN target_url TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE webhook_deliveries DROP COLUMN target_url;
