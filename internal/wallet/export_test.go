package wallet

import "context"

// ReservePINCheck and FinishPINCheck expose the two halves of a PIN check
// to the tests, which interleave them with other checks.
func (s *Service) ReservePINCheck(ctx context.Context, userID string) error {
	return s.attemptPIN(ctx, userID)
}

func (s *Service) FinishPINCheck(ctx context.Context, userID string, success bool) (failures int, locked bool, err error) {
	return s.finishPIN(ctx, userID, success)
}
