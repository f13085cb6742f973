package outbox

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// fakeResolver maps host names to addresses; other names do not exist.
type fakeResolver map[string][]string

func (f fakeResolver) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	addrs, ok := f[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var out []net.IPAddr
	for _, a := range addrs {
		out = append(out, net.IPAddr{IP: net.ParseIP(a)})
	}
	return out, nil
}

var testDNS = fakeResolver{
	"hooks.example.com":   {"93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"},
	"internal.corp":       {"10.0.0.5"},
	"mixed.example.com":   {"93.184.216.34", "192.168.0.1"},
	"metadata.example":    {"169.254.169.254"},
	"v6private.example":   {"fd12:3456::1"},
	"mapped-v4.example":   {"::ffff:127.0.0.1"},
	"cgnat-meta.example":  {"100.100.100.200"},
	"multicast.example":   {"ff02::1"},
	"unspecified.example": {"0.0.0.0"},
}

func TestEndpointURLGuard(t *testing.T) {
	cases := []struct {
		url                 string
		byDefault, withFlag bool   // allowed?
		why                 string // part of the refusal by default
	}{
		{"https://hooks.example.com/cashgate", true, true, ""},
		{"https://93.184.216.34:8443/hook", true, true, ""},
		{"http://[2606:2800:220:1:248:1893:25c8:1946]/", true, true, ""},
		{"http://127.0.0.1/hook", false, true, "loopback"},
		{"http://127.9.9.9:8080/", false, true, "loopback"},
		{"http://localhost:8080/hook", false, true, "loopback"},
		{"http://LOCALHOST./", false, true, "loopback"},
		{"http://api.localhost/", false, true, "loopback"},
		{"http://10.1.2.3/", false, true, "private"},
		{"http://172.16.0.1/", false, true, "private"},
		{"http://192.168.1.10/hook", false, true, "private"},
		{"http://169.254.169.254/latest/meta-data/", false, true, "link-local"},
		{"http://[::1]/", false, true, "loopback"},
		{"http://[::1]:9000/", false, true, "loopback"},
		{"http://[fe80::1]/", false, true, "link-local"},
		{"http://[fe80::1%25eth0]/", false, true, "link-local"},
		{"http://[fc00::1]/", false, true, "private"},
		{"http://0.0.0.0/", false, true, "unspecified"},
		{"http://0.1.2.3/", false, true, "unspecified"},
		{"http://[::]/", false, true, "unspecified"},
		{"http://224.0.0.1/", false, true, "multicast"},
		{"http://255.255.255.255/", false, true, "broadcast"},
		{"http://100.64.0.1/", false, true, "shared"},
		{"http://[::ffff:10.0.0.1]/", false, true, "private"},
		{"https://internal.corp/hook", false, true, "resolves to 10.0.0.5, a private address"},
		{"https://mixed.example.com/", false, true, "192.168.0.1"},
		{"https://metadata.example/", false, true, "link-local"},
		{"https://v6private.example/", false, true, "private"},
		{"https://mapped-v4.example/", false, true, "loopback"},
		{"https://cgnat-meta.example/", false, true, "shared"},
		{"https://multicast.example/", false, true, "multicast"},
		{"https://unspecified.example/", false, true, "unspecified"},
		{"https://nxdomain.example/", false, true, "does not resolve"},
		{"http://2130706433/", false, true, "does not resolve"}, // decimal 127.0.0.1 is not taken as an address
		{"ftp://93.184.216.34/file", false, false, "http or https"},
		{"file:///etc/passwd", false, false, "http or https"},
		{"gopher://hooks.example.com/", false, false, "http or https"},
		{"https:///nohost", false, false, "no host"},
		{"hooks.example.com/path", false, false, "http or https"},
		{"", false, false, "required"},
		{"https://hooks.example.com/" + strings.Repeat("a", 2048), false, false, "at most"},
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		strict := newEnv(t, db, WebhookOptions{Resolver: testDNS})
		open := newEnv(t, db, WebhookOptions{Resolver: testDNS, AllowPrivateTargets: true})
		for _, c := range cases {
			req := CreateEndpointRequest{URL: c.url, EventTypes: []string{"*"}}
			_, err := strict.wh.CreateEndpoint(ctx, "ten_a", req)
			switch {
			case c.byDefault && err != nil:
				t.Errorf("%s refused by default: %v", c.url, err)
			case !c.byDefault:
				var ae *apperr.Error
				if !errors.As(err, &ae) || ae.Code != apperr.Invalid || ae.Field != "url" || !strings.Contains(ae.Message, c.why) {
					t.Errorf("%s by default: %v, want Invalid on url mentioning %q", c.url, err, c.why)
				}
			}
			_, err = open.wh.CreateEndpoint(ctx, "ten_b", req)
			if c.withFlag != (err == nil) {
				t.Errorf("%s with AllowPrivateTargets: err %v, want allowed=%v", c.url, err, c.withFlag)
			}
			if !c.withFlag && !apperr.Is(err, apperr.Invalid) {
				t.Errorf("%s with AllowPrivateTargets: %v, want Invalid", c.url, err)
			}
		}
		// Updates pass the same guard.
		ep, err := strict.wh.CreateEndpoint(ctx, "ten_a", CreateEndpointRequest{URL: "https://hooks.example.com/", EventTypes: []string{"*"}})
		if err != nil {
			t.Fatal(err)
		}
		meta := "http://169.254.169.254/"
		if _, err := strict.wh.UpdateEndpoint(ctx, "ten_a", ep.ID, UpdateEndpointRequest{URL: &meta}); !apperr.Is(err, apperr.Invalid) {
			t.Fatalf("update to the metadata address: %v", err)
		}
	})
}

