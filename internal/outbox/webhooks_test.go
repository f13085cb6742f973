package outbox

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// receiver is a webhook endpoint that records what it receives.
type receiver struct {
	srv *httptest.Server
	clk interface{ Now() time.Time }

	mu      sync.Mutex
	hits    []hit
	respond func(n int, body []byte) (int, string) // n is 1-based
}

type hit struct {
	at     time.Time // the fake clock when it arrived
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T, e *env, respond func(n int, body []byte) (int, string)) *receiver {
	rc := &receiver{clk: e.clk, respond: respond}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.hits = append(rc.hits, hit{at: rc.clk.Now(), header: r.Header.Clone(), body: body})
		n := len(rc.hits)
		rc.mu.Unlock()
		status, out := rc.respond(n, body)
		if status == 0 { // hang until the client gives up
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
			return
		}
		w.WriteHeader(status)
		io.WriteString(w, out)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) got() []hit {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]hit(nil), rc.hits...)
}

func (e *env) endpoint(t *testing.T, tenant, url string, types ...string) EndpointWithSecret {
	t.Helper()
	if len(types) == 0 {
		types = []string{"*"}
	}
	ep, err := e.wh.CreateEndpoint(context.Background(), tenant, CreateEndpointRequest{URL: url, EventTypes: types})
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

// onlyDelivery returns the one delivery of the tenant with its attempt log.
func (e *env) onlyDelivery(t *testing.T, tenant string) DeliveryDetail {
	t.Helper()
	p, err := e.wh.ListDeliveries(context.Background(), tenant, DeliveryFilter{})
	if err != nil || len(p.Items) != 1 {
		t.Fatalf("deliveries of %s: %v %v", tenant, p.Items, err)
	}
	d, err := e.wh.GetDelivery(context.Background(), tenant, p.Items[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// wantDefaultSchedule is the card gateway's schedule, written out: every
// minute for 10 minutes, daily through day 7, weekly to day 28.
var wantDefaultSchedule = []time.Duration{0,
	time.Minute, 2 * time.Minute, 3 * time.Minute, 4 * time.Minute, 5 * time.Minute,
	6 * time.Minute, 7 * time.Minute, 8 * time.Minute, 9 * time.Minute, 10 * time.Minute,
	Day, 2 * Day, 3 * Day, 4 * Day, 5 * Day, 6 * Day, 7 * Day,
	14 * Day, 21 * Day, 28 * Day}

func TestDefaultSchedule(t *testing.T) {
	s := DefaultSchedule()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	want := wantDefaultSchedule
	if len(s) != len(want) {
		t.Fatalf("schedule has %d attempts, want %d: %v", len(s), len(want), s)
	}
	for i := range want {
		if s[i] != want[i] {
			t.Fatalf("attempt %d at %v, want %v", i+1, s[i], want[i])
		}
	}
	if s[len(s)-1] >= 30*Day {
		t.Fatal("an attempt 30 days or more after the first")
	}
	for _, c := range []struct {
		elapsed, next time.Duration
		ok            bool
	}{
		{0, time.Minute, true},
		{10 * time.Minute, Day, true},
		{3*Day + time.Hour, 4 * Day, true}, // a worker that was down skips missed slots
		{28 * Day, 0, false},
	} {
		if next, ok := s.Next(c.elapsed); next != c.next || ok != c.ok {
			t.Errorf("Next(%v) = %v %v, want %v %v", c.elapsed, next, ok, c.next, c.ok)
		}
	}
	for _, bad := range []Schedule{nil, {time.Minute}, {0, time.Hour, time.Minute}, {0, 0}} {
		if bad.Validate() == nil {
			t.Errorf("Validate(%v) = nil", bad)
		}
	}
}

// TestDeliveryScheduleWalk walks a fake clock across 31 days, running due
// jobs every minute for the first hour and every hour after, and checks
// every attempt the endpoint saw and every row of the attempt log against
// DefaultSchedule exactly.
func TestDeliveryScheduleWalk(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		for _, c := range []struct {
			name      string
			tenant    string
			ackOn     int // 0: never
			attempts  int
			wantState DeliveryState
		}{
			{"always 500", "ten_never", 0, 21, DeliveryFailed},
			{"ack on third attempt", "ten_third", 3, 3, DeliverySucceeded},
		} {
			t.Run(c.name, func(t *testing.T) {
				e := newEnv(t, db, WebhookOptions{AllowPrivateTargets: true})
				rc := newReceiver(t, e, func(n int, _ []byte) (int, string) {
					if n == c.ackOn {
						return http.StatusOK, "ok"
					}
					return http.StatusInternalServerError, "database is down"
				})
				e.endpoint(t, c.tenant, rc.srv.URL+"/hook")
				e.emit(t, c.tenant, "payment.status_changed", map[string]string{"status": "Paid"})
				e.runDue(t)
				e.clk.Advance(time.Minute / 2)
				e.runDue(t)
				if d := e.onlyDelivery(t, c.tenant); d.NextAttemptAt == nil || !d.NextAttemptAt.Equal(t0.Add(time.Minute)) ||
					d.State != DeliveryPending || d.Attempts != 1 || d.LastStatusCode != 500 {
					t.Fatalf("after the first attempt: %+v", d.Delivery)
				}
				e.clk.Set(t0)
				for range 60 {
					e.clk.Advance(time.Minute)
					e.runDue(t)
				}
				for e.clk.Now().Before(t0.Add(31 * Day)) {
					e.clk.Advance(time.Hour)
					e.runDue(t)
				}

				sched := wantDefaultSchedule
				hits := rc.got()
				if len(hits) != c.attempts {
					t.Fatalf("endpoint saw %d attempts, want %d", len(hits), c.attempts)
				}
				d := e.onlyDelivery(t, c.tenant)
				if len(d.AttemptLog) != c.attempts || d.Attempts != c.attempts {
					t.Fatalf("attempt log has %d rows (counter %d), want %d", len(d.AttemptLog), d.Attempts, c.attempts)
				}
				for i, h := range hits {
					want := t0.Add(sched[i])
					if !h.at.Equal(want) {
						t.Errorf("attempt %d arrived at +%v, want +%v", i+1, h.at.Sub(t0), sched[i])
					}
					if ts := h.header.Get("webhook-timestamp"); ts != strconv.FormatInt(want.Unix(), 10) {
						t.Errorf("attempt %d webhook-timestamp %s, want %d", i+1, ts, want.Unix())
					}
					if id := h.header.Get("webhook-id"); id != d.ID {
						t.Errorf("attempt %d webhook-id %s, want the delivery id %s", i+1, id, d.ID)
					}
					a := d.AttemptLog[i]
					acked := i+1 == c.ackOn
					wantStatus, wantBody := 500, "database is down"
					if acked {
						wantStatus, wantBody = 200, "ok"
					}
					if a.Attempt != i+1 || !a.AttemptedAt.Equal(want) || a.StatusCode != wantStatus || a.ResponseBody != wantBody ||
						a.Acknowledged != acked || a.Manual || (a.Error == "") == !acked {
						t.Errorf("log row %d: %+v", i+1, a)
					}
				}
				if d.State != c.wantState || d.NextAttemptAt != nil || !d.FirstAttemptAt.Equal(t0) ||
					!d.LastAttemptAt.Equal(t0.Add(sched[c.attempts-1])) {
					t.Fatalf("final delivery: %+v", d.Delivery)
				}
				if n := count(t, db, "SELECT COUNT(*) FROM jobs WHERE tenant_id = $1 AND state <> 'done'", c.tenant); n != 0 {
					t.Fatalf("%d delivery jobs not done", n)
				}
			})
		}
	})
}

// TestDeliverySignature verifies a delivery on the receiving side with the
// Standard Webhooks library, before and after a secret rotation.
func TestDeliverySignature(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, WebhookOptions{AllowPrivateTargets: true})
		e.clk.Set(time.Now()) // Verify checks the timestamp against the real clock
		ctx := context.Background()
		rc := newReceiver(t, e, func(int, []byte) (int, string) { return http.StatusNoContent, "" })
		ep := e.endpoint(t, "ten_a", rc.srv.URL+"/hooks?src=cashgate", "payment.*")
		raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(ep.Secret, "whsec_"))
		if !strings.HasPrefix(ep.Secret, "whsec_") || err != nil || len(raw) < 24 {
			t.Fatalf("secret %q is not whsec_ + base64 of 24+ bytes", ep.Secret)
		}
		if n := count(t, db, "SELECT COUNT(*) FROM webhook_endpoints WHERE secret LIKE $1", "%"+strings.TrimPrefix(ep.Secret, "whsec_")+"%"); n != 0 {
			t.Fatal("the secret is stored in the clear")
		}
		ev := e.emit(t, "ten_a", "payment.status_changed", map[string]string{"paymentJobReference": "200421017498767380"})
		e.runDue(t)
		hits := rc.got()
		if len(hits) != 1 {
			t.Fatalf("hits = %d", len(hits))
		}
		h := hits[0]
		wh, err := standardwebhooks.NewWebhook(ep.Secret)
		if err != nil {
			t.Fatal(err)
		}
		if err := wh.Verify(h.body, h.header); err != nil {
			t.Fatalf("Verify: %v\nheaders %v\nbody %s", err, h.header, h.body)
		}
		if err := wh.Verify(append([]byte(" "), h.body...), h.header); err == nil {
			t.Fatal("a tampered body verified")
		}
		other, _ := standardwebhooks.NewWebhook("whsec_" + base64.StdEncoding.EncodeToString(e.gen.Bytes(32)))
		if err := other.Verify(h.body, h.header); err == nil {
			t.Fatal("another secret verified")
		}
		if ct := h.header.Get("Content-Type"); ct != "application/json" {
			t.Fatalf("Content-Type %q", ct)
		}
		wantBody := `{"id":"` + ev.ID + `","type":"payment.status_changed","tenantId":"ten_a","createdAt":"` +
			ev.CreatedAt.Format(time.RFC3339Nano) + `","data":{"paymentJobReference":"200421017498767380"}}`
		if string(h.body) != wantBody {
			t.Fatalf("body\n%s\nwant\n%s", h.body, wantBody)
		}

		// Rotation: for a day both secrets sign; then only the new one.
		rot, err := e.wh.RotateSecret(ctx, "ten_a", ep.ID)
		if err != nil || rot.Secret == ep.Secret || !strings.HasPrefix(rot.Secret, "whsec_") {
			t.Fatalf("rotate: %v %q", err, rot.Secret)
		}
		e.emit(t, "ten_a", "payment.captured", nil)
		e.runDue(t)
		h = rc.got()[1]
		if n := len(strings.Fields(h.header.Get("webhook-signature"))); n != 2 {
			t.Fatalf("signatures after rotation = %d, want 2", n)
		}
		for _, s := range []string{ep.Secret, rot.Secret} {
			v, _ := standardwebhooks.NewWebhook(s)
			if err := v.Verify(h.body, h.header); err != nil {
				t.Fatalf("during the overlap, %v", err)
			}
		}
		e.clk.Advance(25 * time.Hour)
		e.emit(t, "ten_a", "payment.refunded", nil)
		e.runDue(t)
		h = rc.got()[2]
		newWH, _ := standardwebhooks.NewWebhook(rot.Secret)
		if err := newWH.VerifyIgnoringTimestamp(h.body, h.header); err != nil {
			t.Fatal(err)
		}
		if err := wh.VerifyIgnoringTimestamp(h.body, h.header); err == nil {
			t.Fatal("the old secret still signs after the overlap")
		}
	})
}

