-- +goose Up
-- Usage limits per APP key across processes (issue 14): each cashgate
-- process keeps, per key and minute window, how many requests it admitted,
-- and every second writes that count here and reads the others' (the
-- platform's limits.go). A process admits a request only while its own
-- count and the others' stay under the key's limit. Rows of windows older
-- than ten minutes are purged.
CREATE TABLE app_key_windows (
    key_id       TEXT NOT NULL,
    window_start BIGINT NOT NULL,                -- µs since the epoch, a whole minute (UTC)
    worker       TEXT NOT NULL,                  -- the process
    requests     BIGINT NOT NULL CHECK (requests >= 0),
    PRIMARY KEY (key_id, window_start, worker)
);
CREATE INDEX app_key_windows_start ON app_key_windows (window_start);

-- +goose Down
DROP TABLE app_key_windows;
