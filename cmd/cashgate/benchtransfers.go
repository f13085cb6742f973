package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
)

// transfersScenario moves 0.01 EUR between random pairs of a tenant's
// funded accounts through POST /platform/ledger/transfers: each is one
// durable ledger entry with its overdraft check and its outbox event.
type transfersScenario struct {
	n   int
	ids [][]string // per tenant
}

func newTransfersScenario(o benchOptions) (scenario, error) {
	if o.accounts < 2 {
		return nil, errors.New("--accounts must be at least 2")
	}
	return &transfersScenario{n: o.accounts, ids: make([][]string, o.tenants)}, nil
}

// setup opens and funds the tenant's n accounts from its clearing account.
func (s *transfersScenario) setup(ctx context.Context, c *benchClient) error {
	var clearing struct{ ID string }
	if err := c.post(ctx, "/platform/ledger/accounts", map[string]any{"owner": "bench-bank", "purpose": "clearing", "currency": "EUR", "allowOverdraft": true}, &clearing); err != nil {
		return err
	}
	ids := make([]string, 0, s.n)
	for i := 0; i < s.n; i++ {
		var acc struct{ ID string }
		if err := c.post(ctx, "/platform/ledger/accounts", map[string]any{"owner": fmt.Sprintf("bench-%d", i), "purpose": "wallet", "currency": "EUR"}, &acc); err != nil {
			return err
		}
		if err := c.post(ctx, "/platform/ledger/transfers", map[string]any{"from": clearing.ID, "to": acc.ID, "amount": "1000000.00", "currency": "EUR", "reference": "bench-funding"}, nil); err != nil {
			return err
		}
		ids = append(ids, acc.ID)
	}
	s.ids[c.tenant] = ids
	return nil
}

func (s *transfersScenario) op(ctx context.Context, c *benchClient, rng *rand.Rand) error {
	ids := s.ids[c.tenant]
	i := rng.IntN(len(ids))
	j := rng.IntN(len(ids) - 1)
	if j >= i {
		j++
	}
	return c.post(ctx, "/platform/ledger/transfers", map[string]any{"from": ids[i], "to": ids[j], "amount": "0.01", "currency": "EUR", "reference": "bench"}, nil)
}
