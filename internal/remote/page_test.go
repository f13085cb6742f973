package remote_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/cashgate/cashgate/internal/remote"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// browser is a cookie-keeping client that does not follow redirects, so
// each step's answer can be checked.
type browser struct {
	t *testing.T
	c *http.Client
	e *env
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: e.t, e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(method, path string, form url.Values, hdr ...string) (int, string, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.e.page.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Location"), string(out)
}

// TestHostedPageWalletFlow: the page shows the merchant and the amount;
// the payer logs in, sees the balance, pays with the PIN and is sent back
// to redirectUrl with paymentId and status; the page then shows the final
// state. A wrong PIN and a foreign form post change nothing.
func TestHostedPageWalletFlow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		p := e.create(e.a, `{"amount":1999,"currency":"EUR","note":"Blue shoes","redirectUrl":"https://shop.example/done?order=7"}`)
		if err := e.w.topUp(e.ctx, "alice", "EUR", 5000); err != nil {
			t.Fatal(err)
		}
		b := e.browser()
		code, _, body := b.do("GET", "/pay/"+p.ID, nil)
		if code != 200 || !strings.Contains(body, "Shop") || !strings.Contains(body, "19.99 EUR") || !strings.Contains(body, "Blue shoes") || !strings.Contains(body, `id="login"`) {
			t.Fatalf("page: %d %s", code, body)
		}
		if code, _, body := b.do("POST", "/pay/"+p.ID+"/login", url.Values{"username": {"alice"}, "password": {"wrong"}}); code != 200 || !strings.Contains(body, "Wrong username or password") {
			t.Fatalf("wrong password: %d %s", code, body)
		}
		if code, loc, _ := b.do("POST", "/pay/"+p.ID+"/login", url.Values{"username": {"alice"}, "password": {"pw-alice"}}); code != 303 || loc != "/pay/"+p.ID {
			t.Fatalf("login: %d %s", code, loc)
		}
		code, _, body = b.do("GET", "/pay/"+p.ID, nil)
		if code != 200 || !strings.Contains(body, "Paying as <strong>ualice</strong>") || !strings.Contains(body, "50.00 EUR") {
			t.Fatalf("logged-in page: %d %s", code, body)
		}
		if code, _, body := b.do("POST", "/pay/"+p.ID+"/wallet", url.Values{"pin": {"0000"}}); code != 200 || !strings.Contains(body, "Wrong PIN") {
			t.Fatalf("wrong PIN: %d %s", code, body)
		}
		if code, _, _ := b.do("POST", "/pay/"+p.ID+"/wallet", url.Values{"pin": {"1234"}}, "Sec-Fetch-Site", "cross-site"); code != 403 {
			t.Fatalf("a foreign page's post: %d", code)
		}
		if got, _ := e.svc.Get(e.ctx, e.a, p.ID); got.Status != remote.StatusPending {
			t.Fatalf("before paying: %s", got.Status)
		}
		code, loc, _ := b.do("POST", "/pay/"+p.ID+"/wallet", url.Values{"pin": {"1234"}})
		if code != 303 || loc != "https://shop.example/done?order=7&paymentId="+p.ID+"&status=paid" {
			t.Fatalf("pay: %d %q", code, loc)
		}
		if got, _ := e.svc.Get(e.ctx, e.a, p.ID); got.Status != remote.StatusPaid || got.From == nil || *got.From != "alice" {
			t.Fatalf("after paying: %+v", got)
		}
		code, _, body = b.do("GET", "/pay/"+p.ID, nil)
		if code != 200 || !strings.Contains(body, `data-status="paid"`) || strings.Contains(body, `id="pay"`) || !strings.Contains(body, "status=paid") {
			t.Fatalf("paid page: %d %s", code, body)
		}
		if code, _, _ := b.do("GET", "/pay/0000000000000000", nil); code != 404 {
			t.Fatalf("unknown payment page: %d", code)
		}
	})
}

// TestHostedPageCancel: the payer cancels; without a redirectUrl the page
// shows the final state.
func TestHostedPageCancel(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		p := e.create(e.a, `{"amount":100,"currency":"USD"}`)
		b := e.browser()
		if code, loc, _ := b.do("POST", "/pay/"+p.ID+"/cancel", url.Values{}); code != 303 || loc != "/pay/"+p.ID {
			t.Fatalf("cancel: %d %s", code, loc)
		}
		got, _ := e.svc.Get(e.ctx, e.a, p.ID)
		if got.Status != remote.StatusCanceled || got.CancelReason == nil || *got.CancelReason != "payer" {
			t.Fatalf("after the payer's cancel: %+v", got)
		}
		if code, _, body := b.do("GET", "/pay/"+p.ID, nil); code != 200 || !strings.Contains(body, `data-status="canceled"`) {
			t.Fatalf("canceled page: %d %s", code, body)
		}
	})
}
