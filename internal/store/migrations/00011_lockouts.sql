-- +goose Up
-- Lock-outs that a stranger cannot trigger (issue 7 §2) and the gateway's
-- refusal of body-less writes under the plain Hash scheme (issue 7 §3).

-- Refuse body-less writes (the cancel PATCHes) signed with the plain Hash:
-- every body-less request carries the same Hash, SHA-512 of the key alone.
ALTER TABLE gateway_settings ADD COLUMN require_hmac_bodyless BOOLEAN NOT NULL DEFAULT FALSE;

-- Wallet logins are throttled per (user, client address) and, more slowly,
-- per user: wrong passwords from one address lock that address out for the
-- user (the owner elsewhere can still log in); across all addresses the
-- user's window (wallet_users.login_failures since login_window_start)
-- turns into a short exponential back-off (login_locked_until) past its
-- limit. Attempts are counted before the password is checked.
CREATE TABLE wallet_login_throttle (
    user_id      TEXT NOT NULL REFERENCES wallet_users (id),
    address      TEXT NOT NULL,                 -- client IP ('' for in-process callers)
    failures     INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0),
    window_start BIGINT NOT NULL,
    locked_until BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, address)
);
ALTER TABLE wallet_users ADD COLUMN login_window_start BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE wallet_users DROP COLUMN login_window_start;
DROP TABLE wallet_login_throttle;
ALTER TABLE gateway_settings DROP COLUMN require_hmac_bodyless;
