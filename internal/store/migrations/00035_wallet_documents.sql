-- +goose Up
-- Corporate+ upgrade requests with their documents, and changes of a
-- corporate's company data held for the operator (internal/wallet
-- upgrade.go, details.go; seed 000's FAQ: "To become a Corporate+ user it
-- is necessary to provide documents…", "Certain changes need to be
-- approved by customer service").
--
-- An upgrade request: pending (the operator's turn) → more_documents (the
-- customer's turn, the operator's message says what is missing) → pending
-- … → approved | rejected. At most one open request per corporate.
-- wallet_corporates.upgrade_status follows it: requested while open,
-- approved, none again after a rejection.
CREATE TABLE wallet_upgrades (
    id         TEXT PRIMARY KEY,                     -- "wup_…"
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    status     TEXT NOT NULL CHECK (status IN ('pending', 'more_documents', 'approved', 'rejected')),
    message    TEXT NOT NULL DEFAULT '',             -- the operator's last word to the customer
    decided_by TEXT NOT NULL DEFAULT '',             -- the operator of the last decision
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX wallet_upgrades_open ON wallet_upgrades (tenant_id) WHERE status IN ('pending', 'more_documents');
CREATE INDEX wallet_upgrades_status ON wallet_upgrades (status, updated_at);

-- A document a corporate uploaded for its upgrade: the bytes themselves
-- (PDF, PNG or JPEG, the type sniffed from the bytes, at most 5 MiB),
-- unattached ('') until sent with a request.
CREATE TABLE wallet_documents (
    id           TEXT PRIMARY KEY,                   -- "wdo_…"
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    upgrade_id   TEXT NOT NULL DEFAULT '',
    kind         TEXT NOT NULL,
    filename     TEXT NOT NULL,
    content_type TEXT NOT NULL CHECK (content_type IN ('application/pdf', 'image/png', 'image/jpeg')),
    size         BIGINT NOT NULL CHECK (size > 0 AND size <= 5242880),
    sha256       TEXT NOT NULL,
    data         BYTEA NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX wallet_documents_tenant ON wallet_documents (tenant_id, upgrade_id);

-- A change of a corporate's company data, held until the operator
-- approves it (applied) or rejects it (discarded, with the reason).
CREATE TABLE wallet_detail_changes (
    id               TEXT PRIMARY KEY,               -- "wdc_…"
    tenant_id        TEXT NOT NULL REFERENCES tenants (id),
    company_name     TEXT NOT NULL,                  -- the name asked for
    old_company_name TEXT NOT NULL,                  -- the name when asked
    status           TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    reason           TEXT NOT NULL DEFAULT '',       -- a rejection's, shown to the customer
    decided_by       TEXT NOT NULL DEFAULT '',
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE UNIQUE INDEX wallet_detail_changes_pending ON wallet_detail_changes (tenant_id) WHERE status = 'pending';
CREATE INDEX wallet_detail_changes_status ON wallet_detail_changes (status, created_at);

-- The history of every upgrade request and held change (the operator's
-- audit: who did what, when), one row per state change, written in the
-- change's transaction.
CREATE TABLE wallet_review_log (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    subject    TEXT NOT NULL,                        -- the upgrade's or the change's id
    action     TEXT NOT NULL,
    actor      TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX wallet_review_log_subject ON wallet_review_log (subject, created_at);

-- +goose Down
DROP TABLE wallet_review_log;
DROP TABLE wallet_detail_changes;
DROP TABLE wallet_documents;
DROP TABLE wallet_upgrades;
