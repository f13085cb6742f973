package wallet_test

import (
	"bytes"
	"crypto/tls"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/ids"
	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/wallet"
)

// TestSessionCookieSecure: the session cookie (set at login, cleared at
// logout) is Secure when the request came over TLS, and also over plain
// HTTP when Config.SecureCookies says a TLS-terminating proxy serves the
// installation over https; never otherwise (plain-HTTP local installs keep
// working).
func TestSessionCookieSecure(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.customer("alice")
		route := func(w *wallet.Service, path string) http.HandlerFunc {
			for _, r := range w.Routes(httpx.WalletErrors(nil), httpx.PlatformErrors(nil)) {
				if r.Method == "POST" && r.Path == path {
					return r.Handler
				}
			}
			t.Fatalf("no route POST %s", path)
			return nil
		}
		gen := ids.New(rand.NewChaCha8([32]byte{11}))
		behindProxy, err := wallet.New(e.ctx, wallet.Deps{DB: db, Clock: e.clk, IDs: gen, Ledger: ledger.New(db, e.clk, gen), Outbox: e.ob, Webhook: nil, Tenants: e.plat},
			wallet.Config{Pepper: bytes.Repeat([]byte{7}, 32), SecretKey: bytes.Repeat([]byte{5}, 32), Argon2: cheapArgon2(), SecureCookies: true})
		ok(t, err)
		for _, c := range []struct {
			name       string
			w          *wallet.Service
			tls        bool
			wantSecure bool
		}{
			{"plain http", e.w, false, false},
			{"tls", e.w, true, true},
			{"plain http behind an https proxy", behindProxy, false, true},
			{"tls with SecureCookies", behindProxy, true, true},
		} {
			cookie := func(path, body string) *http.Cookie {
				t.Helper()
				req := httptest.NewRequest("POST", path, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				if !c.tls {
					req.TLS = nil
				} else {
					req.TLS = &tls.ConnectionState{}
				}
				rec := httptest.NewRecorder()
				route(c.w, path)(rec, req)
				if rec.Code != 200 {
					t.Fatalf("%s: POST %s: %d %s", c.name, path, rec.Code, rec.Body)
				}
				for _, ck := range rec.Result().Cookies() {
					if ck.Name == wallet.SessionCookie {
						return ck
					}
				}
				t.Fatalf("%s: POST %s set no %s cookie", c.name, path, wallet.SessionCookie)
				return nil
			}
			login := cookie("/wallet/app/v1/login", `{"username":"alice","password":"password-alice"}`)
			if login.Secure != c.wantSecure || !login.HttpOnly || login.SameSite != http.SameSiteStrictMode || login.Value == "" {
				t.Fatalf("%s: login cookie %+v, want Secure=%v, HttpOnly, SameSite=Strict", c.name, login, c.wantSecure)
			}
			// The lifetime is relative (Max-Age = the 12h default session
			// TTL), never an absolute date from the server's clock: a
			// browser whose clock is past that date would drop the cookie.
			if login.MaxAge != int((12*time.Hour)/time.Second) || !login.Expires.IsZero() || login.RawExpires != "" {
				t.Fatalf("%s: login cookie MaxAge=%d Expires=%v, want MaxAge=43200 and no Expires", c.name, login.MaxAge, login.Expires)
			}
			logout := cookie("/wallet/app/v1/logout", `{}`)
			if logout.Secure != c.wantSecure || logout.MaxAge >= 0 {
				t.Fatalf("%s: logout cookie %+v, want Secure=%v, deleted", c.name, logout, c.wantSecure)
			}
		}
	})
}
