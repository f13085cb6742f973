package gateway_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/gateway"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestSignatureReplay: a request signed with the HMAC scheme is accepted
// once; the same request sent again within its window (in any letter case
// of the signature) is refused with 401 "Invalid token." and has no second
// effect. The recurring purge job, as the app schedules it, deletes the
// record once the window has passed, and reschedules itself.
func TestSignatureReplay(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			ctx := context.Background()
			count := func(q string) int {
				t.Helper()
				var n int
				if err := h.app.DB.Read().QueryRowContext(ctx, q).Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			}
			path := "/api/gateway/payment-jobs"
			body := moto("Replay 1", "3.00")
			ts := fmt.Sprint(h.Clock.Now().Unix())
			sig := gateway.Sign(h.Tenant.SigningKey, ts, "POST", path, []byte(body))
			if r := h.call("POST", path, body, "Hash", "", "Timestamp", ts, "Signature", sig); r.Status != 201 {
				t.Fatalf("signed create = %d %s", r.Status, r.Body)
			}
			for _, s := range []string{sig, strings.ToUpper(sig)} {
				r := h.call("POST", path, body, "Hash", "", "Timestamp", ts, "Signature", s)
				if r.Status != 401 || !strings.Contains(string(r.Body), gateway.MsgInvalidToken.Message) {
					t.Fatalf("replay = %d %s, want 401 %q", r.Status, r.Body, gateway.MsgInvalidToken.Message)
				}
			}
			if n := count(`SELECT COUNT(*) FROM gateway_jobs`); n != 1 {
				t.Fatalf("%d payment jobs after a replay, want 1", n)
			}
			if p, _, _ := h.balances(); p != 300 {
				t.Errorf("merchant pending = %d, want 300 (one payment)", p)
			}
			// A fresh signature of the same request is a new request.
			h.Clock.Advance(time.Second)
			ts2 := fmt.Sprint(h.Clock.Now().Unix())
			body2 := moto("Replay 2", "3.00")
			if r := h.call("POST", path, body2, "Hash", "", "Timestamp", ts2, "Signature", gateway.Sign(h.Tenant.SigningKey, ts2, "POST", path, []byte(body2))); r.Status != 201 {
				t.Fatalf("re-signed create = %d %s", r.Status, r.Body)
			}
			if n := count(`SELECT COUNT(*) FROM gateway_seen_signatures`); n != 2 {
				t.Fatalf("%d signatures recorded, want 2", n)
			}

			// The purge job: scheduled once however many workers start; it
			// keeps rows still inside their window.
			for i := 0; i < 2; i++ {
				if err := h.app.Gateway.Service.ScheduleHousekeeping(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if n := count(`SELECT COUNT(*) FROM jobs WHERE kind = '` + gateway.KindPurgeSignatures + `'`); n != 1 {
				t.Fatalf("%d purge jobs, want 1", n)
			}
			h.RunDue()
			if n := count(`SELECT COUNT(*) FROM gateway_seen_signatures`); n != 2 {
				t.Fatalf("%d signatures after an early purge, want 2", n)
			}
			// Past the window (and the job's next run) the rows are gone; the
			// stale signature is refused by its Timestamp now.
			h.Clock.Advance(gateway.PurgeSignaturesEvery + time.Second)
			h.RunDue()
			if n := count(`SELECT COUNT(*) FROM gateway_seen_signatures`); n != 0 {
				t.Fatalf("%d signatures after the window, want 0", n)
			}
			if r := h.call("POST", path, body, "Hash", "", "Timestamp", ts, "Signature", sig); r.Status != 401 {
				t.Fatalf("stale replay = %d %s, want 401", r.Status, r.Body)
			}
			if n := count(`SELECT COUNT(*) FROM jobs WHERE kind = '` + gateway.KindPurgeSignatures + `' AND state = 'ready'`); n != 1 {
				t.Errorf("purge job not rescheduled: %d ready", n)
			}
		})
	}
}
