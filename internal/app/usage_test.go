package app

import (
	"context"
	"net"
	"net/http"
	"testing"

	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestUsageFlushedAtShutdown: with a flush interval far longer than the
// test, the requests a serving process counted reach app_key_usage when it
// shuts down (after its last request was answered).
func TestUsageFlushedAtShutdown(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			a, _, count := openForTest(t, e, 1)
			a.Config.UsageFlush = 1 << 40 // never within the test
			ten, err := a.Platform.CreateTenant(context.Background(), platform.TenantSpec{Name: "Acme", Mode: platform.Production})
			if err != nil {
				t.Fatal(err)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- a.Serve(ctx, ln) }()
			for range 9 {
				req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/dummyapi/status", nil)
				req.Header.Set("api-key", ten.APIKey)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Fatalf("status %d", resp.StatusCode)
				}
			}
			if n := count(`SELECT COUNT(*) FROM app_key_usage`); n != 0 {
				t.Fatalf("%d usage rows before the shutdown", n)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if n := count(`SELECT COALESCE(SUM(requests), 0) FROM app_key_usage WHERE key_id = $1 AND day = '2026-11-21'`, ten.KeyID); n != 9 {
				t.Fatalf("%d requests flushed at shutdown, want 9", n)
			}
		})
	}
}
