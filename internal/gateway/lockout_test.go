package gateway_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/gateway"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestAuthLockoutConcurrent: 300 bad hashes at once from one address are
// answered 401 (checked and told) at most MaxAuthFailures times, the rest
// 403, and the lock holds for a good hash afterwards.
func TestAuthLockoutConcurrent(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			path := "/api/gateway/supported-payment-methods"
			const n = 300
			var mu sync.Mutex
			counts := map[int]int{}
			var wg sync.WaitGroup
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					r := h.call("GET", path, "", "Hash", fmt.Sprintf("%0128x", i+1))
					mu.Lock()
					counts[r.Status]++
					mu.Unlock()
				}(i)
			}
			wg.Wait()
			if counts[401] != gateway.MaxAuthFailures || counts[403] != n-gateway.MaxAuthFailures {
				t.Errorf("statuses %v: want %d checked (401) and %d refused (403)", counts, gateway.MaxAuthFailures, n-gateway.MaxAuthFailures)
			}
			if r := h.call("GET", path, ""); r.Status != 403 {
				t.Errorf("good hash after the burst: %d %s, want 403", r.Status, r.Body)
			}
		})
	}
}

// TestAuthLockoutGoodRequestsDoNotReset: good requests between bad ones do
// not reset the count (today 9 bad + 1 good, repeated, never locked).
func TestAuthLockoutGoodRequestsDoNotReset(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			path := "/api/gateway/supported-payment-methods"
			for _, tc := range []struct {
				name string
				bad  int // bad hashes before each good one
			}{{"9 bad + 1 good", gateway.MaxAuthFailures - 1}, {"1 bad + 1 good", 1}, {"5 bad + 1 good", 5}} {
				h := newHarness(t, e)
				failures := 0
				for round := 0; failures < gateway.MaxAuthFailures; round++ {
					for i := 0; i < tc.bad && failures < gateway.MaxAuthFailures; i++ {
						if r := h.call("GET", path, "", "Hash", strings.Repeat("ab", 64)); r.Status != 401 {
							t.Fatalf("%s: bad hash %d: %d %s", tc.name, failures, r.Status, r.Body)
						}
						failures++
					}
					want := 200
					if failures >= gateway.MaxAuthFailures {
						want = 403
					}
					if r := h.call("GET", path, ""); r.Status != want {
						t.Fatalf("%s: good hash after %d failures: %d %s, want %d", tc.name, failures, r.Status, r.Body, want)
					}
				}
				if r := h.call("GET", path, "", "Hash", strings.Repeat("ab", 64)); r.Status != 403 {
					t.Errorf("%s: locked: %d %s", tc.name, r.Status, r.Body)
				}
			}
		})
	}
}

// TestAuthLockoutHoldsForEveryScheme: the lock is read once, after the
// guess is checked, and while it holds every request is answered 403
// whatever it carries: a good Hash, a good or a bad HMAC Signature, and a
// plain Hash where the settings require a Signature (not the 401 that
// answers that request unlocked), and none of them has any effect.
func TestAuthLockoutHoldsForEveryScheme(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			m := h.must("POST", "/api/gateway/payment-jobs", `{"currency":"GBP","amountToCollect":"1.00","order":{"orderNumber":"lock-1"}}`, 201)
			cancel := "/api/gateway/payment-jobs/" + data(m)["reference"].(string) + "/cancel"
			h.settings(gateway.GatewaySettings{AutoCapture: true, RequireHMACBodylessWrites: true})
			if r := h.call("PATCH", cancel, ""); r.Status != 401 {
				t.Fatalf("plain-Hash cancel, unlocked: %d %s, want 401", r.Status, r.Body)
			}
			for i := range gateway.MaxAuthFailures {
				if r := h.call("GET", "/api/gateway/supported-payment-methods", "", "Hash", strings.Repeat("ab", 64)); r.Status != 401 {
					t.Fatalf("bad hash %d: %d %s", i, r.Status, r.Body)
				}
			}
			ts := fmt.Sprint(h.Clock.Now().Unix())
			for name, r := range map[string]reply{
				"good Hash":               h.call("GET", "/api/gateway/supported-payment-methods", ""),
				"plain-Hash cancel":       h.call("PATCH", cancel, ""),
				"good Signature (cancel)": h.call("PATCH", cancel, "", "Hash", "", "Timestamp", ts, "Signature", gateway.Sign(h.Tenant.SigningKey, ts, "PATCH", cancel, nil)),
				"bad Signature":           h.call("PATCH", cancel, "", "Hash", "", "Timestamp", ts, "Signature", gateway.Sign("not-the-key", ts, "PATCH", cancel, nil)),
			} {
				if r.Status != 403 {
					t.Errorf("%s while locked: %d %s, want 403", name, r.Status, r.Body)
				}
			}
			h.Clock.Advance(gateway.AuthLockout + time.Second)
			if m := h.must("GET", strings.TrimSuffix(cancel, "/cancel"), "", 200); data(m)["paymentStatus"] != "Pending" {
				t.Errorf("job after the lock: %v, want Pending (no cancel got through)", data(m)["paymentStatus"])
			}
		})
	}
}

