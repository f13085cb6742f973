package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// gatewayRefs is the card gateway's notification body (seed 003).
type gatewayRefs struct {
	PaymentJobReference string `json:"paymentJobReference"`
	PaymentReference    string `json:"paymentReference"`
}

var testRefs = gatewayRefs{"200421017498767380", "200421100461508616"}

// gatewayStyle registers what the card gateway will: the body is the two
// references at top level, and only a 200 echoing both acknowledges.
func gatewayStyle(wh *Webhooks) {
	wh.Render("gateway.", func(ev Event) ([]byte, string, error) {
		var r gatewayRefs
		if err := ev.DecodeData(&r); err != nil {
			return nil, "", err
		}
		b, err := json.Marshal(r)
		return b, "application/json", err
	})
	wh.Acknowledge("gateway.", func(ev Event, status int, body []byte) bool {
		var want, got gatewayRefs
		if status != http.StatusOK || ev.DecodeData(&want) != nil || json.Unmarshal(body, &got) != nil {
			return false
		}
		return want.PaymentJobReference != "" && want.PaymentReference != "" && got == want
	})
}

// callback calls Callback in its own transaction.
func (e *env) callback(t *testing.T, ev Event, url string) (Event, string, error) {
	t.Helper()
	var id string
	err := e.db.Transact(context.Background(), func(ctx context.Context, tx *store.Tx) error {
		var err error
		ev, id, err = e.wh.Callback(context.Background(), tx, ev, url)
		return err
	})
	return ev, id, err
}

func (e *env) mustCallback(t *testing.T, tenant, url string) (Event, string) {
	t.Helper()
	ev, id, err := e.callback(t, Event{TenantID: tenant, Type: "gateway.payment.status_changed", Subject: "pj_1", Data: testRefs}, url)
	if err != nil {
		t.Fatal(err)
	}
	return ev, id
}

