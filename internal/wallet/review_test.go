package wallet_test

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/wallet"
)

// cookieCall makes a wallet-app call authenticated by the session cookie,
// as a browser would, with extra headers (Origin, Sec-Fetch-Site).
func (s *stack) cookieCall(t *testing.T, method, path, session, body string, hdr map[string]string) resp {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, s.srv.URL+path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.AddCookie(&http.Cookie{Name: wallet.SessionCookie, Value: session})
	return send(t, req, hdr)
}

// TestCookieSessionRefusesCrossOrigin: the session cookie is ambient, so a
// state change authenticated by it must come from the wallet app's own
// pages. A foreign page (another origin of the same site, where
// SameSite=Strict does not help) can post a bodyless form to deny a
// customer's money request, or order 2-cent verification transfers: those
// are refused and change nothing. The same calls from the wallet's own
// origin, and any call with the session as a bearer token (not ambient),
// work; reads are unaffected; a logged-out session is refused.
func TestCookieSessionRefusesCrossOrigin(t *testing.T) {
	for _, eng := range storetest.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			s := newStack(t, eng)
			ctx := t.Context()
			w := s.a.Wallet.Service
			site := newMerchantSite(t, 0)
			shop, err := w.CreateCorporate(ctx, wallet.CorporateSpec{CompanyName: "Shop", Username: "shop", Password: "shop-password", PIN: "4321",
				IBAN: "DE89370400440532013000", BIC: "COBADEFFXXX"})
			ok(t, err)
			s.must(t, 201, "POST", "/wallet/app/v1/signup", "", wallet.WalletSignUp{Username: "alice", Password: "alice-password", PIN: "1234"}, nil)
			var sess, shopSess wallet.WalletSession
			s.must(t, 200, "POST", "/wallet/app/v1/login", "", wallet.WalletLogin{Username: "alice", Password: "alice-password"}, &sess)
			s.must(t, 200, "POST", "/wallet/app/v1/login", "", wallet.WalletLogin{Username: "shop", Password: "shop-password"}, &shopSess)
			req, err := w.CreateRequest(ctx, shop.TenantID, wallet.MoneyRequestSpec{Username: "alice", Amount: "5.00", Currency: "EUR",
				Description: "x", CallbackURL: site.srv.URL})
			ok(t, err)

			foreign := []map[string]string{
				{"Sec-Fetch-Site": "cross-site"},
				{"Sec-Fetch-Site": "same-site"}, // a sibling subdomain
				{"Origin": "https://evil.example"},
			}
			for _, h := range foreign {
				r := s.cookieCall(t, "POST", "/wallet/app/v1/requests/"+req.ID+"/deny", sess.Token, "", h)
				if r.status != 403 || !strings.Contains(string(r.body), `"code":"forbidden"`) {
					t.Fatalf("cross-origin deny %v: %d %s", h, r.status, r.body)
				}
				r = s.cookieCall(t, "POST", "/wallet/app/v1/bank-account/verification", shopSess.Token, "", h)
				if r.status != 403 {
					t.Fatalf("cross-origin verification %v: %d %s", h, r.status, r.body)
				}
				r = s.cookieCall(t, "POST", "/wallet/app/v1/logout", sess.Token, "", h)
				if r.status != 403 {
					t.Fatalf("cross-origin logout %v: %d %s", h, r.status, r.body)
				}
			}
			st, err := w.MerchantRequest(ctx, shop.TenantID, req.ID)
			ok(t, err)
			if st.Status != wallet.StatusPending {
				t.Fatalf("a cross-origin post decided the request: %s", st.Status)
			}
			var n int
			ok(t, s.a.DB.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM wallet_transactions WHERE kind = 'verification'`).Scan(&n))
			if n != 0 {
				t.Fatalf("%d verification transfers ordered cross-origin", n)
			}
			// Reads by cookie from anywhere are fine (nothing changes; the
			// answer is not readable cross-origin without CORS).
			if r := s.cookieCall(t, "GET", "/wallet/app/v1/me", sess.Token, "", map[string]string{"Sec-Fetch-Site": "cross-site"}); r.status != 200 {
				t.Fatalf("read by cookie: %d %s", r.status, r.body)
			}
			// The wallet app's own pages: same origin.
			if r := s.cookieCall(t, "POST", "/wallet/app/v1/requests/"+req.ID+"/deny", sess.Token, "", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": s.srv.URL}); r.status != 200 {
				t.Fatalf("same-origin deny: %d %s", r.status, r.body)
			}
			// A bearer session is not ambient: no origin check.
			r := s.call(t, "POST", "/wallet/app/v1/bank-account/verification", shopSess.Token, nil)
			if r.status != 201 {
				t.Fatalf("bearer verification: %d %s", r.status, r.body)
			}
			// Logout ends the session for cookie and bearer alike.
			if r := s.cookieCall(t, "POST", "/wallet/app/v1/logout", sess.Token, "", map[string]string{"Sec-Fetch-Site": "same-origin"}); r.status != 200 {
				t.Fatalf("logout: %d %s", r.status, r.body)
			}
			if r := s.call(t, "GET", "/wallet/app/v1/me", sess.Token, nil); r.status != 401 {
				t.Fatalf("after logout: %d %s", r.status, r.body)
			}
			if err := ledger.CheckInvariants(ctx, s.a.DB.Read()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestMerchantTokenBoundToItsMerchant: a merchant's token opens only its
// own requests, refunds and transactions; a token built on another
// merchant's salt, with another id, a wrong secret or an expired salt is
// refused; a wallet session is no merchant token.
func TestMerchantTokenBoundToItsMerchant(t *testing.T) {
	for _, eng := range storetest.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			s := newStack(t, eng)
			ctx := t.Context()
			w := s.a.Wallet.Service
			site := newMerchantSite(t, 0)
			mk := func(name string) wallet.CorporateCreated {
				c, err := w.CreateCorporate(ctx, wallet.CorporateSpec{CompanyName: name, Username: name, Password: name + "-password", PIN: "4321",
					IBAN: "DE89370400440532013000", BIC: "COBADEFFXXX"})
				ok(t, err)
				return c
			}
			a, b := mk("shopa"), mk("shopb")
			apiForAll(t, w) // both are Corporate
			alice, err := w.SignUp(ctx, wallet.SignUp{Username: "alice", Password: "alice-password", PIN: "1234"})
			ok(t, err)
			_, err = w.CreditTopUp(ctx, wallet.TopUp{Reference: alice.TopUpReference, Amount: "20.00", BankReference: "B1"})
			ok(t, err)
			tokA, tokB := s.merchantToken(t, a), s.merchantToken(t, b)
			var req wallet.MoneyRequest
			s.must(t, 201, "POST", "/wallet/api/v1/requests", tokA, wallet.MoneyRequestSpec{Username: "alice", Amount: "5.00", Currency: "EUR",
				Description: "x", CallbackURL: site.srv.URL}, &req)
			_, err = w.Approve(ctx, alice.ID, req.ID, "1234")
			ok(t, err)

			// B cannot see nor refund A's request, nor see A's transactions.
			if r := s.call(t, "GET", "/wallet/api/v1/requests/"+req.ID, tokB, nil); r.status != 404 {
				t.Fatalf("B reads A's request: %d %s", r.status, r.body)
			}
			if r := s.call(t, "POST", "/wallet/api/v1/requests/"+req.ID+"/refunds", tokB, wallet.MoneyRequestRefund{}); r.status != 404 {
				t.Fatalf("B refunds A's request: %d %s", r.status, r.body)
			}
			var page wallet.WalletTransactionPage
			s.must(t, 200, "GET", "/wallet/api/v1/transactions", tokB, nil, &page)
			if len(page.Transactions) != 0 {
				t.Fatalf("B sees %d transactions", len(page.Transactions))
			}
			// Forged tokens.
			var saltA wallet.MerchantSalt
			s.must(t, 201, "POST", "/wallet/api/v1/auth/salt", "", wallet.MerchantSaltRequest{MerchantID: a.MerchantID}, &saltA)
			good := wallet.MerchantToken(a.MerchantID, a.MerchantSecret, saltA.Salt)
			forged := []string{
				wallet.MerchantToken(b.MerchantID, b.MerchantSecret, saltA.Salt), // B's credentials on A's salt
				wallet.MerchantToken(a.MerchantID, b.MerchantSecret, saltA.Salt), // A's id, B's secret
				wallet.MerchantToken(b.MerchantID, a.MerchantSecret, saltA.Salt), // B's id, A's secret
				good[:len(good)-64] + strings.ToUpper(good[len(good)-64:]),       // not the token's spelling
				a.MerchantID + "." + saltA.Salt + "." + strings.Repeat("0", 64),
				a.MerchantID + "..",
			}
			for _, f := range forged {
				if r := s.call(t, "GET", "/wallet/api/v1/requests/"+req.ID, f, nil); r.status != 401 {
					t.Fatalf("forged token %q: %d %s", f, r.status, r.body)
				}
			}
			// A wallet session of the corporate is not a merchant token.
			var sess wallet.WalletSession
			s.must(t, 200, "POST", "/wallet/app/v1/login", "", wallet.WalletLogin{Username: "shopa", Password: "shopa-password"}, &sess)
			if r := s.call(t, "GET", "/wallet/api/v1/requests/"+req.ID, sess.Token, nil); r.status != 401 {
				t.Fatalf("session as merchant token: %d %s", r.status, r.body)
			}
			// The token dies with its salt.
			s.clk.Advance(time.Hour)
			if r := s.call(t, "GET", "/wallet/api/v1/requests/"+req.ID, tokA, nil); r.status != 401 {
				t.Fatalf("expired token: %d %s", r.status, r.body)
			}
			if err := ledger.CheckInvariants(ctx, s.a.DB.Read()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestVerificationTransfersBounded: each 2-cent verification transfer is
// the issuer's money and a bank transfer; a corporate may order at most
// MaxVerificationsPerDay a day (the refused one changes nothing), and
// again the next day.
func TestVerificationTransfersBounded(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		shop := e.corporate("shop", false)
		for i := 0; i < wallet.MaxVerificationsPerDay; i++ {
			_, err := e.w.RequestVerification(e.ctx, shop.User.ID)
			ok(t, err)
		}
		_, err := e.w.RequestVerification(e.ctx, shop.User.ID)
		wantLimit(t, err, wallet.LimitVerificationsPerDay)
		var n int
		ok(t, db.Read().QueryRowContext(e.ctx, `SELECT COUNT(*) FROM wallet_transactions WHERE kind = 'verification'`).Scan(&n))
		if n != wallet.MaxVerificationsPerDay {
			t.Fatalf("%d verification transfers, want %d", n, wallet.MaxVerificationsPerDay)
		}
		// Concurrent requests cannot pass the bound together either.
		e.clk.Advance(24 * time.Hour)
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Go(func() { _, _ = e.w.RequestVerification(e.ctx, shop.User.ID) })
		}
		wg.Wait()
		ok(t, db.Read().QueryRowContext(e.ctx, `SELECT COUNT(*) FROM wallet_transactions WHERE kind = 'verification'`).Scan(&n))
		if n != 2*wallet.MaxVerificationsPerDay {
			t.Fatalf("%d verification transfers after a concurrent burst, want %d", n, 2*wallet.MaxVerificationsPerDay)
		}
	})
}

// sepaID is an identifier of the SEPA character set (EPC: letters, digits
// and / - ? : ( ) . , ' + space), 1 to 35 characters, not starting or
// ending with '/' and without '//'.
var sepaID = regexp.MustCompile(`^[A-Za-z0-9\-?:().,'+ ][A-Za-z0-9/\-?:().,'+ ]{0,33}[A-Za-z0-9\-?:().,'+ ]$`)

// TestPain001IdentifiersAreSEPA: the end-to-end ids and message ids of an
// export use only the SEPA character set (banks reject files whose ids
// carry '_'), and the operator can settle a payout by the end-to-end id
// the bank's report quotes.
func TestPain001IdentifiersAreSEPA(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		alice := e.customer("alice")
		e.topUp(alice, "100.00")
		w1, err := e.w.Withdraw(e.ctx, alice.ID, wallet.WalletWithdrawal{Amount: "10.00", IBAN: "NL91ABNA0417164300", Name: "Alice <&> \"Q\"", PIN: "1234"})
		ok(t, err)
		exp, err := e.w.ExportPayouts(e.ctx, issuer, e.clk.Now())
		ok(t, err)
		ids := regexp.MustCompile(`<(EndToEndId|MsgId|PmtInfId)>([^<]*)</`).FindAllSubmatch(exp.XML, -1)
		if len(ids) != 3 {
			t.Fatalf("identifiers %q in\n%s", ids, exp.XML)
		}
		for _, m := range ids {
			if !sepaID.Match(m[2]) {
				t.Fatalf("%s %q is not of the SEPA character set", m[1], m[2])
			}
		}
		if !strings.Contains(string(exp.XML), "<Nm>Alice ... .Q.</Nm>") {
			t.Fatalf("beneficiary name not reduced to the SEPA set:\n%s", exp.XML)
		}
		e2e := string(regexp.MustCompile(`<EndToEndId>([^<]*)</`).FindSubmatch(exp.XML)[1])
		paid, err := e.w.MarkPaid(e.ctx, e2e)
		ok(t, err)
		if paid.Count != 1 || paid.Total != "10.00" {
			t.Fatalf("paid by end-to-end id %q: %+v", e2e, paid)
		}
		page, err := e.w.Transactions(e.ctx, alice.ID, wallet.TxFilter{Type: "withdrawal"})
		ok(t, err)
		if len(page.Transactions) != 1 || page.Transactions[0].ID != w1.ID || page.Transactions[0].Status != wallet.PayoutPaid || page.Transactions[0].Reference != e2e {
			t.Fatalf("withdrawal after paid: %+v", page.Transactions)
		}
	})
}

// TestRightPINCannotLiftARacingLock: a right PIN whose check outlived its
// reservation window, finishing after racing wrong PINs locked the wallet,
// neither lifts the lock nor counts as a right PIN.
func TestRightPINCannotLiftARacingLock(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		shop := e.corporate("shop", false)
		alice := e.customer("alice")
		e.topUp(alice, "10.00")
		r, err := e.w.CreateRequest(e.ctx, shop.TenantID, wallet.MoneyRequestSpec{Username: "alice", Amount: "1.00", Currency: "EUR",
			Description: "x", CallbackURL: "http://127.0.0.1:9/cb", TimeFrame: 7200})
		ok(t, err)
		// A slow check of the right PIN reserves, then its window passes.
		ok(t, e.w.ReservePINCheck(e.ctx, alice.ID))
		e.clk.Advance(11 * time.Second)
		// Five wrong PINs meanwhile lock the wallet.
		for i := 0; i < 5; i++ {
			_, err := e.w.Approve(e.ctx, alice.ID, r.ID, "0000")
			if !apperr.Is(err, apperr.Unauthenticated) && !(i == 4 && apperr.Is(err, apperr.Forbidden)) {
				t.Fatalf("wrong PIN %d: %v", i+1, err)
			}
		}
		// The slow right check finishes now: the lock stands.
		_, locked, err := e.w.FinishPINCheck(e.ctx, alice.ID, true)
		ok(t, err)
		if !locked {
			t.Fatal("the right PIN finishing late reports no lock")
		}
		if _, err := e.w.Approve(e.ctx, alice.ID, r.ID, "1234"); !apperr.Is(err, apperr.Forbidden) {
			t.Fatalf("locked wallet approved with the right PIN: %v", err)
		}
		if got := e.balance(alice.ID); got != "10.00" {
			t.Fatalf("alice has %s", got)
		}
	})
}

