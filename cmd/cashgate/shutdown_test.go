package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestShutdownFinishesInFlightRequest starts a transfer whose body is still
// arriving when the server is told to stop: the request must complete (201,
// money moved) before serve returns, and new connections are refused.
func TestShutdownFinishesInFlightRequest(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			env := map[string]string{"CASHGATE_DATABASE_URL": e.URL(t), "CASHGATE_DATA_DIR": t.TempDir(), "CASHGATE_LOG_LEVEL": "warn"}
			out, err := runCmd(t, env, "tenant", "create", "--name", "Acme", "--mode", "production")
			if err != nil {
				t.Fatal(err)
			}
			key := decodeLine(t, out)["apiKey"].(string)
			base, stop := startServe(t, env)
			post := func(path, body string) map[string]any {
				req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
				req.Header.Set("api-key", key)
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var m map[string]any
				_ = json.NewDecoder(resp.Body).Decode(&m)
				return m
			}
			bank := post("/platform/ledger/accounts", `{"owner":"bank","purpose":"clearing","currency":"EUR","allowOverdraft":true}`)["id"].(string)
			alice := post("/platform/ledger/accounts", `{"owner":"alice","purpose":"wallet","currency":"EUR"}`)["id"].(string)

			body := fmt.Sprintf(`{"from":%q,"to":%q,"amount":"5.00","currency":"EUR","reference":"in-flight"}`, bank, alice)
			conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			half := len(body) / 2
			fmt.Fprintf(conn, "POST /platform/ledger/transfers HTTP/1.1\r\nHost: x\r\napi-key: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", key, len(body), body[:half])
			time.Sleep(100 * time.Millisecond) // the server is now reading the body

			stopped := make(chan error, 1)
			go func() { stopped <- stop() }()
			time.Sleep(300 * time.Millisecond) // shutdown has begun
			select {
			case err := <-stopped:
				t.Fatalf("serve returned (%v) while a request was in flight", err)
			default:
			}
			if _, err := fmt.Fprint(conn, body[half:]); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("in-flight request lost: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("in-flight transfer = %d, want 201", resp.StatusCode)
			}
			if err := <-stopped; err != nil {
				t.Fatalf("serve: %v", err)
			}
			if _, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), time.Second); err == nil {
				t.Fatal("server still accepts connections after shutdown")
			}
		})
	}
}
