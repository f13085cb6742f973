package wallet_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/wallet"
)

// TestRefundReturnsReceiveFeeProRata: a merchant can refund at once all a
// customer paid, although its wallet holds only the amount less the
// receive fee: each refund takes its pro-rata share of the fee from the
// issuer's fee account (cumulative, rounded half up), so refunds adding up
// to the amount return exactly the fee, whatever the split. The ledger's
// invariants hold after every refund.
func TestRefundReturnsReceiveFeeProRata(t *testing.T) {
	cases := []struct {
		name   string
		plus   bool    // Corporate+ (1 % + 0.15) instead of Corporate (1.5 % + 0.20)
		amount string  // the request
		fee    string  // its receive fee
		splits []int64 // the refunds in cents; 0 = all that is left
		// feeBack is the fee each refund returns.
		feeBack []string
	}{
		{name: "full refund right after payment", amount: "10.00", fee: "0.35", splits: []int64{0}, feeBack: []string{"0.35"}},
		{name: "full refund Corporate+", plus: true, amount: "10.00", fee: "0.25", splits: []int64{0}, feeBack: []string{"0.25"}},
		{name: "three thirds", amount: "10.00", fee: "0.35", splits: []int64{333, 333, 0}, feeBack: []string{"0.12", "0.11", "0.12"}},
		{name: "one cent first", amount: "18.00", fee: "0.47", splits: []int64{1, 500, 0}, feeBack: []string{"", "0.13", "0.34"}},
		{name: "ten tenths", amount: "10.00", fee: "0.35", splits: []int64{100, 100, 100, 100, 100, 100, 100, 100, 100, 100},
			feeBack: []string{"0.04", "0.03", "0.04", "0.03", "0.04", "0.03", "0.04", "0.03", "0.04", "0.03"}},
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				shop := e.corporate(fmt.Sprintf("shop%d", i), c.plus)
				cust := e.customer(fmt.Sprintf("cust%d", i))
				e.topUp(cust, "50.00")
				revenue := e.feeRevenue()
				req, err := e.w.CreateRequest(e.ctx, shop.TenantID, wallet.MoneyRequestSpec{Username: cust.Username, Amount: c.amount, Currency: "EUR",
					Description: "order", CallbackURL: "http://127.0.0.1:9/cb"})
				ok(t, err)
				paid, err := e.w.Approve(e.ctx, cust.ID, req.ID, "1234")
				ok(t, err)
				if paid.Fee != c.fee {
					t.Fatalf("fee %s, want %s", paid.Fee, c.fee)
				}
				amount, _ := wallet.ParseEUR("amount", c.amount)
				fee, _ := wallet.ParseEUR("fee", c.fee)
				held := amount - fee // what the shop holds
				var returned int64
				for k, x := range c.splits {
					tx, err := e.w.Refund(e.ctx, shop.TenantID, req.ID, x, "")
					if err != nil {
						t.Fatalf("refund %d of %d cents (shop holds %s): %v", k, x, e.balance(shop.User.ID), err)
					}
					if err := ledger.CheckInvariants(e.ctx, e.db.Read()); err != nil {
						t.Fatalf("after refund %d: %v", k, err)
					}
					if tx.FeeReturned != c.feeBack[k] {
						t.Fatalf("refund %d returned fee %q, want %q", k, tx.FeeReturned, c.feeBack[k])
					}
					back := int64(0)
					if tx.FeeReturned != "" {
						back, _ = wallet.ParseEUR("fee", tx.FeeReturned)
					}
					got, _ := wallet.ParseEUR("amount", tx.Amount)
					returned += back
					held -= got - back
					if want := cents(-(got - back)); tx.Net != want || tx.Fee != "0.00" || tx.Direction != "out" {
						t.Fatalf("refund %d as the shop sees it: %+v, want net %s", k, tx, want)
					}
					if b := e.balance(shop.User.ID); b != cents(held) {
						t.Fatalf("after refund %d the shop holds %s, want %s", k, b, cents(held))
					}
				}
				st, err := e.w.MerchantRequest(e.ctx, shop.TenantID, req.ID)
				ok(t, err)
				if st.Status != wallet.StatusRefunded || st.Refunded != c.amount || st.FeeRefunded != c.fee || returned != fee {
					t.Fatalf("after all refunds: %+v (fee returned %d)", st, returned)
				}
				if e.balance(shop.User.ID) != "0.00" || e.balance(cust.ID) != "50.00" || e.feeRevenue() != revenue {
					t.Fatalf("shop %s, customer %s, fee revenue %d (was %d)", e.balance(shop.User.ID), e.balance(cust.ID), e.feeRevenue(), revenue)
				}
			})
		}
	})
}