// TestConcurrentRequestsCannotPassDailyLimits: requests that each fit but
// together pass a daily count or a yearly amount, run at once, are cut at
// the limit exactly; refused ones count nothing.
func TestConcurrentRequestsCannotPassDailyLimits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		alice, bob, carol := e.customer("alice"), e.customer("bob"), e.customer("carol")
		e.topUp(alice, "100.00")
		results := func(n int, fn func(i int) error) (okN int) {
			var wg sync.WaitGroup
			var mu sync.Mutex
			for i := 0; i < n; i++ {
				wg.Go(func() {
					err := fn(i)
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						okN++
					case apperr.Is(err, apperr.LimitExceeded):
					default:
						t.Errorf("op %d: %v", i, err)
					}
				})
			}
			wg.Wait()
			return okN
		}
		// Transactions per day (the private tier's 20; the top-up above is
		// no transaction).
		if n := results(30, func(int) error {
			_, err := e.w.Send(e.ctx, alice.ID, wallet.WalletSend{To: "bob", Amount: "1.00"})
			return err
		}); n != 20 {
			t.Fatalf("%d concurrent sends passed, want 20", n)
		}
		if got := e.balance(alice.ID); got != "75.00" {
			t.Fatalf("alice has %s", got)
		}
		// Top-ups per day (3; bob has none yet).
		if n := results(9, func(i int) error {
			_, err := e.w.CreditTopUp(e.ctx, wallet.TopUp{Reference: bob.TopUpReference, Amount: "1.00", BankReference: fmt.Sprintf("BOB-%d", i)})
			return err
		}); n != 3 {
			t.Fatalf("%d concurrent top-ups passed, want 3", n)
		}
		// Top-up amount per year (2,500 €): two of 1,500 € never both.
		if n := results(2, func(i int) error {
			_, err := e.w.CreditTopUp(e.ctx, wallet.TopUp{Reference: carol.TopUpReference, Amount: "1500.00", BankReference: fmt.Sprintf("CAROL-%d", i)})
			return err
		}); n != 1 {
			t.Fatalf("%d concurrent 1,500 € top-ups passed, want 1", n)
		}
		// What was refused counted nothing: 1,000 € more fit this year.
		_, err := e.w.CreditTopUp(e.ctx, wallet.TopUp{Reference: carol.TopUpReference, Amount: "1000.00", BankReference: "CAROL-X"})
		ok(t, err)
		// The third top-up of the day passes the daily count (the refused
		// one did not count there either) and meets the yearly amount.
		_, err = e.w.CreditTopUp(e.ctx, wallet.TopUp{Reference: carol.TopUpReference, Amount: "0.01", BankReference: "CAROL-Y"})
		wantLimit(t, err, wallet.LimitTopUpPerYear)
	})
}
