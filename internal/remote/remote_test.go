package remote_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/card"
	"github.com/cashgate/cashgate/internal/cardpay"
	"github.com/cashgate/cashgate/internal/clock"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/ids"
	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/outbox"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/remote"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

var epoch = time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)

// fakeWallets gives tenant t the receiving account "to-"+t and knows the
// accounts in known.
type fakeWallets struct {
	known map[string]bool
	w     ledgerWallets
}

func (f fakeWallets) LedgerAccount(ctx context.Context, tx *store.Tx, number, currency string) (string, string, error) {
	id, err := f.w.account(ctx, tx, number, currency, false)
	return "wallet", id, err
}

func (f fakeWallets) ReceivingAccount(_ context.Context, tenantID string) (string, error) {
	return "to-" + tenantID, nil
}

func (f fakeWallets) CheckAccount(_ context.Context, field, s string) (string, error) {
	if !f.known[s] {
		return "", apperr.InvalidField(field, "%s: no cashgate wallet has account number %q", field, s)
	}
	return s, nil
}

type env struct {
	t      *testing.T
	ctx    context.Context
	db     *store.DB
	clk    *clock.Fake
	svc    *remote.Service
	runner *outbox.Runner
	srv    *httptest.Server
	page   *httptest.Server // the hosted page's routes
	w      ledgerWallets
	a, b   string      // two tenants
	deps   remote.Deps // what svc was built from
}

