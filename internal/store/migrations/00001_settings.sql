-- +goose Up
-- Installation-wide settings and generated secrets (for example the OAuth
-- token signing key), created once on first start.
CREATE TABLE settings (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE settings;
