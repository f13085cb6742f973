package wallet

import (
	"context"

	"github.com/cashgate/cashgate/internal/store"
)

// ReservePINCheck and FinishPINCheck expose the two halves of a PIN check
// to the tests, which interleave them with other checks.
func (s *Service) ReservePINCheck(ctx context.Context, userID string) error {
	return s.attemptPIN(ctx, userID)
}

func (s *Service) FinishPINCheck(ctx context.Context, userID string, success bool) (failures int, locked bool, err error) {
	return s.finishPIN(ctx, userID, success)
}

// FreeAccountNumber, IsNumberTaken and AccountNumberBatch expose the
// account numbers' collision handling and backfill batch to the tests.
func FreeAccountNumber(ctx context.Context, q store.Querier, draw func() string) (string, error) {
	return freeAccountNumber(ctx, q, draw)
}

func IsNumberTaken(err error) bool { return isNumberTaken(err) }

const AccountNumberBatch = accountNumberBatch

// PartyCached reports whether moves know the wallet with account number n
// from memory.
func (s *Service) PartyCached(n string) bool {
	_, ok := s.parties.get(n)
	return ok
}
