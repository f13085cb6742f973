-- +goose Up
-- The card gateway's customers and their stored cards (seed 003's "Stored
-- card details"): a token stored for a merchant's customer reference, at
-- most max_customer_tokens of them per customer (gateway_settings), listed
-- in supported-payment-methods as tokenizedCards. A token belongs to one
-- customer at most. The card itself stays in card_vault. gateway_customers
-- counts a customer's stored tokens: the guarded update of its row
-- (tokens < the maximum) keeps concurrent tokenisations within the maximum.
CREATE TABLE gateway_customers (
    tenant_id          TEXT NOT NULL REFERENCES tenants (id),
    customer_reference TEXT NOT NULL,
    tokens             INTEGER NOT NULL DEFAULT 0 CHECK (tokens >= 0),
    created_at         BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, customer_reference)
);
CREATE TABLE gateway_customer_tokens (
    tenant_id          TEXT NOT NULL REFERENCES tenants (id),
    customer_reference TEXT NOT NULL,
    token              TEXT NOT NULL,
    card_id            TEXT NOT NULL,
    created_at         BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, token)
);
CREATE INDEX gateway_customer_tokens_customer ON gateway_customer_tokens (tenant_id, customer_reference, created_at, token);
ALTER TABLE gateway_settings ADD COLUMN max_customer_tokens INTEGER NOT NULL DEFAULT 10;
-- The parent-frame origins a tenant's hosted payment pages may be embedded
-- in (a JSON array; CSP frame-ancestors): none by default.
ALTER TABLE gateway_settings ADD COLUMN embed_domains TEXT NOT NULL DEFAULT '[]';

-- +goose Down
ALTER TABLE gateway_settings DROP COLUMN embed_domains;
ALTER TABLE gateway_settings DROP COLUMN max_customer_tokens;
DROP TABLE gateway_customer_tokens;
DROP TABLE gateway_customers;
