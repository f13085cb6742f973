package remote

import (
	"context"
	"embed"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/card"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/money"
	"github.com/cashgate/cashgate/internal/walletpay"
)

// The hosted payment page, /pay/{id}: server-rendered, no JavaScript. The
// payer logs in with the wallet's username and password (a session cookie
// scoped to /pay), sees the balance in the payment's currency and confirms
// with the PIN; or cancels. Afterwards the browser goes to the payment's
// redirectUrl with paymentId and status added to its query
// (…?paymentId=1234567890123456&status=paid), or, without one, back to
// this page, which shows the final state. Every state change by the page
// must come from the page itself (net/http's CrossOriginProtection).

//go:embed templates
var templates embed.FS

var payTmpl = template.Must(template.ParseFS(templates, "templates/pay.html"))

// PayCookie is the session cookie of the hosted page.
const PayCookie = "cg_pay"

// maxForm bounds a page form's body.
const maxForm = 4 << 10

// PageRoutes are the hosted page's routes (API public).
func (s *Service) PageRoutes() []httpx.Route {
	P := httpx.APIPublic
	post := func(h func(w http.ResponseWriter, r *http.Request, p *payment)) http.HandlerFunc {
		return s.csrf(s.withPayment(h))
	}
	return []httpx.Route{
		{Method: "GET", Path: "/pay/{id}", API: P, Summary: "The hosted payment page of a remote payment", Handler: s.withPayment(s.showPage)},
		{Method: "POST", Path: "/pay/{id}/login", API: P, Summary: "Hosted page: log in with the wallet", Handler: post(s.pageLogin)},
		{Method: "POST", Path: "/pay/{id}/logout", API: P, Summary: "Hosted page: log out", Handler: post(s.pageLogout)},
		{Method: "POST", Path: "/pay/{id}/wallet", API: P, Summary: "Hosted page: pay from the wallet with the PIN", Handler: post(s.pageWallet)},
		{Method: "POST", Path: "/pay/{id}/cancel", API: P, Summary: "Hosted page: the payer cancels the payment", Handler: post(s.pageCancel)},
		{Method: "POST", Path: "/pay/{id}/card", API: P, Summary: "Hosted page: pay by card", Handler: post(s.pageCard)},
		{Method: "GET", Path: "/pay/{id}/3ds", API: P, Summary: "Hosted page: the 3-D Secure challenge (simulator)", Handler: s.withPayment(s.showChallenge)},
		{Method: "POST", Path: "/pay/{id}/3ds", API: P, Summary: "Hosted page: complete or fail the 3-D Secure challenge", Handler: post(s.pageChallenge)},
	}
}

type pageData struct {
	Title, Merchant, Amount, Currency, Note string
	Status, StatusText, Error, Base, Back   string
	Payable, PayableTo                      bool
	Payer, Account, Balance                 string
	Challenge, Masked                       string // a 3-D Secure challenge to complete
	// returnOrigin is where the page's forms may redirect besides itself
	// (the origin of the payment's redirectUrl).
	returnOrigin string
}

// withPayment loads the payment of the path (any tenant: the 16 random
// digits are the page's secret) or answers the not-found page.
func (s *Service) withPayment(h func(w http.ResponseWriter, r *http.Request, p *payment)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := s.loadByID(r.Context(), s.db.Read(), r.PathValue("id"), false)
		if err != nil {
			status := http.StatusInternalServerError
			msg := "Something went wrong; try again."
			if apperr.Is(err, apperr.NotFound) {
				status, msg = http.StatusNotFound, "This payment does not exist."
			} else {
				s.log.ErrorContext(r.Context(), "remote: payment page", "err", err)
			}
			s.render(w, status, pageData{Title: "Payment", Error: msg})
			return
		}
		h(w, r, p)
	}
}

