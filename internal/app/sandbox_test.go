package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/app"
	"github.com/cashgate/cashgate/internal/apptest"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestSandboxClock: on a sandbox installation, moving the clock two days
// forward through the API expires a remote payment at its own time (its
// webhook says so, stamped within the hour after expires_at, not at the end
// of the move), runs the daily and hourly jobs on the way, and keeps the
// offset; bad moves are refused, and production tenants cannot be made.
func TestSandboxClock(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := apptest.New(t, e, apptest.Options{Seed: 5, Config: func(c *app.Config) { c.Sandbox = true },
				Tenant: &platform.TenantSpec{Name: "Dev", Mode: platform.Sandbox, Timezone: "Europe/London"}})
			key := map[string]string{"api-key": h.Tenant.APIKey, "Content-Type": "application/json"}
			var mu sync.Mutex
			var got []struct {
				Type      string    `json:"type"`
				CreatedAt time.Time `json:"createdAt"`
			}
			hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				mu.Lock()
				got = append(got, struct {
					Type      string    `json:"type"`
					CreatedAt time.Time `json:"createdAt"`
				}{})
				_ = json.Unmarshal(b, &got[len(got)-1])
				mu.Unlock()
			}))
			defer hook.Close()
			if r := h.Do("POST", "/platform/webhooks/endpoints", []byte(`{"url":"`+hook.URL+`","eventTypes":["remote.*"]}`), key); r.Status != 201 {
				t.Fatalf("endpoint: %d %s", r.Status, r.Body)
			}
			expires := apptest.Epoch.Add(20 * time.Hour)
			r := h.Do("POST", "/remote/v1/payments", []byte(`{"amount":500,"currency":"EUR","expires_at":"`+expires.Format(time.RFC3339)+`"}`), key)
			if r.Status != 201 {
				t.Fatalf("payment: %d %s", r.Status, r.Body)
			}
			id := r.JSON(t)["id"].(string)
			h.RunDue() // the created webhook

			for _, bad := range []string{`{"advance":"-3d"}`, `{"advance":"soon"}`, `{"advance":"500d"}`} {
				if r := h.Do("POST", "/platform/sandbox/clock", []byte(bad), key); r.Status != 400 {
					t.Errorf("move %s: %d %s, want 400", bad, r.Status, r.Body)
				}
			}
			r = h.Do("POST", "/platform/sandbox/clock", []byte(`{"advance":"2d"}`), key)
			if r.Status != 200 {
				t.Fatalf("move: %d %s", r.Status, r.Body)
			}
			rep := r.JSON(t)
			if rep["offset"] != "48h0m0s" || rep["jobsRun"].(float64) < 48 {
				t.Fatalf("move: %v, want offset 48h and at least the hourly jobs of two days", rep)
			}
			if now, _ := time.Parse(time.RFC3339Nano, rep["now"].(string)); !now.Equal(apptest.Epoch.Add(48 * time.Hour)) {
				t.Fatalf("now %v, want %v", now, apptest.Epoch.Add(48*time.Hour))
			}
			if r := h.Do("GET", "/remote/v1/payments/"+id, nil, key); !strings.Contains(string(r.Body), `"status":"canceled"`) {
				t.Fatalf("payment after the move: %s", r.Body)
			}
			mu.Lock()
			var canceled time.Time
			for _, ev := range got {
				if ev.Type == "remote.payment.canceled" {
					canceled = ev.CreatedAt
				}
			}
			mu.Unlock()
			if canceled.Before(expires) || canceled.After(expires.Add(time.Hour)) {
				t.Fatalf("canceled webhook stamped %v, want within the hour after %v (got %d webhooks)", canceled, expires, len(got))
			}
			if r := h.Do("GET", "/platform/sandbox/clock", nil, key); !strings.Contains(string(r.Body), `"offset":"48h0m0s"`) {
				t.Fatalf("clock: %s", r.Body)
			}
			if _, err := h.App.Platform.CreateTenant(context.Background(), platform.TenantSpec{Name: "Real", Mode: platform.Production}); err == nil {
				t.Fatal("a sandbox installation created a production tenant")
			}
		})
	}
}

// TestClockMovesOnlyOnSandboxes: an ordinary installation refuses a move.
func TestClockMovesOnlyOnSandboxes(t *testing.T) {
	h := apptest.New(t, storetest.Engines()[0], apptest.Options{Seed: 6})
	r := h.Do("POST", "/platform/sandbox/clock", []byte(`{"advance":"1d"}`), map[string]string{"api-key": h.Tenant.APIKey, "Content-Type": "application/json"})
	if r.Status != 403 {
		t.Fatalf("move on a production installation: %d %s, want 403", r.Status, r.Body)
	}
}
