package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
)

// cashierScenarios are the cashier's load scenarios.
func cashierScenarios() map[string]scenarioFactory {
	return map[string]scenarioFactory{
		"deposits": func(o benchOptions) (scenario, error) {
			return &depositsScenario{customers: max(o.accounts, 1)}, nil
		},
	}
}

// depositsScenario makes card deposits through the cashier's Payment API:
// POST /cashier/v1/deposits with an Idempotency-Key, a test card captured at
// once, for one of --accounts customers of the tenant (each deposit is one
// durable transaction: the deposit, the customer's limits checked with its
// row locked, the card payment, the ledger entry, the event and the stored
// answer).
type depositsScenario struct {
	customers int
}

func (s *depositsScenario) setup(ctx context.Context, c *benchClient) error {
	if err := c.do(ctx, http.MethodPut, "/cashier/v1/settings", strings.NewReader(`{"depositPsps":["card"],"authCapture":{"card":false}}`), nil); err != nil {
		return err
	}
	for i := range s.customers {
		body := fmt.Sprintf(`{"name":"Bench Customer %d","email":"c%d@example.com","country":"GB","currency":"EUR","status":"active","kycLevel":2}`, i, i)
		if err := c.do(ctx, http.MethodPut, "/cashier/v1/customers/"+depositCustomer(i), strings.NewReader(body), nil); err != nil {
			return err
		}
	}
	return nil
}

func depositCustomer(i int) string { return "bench-" + strconv.Itoa(i) }

func (s *depositsScenario) op(ctx context.Context, c *benchClient, rng *rand.Rand) error {
	amount := strconv.Itoa(1+rng.IntN(99)) + "." + fmt.Sprintf("%02d", rng.IntN(100))
	body := `{"customerId":"` + depositCustomer(rng.IntN(s.customers)) + `","psp":"card","amount":"` + amount +
		`","card":{"number":"4000000000000010","expiryMonth":"05","expiryYear":"35","cvc":"123"}}`
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/cashier/v1/deposits", strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("api-key", c.key)
	req.Header.Set("Idempotency-Key", fmt.Sprintf("bench-%016x%016x", rng.Uint64(), rng.Uint64()))
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("POST /cashier/v1/deposits: %d %s", resp.StatusCode, bytes.TrimSpace(rb))
	}
	if !bytes.Contains(rb, []byte(`"status":"captured"`)) {
		return fmt.Errorf("card deposit not captured: %s", rb)
	}
	return nil
}
