-- +goose Up
-- The portal's remaining gaps (issue 10).

-- Card settings (seed 003's Cashflows Portal → Configuration → Payment
-- Methods → Card): "Auto Capture Recurring Transactions", a switch of its
-- own for recurring child payments. NULL (every tenant before this
-- migration, and one whose settings never named it) follows auto_capture,
-- as recurring children did before the switch existed.
ALTER TABLE gateway_settings ADD COLUMN auto_capture_recurring BOOLEAN;
-- The payment methods the tenant has enabled (a JSON array of the names
-- supported-payment-methods gives): what the API accepts in
-- paymentMethodsToUse, what supported-payment-methods lists and what the
-- hosted card page offers.
ALTER TABLE gateway_settings ADD COLUMN payment_methods TEXT NOT NULL DEFAULT '["Card","CreditCard"]';

-- A payment link's expiry, copied from its job, so that ?status=Expired
-- finds the links whose expiry has passed before the expiry job marked
-- them (gateway_links_expiry: the tenant's Pending links by expiry).
ALTER TABLE gateway_links ADD COLUMN expires_at BIGINT NOT NULL DEFAULT 0;
UPDATE gateway_links SET expires_at = (SELECT j.expires_at FROM gateway_jobs j WHERE j.reference = gateway_links.job_reference);
CREATE INDEX gateway_links_expiry ON gateway_links (tenant_id, status, expires_at);

-- A new APP key's secret, kept for the one page view after the post that
-- made it (POST-redirect-GET): sealed with AES-GCM under a key derived from
-- the KEK, bound to the browser's session, found by the hash of an
-- unguessable id, deleted when shown and worthless after expires_at.
CREATE TABLE portal_key_reveals (
    id_hash      TEXT PRIMARY KEY,   -- SHA-256 of the id in the redirect
    session_hash TEXT NOT NULL,      -- the developer's session (web_sessions.token_hash)
    developer_id TEXT NOT NULL REFERENCES developers (id),
    key_id       TEXT NOT NULL,
    sealed       TEXT NOT NULL,      -- the key's secret, sealed
    expires_at   BIGINT NOT NULL
);
CREATE INDEX portal_key_reveals_expiry ON portal_key_reveals (expires_at);

-- +goose Down
DROP TABLE portal_key_reveals;
DROP INDEX gateway_links_expiry;
ALTER TABLE gateway_links DROP COLUMN expires_at;
ALTER TABLE gateway_settings DROP COLUMN payment_methods;
ALTER TABLE gateway_settings DROP COLUMN auto_capture_recurring;