func TestGuardDial(t *testing.T) {
	for _, c := range []struct {
		addr string
		ok   bool
	}{
		{"93.184.216.34:443", true},
		{"[2606:2800:220:1:248:1893:25c8:1946]:443", true},
		{"127.0.0.1:80", false},
		{"[::1]:80", false},
		{"10.0.0.1:80", false},
		{"172.31.255.255:80", false},
		{"192.168.0.1:443", false},
		{"169.254.169.254:80", false},
		{"[fe80::1%eth0]:80", false},
		{"[fd00::1]:80", false},
		{"0.0.0.0:80", false},
		{"[::]:80", false},
		{"239.1.2.3:80", false},
		{"[::ffff:127.0.0.1]:80", false},
		{"garbage", false},
	} {
		err := guardDial("tcp", c.addr, nil)
		if (err == nil) != c.ok {
			t.Errorf("guardDial(%s) = %v, want ok=%v", c.addr, err, c.ok)
		}
		if err != nil && !errors.Is(err, errTargetRefused) {
			t.Errorf("guardDial(%s) error %v does not wrap errTargetRefused", c.addr, err)
		}
	}
}

// TestDeliveryTimeDialGuard: an endpoint whose address is private when the
// delivery is made — created while allowed, or a host name rebound after
// creation — is refused by the dialer itself; nothing reaches it.
func TestDeliveryTimeDialGuard(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		open := newEnv(t, db, WebhookOptions{AllowPrivateTargets: true})
		rc := newReceiver(t, open, func(int, []byte) (int, string) { return http.StatusOK, "" })
		open.endpoint(t, "ten_a", rc.srv.URL+"/hook")
		open.emit(t, "ten_a", "payment.status_changed", nil)

		// The same database and secrets, served by a strict server.
		strict, err := NewWebhooks(open.ob, testLog(), WebhookOptions{Cipher: open.wh.opt.Cipher})
		if err != nil {
			t.Fatal(err)
		}
		r := NewRunner(db, open.clk, testLog(), RunnerOptions{})
		strict.Register(r)
		if n, err := r.RunDue(context.Background()); err != nil || n != 1 {
			t.Fatalf("RunDue: %d %v", n, err)
		}
		if len(rc.got()) != 0 {
			t.Fatal("the request reached a loopback endpoint")
		}
		d := open.onlyDelivery(t, "ten_a")
		if len(d.AttemptLog) != 1 || d.AttemptLog[0].StatusCode != 0 ||
			!strings.Contains(d.AttemptLog[0].Error, "127.0.0.1 is a loopback address: refused by the SSRF guard") {
			t.Fatalf("attempt log: %+v", d.AttemptLog)
		}
		if d.State != DeliveryPending || d.NextAttemptAt == nil {
			t.Fatalf("a refused attempt must count as a failed attempt: %+v", d.Delivery)
		}
	})
}
