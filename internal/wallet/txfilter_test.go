package wallet_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/wallet"
)

// TestUnknownTransactionFilter: the transaction list, merchant API and
// wallet app alike, refuses a filter it does not know with a 400 in the
// wallet's error format naming the filter, instead of silently listing
// everything; the known filters still work.
func TestUnknownTransactionFilter(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			s := newStack(t, e)
			ctx := t.Context()
			w := s.a.Wallet.Service
			shop, err := w.CreateCorporate(ctx, wallet.CorporateSpec{CompanyName: "Shop", Username: "shop", Password: "shop-password", PIN: "4321",
				IBAN: "DE89370400440532013000", BIC: "COBADEFFXXX"})
			ok(t, err)
			_, err = w.ApproveUpgrade(ctx, shop.TenantID, true) // the API is Corporate+'s
			ok(t, err)
			tok := s.merchantToken(t, shop)
			var sess wallet.WalletSession
			s.must(t, 200, "POST", "/wallet/app/v1/login", "", wallet.WalletLogin{Username: "shop", Password: "shop-password"}, &sess)
			for _, base := range []struct{ path, auth string }{{"/wallet/api/v1/transactions", tok}, {"/wallet/app/v1/transactions", sess.Token}} {
				for _, tc := range []struct{ query, field string }{
					{"?typ=payment", "typ"},
					{"?type=payment&min_amount=4.00", "min_amount"},
					{"?zeta=1&alpha=2", "alpha"}, // the first unknown by name, whatever the order
					{"?Type=payment", "Type"},    // names are case-sensitive, as documented
				} {
					r := s.call(t, "GET", base.path+tc.query, base.auth, nil)
					if r.status != 400 {
						t.Fatalf("%s%s: %d %s", base.path, tc.query, r.status, r.body)
					}
					var body map[string]any
					if err := json.Unmarshal(r.body, &body); err != nil {
						t.Fatalf("%s%s: not JSON: %s", base.path, tc.query, r.body)
					}
					if !strings.Contains(string(r.body), `"`+tc.field+`"`) || !strings.Contains(string(r.body), "unknown filter") {
						t.Fatalf("%s%s: does not name %s: %s", base.path, tc.query, tc.field, r.body)
					}
				}
				var page wallet.WalletTransactionPage
				s.must(t, 200, "GET", base.path+"?type=payment&minAmount=1.00&from=2026-11-21&limit=5", base.auth, nil, &page)
			}
		})
	}
}
