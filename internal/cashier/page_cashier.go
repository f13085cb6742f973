package cashier

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/webkit"
)

// The hosted cashier, /cashier/s/{token}: the page a cashier session's URL
// opens (server-rendered, no JavaScript), embeddable in an iframe of the
// origins the tenant allows (settings.frameAncestors, the CSP's
// frame-ancestors; none: no framing). The customer picks a method of the
// tenant's PSPs, enters the amount when it is free, pays (or asks for a
// payout) and returns to the Platform (the session's returnUrl, with
// sessionId, status and depositId or payoutId added, in the top window).
// The session's token in the URL is the page's credential; a form is
// accepted only from the page itself (net/http's CrossOriginProtection),
// which needs no cookie, so it works inside another site's iframe.

type cashierView struct {
	Title, Merchant, Order, Amount, Currency, Error string
	Fixed                                           bool
	Action                                          string
	Methods                                         []methodView
	Done                                            bool
	Text, Back                                      string
	Instructions                                    *Instructions
}

type methodView struct {
	Name, Label, Button string
	Fields              []inputView
	Open                bool // the first method is open
}

type inputView struct {
	ID, Name, Label, Type, Auto, Mode string
	Optional                          bool
}

// cashierRoutes are the hosted cashier's routes (API public).
func (s *Service) cashierRoutes(pg *Pages) []httpx.Route {
	P := httpx.APIPublic
	return []httpx.Route{
		{Method: "GET", Path: "/cashier/s/{token}", API: P, Summary: "The hosted cashier of a session", Handler: s.withSession(pg, s.showCashier(pg))},
		{Method: "POST", Path: "/cashier/s/{token}/deposit", API: P, Summary: "Hosted cashier: deposit with a method",
			Handler: s.pagePost(pg, s.withSession(pg, s.cashierDeposit(pg)))},
		{Method: "POST", Path: "/cashier/s/{token}/payout", API: P, Summary: "Hosted cashier: ask for a payout",
			Handler: s.pagePost(pg, s.withSession(pg, s.cashierPayout(pg)))},
	}
}

type sessionPage func(w http.ResponseWriter, r *http.Request, x *session, st Settings)

// withSession finds the session of the path's token, open or completed,
// and its tenant's settings; an unknown, expired or payment-API-only one
// is the kit's error page.
func (s *Service) withSession(pg *Pages, h sessionPage) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		x, err := scanSession(s.db.Read().QueryRowContext(r.Context(), `SELECT `+sessionCols+` FROM cashier_sessions WHERE token_hash = $1`,
			hashToken(r.PathValue("token"))))
		if errors.Is(err, sql.ErrNoRows) {
			pg.kit.Error(w, r, http.StatusNotFound, "This cashier link is not valid.")
			return
		}
		var st Settings
		if err == nil {
			st, err = s.settings(r.Context(), s.db.Read(), x.TenantID)
		}
		switch {
		case err != nil:
			s.log.ErrorContext(r.Context(), "cashier: hosted page", "err", err)
			pg.kit.Error(w, r, http.StatusInternalServerError, "Something went wrong; try again.")
		case st.Integration == IntegrationPayment:
			pg.kit.Error(w, r, http.StatusNotFound, "This cashier link is not valid.")
		case x.Status == SessionOpen && !s.now().Before(x.ExpiresAt):
			pg.kit.Error(w, r, http.StatusGone, "This cashier link has expired: go back and start again.")
		default:
			h(w, r, x, st)
		}
	}
}

// pagePost refuses cross-origin posts and bad forms.
func (s *Service) pagePost(pg *Pages, next http.HandlerFunc) http.HandlerFunc {
	cop := http.NewCrossOriginProtection()
	return func(w http.ResponseWriter, r *http.Request) {
		if err := cop.Check(r); err != nil {
			pg.kit.Error(w, r, http.StatusForbidden, "This form can only be sent from the cashier page.")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, webkit.MaxForm)
		if err := r.ParseForm(); err != nil || httpx.CheckForm(r.PostForm) != nil {
			pg.kit.Error(w, r, http.StatusBadRequest, "The form could not be read; go back and try again.")
			return
		}
		next(w, r)
	}
}

func (s *Service) render(w http.ResponseWriter, r *http.Request, pg *Pages, st Settings, status int, v cashierView) {
	pg.kit.Render(w, r, status, pg.cashier, webkit.View{Title: v.Title, Data: v, FrameAncestors: st.FrameAncestors})
}