func newEnv(t *testing.T, db *store.DB) *env {
	t.Helper()
	ctx := context.Background()
	clk := clock.NewFake(epoch)
	gen := ids.New(rand.NewChaCha8([32]byte{9}))
	plat, err := platform.New(db, clk, gen, nil, platform.Config{Pepper: []byte("pepper for the tests"), Argon2: platform.Argon2Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, ctx: ctx, db: db, clk: clk}
	for _, dst := range []*string{&e.a, &e.b} {
		ten, err := plat.CreateTenant(ctx, platform.TenantSpec{Name: "Shop", Mode: platform.Production})
		if err != nil {
			t.Fatal(err)
		}
		*dst = ten.TenantID
	}
	ob := outbox.New(db, clk, gen)
	e.w = ledgerWallets{db: db, l: ledger.New(db, clk, gen)}
	engine, err := cardpay.New(card.NewSimulator(gen), e.w.l)
	if err != nil {
		t.Fatal(err)
	}
	vault, err := card.NewVault(bytes.Repeat([]byte{6}, 32), gen)
	if err != nil {
		t.Fatal(err)
	}
	e.deps = remote.Deps{DB: db, Clock: clk, IDs: gen, Events: ob, Tenants: plat, Pay: e.w, Cards: engine, Vault: vault,
		Wallets: fakeWallets{known: map[string]bool{"123456789012": true}, w: e.w}, PublicURL: "https://pay.example.com/"}
	e.svc, err = remote.New(e.deps)
	if err != nil {
		t.Fatal(err)
	}
	e.runner = outbox.NewRunner(db, clk, nil, outbox.RunnerOptions{WorkerID: "test"})
	e.runner.Handle(remote.JobExpire, e.svc.Expire)
	if err := e.svc.ScheduleExpiry(ctx); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	for _, rt := range e.svc.Routes(httpx.PlatformErrors(nil)) {
		mux.HandleFunc(rt.Method+" "+rt.Path, rt.Handler)
	}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if t := r.Header.Get("X-Tenant"); t != "" {
			r = r.WithContext(httpx.WithPrincipal(r.Context(), httpx.Principal{TenantID: t}))
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(e.srv.Close)
	pages := http.NewServeMux()
	for _, rt := range e.svc.PageRoutes() {
		pages.HandleFunc(rt.Method+" "+rt.Path, rt.Handler)
	}
	e.page = httptest.NewServer(pages)
	t.Cleanup(e.page.Close)
	return e
}

type reply struct {
	status int
	body   string
}

func (e *env) call(tenant, method, path, body string) reply {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-Tenant", tenant)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return reply{res.StatusCode, string(b)}
}

func (e *env) create(tenant, body string) remote.Payment {
	e.t.Helper()
	r := e.call(tenant, "POST", "/remote/v1/payments", body)
	if r.status != 201 {
		e.t.Fatalf("create %s: %d %s", body, r.status, r.body)
	}
	var p remote.Payment
	if err := json.Unmarshal([]byte(r.body), &p); err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *env) count(q string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.db.Read().QueryRowContext(e.ctx, q, args...).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// TestCreateAndRead: the seed's attributes, as given; another tenant's id
// answers exactly like an unknown one.
func TestCreateAndRead(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		p := e.create(e.a, `{"amount":10098,"currency":"USD","note":"Order 12345","metadata":{"orderId": "ORD-12345", "customerId":"CUST-678","n":3,"tags":["a"]},
			"payable_to":"123456789012","redirectUrl":"https://shop.example/return?x=1"}`)
		if len(p.ID) != 16 || strings.Trim(p.ID, "0123456789") != "" || p.Amount != 10098 || p.Currency != "USD" || p.Status != remote.StatusPending ||
			p.To != "to-"+e.a || p.PayableTo == nil || *p.PayableTo != "123456789012" || p.From != nil || p.PaidAt != nil ||
			p.PaymentURL != "https://pay.example.com/pay/"+p.ID || !p.ExpiresAt.Equal(epoch.Add(remote.DefaultExpiry)) {
			t.Fatalf("created %+v", p)
		}
		if string(p.Metadata) != `{"orderId":"ORD-12345","customerId":"CUST-678","n":3,"tags":["a"]}` {
			t.Fatalf("metadata %s, want the object as given (key order kept)", p.Metadata)
		}
		jpy := e.create(e.a, `{"amount":1000,"currency":"JPY"}`)
		if jpy.Amount != 1000 || string(jpy.Metadata) != "{}" || jpy.ID == p.ID {
			t.Fatalf("JPY payment %+v", jpy)
		}
		got := e.call(e.a, "GET", "/remote/v1/payments/"+p.ID, "")
		if got.status != 200 || !strings.Contains(got.body, `"id":"`+p.ID+`"`) {
			t.Fatalf("get: %d %s", got.status, got.body)
		}
		other := e.call(e.b, "GET", "/remote/v1/payments/"+p.ID, "")
		unknown := e.call(e.b, "GET", "/remote/v1/payments/9999999999999999", "")
		if other.status != 404 || unknown.status != 404 || strings.ReplaceAll(other.body, p.ID, "X") != strings.ReplaceAll(unknown.body, "9999999999999999", "X") {
			t.Fatalf("another tenant's id: %d %s; unknown: %d %s", other.status, other.body, unknown.status, unknown.body)
		}
		if n := e.count(`SELECT COUNT(*) FROM events WHERE type = 'remote.payment.created'`); n != 2 {
			t.Fatalf("%d created events, want 2", n)
		}
	})
}

// TestCreateRefusesBadInput: every refusal is a 400 in the platform format
// naming the field, and nothing is written.
func TestCreateRefusesBadInput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		big := `{"amount":1,"currency":"EUR","metadata":{"k":"` + strings.Repeat("x", remote.MaxMetadata) + `"}}`
		for _, c := range []struct{ name, body, want string }{
			{"no amount", `{"currency":"USD"}`, "amount"},
			{"zero", `{"amount":0,"currency":"USD"}`, "amount"},
			{"negative", `{"amount":-5,"currency":"USD"}`, "amount"},
			{"fraction", `{"amount":100.5,"currency":"USD"}`, "amount"},
			{"string amount", `{"amount":"100","currency":"USD"}`, "amount"},
			{"unknown currency", `{"amount":100,"currency":"XYZ"}`, "currency"},
			{"lower-case currency", `{"amount":100,"currency":"usd"}`, "currency"},
			{"metadata array", `{"amount":100,"currency":"USD","metadata":[1]}`, "metadata"},
			{"metadata too big", big, "metadata"},
			{"unknown payable_to", `{"amount":100,"currency":"USD","payable_to":"000000000000"}`, "payable_to"},
			{"redirect not absolute", `{"amount":100,"currency":"USD","redirectUrl":"/return"}`, "redirectUrl"},
			{"redirect javascript", `{"amount":100,"currency":"USD","redirectUrl":"javascript:alert(1)"}`, "redirectUrl"},
			{"expiry in the past", `{"amount":100,"currency":"USD","expires_at":"2026-12-01T00:00:00Z"}`, "expires_at"},
			{"expiry too far", `{"amount":100,"currency":"USD","expires_at":"2027-06-01T00:00:00Z"}`, "expires_at"},
			{"NUL in note", `{"amount":100,"currency":"USD","note":"a\u0000b"}`, "control character"},
			{"unknown field", `{"amount":100,"currency":"USD","colour":"red"}`, "colour"},
			{"duplicate key", `{"amount":100,"amount":200,"currency":"USD"}`, "amount"},
		} {
			r := e.call(e.a, "POST", "/remote/v1/payments", c.body)
			var m map[string]string
			if r.status != 400 || json.Unmarshal([]byte(r.body), &m) != nil || len(m) != 1 || !strings.Contains(m["error"], c.want) {
				t.Errorf("%s: %d %s, want 400 {\"error\": …%s…}", c.name, r.status, r.body, c.want)
			}
		}
		if n := e.count(`SELECT COUNT(*) FROM remote_payments`); n != 0 {
			t.Fatalf("bad input wrote %d payments", n)
		}
	})
}