// TestCallbackGatewayNotification walks a card gateway notification: a
// callback to the payment job's webhookUrl with the guide's body, not
// acknowledged by a 200 without the echo nor by a 500, acknowledged on the
// third attempt, then never sent again; a tenant endpoint subscribed to the
// same event gets the same body, signed.
func TestCallbackGatewayNotification(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, WebhookOptions{AllowPrivateTargets: true})
		gatewayStyle(e.wh)
		merchant := newReceiver(t, e, func(n int, body []byte) (int, string) {
			switch n {
			case 1:
				return http.StatusOK, `{"paymentJobReference":"200421017498767380"}` // 200, one reference missing
			case 2:
				return http.StatusInternalServerError, "busy"
			}
			return http.StatusOK, string(body) // echoes both
		})
		endpointRC := newReceiver(t, e, func(_ int, body []byte) (int, string) { return http.StatusOK, string(body) })
		ep := e.endpoint(t, "ten_a", endpointRC.srv.URL+"/hooks", "gateway.*")
		e.endpoint(t, "ten_a", endpointRC.srv.URL+"/other", "wallet.*") // not subscribed

		target := merchant.srv.URL + "/notify?shop=7"
		ev, cbID := e.mustCallback(t, "ten_a", target)
		if ev.ID == "" || cbID == "" || !ev.CreatedAt.Equal(t0) {
			t.Fatalf("Callback returned %+v %q", ev, cbID)
		}
		all, err := e.wh.ListDeliveries(ctx, "ten_a", DeliveryFilter{EventID: ev.ID})
		if err != nil || len(all.Items) != 2 {
			t.Fatalf("deliveries of the event: %+v %v", all.Items, err)
		}
		var epDelivery Delivery
		for _, d := range all.Items {
			switch d.ID {
			case cbID:
				if d.EndpointID != "" || d.TargetURL != target || d.State != DeliveryPending || !d.NextAttemptAt.Equal(t0) {
					t.Fatalf("callback delivery: %+v", d)
				}
			default:
				epDelivery = d
				if d.EndpointID != ep.ID || d.TargetURL != "" {
					t.Fatalf("endpoint delivery: %+v", d)
				}
			}
		}

		e.runDue(t)
		want, _ := json.Marshal(testRefs)
		hits := merchant.got()
		if len(hits) != 1 {
			t.Fatalf("merchant got %d requests", len(hits))
		}
		h := hits[0]
		if string(h.body) != string(want) || h.header.Get("Content-Type") != "application/json" ||
			h.header.Get("webhook-id") != cbID || h.header.Get("webhook-timestamp") != strconv.FormatInt(t0.Unix(), 10) ||
			h.header.Values("webhook-signature") != nil {
			t.Fatalf("callback request: %s %v", h.body, h.header)
		}
		d, err := e.wh.GetDelivery(ctx, "ten_a", cbID)
		if err != nil {
			t.Fatal(err)
		}
		if d.State != DeliveryPending || d.Attempts != 1 || !d.NextAttemptAt.Equal(t0.Add(time.Minute)) ||
			d.LastStatusCode != 200 || !strings.Contains(d.LastError, "not acknowledged: HTTP 200") {
			t.Fatalf("after a 200 without the echo: %+v", d.Delivery)
		}

		// The endpoint got the guide's body too, signed with its secret.
		eh := endpointRC.got()
		if len(eh) != 1 || string(eh[0].body) != string(want) {
			t.Fatalf("endpoint requests: %d %s", len(eh), eh[0].body)
		}
		wh, err := standardwebhooks.NewWebhook(ep.Secret)
		if err != nil {
			t.Fatal(err)
		}
		sig, err := wh.Sign(epDelivery.ID, t0, want)
		if err != nil || eh[0].header.Get("webhook-signature") != sig || eh[0].header.Get("webhook-id") != epDelivery.ID {
			t.Fatalf("endpoint signature %q, want %q (%v)", eh[0].header.Get("webhook-signature"), sig, err)
		}
		if ed, _ := e.wh.GetDelivery(ctx, "ten_a", epDelivery.ID); ed.State != DeliverySucceeded {
			t.Fatalf("endpoint delivery: %+v", ed.Delivery)
		}

		// Retried per schedule: +1m (500), +2m (acknowledged).
		for range 2 {
			e.clk.Advance(time.Minute)
			e.runDue(t)
		}
		// Then nothing more, however long we wait.
		for range 40 {
			e.clk.Advance(Day)
			e.runDue(t)
		}
		hits = merchant.got()
		if len(hits) != 3 {
			t.Fatalf("merchant got %d requests, want 3", len(hits))
		}
		for i, at := range []time.Time{t0, t0.Add(time.Minute), t0.Add(2 * time.Minute)} {
			if !hits[i].at.Equal(at) || string(hits[i].body) != string(want) || hits[i].header.Get("webhook-id") != cbID {
				t.Errorf("request %d at +%v: %s", i+1, hits[i].at.Sub(t0), hits[i].body)
			}
		}
		d, err = e.wh.GetDelivery(ctx, "ten_a", cbID)
		if err != nil {
			t.Fatal(err)
		}
		if d.State != DeliverySucceeded || d.Attempts != 3 || d.NextAttemptAt != nil || !d.FirstAttemptAt.Equal(t0) ||
			!d.LastAttemptAt.Equal(t0.Add(2*time.Minute)) || d.LastError != "" || d.TargetURL != target {
			t.Fatalf("final callback delivery: %+v", d.Delivery)
		}
		log := d.AttemptLog
		if len(log) != 3 {
			t.Fatalf("attempt log: %+v", log)
		}
		for i, c := range []struct {
			status int
			ack    bool
			errHas string
		}{
			{200, false, "not acknowledged: HTTP 200"},
			{500, false, "not acknowledged: HTTP 500"},
			{200, true, ""},
		} {
			a := log[i]
			if a.Attempt != i+1 || a.StatusCode != c.status || a.Acknowledged != c.ack || a.Manual ||
				!a.AttemptedAt.Equal(t0.Add(time.Duration(i)*time.Minute)) ||
				(c.errHas == "") != (a.Error == "") || !strings.Contains(a.Error, c.errHas) {
				t.Errorf("log row %d: %+v", i+1, a)
			}
		}
		if log[2].ResponseBody != string(want) {
			t.Errorf("logged response %q", log[2].ResponseBody)
		}
		if n := count(t, db, "SELECT COUNT(*) FROM jobs WHERE tenant_id = $1 AND state <> 'done'", "ten_a"); n != 0 {
			t.Fatalf("%d delivery jobs not done", n)
		}
	})
}

