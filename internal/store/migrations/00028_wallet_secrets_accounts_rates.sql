-- +goose Up
-- A merchant secret's rotation keeps the previous secret working for a
-- grace period (wallet.RotateMerchantSecret): sealed as the current one,
-- until prev_secret_until (unix microseconds; 0: none).
ALTER TABLE wallet_corporates ADD COLUMN prev_secret_sealed TEXT NOT NULL DEFAULT '';
ALTER TABLE wallet_corporates ADD COLUMN prev_secret_until BIGINT NOT NULL DEFAULT 0;
ALTER TABLE wallet_corporates ADD COLUMN secret_rotated_at BIGINT NOT NULL DEFAULT 0;

-- A wallet user's account status (wallet.SuspendUser, CloseAccount):
-- active; suspended (no login, no payment in or out, until reactivated);
-- closed (for good, with a zero balance; the username stays taken).
ALTER TABLE wallet_users ADD COLUMN status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'closed'));
ALTER TABLE wallet_users ADD COLUMN status_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE wallet_users ADD COLUMN status_changed_at BIGINT NOT NULL DEFAULT 0;

-- A conversion rate's date (YYYY-MM-DD: the ECB's reference date for an
-- imported one, the day it was set for one the operator set), where it
-- came from (operator, ecb) and the ECB's quote as published (units of
-- the currency per EUR; '' for the operator's).
ALTER TABLE wallet_rates ADD COLUMN rate_date TEXT NOT NULL DEFAULT '';
ALTER TABLE wallet_rates ADD COLUMN source TEXT NOT NULL DEFAULT 'operator';
ALTER TABLE wallet_rates ADD COLUMN quote TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE wallet_rates DROP COLUMN quote;
ALTER TABLE wallet_rates DROP COLUMN source;
ALTER TABLE wallet_rates DROP COLUMN rate_date;
ALTER TABLE wallet_users DROP COLUMN status_changed_at;
ALTER TABLE wallet_users DROP COLUMN status_reason;
ALTER TABLE wallet_users DROP COLUMN status;
ALTER TABLE wallet_corporates DROP COLUMN secret_rotated_at;
ALTER TABLE wallet_corporates DROP COLUMN prev_secret_until;
ALTER TABLE wallet_corporates DROP COLUMN prev_secret_sealed;