// TestCancelAndExpire: only a payment not yet paid can be canceled; an
// unpaid payment is canceled ("expired") when it expires, on the fake clock.
func TestCancelAndExpire(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		p := e.create(e.a, `{"amount":500,"currency":"EUR"}`)
		if r := e.call(e.b, "POST", "/remote/v1/payments/"+p.ID+"/cancel", ""); r.status != 404 {
			t.Fatalf("another tenant canceled: %d %s", r.status, r.body)
		}
		r := e.call(e.a, "POST", "/remote/v1/payments/"+p.ID+"/cancel", "")
		if r.status != 200 || !strings.Contains(r.body, `"status":"canceled"`) || !strings.Contains(r.body, `"cancel_reason":"merchant"`) {
			t.Fatalf("cancel: %d %s", r.status, r.body)
		}
		if r := e.call(e.a, "POST", "/remote/v1/payments/"+p.ID+"/cancel", ""); r.status != 409 || !strings.Contains(r.body, "is canceled") {
			t.Fatalf("cancel twice: %d %s", r.status, r.body)
		}

		q := e.create(e.a, `{"amount":700,"currency":"EUR","expires_at":"2026-12-02T11:00:00Z"}`)
		e.clk.Advance(59 * time.Minute)
		if _, err := e.runner.RunDue(e.ctx); err != nil {
			t.Fatal(err)
		}
		if got, _ := e.svc.Get(e.ctx, e.a, q.ID); got.Status != remote.StatusPending {
			t.Fatalf("expired early: %+v", got)
		}
		e.clk.Advance(time.Minute)
		if _, err := e.runner.RunDue(e.ctx); err != nil {
			t.Fatal(err)
		}
		got, err := e.svc.Get(e.ctx, e.a, q.ID)
		if err != nil || got.Status != remote.StatusCanceled || got.CancelReason == nil || *got.CancelReason != "expired" || got.CanceledAt == nil {
			t.Fatalf("after expiry: %+v %v", got, err)
		}
		if n := e.count(`SELECT COUNT(*) FROM events WHERE type = 'remote.payment.canceled'`); n != 2 {
			t.Fatalf("%d canceled events, want 2", n)
		}
	})
}

