package wallet_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/wallet"
)

// TestSendOverHTTP: a logged-in customer sends money to a corporate over the
// wallet app's API; the answer, the stored event and both parties' lists
// agree, and refusals come in the wallet's error format and change nothing.
func TestSendOverHTTP(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			s := newStack(t, e)
			ctx := t.Context()
			w := s.a.Wallet.Service
			shop, err := w.CreateCorporate(ctx, wallet.CorporateSpec{CompanyName: "Shop", Username: "shop", Password: "shop-password", PIN: "4321",
				IBAN: "DE89370400440532013000", BIC: "COBADEFFXXX"})
			ok(t, err)
			var alice wallet.WalletUser
			s.must(t, 201, "POST", "/wallet/app/v1/signup", "", wallet.WalletSignUp{Username: "alice", Password: "alice-password", PIN: "1234"}, &alice)
			_, err = w.CreditTopUp(ctx, wallet.TopUp{Reference: alice.TopUpReference, Amount: "20.00", BankReference: "BANK-1"})
			ok(t, err)
			var sess wallet.WalletSession
			s.must(t, 200, "POST", "/wallet/app/v1/login", "", wallet.WalletLogin{Username: "alice", Password: "alice-password"}, &sess)

			r := s.call(t, "POST", "/wallet/app/v1/send", sess.Token, wallet.WalletSend{To: "Shop", Amount: "10.00", Description: "Lunch"})
			if r.status != 201 {
				t.Fatalf("send: %d %s", r.status, r.body)
			}
			var tx wallet.WalletTransaction
			r.decode(t, &tx)
			// 10.00 to a corporate: 0.50 send fee on top; the shop pays
			// 1.5 % + 0.20 = 0.35 on receipt.
			if tx.Type != "send" || tx.Direction != "out" || tx.Counterparty != "shop" || tx.Amount != "10.00" || tx.Fee != "0.50" ||
				tx.Net != "-10.50" || tx.SenderFee != "0.50" || tx.RecipientFee != "0.35" || tx.Description != "Lunch" || tx.Status != "completed" {
				t.Fatalf("send answer %s", r.body)
			}
			// The event carries exactly the answer.
			var data string
			ok(t, s.a.DB.Read().QueryRowContext(ctx, `SELECT data FROM events WHERE subject = $1 AND type = $2 AND tenant_id = $3`,
				tx.ID, wallet.EventTransaction, shop.TenantID).Scan(&data))
			if !bytes.Equal(bytes.TrimSpace(r.body), []byte(data)) {
				t.Fatalf("event data %s\nanswer %s", data, r.body)
			}
			var page wallet.WalletTransactionPage
			s.must(t, 200, "GET", "/wallet/app/v1/transactions?type=send", sess.Token, nil, &page)
			if len(page.Transactions) != 1 {
				t.Fatalf("alice's sends %+v", page.Transactions)
			}
			// Listed as sent, it is the same as answered (the answer's JSON
			// re-encodes to what the list shows).
			a, _ := json.Marshal(page.Transactions[0])
			b, _ := json.Marshal(tx)
			if !bytes.Equal(a, b) {
				t.Fatalf("listed %s\nanswered %s", a, b)
			}
			shopPage, err := w.Transactions(ctx, shop.User.ID, wallet.TxFilter{})
			ok(t, err)
			if in := shopPage.Transactions[0]; in.ID != tx.ID || in.Direction != "in" || in.Fee != "0.35" || in.Net != "9.65" || in.Counterparty != "alice" {
				t.Fatalf("the shop sees %+v", in)
			}

			for _, c := range []struct {
				body   wallet.WalletSend
				status int
				want   string
			}{
				{wallet.WalletSend{To: "alice", Amount: "1.00"}, 400, `"field":"to"`},
				{wallet.WalletSend{To: "nobody", Amount: "1.00"}, 404, `"field":"to"`},
				{wallet.WalletSend{To: "shop", Amount: "9.01"}, 422, `"code":"insufficient_funds"`},
				{wallet.WalletSend{To: "shop", Amount: "0.19"}, 422, `"limit":"min_per_transaction"`},
				{wallet.WalletSend{To: "shop", Amount: "1.001"}, 400, `"field":"amount"`},
			} {
				r := s.call(t, "POST", "/wallet/app/v1/send", sess.Token, c.body)
				if r.status != c.status || !strings.Contains(string(r.body), c.want) {
					t.Fatalf("send %+v: %d %s, want %d with %s", c.body, r.status, r.body, c.status, c.want)
				}
			}
			if r := s.call(t, "POST", "/wallet/app/v1/send", "", wallet.WalletSend{To: "shop", Amount: "1.00"}); r.status != 401 {
				t.Fatalf("send without a session: %d %s", r.status, r.body)
			}
			var bal wallet.WalletBalance
			bal, err = w.BalanceOf(ctx, alice.ID)
			ok(t, err)
			if bal.Available != "9.50" {
				t.Fatalf("alice has %s after the refusals, want 9.50", bal.Available)
			}
			if err := ledger.CheckInvariants(ctx, s.a.DB.Read()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestTransactionPagesMergeBothDirections: a wallet's list merges the
// movements from it and to it (two index walks) newest first, ties on the
// same instant ordered by id, and pages of one neither skip nor repeat.
func TestTransactionPagesMergeBothDirections(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		alice, bob := e.customer("alice"), e.customer("bob")
		e.topUp(alice, "50.00")
		e.topUp(bob, "50.00")
		for i, from := range []wallet.WalletUser{alice, bob, alice, alice, bob} { // the clock stands still: one instant
			to := map[string]string{alice.ID: "bob", bob.ID: "alice"}[from.ID]
			if _, err := e.w.Send(e.ctx, from.ID, wallet.WalletSend{To: to, Amount: "1.00"}); err != nil {
				t.Fatalf("send %d: %v", i, err)
			}
		}
		all, err := e.w.Transactions(e.ctx, alice.ID, wallet.TxFilter{Limit: 200})
		ok(t, err)
		if len(all.Transactions) != 6 || all.NextCursor != "" {
			t.Fatalf("alice's list: %d transactions, cursor %q", len(all.Transactions), all.NextCursor)
		}
		for i := 1; i < len(all.Transactions); i++ {
			a, b := all.Transactions[i-1], all.Transactions[i]
			if a.CreatedAt.Before(b.CreatedAt) || (a.CreatedAt.Equal(b.CreatedAt) && a.ID < b.ID) {
				t.Fatalf("not newest first: %s (%v) before %s (%v)", a.ID, a.CreatedAt, b.ID, b.CreatedAt)
			}
		}
		var paged []string
		for f := (wallet.TxFilter{Limit: 1}); ; {
			page, err := e.w.Transactions(e.ctx, alice.ID, f)
			ok(t, err)
			for _, tx := range page.Transactions {
				paged = append(paged, tx.ID)
			}
			if f.Cursor = page.NextCursor; f.Cursor == "" {
				break
			}
		}
		for i, tx := range all.Transactions {
			if i >= len(paged) || paged[i] != tx.ID {
				t.Fatalf("pages of one gave %v, the list %d transactions", paged, len(all.Transactions))
			}
		}
	})
}
