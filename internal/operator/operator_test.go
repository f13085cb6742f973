package operator_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/clock"
	"github.com/cashgate/cashgate/internal/ids"
	"github.com/cashgate/cashgate/internal/operator"
	"github.com/cashgate/cashgate/internal/passhash"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/webkit"
)

type noTenants struct{}

func (noTenants) ListTenants(context.Context) ([]platform.Tenant, error) { return nil, nil }

func newConsole(t *testing.T, db *store.DB) *operator.Console {
	t.Helper()
	clk := clock.NewFake(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	gen := ids.New(nil)
	kit, err := webkit.New(db, clk, gen, nil, webkit.Config{PublicURL: "http://cashgate.test", Key: bytes.Repeat([]byte{1}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	c, err := operator.New(operator.Deps{DB: db, Clock: clk, IDs: gen, Kit: kit, Tenants: noTenants{}},
		operator.Config{Argon2: passhash.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCreateOperator: usernames are checked and unique; passwords are
// 8 to 256 characters without control characters; only a hash is stored.
func TestCreateOperator(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := newConsole(t, db)
		ctx := context.Background()
		op, err := c.Create(ctx, "ops", "operator password")
		if err != nil || !strings.HasPrefix(op.ID, "opr_") || op.Username != "ops" {
			t.Fatalf("create: %+v %v", op, err)
		}
		for _, bad := range []struct{ user, pw string }{
			{"ops", "another password"}, {"two words", "operator password"}, {"", "operator password"},
			{"ops2", "short"}, {"ops3", "pass\x00word long"},
		} {
			if _, err := c.Create(ctx, bad.user, bad.pw); !apperr.Is(err, apperr.Invalid) {
				t.Errorf("%q/%q: %v, want refused", bad.user, bad.pw, err)
			}
		}
		var hash string
		if err := db.Read().QueryRowContext(ctx, `SELECT password_hash FROM operators WHERE username = 'ops'`).Scan(&hash); err != nil ||
			!strings.HasPrefix(hash, "$argon2id$") || strings.Contains(hash, "operator password") {
			t.Fatalf("stored %q %v", hash, err)
		}
	})
}

// TestRegister: a section's routes must be console pages, and are served
// among the console's (CSRF and sign-in on them are tested through the
// app in internal/portal).
func TestRegister(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := newConsole(t, db)
		h := func(http.ResponseWriter, *http.Request, operator.Signed) {}
		if err := c.Register(operator.Section{Label: "x", Path: "/x", Routes: []operator.Route{{Method: "GET", Path: "/x", Handler: h}}}); err == nil {
			t.Fatal("a route outside /operator/ was registered")
		}
		if err := c.Register(operator.Section{Label: "Ok", Path: "/operator/ok", Routes: []operator.Route{{Method: "POST", Path: "/operator/ok", Summary: "ok", Handler: h}}}); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, rt := range c.Routes() {
			if rt.Path == "/operator/ok" {
				found = true
				if rt.Summary != "Operator console: ok" {
					t.Errorf("summary %q", rt.Summary)
				}
			}
		}
		if !found {
			t.Fatal("the section's route is not served")
		}
	})
}
