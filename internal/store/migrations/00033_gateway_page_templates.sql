-- +goose Up
-- Hosted checkout templates (issue 12, internal/gateway/templates.go): a
-- tenant's payment page templates, each named by the reference a payment
-- job gives in parameters.paymentPageReference (lower case, never
-- 'default', the built-in page's). At most one per tenant is its default,
-- used by jobs that name none. The logo is kept here, its type sniffed from
-- its bytes on upload (PNG, JPEG or a checked SVG); logo_id is random and
-- new with every upload, so its URL (/payment/logos/{logo_id}) can be cached
-- for ever.
CREATE TABLE gateway_page_templates (
    tenant_id         TEXT NOT NULL REFERENCES tenants (id),
    reference         TEXT NOT NULL CHECK (length(reference) BETWEEN 1 AND 50 AND reference <> 'default'),
    header_text       TEXT NOT NULL DEFAULT '',
    footer_text       TEXT NOT NULL DEFAULT '',
    primary_colour    TEXT NOT NULL CHECK (length(primary_colour) = 7),
    background_colour TEXT NOT NULL CHECK (length(background_colour) = 7),
    is_default        BOOLEAN NOT NULL DEFAULT FALSE,
    logo_id           TEXT,                      -- NULL: no logo
    logo_type         TEXT NOT NULL DEFAULT '',  -- image/png, image/jpeg or image/svg+xml
    logo              BYTEA,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, reference)
);
CREATE UNIQUE INDEX gateway_page_templates_default ON gateway_page_templates (tenant_id) WHERE is_default;
CREATE UNIQUE INDEX gateway_page_templates_logo ON gateway_page_templates (logo_id);

-- +goose Down
DROP TABLE gateway_page_templates;
