package outbox

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// api mounts the routes the way the server does and calls them as a tenant.
type api struct {
	t   *testing.T
	mux *http.ServeMux
}

func newAPI(t *testing.T, e *env) *api {
	mux := http.NewServeMux()
	for _, rt := range e.wh.Routes(httpx.PlatformErrors(testLog())) {
		if rt.API != httpx.APIPlatform || rt.Summary == "" || rt.Handler == nil {
			t.Fatalf("route %s %s: %+v", rt.Method, rt.Path, rt)
		}
		mux.HandleFunc(rt.Method+" "+rt.Path, rt.Handler)
	}
	return &api{t: t, mux: mux}
}

// call sends a request as tenant ("" = unauthenticated) and decodes the
// JSON response into out (when not nil). It returns the status and raw body.
func (a *api) call(tenant, method, path, body string, out any) (int, string) {
	a.t.Helper()
	var req *http.Request
	if body == "" {
		req = httptest.NewRequest(method, path, nil)
	} else {
		req = httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
	}
	if tenant != "" {
		req = req.WithContext(httpx.WithPrincipal(req.Context(), httpx.Principal{TenantID: tenant, KeyID: "key_" + tenant}))
	}
	rec := httptest.NewRecorder()
	a.mux.ServeHTTP(rec, req)
	if out != nil && rec.Code < 300 {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			a.t.Fatalf("%s %s: %v in %s", method, path, err, rec.Body)
		}
	}
	return rec.Code, rec.Body.String()
}

func TestPlatformAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, WebhookOptions{AllowPrivateTargets: true})
		rc := newReceiver(t, e, func(int, []byte) (int, string) { return http.StatusOK, "thanks" })
		a := newAPI(t, e)
		const eps = "/platform/webhooks/endpoints"

		if code, body := a.call("", "GET", eps, "", nil); code != 401 || body != "{\"error\":\"authentication required\"}\n" {
			t.Fatalf("unauthenticated: %d %s", code, body)
		}
		if code, body := a.call("ten_a", "POST", eps, `{"url":"`+rc.srv.URL+`","eventTypes":["*"],"colour":"red"}`, nil); code != 400 || !strings.Contains(body, `unknown field \"colour\"`) {
			t.Fatalf("unknown field: %d %s", code, body)
		}
		if code, body := a.call("ten_a", "POST", eps, `{"url":"ftp://x.example/","eventTypes":["*"]}`, nil); code != 400 || !strings.Contains(body, "http or https") {
			t.Fatalf("ftp url: %d %s", code, body)
		}
		var created EndpointWithSecret
		code, body := a.call("ten_a", "POST", eps, `{"url":"`+rc.srv.URL+`/hook","description":"shop","eventTypes":["payment.*"]}`, &created)
		if code != 201 || !strings.HasPrefix(created.Secret, "whsec_") || created.ID == "" || !created.Enabled {
			t.Fatalf("create: %d %s", code, body)
		}
		id := created.ID

		// The secret never appears again.
		for _, path := range []string{eps, eps + "/" + id} {
			code, body := a.call("ten_a", "GET", path, "", nil)
			if code != 200 || strings.Contains(body, "whsec_") || strings.Contains(body, "secret") || !strings.Contains(body, id) {
				t.Fatalf("GET %s: %d %s", path, code, body)
			}
		}
		var list EndpointList
		a.call("ten_b", "GET", eps, "", &list)
		if len(list.Items) != 0 {
			t.Fatalf("ten_b lists %+v", list)
		}
		for _, c := range []struct{ method, path, body string }{
			{"GET", eps + "/" + id, ""},
			{"PATCH", eps + "/" + id, `{"description":"mine now"}`},
			{"POST", eps + "/" + id + "/disable", ""},
			{"POST", eps + "/" + id + "/rotate-secret", ""},
			{"DELETE", eps + "/" + id, ""},
		} {
			if code, body := a.call("ten_b", c.method, c.path, c.body, nil); code != 404 {
				t.Fatalf("ten_b %s %s: %d %s", c.method, c.path, code, body)
			}
		}

		var up Endpoint
		if code, body := a.call("ten_a", "PATCH", eps+"/"+id, `{"description":"shop v2","eventTypes":["payment.*","refund.created"]}`, &up); code != 200 || up.Description != "shop v2" || len(up.EventTypes) != 2 {
			t.Fatalf("patch: %d %s", code, body)
		}

		// An event, its delivery and attempt log through the API.
		ev := e.emit(t, "ten_a", "payment.status_changed", map[string]string{"status": "Paid"})
		e.emit(t, "ten_b", "payment.status_changed", nil)
		e.runDue(t)
		if len(rc.got()) != 1 {
			t.Fatalf("endpoint got %d requests", len(rc.got()))
		}
		var events EventPage
		a.call("ten_a", "GET", "/platform/events?type=payment.status_changed&limit=10", "", &events)
		if len(events.Items) != 1 || events.Items[0].ID != ev.ID || events.NextCursor != "" {
			t.Fatalf("events: %+v", events)
		}
		code, body = a.call("ten_a", "GET", "/platform/events/"+ev.ID, "", nil)
		if code != 200 || !strings.Contains(body, `"data":{"status":"Paid"}`) || !strings.Contains(body, `"tenantId":"ten_a"`) {
			t.Fatalf("event: %d %s", code, body)
		}
		if code, _ := a.call("ten_b", "GET", "/platform/events/"+ev.ID, "", nil); code != 404 {
			t.Fatalf("ten_b reads ten_a's event: %d", code)
		}
		if code, body := a.call("ten_a", "GET", "/platform/events?limit=0", "", nil); code != 400 {
			t.Fatalf("limit=0: %d %s", code, body)
		}

		var deliveries DeliveryPage
		a.call("ten_a", "GET", "/platform/webhooks/deliveries?endpointId="+id+"&state=succeeded", "", &deliveries)
		if len(deliveries.Items) != 1 || deliveries.Items[0].EventID != ev.ID {
			t.Fatalf("deliveries: %+v", deliveries)
		}
		did := deliveries.Items[0].ID
		if code, body := a.call("ten_a", "GET", "/platform/webhooks/deliveries?state=lost", "", nil); code != 400 || !strings.Contains(body, "pending, succeeded or failed") {
			t.Fatalf("bad state: %d %s", code, body)
		}
		var detail DeliveryDetail
		a.call("ten_a", "GET", "/platform/webhooks/deliveries/"+did, "", &detail)
		if detail.State != DeliverySucceeded || len(detail.AttemptLog) != 1 || detail.AttemptLog[0].ResponseBody != "thanks" || detail.AttemptLog[0].StatusCode != 200 {
			t.Fatalf("delivery detail: %+v", detail)
		}
		var bList DeliveryPage
		a.call("ten_b", "GET", "/platform/webhooks/deliveries", "", &bList)
		for _, d := range bList.Items {
			if d.TenantID != "ten_b" {
				t.Fatalf("ten_b sees %+v", d)
			}
		}
		for _, c := range []struct{ method, path string }{
			{"GET", "/platform/webhooks/deliveries/" + did},
			{"POST", "/platform/webhooks/deliveries/" + did + "/resend"},
		} {
			if code, _ := a.call("ten_b", c.method, c.path, "", nil); code != 404 {
				t.Fatalf("ten_b %s %s: %d", c.method, c.path, code)
			}
		}
		if code, _ := a.call("ten_a", "POST", "/platform/webhooks/deliveries/"+did+"/resend", "", nil); code != 202 {
			t.Fatalf("resend: %d", code)
		}
		e.runDue(t)
		a.call("ten_a", "GET", "/platform/webhooks/deliveries/"+did, "", &detail)
		if len(detail.AttemptLog) != 2 || !detail.AttemptLog[1].Manual {
			t.Fatalf("after resend: %+v", detail.AttemptLog)
		}

		var rotated EndpointWithSecret
		if code, _ := a.call("ten_a", "POST", eps+"/"+id+"/rotate-secret", "", &rotated); code != 200 || !strings.HasPrefix(rotated.Secret, "whsec_") || rotated.Secret == created.Secret {
			t.Fatalf("rotate: %d %+v", code, rotated)
		}
		var disabled Endpoint
		if a.call("ten_a", "POST", eps+"/"+id+"/disable", "", &disabled); disabled.Enabled {
			t.Fatal("disable did not disable")
		}
		if code, body := a.call("ten_a", "DELETE", eps+"/"+id, "", nil); code != 204 || body != "" {
			t.Fatalf("delete: %d %q", code, body)
		}
		if code, _ := a.call("ten_a", "GET", eps+"/"+id, "", nil); code != 404 {
			t.Fatalf("get after delete: %d", code)
		}
	})
}
