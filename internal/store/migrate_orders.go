package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/pressly/goose/v3"
)

// Migration 18 (in Go: its SQLite half rebuilds a table). A gateway job's
// orderNumber was unique among every job a tenant ever created, so a
// declined order could not take a new job and recurring children of
// different subscriptions ("Payment 2") collided. It becomes unique among the
// tenant's live and paid jobs (Pending, Authorised, Paid), and a recurring
// child's among its parent's children: a partial unique index on
// (tenant_id, parent_reference, order_number). The table-wide UNIQUE
// (tenant_id, order_number) goes: PostgreSQL drops the constraint; SQLite,
// which cannot drop a table constraint, rebuilds gateway_jobs without it
// (the procedure of its ALTER TABLE documentation: foreign keys off on one
// connection, copy, drop, rename, foreign_key_check, all in one transaction).
const orderScopeVersion = 18

const liveOrderIndex = `CREATE UNIQUE INDEX gateway_jobs_live_order ON gateway_jobs (tenant_id, parent_reference, order_number)
	WHERE status IN ('Pending', 'Authorised', 'Paid')`

// gatewayJobsTable is gateway_jobs as of migration 6; unique adds the
// table-wide constraint it had (for the way down).
func gatewayJobsTable(name, unique string) string {
	return `CREATE TABLE ` + name + ` (
    reference         TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL REFERENCES tenants (id),
    configuration_id  TEXT NOT NULL,
    trace_reference   TEXT NOT NULL,
    type              TEXT NOT NULL,
    locale            TEXT NOT NULL,
    order_number      TEXT,
    order_json        TEXT NOT NULL,
    methods           TEXT NOT NULL,
    options           TEXT NOT NULL,
    flags             TEXT NOT NULL,
    params_json       TEXT NOT NULL,
    currency          TEXT NOT NULL,
    amount            BIGINT NOT NULL CHECK (amount >= 0),
    collected         BIGINT NOT NULL DEFAULT 0 CHECK (collected >= 0),
    status            TEXT NOT NULL CHECK (status IN ('Pending', 'Authorised', 'Paid', 'Cancelled', 'Expired')),
    parent_reference  TEXT NOT NULL DEFAULT '',
    expires_at        BIGINT NOT NULL,
    due_at            BIGINT NOT NULL,
    paid_at           BIGINT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL` + unique + `
)`
}

const gatewayJobsColumns = `reference, tenant_id, configuration_id, trace_reference, type, locale, order_number, order_json,
	methods, options, flags, params_json, currency, amount, collected, status, parent_reference, expires_at, due_at, paid_at,
	created_at, updated_at`

func (db *DB) orderScopeMigration() *goose.Migration {
	if db.dialect == Postgres {
		return goose.NewGoMigration(orderScopeVersion,
			&goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
				return execAll(ctx, tx, `ALTER TABLE gateway_jobs DROP CONSTRAINT gateway_jobs_tenant_id_order_number_key`, liveOrderIndex)
			}},
			&goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
				return execAll(ctx, tx, `DROP INDEX gateway_jobs_live_order`,
					`ALTER TABLE gateway_jobs ADD CONSTRAINT gateway_jobs_tenant_id_order_number_key UNIQUE (tenant_id, order_number)`)
			}})
	}
	return goose.NewGoMigration(orderScopeVersion,
		&goose.GoFunc{RunDB: func(ctx context.Context, d *sql.DB) error {
			return rebuildGatewayJobs(ctx, d, "", liveOrderIndex)
		}},
		&goose.GoFunc{RunDB: func(ctx context.Context, d *sql.DB) error {
			return rebuildGatewayJobs(ctx, d, ",\n    UNIQUE (tenant_id, order_number)")
		}})
}

// rebuildGatewayJobs replaces SQLite's gateway_jobs by a copy with the given
// table constraint and extra indexes, on one connection with foreign keys
// off (they cannot change inside a transaction), in one transaction.
func rebuildGatewayJobs(ctx context.Context, d *sql.DB, unique string, indexes ...string) (err error) {
	conn, err := d.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
		return err
	}
	defer func() {
		if _, ferr := conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA foreign_keys = ON`); ferr != nil {
			err = errors.Join(err, ferr)
		}
	}()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmts := append([]string{
		gatewayJobsTable("gateway_jobs_new", unique),
		`INSERT INTO gateway_jobs_new (` + gatewayJobsColumns + `) SELECT ` + gatewayJobsColumns + ` FROM gateway_jobs`,
		`DROP TABLE gateway_jobs`,
		`ALTER TABLE gateway_jobs_new RENAME TO gateway_jobs`,
		`CREATE INDEX gateway_jobs_expiry ON gateway_jobs (status, expires_at)`,
	}, indexes...)
	if err := execAll(ctx, tx, stmts...); err != nil {
		return err
	}
	var bad int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM pragma_foreign_key_check`).Scan(&bad); err != nil {
		return err
	}
	if bad > 0 {
		return fmt.Errorf("store: migration %d: %d foreign keys broken by the rebuild of gateway_jobs", orderScopeVersion, bad)
	}
	return tx.Commit()
}

func execAll(ctx context.Context, tx *sql.Tx, stmts ...string) error {
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("store: migration %d: %w", orderScopeVersion, err)
		}
	}
	return nil
}