// TestListFiltersAndPages: newest first, filters by status, creation time
// and metadata, cursor pages that neither skip nor repeat.
func TestListFiltersAndPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		var ids []string
		for i := range 7 {
			p := e.create(e.a, fmt.Sprintf(`{"amount":%d00,"currency":"EUR","metadata":{"orderId":"ORD-%d","n":%d}}`, i+1, i%2, i))
			ids = append(ids, p.ID)
			e.clk.Advance(time.Second)
		}
		e.create(e.b, `{"amount":100,"currency":"EUR","metadata":{"orderId":"ORD-0"}}`)
		if r := e.call(e.a, "POST", "/remote/v1/payments/"+ids[0]+"/cancel", ""); r.status != 200 {
			t.Fatal(r.body)
		}
		list := func(query string) remote.PaymentList {
			t.Helper()
			r := e.call(e.a, "GET", "/remote/v1/payments?"+query, "")
			var l remote.PaymentList
			if r.status != 200 || json.Unmarshal([]byte(r.body), &l) != nil {
				t.Fatalf("list ?%s: %d %s", query, r.status, r.body)
			}
			return l
		}
		var seen []string
		cursor := ""
		for {
			l := list("limit=3&cursor=" + cursor)
			for _, p := range l.Data {
				seen = append(seen, p.ID)
			}
			if l.Next == "" {
				break
			}
			cursor = l.Next
		}
		if len(seen) != 7 || seen[0] != ids[6] || seen[6] != ids[0] {
			t.Fatalf("pages gave %v, want %v newest first", seen, ids)
		}
		if l := list("status=canceled"); len(l.Data) != 1 || l.Data[0].ID != ids[0] {
			t.Fatalf("status filter: %+v", l.Data)
		}
		if l := list("metadata%5BorderId%5D=ORD-1"); len(l.Data) != 3 {
			t.Fatalf("metadata filter: %d payments, want 3", len(l.Data))
		}
		if l := list("metadata%5BorderId%5D=ORD-0&metadata%5Bn%5D=4"); len(l.Data) != 1 || l.Data[0].ID != ids[4] {
			t.Fatalf("two metadata filters: %+v", l.Data)
		}
		if l := list("created_from=2026-12-02T10:00:02Z&created_to=2026-12-02T10:00:04Z"); len(l.Data) != 2 {
			t.Fatalf("created range: %d payments, want 2", len(l.Data))
		}
		// The metadata filter walks its own index: pages, other filters and
		// the tenant scope hold there too (tenant b's ORD-0 is not listed).
		var byMeta []string
		for cursor := ""; ; {
			l := list("metadata%5BorderId%5D=ORD-0&limit=1&cursor=" + cursor)
			for _, p := range l.Data {
				byMeta = append(byMeta, p.ID)
			}
			if cursor = l.Next; cursor == "" {
				break
			}
		}
		if want := []string{ids[6], ids[4], ids[2], ids[0]}; !slices.Equal(byMeta, want) {
			t.Fatalf("metadata pages gave %v, want %v", byMeta, want)
		}
		if l := list("metadata%5BorderId%5D=ORD-0&status=canceled"); len(l.Data) != 1 || l.Data[0].ID != ids[0] {
			t.Fatalf("metadata and status: %+v", l.Data)
		}
		if l := list("metadata%5BorderId%5D=ORD-0&created_from=2026-12-02T10:00:02Z&created_to=2026-12-02T10:00:05Z"); len(l.Data) != 2 ||
			l.Data[0].ID != ids[4] || l.Data[1].ID != ids[2] {
			t.Fatalf("metadata and created range: %+v", l.Data)
		}
		for _, bad := range []string{"status=lost", "limit=0", "limit=101", "cursor=nonsense", "created_from=yesterday"} {
			if r := e.call(e.a, "GET", "/remote/v1/payments?"+bad, ""); r.status != 400 {
				t.Errorf("?%s: %d %s, want 400", bad, r.status, r.body)
			}
		}
	})
}