// TestCallbackURLGuard: callback URLs pass the endpoint URL rules, and a
// refused one writes nothing; the dial guard refuses a callback whose
// address is private at delivery time.
func TestCallbackURLGuard(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, WebhookOptions{Resolver: testDNS})
		for _, u := range []string{
			"http://127.0.0.1:8080/cb", "http://localhost/cb", "http://[::1]/cb", "http://internal.corp/cb",
			"http://metadata.example/", "ftp://hooks.example.com/", "", "not a url",
		} {
			err := e.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
				_, _, err := e.wh.Callback(ctx, tx, Event{TenantID: "ten_a", Type: "wallet.money_request.approved"}, u)
				if !apperr.Is(err, apperr.Invalid) {
					t.Errorf("Callback to %q: %v, want Invalid", u, err)
				}
				return nil // commit: a refused Callback must have written nothing
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		for _, table := range []string{"events", "webhook_deliveries", "jobs"} {
			if n := count(t, db, "SELECT COUNT(*) FROM "+table); n != 0 {
				t.Fatalf("%d rows in %s after refused callbacks", n, table)
			}
		}
		// Created while private targets were allowed, delivered by a strict server.
		open := newEnv(t, db, WebhookOptions{AllowPrivateTargets: true, Cipher: e.wh.opt.Cipher})
		rc := newReceiver(t, open, func(int, []byte) (int, string) { return http.StatusOK, "" })
		_, cbID := open.mustCallback(t, "ten_b", rc.srv.URL+"/cb")
		strict, err := NewWebhooks(open.ob, testLog(), WebhookOptions{Cipher: e.wh.opt.Cipher})
		if err != nil {
			t.Fatal(err)
		}
		r := NewRunner(db, open.clk, testLog(), RunnerOptions{})
		strict.Register(r)
		if _, err := r.RunDue(ctx); err != nil {
			t.Fatal(err)
		}
		if len(rc.got()) != 0 {
			t.Fatal("a callback reached a loopback address")
		}
		d, err := open.wh.GetDelivery(ctx, "ten_b", cbID)
		if err != nil {
			t.Fatal(err)
		}
		if len(d.AttemptLog) != 1 || d.AttemptLog[0].StatusCode != 0 ||
			!strings.Contains(d.AttemptLog[0].Error, "127.0.0.1 is a loopback address: refused by the SSRF guard") ||
			d.State != DeliveryPending || d.NextAttemptAt == nil {
			t.Fatalf("refused callback: %+v", d)
		}
		// A public URL is accepted (last: no runner runs after this, so the
		// test never reaches the internet).
		_, id, err := e.callback(t, Event{TenantID: "ten_a", Type: "wallet.money_request.approved"}, "https://hooks.example.com/cb?x=1")
		if err != nil || id == "" {
			t.Fatalf("public callback URL: %q %v", id, err)
		}
	})
}

// TestCallbackRollback: a Callback in a transaction that rolls back leaves
// no event, delivery or job.
func TestCallbackRollback(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, WebhookOptions{AllowPrivateTargets: true})
		rc := newReceiver(t, e, func(int, []byte) (int, string) { return http.StatusOK, "" })
		e.endpoint(t, "ten_a", rc.srv.URL, "*")
		boom := errors.New("boom")
		err := db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
			if _, _, err := e.wh.Callback(ctx, tx, Event{TenantID: "ten_a", Type: "gateway.payment.status_changed", Data: testRefs}, rc.srv.URL+"/cb"); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Transact: %v", err)
		}
		for _, table := range []string{"events", "webhook_deliveries", "jobs"} {
			if n := count(t, db, "SELECT COUNT(*) FROM "+table); n != 0 {
				t.Fatalf("%d rows in %s after rollback", n, table)
			}
		}
		if e.runDue(t) != 0 || len(rc.got()) != 0 {
			t.Fatal("something was delivered after rollback")
		}
		// An invalid event is refused as by Emit.
		if _, _, err := e.callback(t, Event{TenantID: "ten_a", Type: "Bad Type"}, rc.srv.URL); !apperr.Is(err, apperr.Invalid) {
			t.Fatalf("bad event type: %v", err)
		}
	})
}

