// Package storetest gives storage tests both engines: every test that
// touches storage runs through Each and so runs on SQLite and PostgreSQL.
//
// PostgreSQL is found through CASHGATE_TEST_POSTGRES_URL. Without it the
// PostgreSQL half is skipped with a one-line reason, unless
// CASHGATE_TEST_REQUIRE_POSTGRES=1 (set by .ci/run), which makes it fail.
// Each PostgreSQL test gets its own schema, dropped when the test ends.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/cashgate/cashgate/internal/store"
)

// EnvPostgresURL names the variable holding the PostgreSQL server URL for tests.
const EnvPostgresURL = "CASHGATE_TEST_POSTGRES_URL"

// EnvRequirePostgres, when "1", turns a missing PostgreSQL into a failure.
const EnvRequirePostgres = "CASHGATE_TEST_REQUIRE_POSTGRES"

// Engine names a storage engine under test.
type Engine struct {
	Name string
	Open func(t testing.TB) *store.DB // a fresh, migrated, empty database
	// URL opens a fresh empty database and returns its URL, unmigrated, for
	// tests that drive the binary or Open themselves.
	URL func(t testing.TB) string
}

// Engines returns SQLite and PostgreSQL.
func Engines() []Engine {
	return []Engine{
		{Name: "sqlite", Open: SQLite, URL: SQLiteURL},
		{Name: "postgres", Open: Postgres, URL: PostgresURL},
	}
}

// Each runs fn as a subtest on each engine with a fresh migrated database.
func Each(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	for _, e := range Engines() {
		t.Run(e.Name, func(t *testing.T) {
			fn(t, e.Open(t))
		})
	}
}

// SQLiteURL returns the URL of a new SQLite file in the test's temp dir.
func SQLiteURL(t testing.TB) string {
	t.Helper()
	return "sqlite:" + filepath.Join(t.TempDir(), "test.db")
}

// SQLite opens a fresh migrated SQLite database.
func SQLite(t testing.TB) *store.DB {
	t.Helper()
	return openMigrated(t, SQLiteURL(t))
}

// PostgresURL creates a fresh schema on the test server and returns a URL
// whose search_path points at it. It skips (or fails, in CI) without a server.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgresURL)
	if base == "" {
		if os.Getenv(EnvRequirePostgres) == "1" {
			t.Fatalf("%s is not set but %s=1: the PostgreSQL half of the suite must run", EnvPostgresURL, EnvRequirePostgres)
		}
		t.Skipf("PostgreSQL half skipped: set %s to run it", EnvPostgresURL)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "cgtest_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	defer admin.Close()
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("postgres at %s: create schema: %v", base, err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer a.Close()
		_, _ = a.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("bad %s: %v", EnvPostgresURL, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Postgres opens a fresh migrated PostgreSQL database (its own schema).
func Postgres(t testing.TB) *store.DB {
	t.Helper()
	return openMigrated(t, PostgresURL(t))
}

func openMigrated(t testing.TB, u string) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, u, nil, store.Options{})
	if err != nil {
		t.Fatalf("open %s: %v", u, err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return db
}
