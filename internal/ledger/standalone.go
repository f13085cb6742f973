package ledger

import (
	"context"

	"github.com/cashgate/cashgate/internal/store"
)

// Standalone runs each ledger write in its own transaction, for callers
// that have no product state to write with it (tools, tests, seeding). It
// must not be used inside a Transact callback.
type Standalone struct{ l *Ledger }

// Standalone returns the ledger's own-transaction conveniences.
func (l *Ledger) Standalone() Standalone { return Standalone{l: l} }

// EnsureAccount is Ledger.EnsureAccount in its own transaction.
func (s Standalone) EnsureAccount(ctx context.Context, spec AccountSpec) (a Account, err error) {
	err = s.l.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) (err error) {
		a, err = s.l.EnsureAccount(ctx, tx, spec)
		return err
	})
	return a, err
}

// Post is Ledger.Post in its own transaction.
func (s Standalone) Post(ctx context.Context, e Entry) (id string, err error) {
	err = s.l.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) (err error) {
		id, err = s.l.Post(ctx, tx, e)
		return err
	})
	return id, err
}

// Transfer is Ledger.Transfer in its own transaction.
func (s Standalone) Transfer(ctx context.Context, spec TransferSpec) (id string, err error) {
	err = s.l.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) (err error) {
		id, err = s.l.Transfer(ctx, tx, spec)
		return err
	})
	return id, err
}

// Hold is Ledger.Hold in its own transaction.
func (s Standalone) Hold(ctx context.Context, spec HoldSpec) (h Hold, err error) {
	err = s.l.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) (err error) {
		h, err = s.l.Hold(ctx, tx, spec)
		return err
	})
	return h, err
}

// PostHold is Ledger.PostHold in its own transaction.
func (s Standalone) PostHold(ctx context.Context, tenantID, holdID string, amount int64, final bool) (id string, err error) {
	err = s.l.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) (err error) {
		id, err = s.l.PostHold(ctx, tx, tenantID, holdID, amount, final)
		return err
	})
	return id, err
}

// VoidHold is Ledger.VoidHold in its own transaction.
func (s Standalone) VoidHold(ctx context.Context, tenantID, holdID string) error {
	return s.l.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		return s.l.VoidHold(ctx, tx, tenantID, holdID)
	})
}
