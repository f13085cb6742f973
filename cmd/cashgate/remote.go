package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"

	"github.com/cashgate/cashgate/internal/app"
	"github.com/cashgate/cashgate/internal/remote"
	"github.com/cashgate/cashgate/internal/wallet"
)

// remoteScenarios are remote payments' load scenarios.
func remoteScenarios() map[string]scenarioFactory {
	return map[string]scenarioFactory{
		"remote": func(o benchOptions) (scenario, error) {
			return &remoteScenario{n: max(o.accounts, o.clients)}, nil
		},
	}
}

// remoteScenario is one remote payment per op: the merchant (a tenant
// picked at random, into its receiving wallet) creates it (POST
// /remote/v1/payments), a logged-in payer pays it from the wallet on the
// hosted page (POST /pay/{id}/wallet with the PIN, the page's own code
// path), and the merchant re-reads it (GET /remote/v1/payments/{id}).
// Each client pays with its own wallet: a wallet checks one PIN at a time.
// Payers are private wallets, which belong to no tenant: the tenants share
// them.
type remoteScenario struct {
	n     int
	payer chan string // session tokens, one per wallet
}

// setupApp opens n private wallets funded in EUR and logs them in, with
// operator rights (on the in-process cashgate, or on the target's
// database). Their names are new in every run.
func (s *remoteScenario) setupApp(ctx context.Context, a *app.App) error {
	w := a.Wallet.Service
	s.payer = make(chan string, s.n)
	run := a.IDs.Secret(3)
	for i := range s.n {
		name := fmt.Sprintf("payer%s-%d", run, i)
		u, err := w.SignUp(ctx, wallet.SignUp{Username: name, Password: "bench-password", PIN: "1234"})
		if err != nil {
			return err
		}
		// 2,500.00 EUR: a private wallet's yearly top-up limit; 2,525 payments of at most 0.99 each at least.
		if _, err := w.CreditTopUp(ctx, wallet.TopUp{Reference: u.TopUpReference, Amount: "2500.00", BankReference: "bench-" + name}); err != nil {
			return err
		}
		sess, err := w.Login(ctx, name, "bench-password")
		if err != nil {
			return err
		}
		s.payer <- sess.Token
	}
	return nil
}

func (s *remoteScenario) setup(_ context.Context, _ *benchClient) error {
	if s.payer == nil {
		return fmt.Errorf("the remote scenario's wallets were not prepared (setupApp)")
	}
	return nil
}

func (s *remoteScenario) op(ctx context.Context, c *benchClient, rng *rand.Rand) error {
	var p remote.Payment
	if err := c.post(ctx, "/remote/v1/payments", map[string]any{"amount": 1 + rng.IntN(99), "currency": "EUR", "note": "bench"}, &p); err != nil {
		return err
	}
	session := <-s.payer
	err := payOnPage(ctx, c, session, p.ID)
	s.payer <- session
	if err != nil {
		return err
	}
	var got remote.Payment
	if err := c.get(ctx, "/remote/v1/payments/"+p.ID, &got); err != nil {
		return err
	}
	if got.Status != remote.StatusPaid {
		return fmt.Errorf("payment %s is %s after paying", p.ID, got.Status)
	}
	return nil
}

// payOnPage posts the hosted page's PIN form as the payer's browser does.
func payOnPage(ctx context.Context, c *benchClient, session, id string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/pay/"+id+"/wallet", strings.NewReader(url.Values{"pin": {"1234"}}.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: remote.PayCookie, Value: session})
	res, err := c.http.Transport.RoundTrip(req) // no redirects: the 303 is the answer
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		b, _ := io.ReadAll(res.Body)
		return fmt.Errorf("pay %s on the page: %d %.200s", id, res.StatusCode, pageError(b))
	}
	_, _ = io.Copy(io.Discard, res.Body)
	return nil
}

// pageError is the message a hosted page shows in its error paragraph, or
// the page itself when it has none.
func pageError(page []byte) []byte {
	_, msg, ok := bytes.Cut(page, []byte(`role="alert">`))
	if !ok {
		return page
	}
	msg, _, _ = bytes.Cut(msg, []byte("</p>"))
	return msg
}