func cents(v int64) string {
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	return fmt.Sprintf("%s%d.%02d", sign, v/100, v%100)
}

// TestUnfundableRefundNamesItsCause: when the merchant's wallet no longer
// holds its part of a refund (the money was sent on), the refund is
// refused as insufficient_funds on the amount, in the wallet API's error
// format, saying what the refund takes from the wallet and what it holds;
// nothing changes.
func TestUnfundableRefundNamesItsCause(t *testing.T) {
	for _, eng := range storetest.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			s := newStack(t, eng)
			ctx := t.Context()
			w := s.a.Wallet.Service
			shop, err := w.CreateCorporate(ctx, wallet.CorporateSpec{CompanyName: "Shop", Username: "shop", Password: "shop-password", PIN: "4321",
				IBAN: "DE89370400440532013000", BIC: "COBADEFFXXX"})
			ok(t, err)
			alice, err := w.SignUp(ctx, wallet.SignUp{Username: "alice", Password: "alice-password", PIN: "1234"})
			ok(t, err)
			_, err = w.SignUp(ctx, wallet.SignUp{Username: "bob", Password: "bob-password", PIN: "1234"})
			ok(t, err)
			_, err = w.CreditTopUp(ctx, wallet.TopUp{Reference: alice.TopUpReference, Amount: "20.00", BankReference: "B1"})
			ok(t, err)
			apiForAll(t, w) // the shop is Corporate (its fees are the test's)
			tok := s.merchantToken(t, shop)
			var req wallet.MoneyRequest
			s.must(t, 201, "POST", "/wallet/api/v1/requests", tok, wallet.MoneyRequestSpec{Username: "alice", Amount: "10.00", Currency: "EUR",
				Description: "x", CallbackURL: "http://127.0.0.1:9/cb"}, &req)
			_, err = w.Approve(ctx, alice.ID, req.ID, "1234")
			ok(t, err)
			// The shop holds 9.65 and sends 7.00 (+ 0.25 fee) on: 2.40 left,
			// and a full refund takes 9.65 from it.
			_, err = w.Send(ctx, shop.User.ID, wallet.WalletSend{To: "bob", Amount: "7.00"})
			ok(t, err)

			_, err = w.Refund(ctx, shop.TenantID, req.ID, 0, "")
			if e := apperr.From(err); e.Code != apperr.InsufficientFunds || e.Field != "amount" {
				t.Fatalf("unfundable refund: %v", err)
			}
			r := s.call(t, "POST", "/wallet/api/v1/requests/"+req.ID+"/refunds", tok, wallet.MoneyRequestRefund{})
			var body httpx.WalletError
			r.decode(t, &body)
			if r.status != 422 || body.Error.Code != "insufficient_funds" || body.Error.Field != "amount" {
				t.Fatalf("HTTP: %d %s", r.status, r.body)
			}
			// The message names the cause: what the wallet holds and what the refund takes from it.
			if m := body.Error.Message; !strings.Contains(m, "9.65") || !strings.Contains(m, "2.40") {
				t.Fatalf("message does not name the amounts: %s", m)
			}
			var st wallet.MoneyRequest
			s.must(t, 200, "GET", "/wallet/api/v1/requests/"+req.ID, tok, nil, &st)
			if st.Status != wallet.StatusApproved || st.Refunded != "0.00" || st.FeeRefunded != "0.00" {
				t.Fatalf("a refused refund changed the request: %+v", st)
			}
			// What the wallet can fund still goes through: 2.40 from it plus 0.09 of the fee.
			var tx wallet.WalletTransaction
			s.must(t, 201, "POST", "/wallet/api/v1/requests/"+req.ID+"/refunds", tok, wallet.MoneyRequestRefund{Amount: "2.49"}, &tx)
			if tx.Net != "-2.40" || tx.FeeReturned != "0.09" {
				t.Fatalf("partial refund %+v", tx)
			}
			if err := ledger.CheckInvariants(ctx, s.a.DB.Read()); err != nil {
				t.Fatal(err)
			}
		})
	}
}
