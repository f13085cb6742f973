package walletpay_test

import (
	"context"
	"errors"
	"testing"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/walletpay"
)

// pinOnly is a Wallets whose PIN check fails with err (nil: passes) and
// whose moves are counted.
type pinOnly struct {
	walletpay.Wallets
	err   error
	moves *int
}

func (p pinOnly) CheckPIN(context.Context, string, string) error { return p.err }

func (p pinOnly) Move(context.Context, *store.Tx, walletpay.Transfer) (string, error) {
	*p.moves++
	return "entry-1", nil
}

// TestPayChecksThePINFirst: a failed PIN check runs nothing; a passed one
// runs fn in a transaction, whose error rolls everything back.
func TestPayChecksThePINFirst(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		moves, ran := 0, 0
		fn := func(ctx context.Context, tx *store.Tx, move func(walletpay.Transfer) (string, error)) error {
			ran++
			if !db.InTx(ctx) {
				t.Error("fn runs outside the transaction")
			}
			_, err := move(walletpay.Transfer{From: "a", To: "b", Currency: "EUR", Amount: 1})
			return err
		}
		wrong := apperr.New(apperr.Unauthenticated, "wrong PIN")
		if err := walletpay.Pay(ctx, db, pinOnly{err: wrong, moves: &moves}, "u", "0000", fn); !errors.Is(err, wrong) || ran != 0 || moves != 0 {
			t.Fatalf("wrong PIN: %v, ran %d, moves %d", err, ran, moves)
		}
		if err := walletpay.Pay(ctx, db, pinOnly{moves: &moves}, "u", "1234", fn); err != nil || ran != 1 || moves != 1 {
			t.Fatalf("right PIN: %v, ran %d, moves %d", err, ran, moves)
		}
	})
}

func TestRejection(t *testing.T) {
	for _, c := range []struct {
		err      error
		reason   string
		rejected bool
	}{
		{apperr.New(apperr.InsufficientFunds, "short"), "insufficient_funds", true},
		{apperr.New(apperr.Forbidden, "locked"), "pin_locked", true},
		{apperr.New(apperr.Unauthenticated, "wrong PIN; 4 left"), "", false},
		{apperr.New(apperr.RateLimited, "a check is running"), "", false},
		{errors.New("database down"), "", false},
		{nil, "", false},
	} {
		if reason, rejected := walletpay.Rejection(c.err); reason != c.reason || rejected != c.rejected {
			t.Errorf("Rejection(%v) = %q %v, want %q %v", c.err, reason, rejected, c.reason, c.rejected)
		}
	}
}
