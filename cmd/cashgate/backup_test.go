package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/store/storetest"
)

// TestBackupAndRestore backs up a serving SQLite installation under load,
// restores the backup into a fresh data directory, serves it, and finds
// every transfer acknowledged before the backup began, the APP key and the
// admin user's password (which needs the restored pepper) working.
func TestBackupAndRestore(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"CASHGATE_DATA_DIR": filepath.Join(dir, "live"), "CASHGATE_LOG_LEVEL": "warn"}
	out, err := runCmd(t, env, "tenant", "create", "--name", "Acme", "--mode", "production", "--admin-password", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	var ten struct{ APIKey string }
	if err := json.Unmarshal([]byte(out), &ten); err != nil || ten.APIKey == "" {
		t.Fatalf("tenant create: %q %v", out, err)
	}
	base, stop := startServe(t, env)
	c := apiClient{t: t, key: ten.APIKey}
	from := c.post(base+"/platform/ledger/accounts", `{"owner":"bank","purpose":"clearing","currency":"EUR","allowOverdraft":true}`, 200)["id"]
	to := c.post(base+"/platform/ledger/accounts", `{"owner":"alice","purpose":"wallet","currency":"EUR"}`, 200)["id"]
	transfer := fmt.Sprintf(`{"from":%q,"to":%q,"amount":"0.01","currency":"EUR"}`, from, to)

	var stopLoad atomic.Bool
	var mu sync.Mutex
	var acked []string
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stopLoad.Load() {
				id, ok := c.tryPost(base+"/platform/ledger/transfers", transfer, 201)["id"].(string)
				if !ok {
					return
				}
				mu.Lock()
				acked = append(acked, id)
				mu.Unlock()
			}
		}()
	}
	for n := 0; n < 50; time.Sleep(time.Millisecond) {
		mu.Lock()
		n = len(acked)
		mu.Unlock()
	}
	mu.Lock()
	before := append([]string(nil), acked...)
	mu.Unlock()
	file := filepath.Join(dir, "cashgate-backup.tar.gz")
	_, err = runCmd(t, env, "backup", file)
	stopLoad.Store(true)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	restored := map[string]string{"CASHGATE_DATA_DIR": filepath.Join(dir, "restored"), "CASHGATE_LOG_LEVEL": "warn"}
	if _, err := runCmd(t, restored, "restore", file); err != nil {
		t.Fatal(err)
	}
	if _, err := runCmd(t, restored, "restore", file); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("a second restore over the first: %v, want a refusal", err)
	}
	base, _ = startServe(t, restored)
	for _, id := range before {
		c.get(base+"/platform/ledger/entries/"+id, 200)
	}
	form := url.Values{"grant_type": {"password"}, "username": {"admin"}, "password": {"correct horse battery"}}.Encode()
	req, _ := http.NewRequest("POST", base+"/auth/oauth/token", strings.NewReader(form))
	req.Header.Set("api-key", ten.APIKey)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("admin password grant on the restored installation: %d, want 200", res.StatusCode)
	}
	if out, err := runCmd(t, restored, "ledger", "check"); err != nil {
		t.Fatalf("ledger check of the restored copy: %q %v", out, err)
	}
	t.Logf("%d transfers acknowledged before the backup, all restored", len(before))
}

// apiClient calls the platform API with an APP key.
type apiClient struct {
	t   *testing.T
	key string
}

func (c apiClient) do(method, u, body string) (int, map[string]any, error) {
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("api-key", c.key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(res.Body)
	var m map[string]any
	_ = json.Unmarshal(buf.Bytes(), &m)
	return res.StatusCode, m, nil
}

func (c apiClient) post(u, body string, want int) map[string]any {
	c.t.Helper()
	status, m, err := c.do("POST", u, body)
	if err != nil || status != want {
		c.t.Fatalf("POST %s: %d %v %v, want %d", u, status, m, err, want)
	}
	return m
}

// tryPost is post for goroutines: nil instead of failing the test.
func (c apiClient) tryPost(u, body string, want int) map[string]any {
	status, m, err := c.do("POST", u, body)
	if err != nil || status != want {
		c.t.Errorf("POST %s: %d %v %v, want %d", u, status, m, err, want)
		return nil
	}
	return m
}

func (c apiClient) get(u string, want int) map[string]any {
	c.t.Helper()
	status, m, err := c.do("GET", u, "")
	if err != nil || status != want {
		c.t.Fatalf("GET %s: %d %v %v, want %d", u, status, m, err, want)
	}
	return m
}

// TestBackupOfPostgreSQLNamesPgDump: on PostgreSQL, backup refuses and
// names the commands to use instead.
func TestBackupOfPostgreSQLNamesPgDump(t *testing.T) {
	env := map[string]string{"CASHGATE_DATABASE_URL": storetest.PostgresURL(t), "CASHGATE_DATA_DIR": t.TempDir(), "CASHGATE_LOG_LEVEL": "warn"}
	_, err := runCmd(t, env, "backup", filepath.Join(t.TempDir(), "b.tar.gz"))
	if err == nil || !strings.Contains(err.Error(), "pg_dump --format=custom") || !strings.Contains(err.Error(), "pg_restore") {
		t.Fatalf("backup on PostgreSQL: %v, want the pg_dump and pg_restore commands", err)
	}
	_, err = runCmd(t, env, "restore", filepath.Join(t.TempDir(), "b.tar.gz"))
	if err == nil || !strings.Contains(err.Error(), "pg_restore") {
		t.Fatalf("restore on PostgreSQL: %v, want pg_restore named", err)
	}
}
