-- +goose Up
-- The "Pay with cashgate wallet" widget (wallet/widget.go): the origins a
-- corporate registered for embedding it, the short-lived widget tokens its
-- backend mints (the secret part kept only as its SHA-256; the payment's
-- terms bound to the token) and the per-address throttle of usernames tried
-- through the widget.
CREATE TABLE wallet_widget_origins (
    tenant_id  TEXT NOT NULL,
    origin     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, origin)
);

CREATE TABLE wallet_widget_tokens (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    secret_hash  TEXT NOT NULL,
    origin       TEXT NOT NULL,
    amount       TEXT NOT NULL,
    currency     TEXT NOT NULL,
    description  TEXT NOT NULL,
    order_id     TEXT NOT NULL DEFAULT '',
    callback_url TEXT NOT NULL,
    time_frame   INTEGER NOT NULL CHECK (time_frame > 0),
    attempts     INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    request_id   TEXT NOT NULL DEFAULT '',
    expires_at   BIGINT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX wallet_widget_tokens_expiry ON wallet_widget_tokens (expires_at);

CREATE TABLE wallet_widget_throttle (
    address      TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL CHECK (failures >= 0),
    window_start BIGINT NOT NULL
);

-- +goose Down
DROP TABLE wallet_widget_throttle;
DROP TABLE wallet_widget_tokens;
DROP TABLE wallet_widget_origins;