// TestDrawnIDsAreNeverReused: two services whose id generators draw the
// same numbers at the same time (as two processes could, by a 1 in 10¹¹
// chance within 100 ms) create
// payments with different ids: the second draw of a taken id is drawn again.
func TestDrawnIDsAreNeverReused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.create(e.a, `{"amount":100,"currency":"EUR"}`) // opens the receiving wallet first
		var got []string
		for range 2 {
			d := e.deps
			d.IDs = ids.New(rand.NewChaCha8([32]byte{42}))
			svc, err := remote.New(d)
			if err != nil {
				t.Fatal(err)
			}
			p, err := svc.Create(e.ctx, e.a, remote.CreatePaymentRequest{Amount: 100, Currency: "EUR"})
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, p.ID)
		}
		// The second service drew the first one's id first: a collision.
		if first := ids.New(rand.NewChaCha8([32]byte{42})).AnyDigits(11); got[0][5:] != first || got[0] == got[1] || len(got[1]) != 16 {
			t.Fatalf("ids %v, both services drew …%s first", got, first)
		}
		for _, id := range got {
			if r := e.call(e.a, "GET", "/remote/v1/payments/"+id, ""); r.status != 200 || !strings.Contains(r.body, `"status":"pending"`) {
				t.Fatalf("payment %s: %d %s", id, r.status, r.body)
			}
		}
	})
}

// TestExpirySweep: one run of the recurring sweep cancels a backlog larger
// than its batch, leaves canceled and unexpired payments alone and comes back
// ExpiryEvery later; a per-payment expiry job left by an earlier version
// still expires its payment.
func TestExpirySweep(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		soon := epoch.Add(2 * time.Minute).Format(time.RFC3339)
		var due []string
		for range 130 {
			due = append(due, e.create(e.a, `{"amount":100,"currency":"EUR","expires_at":"`+soon+`"}`).ID)
		}
		if r := e.call(e.a, "POST", "/remote/v1/payments/"+due[0]+"/cancel", ""); r.status != 200 {
			t.Fatalf("cancel: %d %s", r.status, r.body)
		}
		later := e.create(e.b, `{"amount":100,"currency":"EUR"}`)
		old := e.create(e.b, `{"amount":100,"currency":"EUR","expires_at":"`+soon+`"}`)
		if _, _, err := e.deps.Events.Enqueue(e.ctx, nil, outbox.JobSpec{Kind: remote.JobExpire, TenantID: e.b,
			Payload: map[string]string{"id": old.ID}, RunAt: epoch.Add(2 * time.Minute), UniqueKey: remote.JobExpire + ":" + old.ID}); err != nil {
			t.Fatal(err)
		}
		e.clk.Advance(3 * time.Minute)
		if _, err := e.runner.RunDue(e.ctx); err != nil {
			t.Fatal(err)
		}
		if n := e.count(`SELECT COUNT(*) FROM remote_payments WHERE status = 'canceled' AND cancel_reason = 'expired'`); n != 130 {
			t.Fatalf("%d payments expired, want 130 (129 due, 1 by the old job)", n)
		}
		if got, _ := e.svc.Get(e.ctx, e.b, later.ID); got.Status != remote.StatusPending {
			t.Fatalf("a payment not yet due: %+v", got)
		}
		if n := e.count(`SELECT COUNT(*) FROM jobs WHERE kind = $1 AND state = 'ready'`, remote.JobExpire); n != 1 {
			t.Fatalf("%d expiry jobs ready after the sweep, want the one recurring", n)
		}
		if n := e.count(`SELECT COUNT(*) FROM events WHERE type = 'remote.payment.canceled'`); n != 131 {
			t.Fatalf("%d canceled events, want 131", n)
		}
	})
}