func TestDeliveryTimeoutIsFailure(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, WebhookOptions{AllowPrivateTargets: true, Timeout: 100 * time.Millisecond})
		rc := newReceiver(t, e, func(int, []byte) (int, string) { return 0, "" }) // never answers
		e.endpoint(t, "ten_a", rc.srv.URL)
		e.emit(t, "ten_a", "payment.status_changed", nil)
		start := time.Now()
		e.runDue(t)
		if took := time.Since(start); took > 5*time.Second {
			t.Fatalf("the attempt took %v despite a 100ms timeout", took)
		}
		d := e.onlyDelivery(t, "ten_a")
		if len(d.AttemptLog) != 1 {
			t.Fatalf("attempts %+v", d.AttemptLog)
		}
		a := d.AttemptLog[0]
		if a.StatusCode != 0 || a.Acknowledged || !strings.Contains(a.Error, "timeout") || a.DurationMS < 100 {
			t.Fatalf("timed-out attempt: %+v", a)
		}
		if d.State != DeliveryPending || !d.NextAttemptAt.Equal(t0.Add(time.Minute)) || !strings.Contains(d.LastError, "timeout") {
			t.Fatalf("after timeout: %+v", d.Delivery)
		}
	})
}

// TestAcknowledger: the card gateway wants a 200 echoing the references.
func TestAcknowledger(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, WebhookOptions{AllowPrivateTargets: true})
		type refs struct {
			PaymentJobReference string `json:"paymentJobReference"`
			PaymentReference    string `json:"paymentReference"`
		}
		e.wh.Acknowledge("gateway.", func(ev Event, status int, body []byte) bool {
			var want, got refs
			if status != http.StatusOK || ev.DecodeData(&want) != nil || json.Unmarshal(body, &got) != nil {
				return false
			}
			return want.PaymentJobReference != "" && got == want
		})
		e.wh.Acknowledge("gateway.payment.", func(ev Event, status int, body []byte) bool { // longer prefix wins
			return status == http.StatusOK && bytes.Contains(body, []byte(`"paymentReference"`)) && Ack2xx(ev, status, body)
		})
		rc := newReceiver(t, e, func(n int, body []byte) (int, string) {
			var b struct{ Data refs }
			_ = json.Unmarshal(body, &b)
			if n == 1 {
				return http.StatusOK, `{}` // 200 without the echo: not an acknowledgement
			}
			echo, _ := json.Marshal(b.Data)
			return http.StatusOK, string(echo)
		})
		e.endpoint(t, "ten_a", rc.srv.URL)
		e.emit(t, "ten_a", "gateway.notification", refs{"200421017498767380", "200421100461508616"})
		e.runDue(t)
		d := e.onlyDelivery(t, "ten_a")
		if d.State != DeliveryPending || d.AttemptLog[0].Acknowledged || !strings.Contains(d.LastError, "not acknowledged: HTTP 200") {
			t.Fatalf("200 without echo: %+v", d.Delivery)
		}
		e.clk.Advance(time.Minute)
		e.runDue(t)
		if d = e.onlyDelivery(t, "ten_a"); d.State != DeliverySucceeded || len(d.AttemptLog) != 2 {
			t.Fatalf("with echo: %+v", d.Delivery)
		}
		if e.wh.acknowledger("gateway.payment.x") == nil || e.wh.acknowledger("payment.created")(Event{}, 204, nil) != true {
			t.Fatal("default acknowledger is not 2xx")
		}
		if e.wh.acknowledger("payment.created")(Event{}, 302, nil) {
			t.Fatal("a redirect acknowledged")
		}
	})
}

