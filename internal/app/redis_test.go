package app

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cashgate/cashgate/internal/clock"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/redistest"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestRedisURLCheckedAtStart: a Redis URL that does not parse or a Redis
// that does not answer stops Open with an error naming the setting and the
// address, never the password, before the database is touched.
func TestRedisURLCheckedAtStart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	for _, tc := range []struct{ url, want string }{
		{"http://127.0.0.1:6379", "invalid URL scheme: http"},
		{"redis://:s3cret@127.0.0.1:notaport", "invalid port"},
		{"redis://:s3cret@127.0.0.1:6379/zero", "invalid database number"},
		{"redis://:s3cret@" + closed, "redis at " + closed + " does not answer PING"},
	} {
		cfg := Defaults()
		cfg.DataDir, cfg.RedisURL = t.TempDir(), tc.url
		a, err := Open(context.Background(), cfg, Options{})
		if err == nil {
			a.Close()
			t.Fatalf("%s: Open succeeded", tc.url)
		}
		if msg := err.Error(); !strings.Contains(msg, "--redis-url (CASHGATE_REDIS_URL)") || !strings.Contains(msg, tc.want) || strings.Contains(msg, "s3cret") {
			t.Errorf("%s: %q, want the setting and %q, without the password", tc.url, msg, tc.want)
		}
		if _, err := os.Stat(filepath.Join(cfg.DataDir, "cashgate.db")); !os.IsNotExist(err) {
			t.Errorf("%s: the database was created (%v)", tc.url, err)
		}
	}
}

// TestUsageLimitsWhenRedisGoesAway: cashgate with --redis-url keeps a
// sandbox key's limit in Redis; when Redis goes away mid-run the requests
// are still answered, the process holding the key to its limit alone, and
// cashgate_usage_limit_fallbacks_total counts them.
func TestUsageLimitsWhenRedisGoesAway(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			proxy := newTCPProxy(t, redistest.URL(t))
			cfg := Defaults()
			cfg.DataDir, cfg.DatabaseURL, cfg.RedisURL = t.TempDir(), e.URL(t), proxy.url
			cfg.Pepper, cfg.KEK = bytes.Repeat([]byte{7}, 32), bytes.Repeat([]byte{9}, 32)
			cfg.SandboxRPM = 3
			clk := clock.NewFake(time.Date(2026, 11, 21, 9, 30, 0, 0, time.UTC))
			reg := prometheus.NewRegistry()
			a, err := Open(ctx, cfg, Options{Clock: clk, Rand: rand.NewChaCha8([32]byte{8}), Metrics: reg,
				RedisKeyPrefix: redistest.Prefix(t, redistest.Client(t))})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { a.Close() })
			ten, err := a.Platform.CreateTenant(ctx, platform.TenantSpec{Name: "Sandbox shop", Mode: platform.Sandbox})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(a.Handler)
			defer srv.Close()
			statuses := func() []int {
				var got []int
				for i := 0; i < 4; i++ {
					req, _ := http.NewRequest("GET", srv.URL+"/dummyapi/status", nil)
					req.Header.Set("api-key", ten.APIKey)
					res, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					res.Body.Close()
					got = append(got, res.StatusCode)
				}
				return got
			}
			if got := statuses(); !equalInts(got, 200, 200, 200, 429) {
				t.Fatalf("through Redis: %v", got)
			}
			want(t, gather(t, reg), "cashgate_usage_limit_fallbacks_total", nil, 0)
			proxy.stop()
			clk.Advance(time.Minute) // the bucket has refilled
			if got := statuses(); !equalInts(got, 200, 200, 200, 429) {
				t.Fatalf("Redis gone: %v, want the process to hold the limit alone", got)
			}
			want(t, gather(t, reg), "cashgate_usage_limit_fallbacks_total", nil, 4)
		})
	}
}

func equalInts(got []int, want ...int) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

// tcpProxy forwards connections to a Redis until stop, which closes them
// and refuses new ones: Redis going away.
type tcpProxy struct {
	url   string
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newTCPProxy(t *testing.T, redisURL string) *tcpProxy {
	t.Helper()
	u, err := url.Parse(redisURL)
	if err != nil || u.Scheme != "redis" {
		t.Fatalf("%s: want a redis:// URL (%v)", redistest.EnvURL, err)
	}
	target := u.Host
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u.Host = ln.Addr().String()
	p := &tcpProxy{url: u.String(), ln: ln}
	t.Cleanup(p.stop)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			r, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, r)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(r, c); r.Close() }()
			go func() { _, _ = io.Copy(c, r); c.Close() }()
		}
	}()
	return p
}

func (p *tcpProxy) stop() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}