func (s *Service) showCashier(pg *Pages) sessionPage {
	return func(w http.ResponseWriter, r *http.Request, x *session, st Settings) {
		if x.Status == SessionComplete {
			s.render(w, r, pg, st, http.StatusOK, s.completed(r.Context(), x))
			return
		}
		if x.Intent == IntentDeposit {
			d, err := s.liveDeposit(r.Context(), x)
			if err != nil {
				s.log.ErrorContext(r.Context(), "cashier: hosted page", "err", err)
				pg.kit.Error(w, r, http.StatusInternalServerError, "Something went wrong; try again.")
				return
			}
			if d != nil { // a bank transfer's instructions again, or a PSP yet to confirm
				s.render(w, r, pg, st, http.StatusOK, s.underWay(s.base(r.Context(), x), x, viewDeposit(d)))
				return
			}
		}
		s.render(w, r, pg, st, http.StatusOK, s.cashierForm(r.Context(), x, st, r.PathValue("token"), ""))
	}
}

// base is what every view of session x shows.
func (s *Service) base(ctx context.Context, x *session) cashierView {
	v := cashierView{Title: "Deposit", Order: x.OrderRef, Currency: x.Currency, Fixed: x.Amount > 0, Amount: format(x.Amount, x.Currency)}
	if x.Intent == IntentPayout {
		v.Title = "Withdraw"
	}
	if t, err := s.tenants.Tenant(ctx, x.TenantID); err == nil {
		v.Merchant = t.Name
	}
	return v
}

// cashierForm is the page of open session x (reached with token tok)
// with msg as its error line.
func (s *Service) cashierForm(ctx context.Context, x *session, st Settings, tok, msg string) cashierView {
	v := s.base(ctx, x)
	v.Error, v.Action = msg, "/cashier/s/"+url.PathEscape(tok)+"/"+x.Intent
	psps := st.DepositPSPs
	if x.Intent == IntentPayout {
		psps = st.PayoutPSPs
	}
	for _, name := range psps {
		if m, ok := methodOf(x.Intent, name); ok {
			m.Open = len(v.Methods) == 0
			v.Methods = append(v.Methods, m)
		}
	}
	return v
}

// methodOf is the form of a PSP for intent.
func methodOf(intent, name string) (methodView, bool) {
	in := func(psp, field, label, typ, auto, mode string) inputView {
		return inputView{ID: psp + "-" + field, Name: field, Label: label, Type: typ, Auto: auto, Mode: mode}
	}
	switch intent + "/" + name {
	case "deposit/card":
		return methodView{Name: name, Label: "Card", Button: "Pay by card", Fields: []inputView{
			in(name, "number", "Card number", "text", "cc-number", "numeric"), in(name, "holderName", "Name on the card", "text", "cc-name", ""),
			in(name, "expiryMonth", "Expiry month (MM)", "text", "cc-exp-month", "numeric"), in(name, "expiryYear", "Expiry year (YY)", "text", "cc-exp-year", "numeric"),
			in(name, "cvc", "Security code", "text", "cc-csc", "numeric")}}, true
	case "deposit/wallet":
		return methodView{Name: name, Label: "cashgate wallet", Button: "Pay from my wallet", Fields: []inputView{
			in(name, "username", "Wallet username", "text", "username", ""), in(name, "password", "Password", "password", "current-password", ""),
			in(name, "pin", "PIN", "password", "off", "numeric")}}, true
	case "deposit/bank":
		return methodView{Name: name, Label: "Bank transfer", Button: "Get the bank details"}, true
	case "deposit/sim":
		return methodView{Name: name, Label: "SimPay", Button: "Pay with SimPay"}, true
	case "payout/wallet":
		return methodView{Name: name, Label: "To my cashgate wallet", Button: "Ask for the payout", Fields: []inputView{
			in(name, "account", "Wallet account number", "text", "off", "numeric")}}, true
	case "payout/bank":
		bic := in(name, "bic", "BIC (optional)", "text", "off", "")
		bic.Optional = true
		return methodView{Name: name, Label: "To my bank account", Button: "Ask for the payout", Fields: []inputView{
			in(name, "name", "Account holder", "text", "name", ""), in(name, "iban", "IBAN", "text", "off", ""), bic}}, true
	case "payout/sim":
		return methodView{Name: name, Label: "To my SimPay account", Button: "Ask for the payout", Fields: []inputView{
			in(name, "account", "SimPay account", "text", "off", "")}}, true
	}
	return methodView{}, false
}

// pageError is the customer's explanation of a refusal.
func pageError(err error) string {
	e := apperr.From(err)
	if e.Code == apperr.Internal || e.Code == apperr.Unavailable && !strings.Contains(e.Message, "Platform") {
		return "Something went wrong; try again."
	}
	return upperFirst(e.Message)
}

func upperFirst(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// backURL is the session's returnUrl with what happened added to its query.
func backURL(x *session, kind, id, status string) string {
	if x.ReturnURL == "" {
		return ""
	}
	u, err := url.Parse(x.ReturnURL)
	if err != nil {
		return ""
	}
	q := u.Query()
	q.Set("sessionId", x.ID)
	q.Set(kind+"Id", id)
	q.Set("status", status)
	u.RawQuery = q.Encode()
	return u.String()
}