func TestResend(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, WebhookOptions{AllowPrivateTargets: true, Schedule: Schedule{0, time.Minute}})
		status := http.StatusServiceUnavailable
		var mu sync.Mutex
		rc := newReceiver(t, e, func(int, []byte) (int, string) { mu.Lock(); defer mu.Unlock(); return status, "" })
		setStatus := func(s int) { mu.Lock(); status = s; mu.Unlock() }
		ep := e.endpoint(t, "ten_a", rc.srv.URL)
		e.emit(t, "ten_a", "payment.status_changed", nil)
		e.runDue(t)
		e.clk.Advance(time.Minute)
		e.runDue(t)
		d := e.onlyDelivery(t, "ten_a")
		if d.State != DeliveryFailed || d.Attempts != 2 {
			t.Fatalf("before resend: %+v", d.Delivery)
		}

		// Another tenant cannot resend it.
		if _, err := e.wh.Resend(ctx, "ten_b", d.ID); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("ten_b resend: %v", err)
		}
		// A failed delivery, resent, fails again: still failed, no schedule.
		if _, err := e.wh.Resend(ctx, "ten_a", d.ID); err != nil {
			t.Fatal(err)
		}
		e.runDue(t)
		d = e.onlyDelivery(t, "ten_a")
		if d.State != DeliveryFailed || d.Attempts != 3 || !d.AttemptLog[2].Manual || d.NextAttemptAt != nil {
			t.Fatalf("failed resend of a failed delivery: %+v", d)
		}
		// Resent when the endpoint is back: succeeded.
		setStatus(http.StatusOK)
		e.clk.Advance(time.Hour)
		if _, err := e.wh.Resend(ctx, "ten_a", d.ID); err != nil {
			t.Fatal(err)
		}
		e.runDue(t)
		d = e.onlyDelivery(t, "ten_a")
		if d.State != DeliverySucceeded || d.Attempts != 4 || !d.AttemptLog[3].Acknowledged || !d.LastAttemptAt.Equal(e.clk.Now()) {
			t.Fatalf("after successful resend: %+v", d)
		}
		// A succeeded delivery may be resent too; a failing resend does not undo success.
		setStatus(http.StatusInternalServerError)
		if _, err := e.wh.Resend(ctx, "ten_a", d.ID); err != nil {
			t.Fatal(err)
		}
		e.runDue(t)
		if d = e.onlyDelivery(t, "ten_a"); d.State != DeliverySucceeded || d.Attempts != 5 {
			t.Fatalf("resend of a succeeded delivery: %+v", d.Delivery)
		}
		if len(rc.got()) != 5 {
			t.Fatalf("endpoint saw %d requests", len(rc.got()))
		}
		// A disabled endpoint cannot be resent to.
		if _, err := e.wh.DisableEndpoint(ctx, "ten_a", ep.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.wh.Resend(ctx, "ten_a", d.ID); !apperr.Is(err, apperr.Conflict) {
			t.Fatalf("resend to a disabled endpoint: %v", err)
		}
	})
}

