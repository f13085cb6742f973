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
	err     error
	slow    bool // its PIN hash is slow: CheckPINTx sends it outside
	moves   *int
	outside *int // CheckPIN calls
}

func (p pinOnly) CheckPIN(context.Context, string, string) error {
	*p.outside++
	return p.err
}

// CheckPINTx judges in the transaction unless the PIN is slow.
func (p pinOnly) CheckPINTx(ctx context.Context, _ *store.Tx, _, _ string) (refusal, err error) {
	if p.slow {
		return nil, walletpay.ErrCheckOutside
	}
	return p.err, nil
}

func (p pinOnly) Move(context.Context, *store.Tx, walletpay.Transfer) (string, error) {
	*p.moves++
	return "entry-1", nil
}

// TestPayJudgesThePINFirst: a refused PIN runs nothing (but commits its
// recorded failure); a right one runs fn in the same transaction, whose
// error rolls everything back; a slow PIN is checked outside first.
func TestPayJudgesThePINFirst(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		wrong := apperr.New(apperr.Unauthenticated, "wrong PIN")
		for _, slow := range []bool{false, true} {
			moves, ran, outside := 0, 0, 0
			fn := func(ctx context.Context, tx *store.Tx, move func(walletpay.Transfer) (string, error)) error {
				ran++
				if !db.InTx(ctx) {
					t.Error("fn runs outside the transaction")
				}
				_, err := move(walletpay.Transfer{From: "a", To: "b", Currency: "EUR", Amount: 1})
				return err
			}
			if err := walletpay.Pay(ctx, db, pinOnly{err: wrong, slow: slow, moves: &moves, outside: &outside}, "u", "0000", fn); !errors.Is(err, wrong) || ran != 0 || moves != 0 {
				t.Fatalf("slow %v, wrong PIN: %v, ran %d, moves %d", slow, err, ran, moves)
			}
			if err := walletpay.Pay(ctx, db, pinOnly{slow: slow, moves: &moves, outside: &outside}, "u", "1234", fn); err != nil || ran != 1 || moves != 1 {
				t.Fatalf("slow %v, right PIN: %v, ran %d, moves %d", slow, err, ran, moves)
			}
			if want := map[bool]int{false: 0, true: 2}[slow]; outside != want {
				t.Fatalf("slow %v: %d checks outside the transaction, want %d", slow, outside, want)
			}
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
