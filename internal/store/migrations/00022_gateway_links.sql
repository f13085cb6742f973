-- +goose Up
-- Payment links (issue 10): a payment link is a payment job without card
-- details (flags.paymentLink) that the merchant made to send or print; this
-- table lists them. The job row keeps the link's state (expiry, amounts):
-- the list joins it; status is a copy of the job's, written with it
-- (gateway.saveJob), so that the list filtered by status walks an index of
-- its own. page_token is the hosted page ref every attempt of the link
-- shares, so a page of links builds its URLs without reading each job's
-- payments.
CREATE TABLE gateway_links (
    job_reference TEXT PRIMARY KEY REFERENCES gateway_jobs (reference),
    tenant_id     TEXT NOT NULL,
    page_token    TEXT NOT NULL,
    status        TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);
-- GET /platform/gateway/payment-links (gateway.linksQuery): a tenant's links
-- newest first, from the cursor.
CREATE INDEX gateway_links_tenant ON gateway_links (tenant_id, created_at, job_reference);
-- …and with ?status=.
CREATE INDEX gateway_links_status ON gateway_links (tenant_id, status, created_at, job_reference);

-- +goose Down
DROP TABLE gateway_links;
