-- +goose Up
-- The cashier's back office and its gaps (issue 11).
-- A bank-transfer deposit keeps the instructions the customer was given
-- (JSON of cashier.Instructions: beneficiary, IBAN, BIC, reference,
-- amount), so the API and the hosted cashier show them again; '' for none.
ALTER TABLE cashier_deposits ADD COLUMN instructions TEXT NOT NULL DEFAULT '';
-- A refunded card deposit names the acquirer's refund transaction.
ALTER TABLE cashier_deposits ADD COLUMN refund_reference TEXT NOT NULL DEFAULT '';
-- Calls to the PSP of a deposit whose PSP could not be reached and that is
-- submitted again later (JobSubmitDeposit).
ALTER TABLE cashier_deposits ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
-- An object's agent actions, for the back office's timelines.
CREATE INDEX cashier_audit_object ON cashier_audit (tenant_id, object_id, created_at, id);

-- +goose Down
DROP INDEX cashier_audit_object;
ALTER TABLE cashier_deposits DROP COLUMN attempts;
ALTER TABLE cashier_deposits DROP COLUMN refund_reference;
ALTER TABLE cashier_deposits DROP COLUMN instructions;
