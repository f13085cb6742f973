package wallet

import "context"

// ReservePINCheck and FinishPINCheck expose the two halves of a PIN check
// to the tests, which interleave them with other checks.
func (s *Service) ReservePINCheck(ctx context.Context, userID string) error {
	return s.attempt(ctx, userID, "pin")
}

func (s *Service) FinishPINCheck(ctx context.Context, userID string, success bool) (failures int, locked bool, err error) {
	return s.finish(ctx, userID, "pin", success)
}
