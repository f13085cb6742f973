-- +goose Up
-- Remote payments expire by a recurring sweep (remote.JobExpire) instead of
-- one job per payment: this index serves its query, and holds only the
-- payments that can still expire.
CREATE INDEX remote_payments_expiry ON remote_payments (expires_at) WHERE status IN ('pending', 'rejected');

-- +goose Down
DROP INDEX remote_payments_expiry;
