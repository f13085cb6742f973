package wallet_test

import (
	"context"
	"strings"
	"testing"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/ids"
	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/money"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/wallet"
)

func TestReceiveFeeRounding(t *testing.T) {
	// Percentage fees round half up to the cent, then the fixed part is added.
	for _, c := range []struct {
		tier   wallet.Tier
		amount int64
		want   int64
	}{
		{wallet.TierCorporate, 99, 0},       // < 1 €: free
		{wallet.TierCorporate, 100, 22},     // 1.5 ct → 2 ct + 20
		{wallet.TierCorporate, 110, 22},     // 1.65 → 2
		{wallet.TierCorporate, 130, 22},     // 1.95 → 2
		{wallet.TierCorporate, 133, 22},     // 1.995 → 2
		{wallet.TierCorporate, 170, 23},     // 2.55 → 3
		{wallet.TierCorporate, 10000, 170},  // 150 + 20
		{wallet.TierCorporatePlus, 99, 0},   // free
		{wallet.TierCorporatePlus, 100, 16}, // 1 + 15
		{wallet.TierCorporatePlus, 150, 17}, // 1.5 → 2, + 15
		{wallet.TierCorporatePlus, 149, 16}, // 1.49 → 1, + 15
		{wallet.TierCorporatePlus, 10000, 115},
	} {
		got, err := wallet.ReceiveFee(c.tier, c.amount)
		if err != nil || got != c.want {
			t.Errorf("ReceiveFee(%s, %d) = %d, %v; want %d", c.tier, c.amount, got, err, c.want)
		}
	}
	if wallet.FeeRounding != money.RoundHalfUp {
		t.Fatal("the documented rounding is half up")
	}
	if wallet.SendFee(wallet.TierPrivate, wallet.KindPrivate) != 25 || wallet.SendFee(wallet.TierCorporatePlus, wallet.KindCorporate) != 50 {
		t.Fatal("send fees are 0.25 € to a private user and 0.50 € to a corporate")
	}
}

