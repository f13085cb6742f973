package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// syncBuffer is a bytes.Buffer safe for the server goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func envFrom(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// runCmd runs the CLI to completion and returns stdout.
func runCmd(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	var out, errb syncBuffer
	err := run(context.Background(), args, envFrom(env), &out, &errb)
	if err != nil {
		t.Logf("cashgate %s: stderr:\n%s", strings.Join(args, " "), errb.String())
	}
	return out.String(), err
}

// startServe runs `cashgate serve` in the background and waits for /healthz.
func startServe(t *testing.T, env map[string]string) (base string, stop func() error) {
	t.Helper()
	addr := freeAddr(t)
	env["CASHGATE_ADDR"] = addr
	ctx, cancel := context.WithCancel(context.Background())
	var errb syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve"}, envFrom(env), io.Discard, &errb) }()
	base = "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		select {
		case err := <-done:
			cancel()
			t.Fatalf("serve exited early: %v\n%s", err, errb.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve did not come up on %s:\n%s", addr, errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	var once sync.Once
	var stopErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case stopErr = <-done:
			case <-time.After(30 * time.Second):
				stopErr = fmt.Errorf("serve did not stop within 30s")
			}
		})
		return stopErr
	}
	t.Cleanup(func() { _ = stop() })
	return base, stop
}

func getJSON(t *testing.T, url string, hdr map[string]string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	b, _ := io.ReadAll(resp.Body)
	if len(b) > 0 && b[0] == '{' {
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("GET %s: bad JSON %q", url, b)
		}
	}
	return resp.StatusCode, m
}

func TestServeProbesAndGracefulShutdown(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := map[string]string{"CASHGATE_DATABASE_URL": e.URL(t), "CASHGATE_DATA_DIR": t.TempDir(), "CASHGATE_LOG_LEVEL": "warn"}
			base, stop := startServe(t, env)
			if code, body := getJSON(t, base+"/readyz", nil); code != 200 || body["status"] != "ready" {
				t.Fatalf("readyz = %d %v", code, body)
			}
			resp, err := http.Get(base + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(b), "cashgate_http_requests_total") {
				t.Fatalf("metrics = %d, missing cashgate_http_requests_total", resp.StatusCode)
			}
			code, doc := getJSON(t, base+"/openapi.json", nil)
			if code != 200 || doc["openapi"] != "3.1.0" {
				t.Fatalf("openapi.json = %d", code)
			}
			if err := stop(); err != nil {
				t.Fatalf("graceful stop: %v", err)
			}
			if _, err := http.Get(base + "/healthz"); err == nil {
				t.Fatal("server still answers after shutdown")
			}
		})
	}
}

func TestServeRefusesSchemaBehindWithoutAutoMigrate(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			u := e.URL(t)
			db, err := store.Open(context.Background(), u, nil, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := db.MigrateTo(context.Background(), 1); err != nil {
				t.Fatal(err)
			}
			db.Close()
			env := map[string]string{"CASHGATE_DATABASE_URL": u, "CASHGATE_DATA_DIR": t.TempDir(), "CASHGATE_AUTO_MIGRATE": "false", "CASHGATE_ADDR": freeAddr(t)}
			_, err = runCmd(t, env, "serve")
			if err == nil || !strings.Contains(err.Error(), "cashgate migrate") {
				t.Fatalf("serve with schema behind: err = %v, want a refusal naming `cashgate migrate`", err)
			}
			out, err := runCmd(t, env, "migrate")
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(out), &m); err != nil || m["upToDate"] != true {
				t.Fatalf("migrate output %q", out)
			}
			out, err = runCmd(t, env, "migrate", "--status")
			if err != nil || !strings.Contains(out, `"applied":0`) {
				t.Fatalf("migrate --status: %q %v", out, err)
			}
		})
	}
}

func TestBadConfiguration(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"bad bool", map[string]string{"CASHGATE_AUTO_MIGRATE": "perhaps"}, "CASHGATE_AUTO_MIGRATE"},
		{"bad pepper", map[string]string{"CASHGATE_PEPPER": "zz"}, "CASHGATE_PEPPER"},
		{"bad log level", map[string]string{"CASHGATE_LOG_LEVEL": "loud"}, "log level"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.env["CASHGATE_DATA_DIR"] = t.TempDir()
			_, err := runCmd(t, tc.env, "migrate", "--status")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want mention of %s", err, tc.want)
			}
		})
	}
}

// TestServeChecksRedisURL: serve refuses to start on a Redis URL (flag or
// environment) that does not parse or a Redis that does not answer, naming
// the setting, never the password; administrative commands leave Redis
// alone.
func TestServeChecksRedisURL(t *testing.T) {
	closed := freeAddr(t) // nothing listens there
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"flag, no answer", map[string]string{}, []string{"serve", "--redis-url", "redis://:s3cret@" + closed}, "redis at " + closed + " does not answer PING"},
		{"env, bad scheme", map[string]string{"CASHGATE_REDIS_URL": "ftp://:s3cret@" + closed}, []string{"serve"}, "invalid URL scheme: ftp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.env["CASHGATE_DATA_DIR"], tc.env["CASHGATE_ADDR"] = t.TempDir(), freeAddr(t)
			_, err := runCmd(t, tc.env, tc.args...)
			if err == nil || !strings.Contains(err.Error(), "--redis-url (CASHGATE_REDIS_URL)") || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("err = %v, want the setting and %q, without the password", err, tc.want)
			}
		})
	}
	env := map[string]string{"CASHGATE_DATA_DIR": t.TempDir(), "CASHGATE_REDIS_URL": "redis://" + closed}
	if _, err := runCmd(t, env, "migrate", "--status"); err != nil {
		t.Fatalf("migrate --status with an unreachable CASHGATE_REDIS_URL: %v", err)
	}
}