// csrf refuses cross-origin form posts (they could spend the session).
func (s *Service) csrf(next http.HandlerFunc) http.HandlerFunc {
	cop := http.NewCrossOriginProtection()
	return func(w http.ResponseWriter, r *http.Request) {
		if err := cop.Check(r); err != nil {
			s.render(w, http.StatusForbidden, pageData{Title: "Payment", Error: "This form can only be sent from the payment page."})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		if err := r.ParseForm(); err != nil || httpx.CheckForm(r.PostForm) != nil {
			s.render(w, http.StatusBadRequest, pageData{Title: "Payment", Error: "The form could not be read; go back and try again."})
			return
		}
		next(w, r)
	}
}

func (s *Service) render(w http.ResponseWriter, status int, d pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	// form-action covers the redirects after a post: the merchant's
	// return page is allowed, nothing else.
	w.Header().Set("Content-Security-Policy", strings.TrimSpace("default-src 'self'; style-src 'unsafe-inline'; form-action 'self' "+d.returnOrigin))
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	if err := payTmpl.Execute(w, d); err != nil {
		s.log.Error("remote: render page", "err", err)
	}
}

// page is what the page shows of p, with msg as its error line.
func (s *Service) page(ctx context.Context, r *http.Request, p *payment, msg string) pageData {
	d := pageData{Title: "Payment", Amount: formatAmount(p.Amount, p.Currency), Currency: p.Currency, Note: p.Note,
		Error: msg, Base: "/pay/" + p.ID, Payable: p.payable(s.now()), PayableTo: p.PayableTo != "", returnOrigin: origin(p.RedirectURL)}
	if t, err := s.tenants.Tenant(ctx, p.TenantID); err == nil {
		d.Merchant = t.Name
	}
	switch {
	case d.Payable && p.Status == StatusRejected && msg == "":
		d.Error = "The last attempt did not go through (" + rejectText(p.RejectReason) + "). You can try again."
	case !d.Payable:
		d.Status = finalText(p)
		d.Title, d.StatusText = finalWords(d.Status)
		d.Back = s.backURL(p)
	}
	if d.Payable {
		if payer, ok := s.sessionPayer(ctx, r); ok {
			d.Payer, d.Account = payer.Username, formatAccount(payer.AccountNumber)
			if bal, err := s.pay.Available(ctx, payer.UserID, p.Currency); err == nil {
				d.Balance = formatAmount(bal, p.Currency)
			}
		}
	}
	return d
}

func (s *Service) showPage(w http.ResponseWriter, r *http.Request, p *payment) {
	s.render(w, http.StatusOK, s.page(r.Context(), r, p, ""))
}

func (s *Service) sessionPayer(ctx context.Context, r *http.Request) (walletpay.Payer, bool) {
	c, err := r.Cookie(PayCookie)
	if err != nil || c.Value == "" {
		return walletpay.Payer{}, false
	}
	payer, err := s.pay.SessionPayer(ctx, c.Value)
	return payer, err == nil
}

func (s *Service) pageLogin(w http.ResponseWriter, r *http.Request, p *payment) {
	sess, err := s.pay.OpenSession(r.Context(), r.PostForm.Get("username"), r.PostForm.Get("password"), httpx.ClientAddr(r))
	if err != nil {
		s.render(w, http.StatusOK, s.page(r.Context(), r, p, pageMessage(err)))
		return
	}
	http.SetCookie(w, &http.Cookie{Name: PayCookie, Value: sess.Token, Path: "/pay", MaxAge: int(sess.ExpiresAt.Sub(s.now()) / time.Second),
		HttpOnly: true, Secure: s.secure(r), SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/pay/"+p.ID, http.StatusSeeOther)
}

func (s *Service) pageLogout(w http.ResponseWriter, r *http.Request, p *payment) {
	if c, err := r.Cookie(PayCookie); err == nil && c.Value != "" {
		_ = s.pay.Logout(r.Context(), c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: PayCookie, Value: "", Path: "/pay", MaxAge: -1, HttpOnly: true, Secure: s.secure(r), SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/pay/"+p.ID, http.StatusSeeOther)
}

func (s *Service) pageWallet(w http.ResponseWriter, r *http.Request, p *payment) {
	payer, ok := s.sessionPayer(r.Context(), r)
	if !ok {
		s.render(w, http.StatusOK, s.page(r.Context(), r, p, "Your session ended: log in again."))
		return
	}
	paid, err := s.payWithWallet(r.Context(), p, payer, r.PostForm.Get("pin"))
	if err != nil {
		s.again(w, r, p, err)
		return
	}
	p.Status = paid.Status
	s.finish(w, r, p)
}

func (s *Service) pageCard(w http.ResponseWriter, r *http.Request, p *payment) {
	f := r.PostForm
	d := card.Details{Number: card.Normalize(f.Get("cardNumber")), HolderName: strings.TrimSpace(f.Get("cardHolderName")), CVC: strings.TrimSpace(f.Get("cardCvc"))}
	m, y, err := card.ParseExpiry(strings.TrimSpace(f.Get("cardExpiryMonth")), strings.TrimSpace(f.Get("cardExpiryYear")))
	if err == nil {
		d.ExpiryMonth, d.ExpiryYear = m, y
		err = d.Validate(s.now(), true)
	}
	var res CardResult
	if err == nil {
		res, err = s.PayWithCard(r.Context(), p.ID, d)
	}
	switch {
	case err != nil:
		s.again(w, r, p, err)
	case res.Challenge != "":
		http.Redirect(w, r, "/pay/"+p.ID+"/3ds?c="+url.QueryEscape(res.Challenge), http.StatusSeeOther)
	default:
		p.Status = res.Payment.Status
		s.finish(w, r, p)
	}
}

// again shows the page once more with the refusal of the last action.
func (s *Service) again(w http.ResponseWriter, r *http.Request, p *payment, err error) {
	if q, lerr := s.loadByID(r.Context(), s.db.Read(), p.ID, false); lerr == nil {
		p = q
	}
	s.render(w, http.StatusOK, s.page(r.Context(), r, p, pageMessage(err)))
}

func (s *Service) showChallenge(w http.ResponseWriter, r *http.Request, p *payment) {
	tok := r.URL.Query().Get("c")
	var masked string
	err := s.db.Read().QueryRowContext(r.Context(), `SELECT masked_pan FROM remote_card_challenges WHERE token = $1 AND payment_id = $2`, tok, p.ID).Scan(&masked)
	if err != nil || !p.payable(s.now()) {
		http.Redirect(w, r, "/pay/"+p.ID, http.StatusSeeOther)
		return
	}
	d := s.page(r.Context(), r, p, "")
	d.Title, d.Challenge, d.Masked = "3-D Secure", tok, masked
	s.render(w, http.StatusOK, d)
}

func (s *Service) pageChallenge(w http.ResponseWriter, r *http.Request, p *payment) {
	paid, err := s.Complete3DS(r.Context(), p.ID, r.PostForm.Get("c"), r.PostForm.Get("result") == "success")
	if err != nil {
		s.again(w, r, p, err)
		return
	}
	p.Status = paid.Status
	s.finish(w, r, p)
}

func (s *Service) pageCancel(w http.ResponseWriter, r *http.Request, p *payment) {
	q, err := s.cancelByPayer(r.Context(), p.ID)
	if err != nil {
		s.render(w, http.StatusOK, s.page(r.Context(), r, p, pageMessage(err)))
		return
	}
	s.finish(w, r, q)
}

// finish sends the browser back to the merchant (redirectUrl with
// paymentId and status) or to the page, which shows the final state.
func (s *Service) finish(w http.ResponseWriter, r *http.Request, p *payment) {
	if back := s.backURL(p); back != "" {
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/pay/"+p.ID, http.StatusSeeOther)
}

// backURL is the payment's redirectUrl with paymentId and status added to
// its query ("" without a redirectUrl).
func (s *Service) backURL(p *payment) string {
	if p.RedirectURL == "" {
		return ""
	}
	u, err := url.Parse(p.RedirectURL)
	if err != nil {
		return ""
	}
	q := u.Query()
	q.Set("paymentId", p.ID)
	q.Set("status", p.Status)
	u.RawQuery = q.Encode()
	return u.String()
}

// origin is the scheme://host[:port] of a URL ("" when none).
func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

func (s *Service) secure(r *http.Request) bool {
	return r.TLS != nil || len(s.public) > 8 && s.public[:8] == "https://"
}

// pageMessage is the payer's explanation of a failed action.
func pageMessage(err error) string {
	e := apperr.From(err)
	switch {
	case e.Code == apperr.Internal || e.Code == apperr.Unavailable:
		return "Something went wrong; try again."
	case e.Code == apperr.InsufficientFunds:
		return "Your wallet's balance is not enough for this payment."
	}
	return upperFirst(e.Message)
}

func upperFirst(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

func rejectText(reason string) string {
	switch reason {
	case "insufficient_funds":
		return "the wallet's balance was not enough"
	case "pin_locked":
		return "the wallet's PIN is locked after too many wrong entries"
	case "declined":
		return "the card was declined"
	}
	return reason
}

// finalText names the state of a payment that can no longer be paid.
func finalText(p *payment) string {
	if p.Status == StatusPending || p.Status == StatusRejected || p.CancelReason == "expired" {
		return "expired"
	}
	return p.Status
}

// finalWords are the title and the sentence of a final state.
func finalWords(status string) (title, text string) {
	switch status {
	case StatusPaid:
		return "Payment received", "Paid. Thank you!"
	case StatusRefunded:
		return "Payment refunded", "This payment was paid and then refunded."
	case StatusCanceled:
		return "Payment canceled", "This payment was canceled."
	}
	return "Payment expired", "This payment can no longer be paid."
}

func formatAmount(minor int64, code string) string {
	cur, err := money.ParseCurrency(code)
	if err != nil {
		return ""
	}
	return money.Format(money.New(minor, cur))
}

// formatAccount groups an account number by four digits.
func formatAccount(n string) string {
	out := make([]byte, 0, len(n)+len(n)/4)
	for i := 0; i < len(n); i++ {
		if i > 0 && i%4 == 0 {
			out = append(out, ' ')
		}
		out = append(out, n[i])
	}
	return string(out)
}