// TestManualAttemptKeepsSchedule: a failed manual attempt of a pending
// delivery does not move its schedule.
func TestManualAttemptKeepsSchedule(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, WebhookOptions{AllowPrivateTargets: true})
		rc := newReceiver(t, e, func(int, []byte) (int, string) { return 500, "" })
		e.endpoint(t, "ten_a", rc.srv.URL)
		e.emit(t, "ten_a", "payment.status_changed", nil)
		e.runDue(t)
		d := e.onlyDelivery(t, "ten_a")
		e.clk.Advance(30 * time.Second)
		if _, err := e.wh.Resend(ctx, "ten_a", d.ID); err != nil {
			t.Fatal(err)
		}
		e.runDue(t)
		d = e.onlyDelivery(t, "ten_a")
		if d.State != DeliveryPending || d.Attempts != 2 || !d.NextAttemptAt.Equal(t0.Add(time.Minute)) {
			t.Fatalf("after manual attempt: %+v", d.Delivery)
		}
		e.clk.Set(t0.Add(time.Minute))
		e.runDue(t)
		hits := rc.got()
		if len(hits) != 3 || !hits[2].at.Equal(t0.Add(time.Minute)) {
			t.Fatalf("schedule moved: %d hits", len(hits))
		}
	})
}

func TestEndpointsCRUDAndTenantScope(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, WebhookOptions{AllowPrivateTargets: true})
		for name, req := range map[string]CreateEndpointRequest{
			"no types":        {URL: "https://hooks.example.com/", EventTypes: nil},
			"bad type":        {URL: "https://hooks.example.com/", EventTypes: []string{"Payment Created"}},
			"bad wildcard":    {URL: "https://hooks.example.com/", EventTypes: []string{"payment*"}},
			"long text":       {URL: "https://hooks.example.com/", EventTypes: []string{"*"}, Description: strings.Repeat("x", 501)},
			"no url":          {EventTypes: []string{"*"}},
			"relative url":    {URL: "/hooks", EventTypes: []string{"*"}},
			"javascript: url": {URL: "javascript:alert(1)", EventTypes: []string{"*"}},
		} {
			if _, err := e.wh.CreateEndpoint(ctx, "ten_a", req); !apperr.Is(err, apperr.Invalid) {
				t.Errorf("%s: %v, want Invalid", name, err)
			}
		}
		ep, err := e.wh.CreateEndpoint(ctx, "ten_a", CreateEndpointRequest{URL: "https://hooks.example.com/cg",
			Description: " orders ", EventTypes: []string{"payment.*", "refund.created", "payment.*"}})
		if err != nil {
			t.Fatal(err)
		}
		if !ep.Enabled || ep.Description != "orders" || len(ep.EventTypes) != 2 || ep.TenantID != "ten_a" || !ep.CreatedAt.Equal(t0) {
			t.Fatalf("created %+v", ep)
		}
		got, err := e.wh.GetEndpoint(ctx, "ten_a", ep.ID)
		if err != nil || got.URL != ep.URL || got.EventTypes[1] != "refund.created" {
			t.Fatalf("get: %+v %v", got, err)
		}
		e.clk.Advance(time.Minute)
		url, desc := "https://hooks.example.com/v2", "v2"
		up, err := e.wh.UpdateEndpoint(ctx, "ten_a", ep.ID, UpdateEndpointRequest{URL: &url, Description: &desc, EventTypes: []string{"*"}})
		if err != nil || up.URL != url || up.Description != desc || up.EventTypes[0] != "*" || !up.Enabled || !up.UpdatedAt.Equal(t0.Add(time.Minute)) {
			t.Fatalf("update: %+v %v", up, err)
		}
		bad := "ftp://hooks.example.com/"
		if _, err := e.wh.UpdateEndpoint(ctx, "ten_a", ep.ID, UpdateEndpointRequest{URL: &bad}); !apperr.Is(err, apperr.Invalid) {
			t.Fatalf("update to ftp: %v", err)
		}

		// Tenant b sees none of it.
		if l, _ := e.wh.ListEndpoints(ctx, "ten_b"); len(l) != 0 {
			t.Fatalf("ten_b lists %v", l)
		}
		for name, err := range map[string]error{
			"get": func() error { _, err := e.wh.GetEndpoint(ctx, "ten_b", ep.ID); return err }(),
			"update": func() error {
				_, err := e.wh.UpdateEndpoint(ctx, "ten_b", ep.ID, UpdateEndpointRequest{Description: &desc})
				return err
			}(),
			"disable": func() error { _, err := e.wh.DisableEndpoint(ctx, "ten_b", ep.ID); return err }(),
			"rotate":  func() error { _, err := e.wh.RotateSecret(ctx, "ten_b", ep.ID); return err }(),
			"delete":  e.wh.DeleteEndpoint(ctx, "ten_b", ep.ID),
		} {
			if !apperr.Is(err, apperr.NotFound) {
				t.Errorf("ten_b %s: %v, want NotFound", name, err)
			}
		}
		if l, _ := e.wh.ListEndpoints(ctx, "ten_a"); len(l) != 1 || l[0].Description != "v2" {
			t.Fatalf("ten_a endpoints after ten_b's attempts: %+v", l)
		}

		// A pending delivery fails when its endpoint is disabled…
		e.emit(t, "ten_a", "payment.status_changed", nil)
		if _, err := e.wh.DisableEndpoint(ctx, "ten_a", ep.ID); err != nil {
			t.Fatal(err)
		}
		e.runDue(t)
		d := e.onlyDelivery(t, "ten_a")
		if d.State != DeliveryFailed || d.LastError != "endpoint disabled" || d.Attempts != 0 {
			t.Fatalf("delivery to a disabled endpoint: %+v", d.Delivery)
		}
		// …and no delivery is made for events emitted while it is disabled.
		e.emit(t, "ten_a", "payment.status_changed", nil)
		if n := count(t, db, "SELECT COUNT(*) FROM webhook_deliveries"); n != 1 {
			t.Fatalf("deliveries = %d", n)
		}
		// Deleting fails pending deliveries and keeps them for the record.
		on := true
		if _, err := e.wh.UpdateEndpoint(ctx, "ten_a", ep.ID, UpdateEndpointRequest{Enabled: &on}); err != nil {
			t.Fatal(err)
		}
		ev := e.emit(t, "ten_a", "payment.status_changed", nil)
		if err := e.wh.DeleteEndpoint(ctx, "ten_a", ep.ID); err != nil {
			t.Fatal(err)
		}
		p, _ := e.wh.ListDeliveries(ctx, "ten_a", DeliveryFilter{EventID: ev.ID})
		if len(p.Items) != 1 || p.Items[0].State != DeliveryFailed || p.Items[0].LastError != "endpoint deleted" {
			t.Fatalf("delivery of a deleted endpoint: %+v", p.Items)
		}
		if e.runDue(t) != 1 {
			t.Fatal("the job of the failed delivery did not finish")
		}
		if _, err := e.wh.GetEndpoint(ctx, "ten_a", ep.ID); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("deleted endpoint: %v", err)
		}
		if err := e.wh.DeleteEndpoint(ctx, "ten_a", ep.ID); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("second delete: %v", err)
		}
		// Deliveries stay invisible to other tenants.
		if p, _ := e.wh.ListDeliveries(ctx, "ten_b", DeliveryFilter{}); len(p.Items) != 0 {
			t.Fatalf("ten_b sees deliveries %+v", p.Items)
		}
		if _, err := e.wh.GetDelivery(ctx, "ten_b", d.ID); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("ten_b GetDelivery: %v", err)
		}
		if _, err := e.wh.ListDeliveries(ctx, "ten_a", DeliveryFilter{State: "lost"}); !apperr.Is(err, apperr.Invalid) {
			t.Fatalf("bad state filter: %v", err)
		}
		if p, _ := e.wh.ListDeliveries(ctx, "ten_a", DeliveryFilter{State: DeliveryFailed, EndpointID: ep.ID}); len(p.Items) != 2 {
			t.Fatalf("failed deliveries of the endpoint: %d", len(p.Items))
		}
	})
}

