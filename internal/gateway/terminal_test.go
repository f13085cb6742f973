package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/apptest"
	"github.com/cashgate/cashgate/internal/gateway"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// lockedBuffer is a log destination shared by the app's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestVirtualTerminal: an agent's MOTO payment is the API's MOTO payment
// job (paid at once, no 3-D Secure even for an enrolled card, flagged
// moto and virtualTerminal), declines are told in the guide's words, bad
// input is refused by field, a tenant that refuses card details in the API
// still takes it, half of it is refunded — and the card number is in no log
// line (every level), no stored row and no answer: only its first 6 and
// last 4 digits are.
func TestVirtualTerminal(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			logs := &lockedBuffer{}
			a := apptest.New(t, e, apptest.Options{Seed: 3, LogAll: logs})
			h := &harness{App: a, app: a.App}
			gw, ctx, tid := h.app.Gateway.Service, context.Background(), h.Tenant.TenantID
			h.settings(gateway.GatewaySettings{AutoCapture: true, RefuseDirectCardPayments: true})
			pans := []string{"4000000000000010", "4000000000000002", "4000000000000044", "4000000000000051"}
			card := func(pan, order string) gateway.TerminalPayment {
				return gateway.TerminalPayment{Amount: "40.00", Currency: "GBP", CardNumber: pan, ExpiryMonth: "12", ExpiryYear: "30",
					CVC: "123", CardHolder: "Ada Lovelace", OrderNumber: order}
			}
			var shown []any
			for _, c := range []struct {
				pan, order, status, message string
			}{
				{pans[0], "VT-1", "Paid", ""},
				{pans[1], "VT-2", "Paid", ""}, // enrolled, but MOTO: no 3-D Secure
				{pans[2], "VT-3", "Failed", "Payment has been refused."},
				{pans[3], "VT-4", "Failed", "Payment has been refused."},
			} {
				res, err := gw.TakeTerminalPayment(ctx, tid, card(c.pan, c.order))
				if err != nil {
					t.Fatalf("%s: %v", c.order, err)
				}
				if res.Status != c.status || res.Message != c.message || res.MaskedCard != c.pan[:6]+"******"+c.pan[12:] || res.Amount != "40.00" {
					t.Errorf("%s: %+v", c.order, res)
				}
				job := h.must("GET", "/api/gateway/payment-jobs/"+res.PaymentJobReference, "", 200)
				flags := data(job)["flags"].(map[string]any)
				if flags["moto"] != true || flags["virtualTerminal"] != true || firstPayment(job)["flags"].(map[string]any)["moto"] != true {
					t.Errorf("%s: flags %v", c.order, flags)
				}
				shown = append(shown, res, job)
			}
			// The API refuses card details for this tenant; the terminal took them.
			if r := h.call("POST", "/api/gateway/payment-jobs", moto("API-1", "1.00")); r.Status != 400 || !strings.Contains(string(r.Body), "Direct card payments are not allowed.") {
				t.Errorf("API MOTO with refuseDirectCardPayments = %d %s", r.Status, r.Body)
			}
			for _, c := range []struct {
				name  string
				edit  func(*gateway.TerminalPayment)
				field string
			}{
				{"bad number", func(p *gateway.TerminalPayment) { p.CardNumber = "4000000000000011" }, "cardNumber"},
				{"expired", func(p *gateway.TerminalPayment) { p.ExpiryYear = "20" }, "cardExpiryYear"},
				{"no CVC", func(p *gateway.TerminalPayment) { p.CVC = "" }, "cardCvc"},
				{"amount", func(p *gateway.TerminalPayment) { p.Amount = "4,00" }, "amountToCollect"},
				{"currency", func(p *gateway.TerminalPayment) { p.Currency = "XAU" }, "currency"},
				{"control character", func(p *gateway.TerminalPayment) { p.CardHolder = "Ada\x00" }, "cardHolderName"},
				{"order number taken", func(p *gateway.TerminalPayment) { p.OrderNumber = "VT-1" }, "orderNumber"},
			} {
				in := card(pans[0], "VT-bad")
				c.edit(&in)
				_, err := gw.TakeTerminalPayment(ctx, tid, in)
				if e := apperr.From(err); e.Code != apperr.Invalid || e.Field != c.field {
					t.Errorf("%s: %v", c.name, err)
				}
				shown = append(shown, apperr.From(err).Message)
			}
			// Half of the first payment is refunded.
			first := shown[0].(gateway.TerminalResult)
			if _, _, err := gw.Refund(ctx, tid, first.PaymentJobReference, first.PaymentReference, gateway.RefundPaymentRequest{AmountToRefund: "20.00"}); err != nil {
				t.Fatal(err)
			}
			if p := firstPayment(h.must("GET", "/api/gateway/payment-jobs/"+first.PaymentJobReference, "", 200)); p["status"] != "PartiallyRefunded" || p["refundedAmount"] != "20.00" {
				t.Errorf("after refunding half: %v", p)
			}
			h.RunDue()
			out, _ := json.Marshal(shown)
			for _, pan := range pans {
				if strings.Contains(string(out), pan) {
					t.Errorf("an answer shows the card number %s", pan)
				}
				if strings.Contains(logs.String(), pan) {
					t.Errorf("the log has the card number %s", pan)
				}
				if where := storedAt(t, h.app.DB, pan); len(where) > 0 {
					t.Errorf("the card number %s is stored in %v", pan, where)
				}
			}
			if !strings.Contains(string(out), "400000******0010") || logs.String() == "" {
				t.Errorf("the check is blind: answers %s, %d bytes of log", out, len(logs.String()))
			}
		})
	}
}

// storedAt lists the table.column of every stored value that contains
// needle, in every table of the database.
func storedAt(t *testing.T, db *store.DB, needle string) []string {
	t.Helper()
	ctx := context.Background()
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
	if db.Dialect() == store.Postgres {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`
	}
	rows, err := db.Read().QueryContext(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	if len(tables) < 20 {
		t.Fatalf("only %d tables found: %v", len(tables), tables)
	}
	var hits []string
	for _, table := range tables {
		hits = append(hits, columnsWith(t, db, table, needle)...)
	}
	return hits
}

func columnsWith(t *testing.T, db *store.DB, table, needle string) []string {
	t.Helper()
	rows, err := db.Read().QueryContext(context.Background(), `SELECT * FROM `+table)
	if err != nil {
		t.Fatalf("%s: %v", table, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var hits []string
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		for i, v := range vals {
			var s string
			switch v := v.(type) {
			case []byte:
				s = string(v)
			default:
				s = fmt.Sprint(v)
			}
			if strings.Contains(s, needle) {
				hits = append(hits, table+"."+cols[i])
			}
		}
	}
	return hits
}
