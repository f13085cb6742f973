-- +goose Up
-- The card gateway's External MPI Provider flag (seed 003's "External 3DS
-- v2 solutions"): the tenant authenticates its card payments with its own
-- 3-D Secure provider and sends the values with each payment job; cashgate
-- runs no challenge of its own, and the Virtual Terminal and payment links
-- (whose pages would) are unavailable. Off by default.
ALTER TABLE gateway_settings ADD COLUMN external_mpi BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE gateway_settings DROP COLUMN external_mpi;
