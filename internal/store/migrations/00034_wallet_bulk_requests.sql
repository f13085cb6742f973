-- +goose Up
-- A bulk upload of money requests (wallet.CreateBatch, seed 000's "input of
-- customer data in bulk", Corporate+ only): one CSV file of rows, each
-- becoming a money request exactly as POST /wallet/api/v1/requests would
-- make it, processed by the job wallet.batch.process. file_hash is the
-- SHA-256 of the file and the batch's options: the same file uploaded twice
-- gives the same batch (the unique key). Counts grow as rows are done.
CREATE TABLE wallet_batches (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    file_hash    TEXT NOT NULL,
    file_name    TEXT NOT NULL DEFAULT '',
    currency     TEXT NOT NULL,
    callback_url TEXT NOT NULL,
    time_frame   INTEGER NOT NULL DEFAULT 0,
    status       TEXT NOT NULL CHECK (status IN ('queued', 'processing', 'completed')),
    total        INTEGER NOT NULL CHECK (total > 0),
    created      INTEGER NOT NULL DEFAULT 0,
    failed       INTEGER NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    completed_at BIGINT NOT NULL DEFAULT 0,
    CHECK (created + failed <= total),
    UNIQUE (tenant_id, file_hash)
);
CREATE INDEX wallet_batches_tenant ON wallet_batches (tenant_id, created_at);

-- A row of a batch: its CSV line, its fields, and its result: created
-- (request_id) or failed (the error in the wallet API's format: code,
-- message, field, limit).
CREATE TABLE wallet_batch_rows (
    batch_id      TEXT NOT NULL,
    line          INTEGER NOT NULL,
    username      TEXT NOT NULL,
    amount        TEXT NOT NULL,
    description   TEXT NOT NULL,
    reference     TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'created', 'failed')),
    request_id    TEXT NOT NULL DEFAULT '',
    error_code    TEXT NOT NULL DEFAULT '',
    error_message TEXT NOT NULL DEFAULT '',
    error_field   TEXT NOT NULL DEFAULT '',
    error_limit   TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (batch_id, line)
);

-- +goose Down
DROP TABLE wallet_batch_rows;
DROP TABLE wallet_batches;
