package wallet_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/wallet"
)

// TestAPIIsCorporatePlus: seed 000's "Communication via API" row (Corporate
// "-", Corporate+ "yes") as the installation's rule, on by default: a
// Corporate merchant's token is refused with the upgrade path, a
// Corporate+ one works; the operator may open the API to every corporate
// account, and every process follows within LimitsCacheTTL.
func TestAPIIsCorporatePlus(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		other := newEnv(t, db) // another process on the database
		basic, plus := e.corporate("basic", false), e.corporate("plus", true)
		token := func(c wallet.CorporateCreated) string {
			s, err := e.w.NewSalt(e.ctx, c.MerchantID) // the salt is issued to anyone: it reveals nothing
			ok(t, err)
			return wallet.MerchantToken(c.MerchantID, c.MerchantSecret, s.Salt)
		}
		rule, err := e.w.APIAccessRule(e.ctx)
		ok(t, err)
		if !rule.CorporatePlusOnly {
			t.Fatal("the API is open to Corporate accounts by default")
		}
		_, err = e.w.AuthenticateMerchant(e.ctx, token(basic))
		if ae := apperr.From(err); ae.Code != apperr.Forbidden || !strings.Contains(ae.Message, "Corporate+") ||
			!strings.Contains(ae.Message, "/wallet/app/v1/upgrade") || !strings.Contains(ae.Message, basic.MerchantID) {
			t.Fatalf("a Corporate merchant: %v", err)
		}
		a, err := e.w.AuthenticateMerchant(e.ctx, token(plus))
		ok(t, err)
		if a.Tier != wallet.TierCorporatePlus || a.TenantID != plus.TenantID {
			t.Fatalf("a Corporate+ merchant: %+v", a)
		}
		// A wrong token is still the token's error, whatever the tier.
		if _, err := e.w.AuthenticateMerchant(e.ctx, token(basic)[:80]+strings.Repeat("0", 64)); !apperr.Is(err, apperr.Unauthenticated) {
			t.Fatalf("a forged Corporate token: %v", err)
		}
		_, err = other.w.AuthenticateMerchant(e.ctx, token(basic)) // the other process has read the rule
		wantForbidden(t, err)

		// The operator opens the API to every corporate account.
		_, err = e.w.SetAPIAccessRule(e.ctx, wallet.APIAccess{CorporatePlusOnly: false})
		ok(t, err)
		a, err = e.w.AuthenticateMerchant(e.ctx, token(basic))
		ok(t, err)
		if a.Tier != wallet.TierCorporate {
			t.Fatalf("tier %s", a.Tier)
		}
		other.clk.Advance(wallet.LimitsCacheTTL)
		_, err = other.w.AuthenticateMerchant(e.ctx, token(basic))
		ok(t, err)
		// And closes it again; an upgrade opens it for the account.
		_, err = e.w.SetAPIAccessRule(e.ctx, wallet.APIAccess{CorporatePlusOnly: true})
		ok(t, err)
		wantForbidden(t, func() error { _, err := e.w.AuthenticateMerchant(e.ctx, token(basic)); return err }())
		_, err = e.w.ApproveUpgrade(e.ctx, basic.TenantID, true)
		ok(t, err)
		_, err = e.w.AuthenticateMerchant(e.ctx, token(basic))
		ok(t, err)
	})
}

func wantForbidden(t *testing.T, err error) {
	t.Helper()
	if !apperr.Is(err, apperr.Forbidden) {
		t.Fatalf("got %v, want the Corporate+ refusal", err)
	}
}

// TestAPIIsCorporatePlusOverHTTP: the refusal in the wallet's error format,
// on every merchant route.
func TestAPIIsCorporatePlusOverHTTP(t *testing.T) {
	for _, eng := range storetest.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			s := newStack(t, eng)
			w := s.a.Wallet.Service
			shop, err := w.CreateCorporate(t.Context(), wallet.CorporateSpec{CompanyName: "Shop", Username: "shop", Password: "shop-password", PIN: "4321",
				IBAN: "DE89370400440532013000", BIC: "COBADEFFXXX"})
			ok(t, err)
			tok := s.merchantToken(t, shop) // the salt is issued
			for _, c := range []struct{ method, path string }{
				{"GET", "/wallet/api/v1/auth/token"}, {"POST", "/wallet/api/v1/requests"}, {"GET", "/wallet/api/v1/requests/mrq_x"},
				{"POST", "/wallet/api/v1/requests/mrq_x/refunds"}, {"GET", "/wallet/api/v1/transactions"}, {"GET", "/wallet/api/v1/balance"},
			} {
				r := s.call(t, c.method, c.path, tok, map[string]any{})
				var body struct {
					Error struct{ Code, Message string } `json:"error"`
				}
				if err := json.Unmarshal(r.body, &body); err != nil || r.status != 403 || body.Error.Code != "forbidden" ||
					!strings.HasPrefix(body.Error.Message, "communication via API is for Corporate+ accounts") {
					t.Fatalf("%s %s: %d %s", c.method, c.path, r.status, r.body)
				}
			}
		})
	}
}