// TestCallbackResend: a failed callback is resent by its owner only, to its
// URL; a renderer error is a failed attempt that makes no request; the
// Renderer's content type is sent.
func TestCallbackResend(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, WebhookOptions{AllowPrivateTargets: true, Schedule: Schedule{0, time.Minute}})
		broken := true
		e.wh.Render("wallet.", func(ev Event) ([]byte, string, error) {
			if broken {
				return nil, "", errors.New("no control parameter")
			}
			return []byte("requestId=mr_1&status=APPROVED&hash=abc"), "application/x-www-form-urlencoded", nil
		})
		var status atomic.Int32 // the receiver runs in the server's goroutines
		status.Store(http.StatusServiceUnavailable)
		rc := newReceiver(t, e, func(int, []byte) (int, string) { return int(status.Load()), "" })
		_, id, err := e.callback(t, Event{TenantID: "ten_a", Type: "wallet.money_request.approved"}, rc.srv.URL+"/cb")
		if err != nil {
			t.Fatal(err)
		}
		e.runDue(t)
		d, _ := e.wh.GetDelivery(ctx, "ten_a", id)
		if len(rc.got()) != 0 || d.State != DeliveryPending || d.Attempts != 1 ||
			!strings.Contains(d.AttemptLog[0].Error, "rendering the wallet.money_request.approved body: no control parameter") {
			t.Fatalf("after a renderer error: %+v", d)
		}
		broken = false
		e.clk.Advance(time.Minute)
		e.runDue(t)
		d, _ = e.wh.GetDelivery(ctx, "ten_a", id)
		if d.State != DeliveryFailed || d.Attempts != 2 || len(rc.got()) != 1 {
			t.Fatalf("after the schedule ran out: %+v", d.Delivery)
		}
		if h := rc.got()[0]; string(h.body) != "requestId=mr_1&status=APPROVED&hash=abc" ||
			h.header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			t.Fatalf("rendered request: %s %v", h.body, h.header)
		}

		if _, err := e.wh.Resend(ctx, "ten_b", id); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("ten_b resends ten_a's callback: %v", err)
		}
		status.Store(http.StatusOK)
		e.clk.Advance(time.Hour)
		r, err := e.wh.Resend(ctx, "ten_a", id)
		if err != nil || r.ID != id || r.TargetURL != rc.srv.URL+"/cb" {
			t.Fatalf("resend: %+v %v", r, err)
		}
		e.runDue(t)
		d, _ = e.wh.GetDelivery(ctx, "ten_a", id)
		if d.State != DeliverySucceeded || d.Attempts != 3 || !d.AttemptLog[2].Manual || !d.AttemptLog[2].Acknowledged ||
			!d.LastAttemptAt.Equal(e.clk.Now()) || len(rc.got()) != 2 || rc.got()[1].header.Get("webhook-id") != id {
			t.Fatalf("after resend: %+v", d)
		}
	})
}

// TestCallbackPlatformAPI: callbacks appear in the deliveries API with
// their targetUrl, to their tenant only, and can be resent through it.
func TestCallbackPlatformAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, WebhookOptions{AllowPrivateTargets: true})
		rc := newReceiver(t, e, func(int, []byte) (int, string) { return http.StatusOK, "ok" })
		a := newAPI(t, e)
		e.endpoint(t, "ten_a", rc.srv.URL+"/ep", "*")
		_, aID := e.mustCallback(t, "ten_a", rc.srv.URL+"/a")
		_, bID := e.mustCallback(t, "ten_b", rc.srv.URL+"/b")
		e.runDue(t)

		var page DeliveryPage
		code, body := a.call("ten_a", "GET", "/platform/webhooks/deliveries", "", &page)
		if code != 200 || len(page.Items) != 2 {
			t.Fatalf("ten_a deliveries: %d %s", code, body)
		}
		if strings.Count(body, `"targetUrl"`) != 1 || !strings.Contains(body, `"targetUrl":"`+rc.srv.URL+`/a"`) || strings.Contains(body, bID) {
			t.Fatalf("ten_a listing: %s", body)
		}
		for _, d := range page.Items {
			if d.TenantID != "ten_a" || (d.ID == aID) != (d.EndpointID == "") {
				t.Fatalf("ten_a sees %+v", d)
			}
		}
		var detail DeliveryDetail
		code, body = a.call("ten_a", "GET", "/platform/webhooks/deliveries/"+aID, "", &detail)
		if code != 200 || detail.TargetURL != rc.srv.URL+"/a" || detail.EndpointID != "" || detail.State != DeliverySucceeded ||
			len(detail.AttemptLog) != 1 || !strings.Contains(body, `"endpointId":""`) {
			t.Fatalf("callback detail: %d %s", code, body)
		}
		var bPage DeliveryPage
		a.call("ten_b", "GET", "/platform/webhooks/deliveries", "", &bPage)
		if len(bPage.Items) != 1 || bPage.Items[0].ID != bID || bPage.Items[0].TargetURL != rc.srv.URL+"/b" {
			t.Fatalf("ten_b deliveries: %+v", bPage)
		}
		for _, c := range []struct{ method, path string }{
			{"GET", "/platform/webhooks/deliveries/" + aID},
			{"POST", "/platform/webhooks/deliveries/" + aID + "/resend"},
		} {
			if code, _ := a.call("ten_b", c.method, c.path, "", nil); code != 404 {
				t.Fatalf("ten_b %s %s: %d", c.method, c.path, code)
			}
		}
		var resent Delivery
		if code, body := a.call("ten_a", "POST", "/platform/webhooks/deliveries/"+aID+"/resend", "", &resent); code != 202 || resent.TargetURL != rc.srv.URL+"/a" {
			t.Fatalf("resend: %d %s", code, body)
		}
		e.runDue(t)
		a.call("ten_a", "GET", "/platform/webhooks/deliveries/"+aID, "", &detail)
		if len(detail.AttemptLog) != 2 || !detail.AttemptLog[1].Manual || !detail.AttemptLog[1].Acknowledged {
			t.Fatalf("after resend: %+v", detail.AttemptLog)
		}
	})
}