// TestBodylessWrites: with requireHmacBodylessWrites a cancel PATCH signed
// with the plain Hash (the same Hash as any GET's) is refused in the
// gateway's format and cancels nothing; the same cancel signed with the HMAC
// scheme is accepted, GETs and bodied writes keep the plain Hash. Without the
// setting the guide's scheme works unchanged.
func TestBodylessWrites(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			newJob := func(order string) string {
				m := h.must("POST", "/api/gateway/payment-jobs", fmt.Sprintf(`{"currency":"GBP","amountToCollect":"1.00","order":{"orderNumber":%q}}`, order), 201)
				return data(m)["reference"].(string)
			}
			// Off (the default): the guide's body-less cancel works.
			if r := h.call("PATCH", "/api/gateway/payment-jobs/"+newJob("o1")+"/cancel", ""); r.Status != 200 {
				t.Fatalf("plain cancel, setting off: %d %s", r.Status, r.Body)
			}
			h.settings(gateway.GatewaySettings{AutoCapture: true, RequireHMACBodylessWrites: true})
			job := newJob("o2")
			cancel := "/api/gateway/payment-jobs/" + job + "/cancel"
			for _, body := range []string{"", "{}", `{"amountToCapture":"1.00"}`} {
				r := h.call("PATCH", cancel, body)
				if r.Status != 401 || !bytes.Contains(r.Body, []byte(gateway.MsgInvalidToken.Message)) {
					t.Errorf("plain cancel %q with the setting: %d %s, want 401 %q", body, r.Status, r.Body, gateway.MsgInvalidToken.Message)
				}
			}
			if m := h.must("GET", "/api/gateway/payment-jobs/"+job, "", 200); data(m)["paymentStatus"] != "Pending" {
				t.Errorf("job after refused cancels: %v", data(m)["paymentStatus"])
			}
			ts := fmt.Sprint(h.Clock.Now().Unix())
			if r := h.call("PATCH", cancel, "", "Hash", "", "Timestamp", ts, "Signature", gateway.Sign(h.Tenant.SigningKey, ts, "PATCH", cancel, nil)); r.Status != 200 {
				t.Errorf("HMAC cancel with the setting: %d %s", r.Status, r.Body)
			}
			if m := h.must("GET", "/api/gateway/payment-jobs/"+job, "", 200); data(m)["paymentStatus"] != "Cancelled" {
				t.Errorf("job after the HMAC cancel: %v", data(m)["paymentStatus"])
			}
			newJob("o3") // a bodied write keeps the plain Hash
			if r := h.Do("GET", "/platform/gateway/settings", nil, map[string]string{"api-key": h.Tenant.APIKey}); r.Status != 200 || r.JSON(t)["requireHmacBodylessWrites"] != true {
				t.Errorf("settings: %d %s", r.Status, r.Body)
			}
		})
	}
}

// TestLengthExtendedBody: SHA-512(key ‖ body) lets whoever saw one Hash
// compute the Hash of body ‖ padding ‖ anything; such a body (here signed
// directly, as the attacker could) is refused and has no effect, for a
// create and for a cancel.
func TestLengthExtendedBody(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h := newHarness(t, e)
			extend := func(body string) string {
				// SHA-512 padding of key ‖ body: 0x80, zeros, 128-bit length.
				n := len(h.Tenant.SigningKey) + len(body)
				pad := []byte{0x80}
				for (n+len(pad))%128 != 112 {
					pad = append(pad, 0)
				}
				var l [16]byte
				binary.BigEndian.PutUint64(l[8:], uint64(n)*8)
				return body + string(pad) + string(l[:])
			}
			orig := `{"currency":"GBP","amountToCollect":"1.00","order":{"orderNumber":"x1"}}`
			for _, tc := range []struct{ name, method, path, body string }{
				{"create, extra JSON", "POST", "/api/gateway/payment-jobs", extend(orig) + `{"currency":"GBP","amountToCollect":"999.00"}`},
				{"create, extra fields", "POST", "/api/gateway/payment-jobs", extend(orig) + `,"amountToCollect":"999.00"}`},
				{"create, JSON then data", "POST", "/api/gateway/payment-jobs", orig + `{"amountToCollect":"999.00"}`},
			} {
				r := h.call(tc.method, tc.path, tc.body)
				if r.Status != 400 {
					t.Errorf("%s: %d %s, want 400", tc.name, r.Status, r.Body)
				}
			}
			job := data(h.must("POST", "/api/gateway/payment-jobs", orig, 201))["reference"].(string)
			cancel := "/api/gateway/payment-jobs/" + job + "/cancel"
			if r := h.call("PATCH", cancel, extend("{}")+`{"x":1}`); r.Status != 400 {
				t.Errorf("extended cancel: %d %s, want 400", r.Status, r.Body)
			}
			if m := h.must("GET", "/api/gateway/payment-jobs/"+job, "", 200); data(m)["paymentStatus"] != "Pending" {
				t.Errorf("job after an extended cancel: %v", data(m)["paymentStatus"])
			}
		})
	}
}
