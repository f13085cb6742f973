package wallet_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/wallet"
)

func TestParseWidgetOrigin(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"https://shop.example", "https://shop.example"},
		{"https://Shop.Example/", "https://shop.example"},
		{"https://shop.example:443", "https://shop.example"},
		{"https://shop.example:8443", "https://shop.example:8443"},
		{"http://localhost:8081", "http://localhost:8081"},
		{"http://127.0.0.1:3000", "http://127.0.0.1:3000"},
		{"http://[::1]:3000", "http://[::1]:3000"},
		{"http://shop.example", ""},           // https required
		{"https://shop.example/checkout", ""}, // a path
		{"https://shop.example?x=1", ""},      // a query
		{"https://shop.example#top", ""},      // a fragment
		{"https://user@shop.example", ""},     // credentials
		{"https://*.shop.example", ""},        // no wildcards
		{"ftp://shop.example", ""},            // scheme
		{"shop.example", ""},                  // no scheme
		{"https://shop.example\x00", ""},      // NUL
		{"https://shop.example\n", ""},        // control character
		{"https://sh op.example", ""},         // space
		{"javascript:alert(1)", ""},           // opaque
		{"https://bücher.example", ""},        // not the xn-- form
		{"https://xn--bcher-kva.example", "https://xn--bcher-kva.example"},
		{"https://" + strings.Repeat("a", 200), ""},
	} {
		got, err := wallet.ParseWidgetOrigin(c.in)
		if c.want == "" {
			if err == nil || apperr.From(err).Code != apperr.Invalid {
				t.Errorf("%q: %q, %v; want refused", c.in, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q: %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

const shopOrigin = "https://shop.example"

// widgetShop is a corporate with a registered widget origin.
func (e *env) widgetShop() wallet.CorporateCreated {
	e.t.Helper()
	shop := e.corporate("shop", false)
	got, err := e.w.SetWidgetOrigins(e.ctx, shop.TenantID, []string{"https://Shop.Example/", shopOrigin, "http://localhost:8081"})
	ok(e.t, err)
	if strings.Join(got.Origins, " ") != "http://localhost:8081 https://shop.example" {
		e.t.Fatalf("origins %v", got.Origins)
	}
	return shop
}

func (e *env) mint(shop wallet.CorporateCreated, amount, callback string) wallet.WidgetToken {
	e.t.Helper()
	tok, err := e.w.MintWidgetToken(e.ctx, shop.TenantID, wallet.WidgetTokenSpec{Origin: shopOrigin, Amount: amount, Currency: "EUR",
		Description: "Order 42", OrderID: "ord-42", CallbackURL: callback})
	ok(e.t, err)
	return tok
}

func widgetID(t *testing.T, e *env, tok wallet.WidgetToken) string {
	t.Helper()
	id, _, err := e.w.AuthenticateWidget(e.ctx, tok.Token)
	ok(t, err)
	return id
}

// TestWidgetToken: a widget token is minted for a registered origin with
// the terms of a money request, stored hashed, single use, expires on the
// clock; the request it makes has the fees and limits of any money request
// and its callback goes to the shop's backend.
func TestWidgetToken(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		site := newMerchantSite(t, 0)
		shop := e.widgetShop()
		alice := e.customer("alice")
		e.topUp(alice, "300.00")

		for name, spec := range map[string]wallet.WidgetTokenSpec{
			"origin":      {Origin: "https://other.example", Amount: "1.00", Currency: "EUR", Description: "x", CallbackURL: site.srv.URL},
			"expiresIn":   {Origin: shopOrigin, Amount: "1.00", Currency: "EUR", Description: "x", CallbackURL: site.srv.URL, ExpiresIn: 901},
			"timeFrame":   {Origin: shopOrigin, Amount: "1.00", Currency: "EUR", Description: "x", CallbackURL: site.srv.URL, TimeFrame: 30},
			"callbackUrl": {Origin: shopOrigin, Amount: "1.00", Currency: "EUR", Description: "x"},
			"amount":      {Origin: shopOrigin, Amount: "-1", Currency: "EUR", Description: "x", CallbackURL: site.srv.URL},
			"description": {Origin: shopOrigin, Amount: "1.00", Currency: "EUR", CallbackURL: site.srv.URL},
		} {
			if _, err := e.w.MintWidgetToken(e.ctx, shop.TenantID, spec); apperr.From(err).Code != apperr.Invalid || apperr.From(err).Field != name {
				t.Errorf("bad %s: %v", name, err)
			}
		}

		tok := e.mint(shop, "12.50", site.srv.URL)
		if !strings.HasPrefix(tok.Token, "cgwt_") || !tok.ExpiresAt.Equal(e.clk.Now().Add(5*time.Minute)) || tok.Origin != shopOrigin {
			t.Fatalf("token %+v", tok)
		}
		id, secret, _ := strings.Cut(tok.Token, ".")
		var stored string
		ok(t, db.Read().QueryRowContext(e.ctx, `SELECT secret_hash FROM wallet_widget_tokens WHERE id = $1`, id).Scan(&stored))
		var plain int
		ok(t, db.Read().QueryRowContext(e.ctx, `SELECT COUNT(*) FROM wallet_widget_tokens WHERE secret_hash LIKE $1`, "%"+secret+"%").Scan(&plain))
		if len(stored) != 64 || strings.Contains(stored, secret) || plain != 0 {
			t.Fatalf("stored %q for secret %q", stored, secret)
		}
		for _, bad := range []string{id + "." + strings.Repeat("0", 64), id, "cgwt_x." + secret, id + "." + secret[:63]} {
			if _, _, err := e.w.AuthenticateWidget(e.ctx, bad); !apperr.Is(err, apperr.Unauthenticated) {
				t.Errorf("token %q: %v", bad, err)
			}
		}

		// Unknown username: counted; then alice's request, the same as a
		// money request made through the merchant API.
		if _, err := e.w.WidgetPay(e.ctx, id, "nobody", "10.0.0.1"); apperr.From(err).Code != apperr.NotFound || apperr.From(err).Field != "username" {
			t.Fatalf("unknown username: %v", err)
		}
		st, err := e.w.WidgetStatusOf(e.ctx, id)
		ok(t, err)
		if st.State != wallet.WidgetReady || st.AttemptsLeft != 4 || st.Merchant != "shop GmbH" || st.Amount != "12.50" {
			t.Fatalf("status %+v", st)
		}
		st, err = e.w.WidgetPay(e.ctx, id, "alice", "10.0.0.1")
		ok(t, err)
		if st.State != wallet.WidgetPending || st.RequestID == "" || !st.RequestExpiresAt.Equal(e.clk.Now().Add(5*time.Minute)) {
			t.Fatalf("paid %+v", st)
		}
		if _, err := e.w.WidgetPay(e.ctx, id, "alice", "10.0.0.1"); !apperr.Is(err, apperr.Conflict) {
			t.Fatalf("reuse: %v", err)
		}
		viaWidget, err := e.w.MerchantRequest(e.ctx, shop.TenantID, st.RequestID)
		ok(t, err)
		direct, err := e.w.CreateRequest(e.ctx, shop.TenantID, wallet.MoneyRequestSpec{Username: "alice", Amount: "12.50", Currency: "EUR",
			Description: "Order 42", OrderID: "ord-42", CallbackURL: site.srv.URL})
		ok(t, err)
		if viaWidget.Fee != direct.Fee || viaWidget.Amount != direct.Amount || viaWidget.OrderID != "ord-42" || viaWidget.Username != "alice" {
			t.Fatalf("via widget %+v, direct %+v", viaWidget, direct)
		}
		_, err = e.w.Approve(e.ctx, alice.ID, st.RequestID, "1234")
		ok(t, err)
		e.runDue()
		st, err = e.w.WidgetStatusOf(e.ctx, id)
		ok(t, err)
		if st.State != wallet.WidgetApproved || e.balance(alice.ID) != "287.50" || len(site.received()) != 1 ||
			!strings.Contains(string(site.received()[0]), `"status":"approved"`) {
			t.Fatalf("approved: %+v, alice %s, callbacks %q", st, e.balance(alice.ID), site.received())
		}

		// Limits as for any money request: over the private 200 € a payment.
		big := e.mint(shop, "250.00", site.srv.URL)
		_, err = e.w.WidgetPay(e.ctx, widgetID(t, e, big), "alice", "10.0.0.1")
		_, errDirect := e.w.CreateRequest(e.ctx, shop.TenantID, wallet.MoneyRequestSpec{Username: "alice", Amount: "250.00", Currency: "EUR",
			Description: "big", CallbackURL: site.srv.URL})
		if !apperr.Is(err, apperr.LimitExceeded) || apperr.From(err).Message != apperr.From(errDirect).Message {
			t.Fatalf("over the limit: %v (direct: %v)", err, errDirect)
		}

		// Denied in the wallet app.
		deny := e.mint(shop, "3.00", site.srv.URL)
		st, err = e.w.WidgetPay(e.ctx, widgetID(t, e, deny), "alice", "10.0.0.1")
		ok(t, err)
		_, err = e.w.Deny(e.ctx, alice.ID, st.RequestID)
		ok(t, err)
		if st, _ := e.w.WidgetStatusOf(e.ctx, widgetID(t, e, deny)); st.State != wallet.WidgetDenied {
			t.Fatalf("denied: %+v", st)
		}

		// Expiry on the clock: unused tokens stop paying after 5 minutes,
		// their status is readable 2 minutes more; a request made through
		// the widget expires with its time frame.
		idle, waiting := e.mint(shop, "1.00", site.srv.URL), e.mint(shop, "2.00", site.srv.URL)
		st, err = e.w.WidgetPay(e.ctx, widgetID(t, e, waiting), "alice", "10.0.0.1")
		ok(t, err)
		e.clk.Advance(5 * time.Minute)
		if _, err := e.w.WidgetPay(e.ctx, widgetID(t, e, idle), "alice", "10.0.0.1"); !apperr.Is(err, apperr.Conflict) || !strings.Contains(err.Error(), "expired") {
			t.Fatalf("expired token: %v", err)
		}
		if st, _ := e.w.WidgetStatusOf(e.ctx, widgetID(t, e, idle)); st.State != wallet.WidgetExpired {
			t.Fatalf("idle after 5 minutes: %+v", st)
		}
		e.runDue()
		if st, _ := e.w.WidgetStatusOf(e.ctx, widgetID(t, e, waiting)); st.State != wallet.WidgetExpired {
			t.Fatalf("waiting after 5 minutes: %+v", st)
		}
		e.clk.Advance(2 * time.Minute)
		if _, err := e.w.WidgetStatusOf(e.ctx, widgetID(t, e, idle)); !apperr.Is(err, apperr.Unauthenticated) {
			t.Fatalf("status 7 minutes on: %v", err)
		}

		// Housekeeping deletes tokens no one can read any more and
		// address counters whose window ended; a new token stays.
		e.clk.Advance(15 * time.Minute)
		kept := e.mint(shop, "1.00", site.srv.URL)
		swept, err := e.w.Sweep(e.ctx, e.clk.Now())
		ok(t, err)
		if swept.WidgetTokens != 5 || swept.WidgetThrottles != 1 {
			t.Fatalf("swept %+v", swept)
		}
		if st, err := e.w.WidgetStatusOf(e.ctx, widgetID(t, e, kept)); err != nil || st.State != wallet.WidgetReady {
			t.Fatalf("the new token after housekeeping: %+v %v", st, err)
		}
	})
}

// TestWidgetAttemptsConcurrent: usernames tried at once through one token
// are counted one after the other (exactly WidgetMaxAttempts answered, the
// rest refused); unknown usernames from one address over several tokens
// lock that address, even for real usernames, until the window ends, and
// other addresses go on.
func TestWidgetAttemptsConcurrent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		site := newMerchantSite(t, 0)
		shop := e.widgetShop()
		alice := e.customer("alice")
		e.topUp(alice, "20.00")

		tally := func(ids []string, per int, addr string) map[apperr.Code]int {
			var mu sync.Mutex
			var wg sync.WaitGroup
			got := map[apperr.Code]int{}
			for _, id := range ids {
				for i := range per {
					wg.Go(func() {
						_, err := e.w.WidgetPay(e.ctx, id, fmt.Sprintf("nobody-%d", i), addr)
						mu.Lock()
						got[apperr.From(err).Code]++
						mu.Unlock()
					})
				}
			}
			wg.Wait()
			return got
		}
		one := widgetID(t, e, e.mint(shop, "1.00", site.srv.URL))
		if got := tally([]string{one}, 12, "10.0.0.1"); got[apperr.NotFound] != wallet.WidgetMaxAttempts || got[apperr.Forbidden] != 12-wallet.WidgetMaxAttempts {
			t.Fatalf("12 at once on one token: %v", got)
		}
		if _, err := e.w.WidgetPay(e.ctx, one, "alice", "10.0.0.9"); !apperr.Is(err, apperr.Forbidden) {
			t.Fatalf("a used-up token: %v", err)
		}

		var tokens []string
		for range 3 {
			tokens = append(tokens, widgetID(t, e, e.mint(shop, "1.00", site.srv.URL)))
		}
		// 10.0.0.1 has 5 failures already: 5 more are counted, 10 refused.
		if got := tally(tokens, 5, "10.0.0.1"); got[apperr.NotFound] != wallet.WidgetAddressFailures-wallet.WidgetMaxAttempts || got[apperr.RateLimited] != 10 {
			t.Fatalf("15 at once from one address: %v", got)
		}
		fresh := widgetID(t, e, e.mint(shop, "1.00", site.srv.URL))
		if _, err := e.w.WidgetPay(e.ctx, fresh, "alice", "10.0.0.1"); !apperr.Is(err, apperr.RateLimited) || apperr.From(err).RetryAfterSeconds <= 0 {
			t.Fatalf("a real username from the locked address: %v", err)
		}
		if st, err := e.w.WidgetStatusOf(e.ctx, fresh); err != nil || st.AttemptsLeft != wallet.WidgetMaxAttempts {
			t.Fatalf("a refused try is not counted on the token: %+v %v", st, err)
		}
		e.clk.Advance(wallet.WidgetAddressWindow)
		st, err := e.w.WidgetPay(e.ctx, widgetID(t, e, e.mint(shop, "1.00", site.srv.URL)), "alice", "10.0.0.1")
		if err != nil || st.State != wallet.WidgetPending {
			t.Fatalf("after the window: %+v %v", st, err)
		}
	})
}