func TestNewWebhooksOptions(t *testing.T) {
	ob := New(nil, nil, nil)
	if _, err := NewWebhooks(ob, nil, WebhookOptions{}); err == nil {
		t.Fatal("no Cipher accepted")
	}
	c, _ := NewAESGCM(make([]byte, 32))
	if _, err := NewWebhooks(ob, nil, WebhookOptions{Cipher: c, Schedule: Schedule{time.Minute}}); err == nil {
		t.Fatal("bad schedule accepted")
	}
	odd := &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) { return nil, io.EOF })}
	if _, err := NewWebhooks(ob, nil, WebhookOptions{Cipher: c, Client: odd}); err == nil {
		t.Fatal("an unguardable transport was accepted without AllowPrivateTargets")
	}
	if _, err := NewWebhooks(ob, nil, WebhookOptions{Cipher: c, Client: odd, AllowPrivateTargets: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := NewAESGCM(make([]byte, 16)); err == nil {
		t.Fatal("a 128-bit key was accepted")
	}
	sealed, _ := c.Seal([]byte("whsec_x"), []byte("we_1"))
	if _, err := c.Open(sealed, []byte("we_2")); err == nil {
		t.Fatal("a secret opened under another endpoint id")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestAttemptLogBody: the log keeps the first 4 KiB of the response body as
// valid text, and redirects are not followed (a 3xx is no acknowledgement).
func TestAttemptLogBody(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, WebhookOptions{AllowPrivateTargets: true})
		big := strings.Repeat("é", 3000) + "\x00\xff" // 6000+ bytes, a NUL and invalid UTF-8
		var followed bool
		target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { followed = true }))
		t.Cleanup(target.Close)
		redirect := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusFound))
		t.Cleanup(redirect.Close)
		rc := newReceiver(t, e, func(int, []byte) (int, string) { return http.StatusBadGateway, big })
		ep := e.endpoint(t, "ten_a", rc.srv.URL)
		e.emit(t, "ten_a", "payment.status_changed", nil)
		e.runDue(t)
		d := e.onlyDelivery(t, "ten_a")
		body := d.AttemptLog[0].ResponseBody
		if len(body) > 4096+3 || len(body) < 4000 || !strings.HasPrefix(body, "éé") || strings.ContainsRune(body, 0) {
			t.Fatalf("logged body: %d bytes", len(body))
		}
		if _, err := e.wh.UpdateEndpoint(context.Background(), "ten_a", ep.ID, UpdateEndpointRequest{URL: &redirect.URL}); err != nil {
			t.Fatal(err)
		}
		e.clk.Advance(time.Minute)
		e.runDue(t)
		d = e.onlyDelivery(t, "ten_a")
		if a := d.AttemptLog[1]; a.StatusCode != http.StatusFound || a.Acknowledged || followed || d.State != DeliveryPending {
			t.Fatalf("redirect: %+v followed=%v", a, followed)
		}
	})
}
