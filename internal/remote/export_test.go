package remote

import (
	"context"

	"github.com/cashgate/cashgate/internal/card"
	"github.com/cashgate/cashgate/internal/cardpay"
)

// ChallengeAfter opens a 3-D Secure challenge for payment id the way
// PayWithCard does after its assessment, on the payment as it was read
// before meanwhile ran: the race of a card attempt with another that ends
// the payment in between.
func (s *Service) ChallengeAfter(ctx context.Context, id string, d card.Details, meanwhile func()) (string, error) {
	p, err := s.loadByID(ctx, s.db.Read(), id, false)
	if err != nil {
		return "", err
	}
	meanwhile()
	return s.holdForChallenge(ctx, p, d, cardpay.Outcome{CVCResult: "M", ThreeDS: cardpay.ThreeDSChallenge})
}