func TestIBAN(t *testing.T) {
	for _, c := range []struct{ in, want, err string }{
		{"DE89 3704 0044 0532 0130 00", "DE89370400440532013000", ""},
		{"gb82 west 1234 5698 7654 32", "GB82WEST12345698765432", ""},
		{"FR14 2004 1010 0505 0001 3M02 606", "FR1420041010050500013M02606", ""},
		{"NO9386011117947", "NO9386011117947", ""},
		{"MT84MALT011000012345MTLCAST001S", "MT84MALT011000012345MTLCAST001S", ""},
		{"DE89 3704 0044 0532 0130 01", "", "mod-97"},       // one digit off
		{"DE89 3704 0044 0532 0130 0", "", "22 characters"}, // too short for DE
		{"US12 3456 7890 1234", "", "SEPA"},
		{"DE8X 3704", "", "check digits"},
		{"", "", "not an IBAN"},
	} {
		got, err := wallet.ValidateIBAN("iban", c.in)
		if c.err == "" {
			if err != nil || got != c.want {
				t.Errorf("ValidateIBAN(%q) = %q, %v; want %q", c.in, got, err, c.want)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.err) || !apperr.Is(err, apperr.Invalid) {
			t.Errorf("ValidateIBAN(%q) = %v; want an Invalid error mentioning %q", c.in, err, c.err)
		}
	}
	if _, err := wallet.ValidateBIC("bic", "COBADEFF"); err != nil {
		t.Error(err)
	}
	if _, err := wallet.ValidateBIC("bic", "COBA1EFF"); err == nil {
		t.Error("a BIC's country is two letters")
	}
}

func TestToEUR(t *testing.T) {
	for _, c := range []struct {
		minor int64
		cur   string
		rate  string
		want  int64
	}{
		{1000, "USD", "0.92", 920},   // 10.00 USD
		{1999, "USD", "0.925", 1849}, // 18.49075 → 18.49
		{1, "USD", "0.5", 1},         // 0.005 → 0.01 (half up)
		{1000, "JPY", "0.0061", 610}, // 1000 JPY
		{1234, "KWD", "2.98", 368},   // 1.234 KWD → 3.67732 → 3.68
	} {
		got, err := wallet.ToEUR(c.minor, money.MustParseCurrency(c.cur), c.rate)
		if err != nil || got != c.want {
			t.Errorf("ToEUR(%d %s at %s) = %d, %v; want %d", c.minor, c.cur, c.rate, got, err, c.want)
		}
	}
}

// TestMerchantTokenExample pins the worked example of the token
// construction in client.go and the README.
func TestMerchantTokenExample(t *testing.T) {
	salt := "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	got := wallet.MerchantToken("K7M2QX9A", "cgm_secret", salt)
	want := "K7M2QX9A." + salt + ".918da07f0a615cb9d319732047731fd0724570e3dce7e03720742588a6a95d90"
	if got != want {
		t.Fatalf("token = %q, want the documented %q", got, want)
	}
	if msg := wallet.TokenMessage("K7M2QX9A", salt); msg != "cashgate-wallet-token\nK7M2QX9A\n"+salt {
		t.Fatalf("token message %q", msg)
	}
	// The callback's control parameter (doc.go's worked example).
	body := wallet.CallbackBody{RequestID: "mrq_1", OrderID: "o-1", Status: "approved", Amount: "12.50", Currency: "EUR",
		OriginalAmount: "13.57", OriginalCurrency: "USD", Fee: "0.39", Timestamp: "2026-11-21T09:30:00Z"}
	if msg := wallet.CallbackMessage(body); msg != "cashgate-wallet-callback\nmrq_1\no-1\napproved\n12.50\nEUR\n13.57\nUSD\n0.39\n2026-11-21T09:30:00Z" {
		t.Fatalf("callback message %q", msg)
	}
	body.Control = wallet.CallbackControl("cgm_secret", body)
	if want := "2feaa1e1aa2ff6ba9d80555d30a79506147e5c6a49cb9311736f10b374bd17bb"; body.Control != want {
		t.Fatalf("control = %s, want the documented %s", body.Control, want)
	}
	raw := []byte(`{"requestId":"mrq_1","orderId":"o-1","status":"approved","amount":"12.50","currency":"EUR","originalAmount":"13.57",` +
		`"originalCurrency":"USD","fee":"0.39","timestamp":"2026-11-21T09:30:00Z","control":"` + body.Control + `"}`)
	got2, err := wallet.VerifyCallback("cgm_secret", raw)
	if err != nil || got2 != body {
		t.Fatalf("verify: %+v %v", got2, err)
	}
	for _, field := range []string{`"0.39"`, `"13.57"`, `"USD"`, `"o-1"`} {
		changed := []byte(strings.Replace(string(raw), field, `"9"`, 1))
		if _, err := wallet.VerifyCallback("cgm_secret", changed); err == nil {
			t.Fatalf("a callback with %s changed verifies", field)
		}
	}
	if _, err := wallet.VerifyCallback("other", raw); err == nil {
		t.Fatal("a callback verifies only with the merchant's secret")
	}
	tampered := []byte(strings.Replace(string(raw), "12.50", "1250.00", 1))
	if _, err := wallet.VerifyCallback("cgm_secret", tampered); err == nil {
		t.Fatal("a changed amount must not verify")
	}
}

// TestIssuerAccountsHot: the fee account every fee is credited to and the
// bank clearing account every top-up debits are hot (ledger/fold.go); the
// payout and expense accounts are not.
func TestIssuerAccountsHot(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ia := e.w.IssuerAccounts()
		l := ledger.New(e.db, e.clk, ids.New(nil))
		// A merchant's corporate wallet is credited by every payment of its
		// tenant, in every currency; a customer's wallet is not hot.
		accounts := map[string]bool{ia.Fees: true, ia.BankClearing: true, ia.Payouts: false, ia.Expenses: false}
		shop, shopper := e.corporate("hotshop", false), e.customer("shopper")
		err := e.db.Transact(e.ctx, func(ctx context.Context, tx *store.Tx) error {
			for u, hot := range map[string]bool{shop.User.ID: true, shopper.ID: false} {
				for _, cur := range []string{"EUR", "USD"} {
					id, err := e.w.AccountIn(ctx, tx, u, cur)
					if err != nil {
						return err
					}
					accounts[id] = hot
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for id, hot := range accounts {
			a, err := l.Account(e.ctx, e.db.Read(), wallet.LedgerScope, id)
			if err != nil || a.Hot != hot {
				t.Errorf("%s/%s hot = %t (%v), want %t", a.Owner, a.Purpose, a.Hot, err, hot)
			}
		}
	})
}
