package wallet

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
)

// Principal kinds (httpx.Principal.KeyID) of the wallet API.
const (
	principalMerchant = "wallet-merchant"
	principalSession  = "wallet-session"
	principalWidget   = "wallet-widget"
)

// SessionCookie carries the wallet-app session for the web pages.
const SessionCookie = "cg_wallet"

// bearer returns the Authorization bearer token.
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// sessionToken is the request's wallet session token (bearer or cookie).
func sessionToken(r *http.Request) string {
	if tok := bearer(r); tok != "" {
		return tok
	}
	if c, err := r.Cookie(SessionCookie); err == nil {
		return c.Value
	}
	return ""
}

// Authenticate is the wallet API's authentication middleware. A merchant
// token (Authorization: Bearer merchantId.salt.signature) authenticates a
// merchant; a session token (Bearer cgw_…, or the cg_wallet cookie) a
// wallet user. A credential that does not check out is refused here; a
// request without any passes on, and the handlers that need a caller refuse
// it. The principal is a merchant (TenantID = the corporate tenant) or a
// user (UserID, and TenantID for a corporate's login).
func (s *Service) Authenticate(errw httpx.ErrorWriter) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok := bearer(r)
			if tok == "" {
				if c, err := r.Cookie(SessionCookie); err == nil && strings.HasPrefix(r.URL.Path, "/wallet/app/") {
					tok = c.Value
					// The cookie is ambient: a browser sends it with any
					// request to the wallet, also one a foreign page makes
					// (a form post, a no-cors fetch; SameSite=Strict stops
					// cross-site ones but not those of a sibling subdomain or
					// of plain http). A state change by cookie must come from
					// the wallet app's own pages (Sec-Fetch-Site / Origin).
					if err := s.csrf.Check(r); err != nil {
						errw(w, r, apperr.New(apperr.Forbidden, "cross-origin request refused: the session cookie is accepted only from the wallet app's own pages (send Authorization: Bearer <session token> from other clients)"))
						return
					}
				}
			}
			if tok == "" {
				next.ServeHTTP(w, r)
				return
			}
			var p httpx.Principal
			if strings.HasPrefix(tok, widgetPrefix) {
				id, tenantID, err := s.AuthenticateWidget(r.Context(), tok)
				if err != nil {
					errw(w, r, err)
					return
				}
				p = httpx.Principal{TenantID: tenantID, KeyID: principalWidget, UserID: id}
			} else if strings.HasPrefix(tok, "cgw_") {
				u, err := s.sessionOf(r.Context(), tok)
				if err != nil {
					errw(w, r, err)
					return
				}
				p = httpx.Principal{UserID: u.ID, TenantID: u.TenantID, KeyID: principalSession}
				r = r.WithContext(withSessionUser(r.Context(), u))
			} else {
				m, err := s.AuthenticateMerchant(r.Context(), tok)
				if err != nil {
					errw(w, r, err)
					return
				}
				p = httpx.Principal{TenantID: m.TenantID, KeyID: principalMerchant, UserID: m.MerchantID}
			}
			next.ServeHTTP(w, r.WithContext(httpx.WithPrincipal(r.Context(), p)))
		})
	}
}

// IdempotencyScope is the Idempotency-Key scope of a wallet request: the
// merchant's tenant, the logged-in user, or one shared scope for the
// unauthenticated sign-up, login and salt calls.
func IdempotencyScope(r *http.Request) (string, bool) {
	p, ok := httpx.PrincipalFrom(r.Context())
	switch {
	case ok && p.KeyID == principalMerchant:
		return p.TenantID, true
	case ok && p.KeyID == principalSession:
		return "wallet-user:" + p.UserID, true
	case ok && p.KeyID == principalWidget:
		return "wallet-widget:" + p.UserID, true
	}
	return "wallet-public", true
}

func merchantOf(r *http.Request) (httpx.Principal, error) {
	p, ok := httpx.PrincipalFrom(r.Context())
	if !ok || p.KeyID != principalMerchant {
		return p, apperr.New(apperr.Unauthenticated, "authorization token missing: send Authorization: Bearer <token> built from a salt")
	}
	return p, nil
}

func userOf(r *http.Request) (httpx.Principal, error) {
	p, ok := httpx.PrincipalFrom(r.Context())
	if !ok || p.KeyID != principalSession {
		return p, apperr.New(apperr.Unauthenticated, "log in first")
	}
	return p, nil
}

// handler adapts fn to an http.HandlerFunc writing its result as JSON.
func handler(errw httpx.ErrorWriter, status int, fn func(r *http.Request) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, err := fn(r)
		httpx.Respond(w, r, errw, status, v, err)
	}
}

// writeEncoded writes a JSON body encoded already, as httpx.WriteJSON
// would have written it.
func writeEncoded(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

func decode(r *http.Request, dst any) error {
	_, err := httpx.Decode(r, dst, httpx.DecodeOptions{})
	return err
}

// Request and response bodies of the routes (also the OpenAPI schemas).
type (
	// SaltRequest asks for a salt.
	MerchantSaltRequest struct {
		MerchantID string `json:"merchantId"`
	}
	// RefundRequest refunds part (amount) or all (no amount) of a request.
	MoneyRequestRefund struct {
		Amount string `json:"amount,omitempty"`
		// Currency is EUR (the default) or the original currency of a
		// converted request: the amount is then in it, converted at the
		// request's own rate.
		Currency string `json:"currency,omitempty"`
		Reason   string `json:"reason,omitempty"`
	}
	// SignUpRequest signs a private user up.
	WalletSignUp struct {
		Username string `json:"username"`
		Password string `json:"password"`
		PIN      string `json:"pin"`
	}
	// LoginRequest logs in.
	WalletLogin struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	// PINRequest confirms with the PIN.
	WalletPIN struct {
		PIN string `json:"pin"`
	}
	// AmountRequest carries an amount, in EUR unless Currency names
	// another (the sandbox top-up takes any currency internal/money knows).
	WalletAmount struct {
		Amount   string `json:"amount"`
		Currency string `json:"currency,omitempty"`
	}
	// WalletPasswordChange changes the password.
	WalletPasswordChange struct {
		OldPassword string `json:"oldPassword"`
		NewPassword string `json:"newPassword"`
	}
	// WalletPINChange changes the PIN.
	WalletPINChange struct {
		OldPIN string `json:"oldPin"`
		NewPIN string `json:"newPin"`
	}
	// CodeRequest carries a verification code.
	WalletCode struct {
		Code string `json:"code"`
	}
	// Me is the logged-in user's overview.
	WalletMe struct {
		User    WalletUser    `json:"user"`
		Balance WalletBalance `json:"balance"` // EUR
		// Balances are all the wallet holds: EUR first, then the others
		// by currency code.
		Balances  []WalletBalance   `json:"balances"`
		Corporate *CorporateAccount `json:"corporate,omitempty"`
		Limits    TierLimits        `json:"limits"`
		Fees      TierFees          `json:"fees"`
		// SandboxTopUps tells whether the simulated top-up is available.
		SandboxTopUps bool `json:"sandboxTopUps"`
	}
	// RequestList is a list of money requests.
	MoneyRequestList struct {
		Requests []MoneyRequest `json:"requests"`
	}
	// OK is an empty success.
	WalletOK struct {
		WalletOK bool `json:"ok"`
	}
)

// txFilter reads the transaction list's query parameters.
func txFilter(r *http.Request) (TxFilter, error) {
	q := r.URL.Query()
	var f TxFilter
	if err := unknownFilter(q); err != nil {
		return f, err
	}
	for _, tp := range []struct {
		name string
		dst  **time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if v := q.Get(tp.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				d, err2 := time.Parse("2006-01-02", v)
				if err2 != nil {
					return f, apperr.InvalidField(tp.name, "%s must be an RFC 3339 time or a date (2026-11-21)", tp.name)
				}
				t = d
			}
			*tp.dst = &t
		}
	}
	f.Type, f.Status, f.Cursor = q.Get("type"), q.Get("status"), q.Get("cursor")
	for _, a := range []struct {
		name string
		dst  *int64
	}{{"minAmount", &f.MinAmount}, {"maxAmount", &f.MaxAmount}} {
		if v := q.Get(a.name); v != "" {
			c, err := ParseEUR(a.name, v)
			if err != nil {
				return f, err
			}
			*a.dst = c
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return f, apperr.InvalidField("limit", "limit must be a number")
		}
		f.Limit = n
	}
	return f, nil
}

// unknownFilter refuses a query parameter the transaction list does not
// know (a misspelt filter would otherwise silently list everything).
func unknownFilter(q url.Values) error {
	names := make([]string, 0, len(q))
	for k := range q {
		if !slices.Contains(txQuery, k) {
			names = append(names, k)
		}
	}
	if len(names) == 0 {
		return nil
	}
	slices.Sort(names)
	return apperr.InvalidField(names[0], "unknown filter %q; the filters are %s", names[0], strings.Join(txQuery, ", "))
}

var txQuery = []string{"from", "to", "type", "status", "minAmount", "maxAmount", "limit", "cursor"}

// Routes returns the wallet's routes: the merchant API, the wallet app's
// JSON API and the wallet app's pages (errw: the wallet's error format),
// and the tenant's corporate wallet under /platform/wallet/ (API platform,
// the APP key; platformErrs).
func (s *Service) Routes(errw, platformErrs httpx.ErrorWriter) []httpx.Route {
	api, app := "/wallet/api/v1", "/wallet/app/v1"
	W := httpx.APIWallet
	rs := []httpx.Route{
		// ---- merchant API ----
		{Method: "POST", Path: api + "/auth/salt", API: W, Summary: "Get a salt to build an authorization token (no API key: token = merchantId.salt.hex(HMAC-SHA256(secret, \"cashgate-wallet-token\\n\"+merchantId+\"\\n\"+salt)))",
			Request: MerchantSaltRequest{}, Response: MerchantSalt{}, Status: 201,
			Handler: handler(errw, 201, func(r *http.Request) (any, error) {
				var in MerchantSaltRequest
				if err := decode(r, &in); err != nil {
					return nil, err
				}
				return s.NewSalt(r.Context(), in.MerchantID)
			})},
		{Method: "GET", Path: api + "/auth/token", API: W, Summary: "Re-evaluate the authorization token", Response: MerchantAuth{},
			Handler: handler(errw, 200, func(r *http.Request) (any, error) {
				if _, err := merchantOf(r); err != nil {
					return nil, err
				}
				return s.AuthenticateMerchant(r.Context(), bearer(r))
			})},
		{Method: "POST", Path: api + "/requests", API: W, Summary: "Request money from a customer (by username); non-EUR amounts are converted to EUR",
			Request: MoneyRequestSpec{}, Response: MoneyRequest{}, Status: 201,
			Handler: handler(errw, 201, func(r *http.Request) (any, error) {
				p, err := merchantOf(r)
				if err != nil {
					return nil, err
				}
				var in MoneyRequestSpec
				if err := decode(r, &in); err != nil {
					return nil, err
				}
				return s.CreateRequest(r.Context(), p.TenantID, in)
			})},
		{Method: "GET", Path: api + "/requests/{id}", API: W, Summary: "Status of a money request", Response: MoneyRequest{},
			Handler: handler(errw, 200, func(r *http.Request) (any, error) {
				p, err := merchantOf(r)
				if err != nil {
					return nil, err
				}
				return s.MerchantRequest(r.Context(), p.TenantID, r.PathValue("id"))
			})},
		{Method: "POST", Path: api + "/requests/{id}/refunds", API: W, Summary: "Refund an approved request, fully (no amount) or partially",
			Request: MoneyRequestRefund{}, Response: WalletTransaction{}, Status: 201,
			Handler: handler(errw, 201, func(r *http.Request) (any, error) {
				p, err := merchantOf(r)
				if err != nil {
					return nil, err
				}
				var in MoneyRequestRefund
				if err := decode(r, &in); err != nil {
					return nil, err
				}
				if c := strings.ToUpper(strings.TrimSpace(in.Currency)); c != "" && c != Currency {
					return s.RefundOriginal(r.Context(), p.TenantID, r.PathValue("id"), in.Amount, c, in.Reason)
				}
				var amount int64
				if in.Amount != "" {
					if amount, err = ParseEUR("amount", in.Amount); err != nil {
						return nil, err
					}
				}
				return s.Refund(r.Context(), p.TenantID, r.PathValue("id"), amount, in.Reason)
			})},
		{Method: "GET", Path: api + "/transactions", API: W, Summary: "The corporate wallet's transactions with fees, newest first, filtered and paged",
			Response: WalletTransactionPage{}, Query: txQuery,
			Handler: handler(errw, 200, func(r *http.Request) (any, error) {
				p, err := merchantOf(r)
				if err != nil {
					return nil, err
				}
				f, err := txFilter(r)
				if err != nil {
					return nil, err
				}
				uid, err := s.TenantUser(r.Context(), p.TenantID)
				if err != nil {
					return nil, err
				}
				return s.Transactions(r.Context(), uid, f)
			})},
		{Method: "GET", Path: api + "/balance", API: W, Summary: "The corporate wallet's balance", Response: WalletBalance{},
			Handler: handler(errw, 200, func(r *http.Request) (any, error) {
				p, err := merchantOf(r)
				if err != nil {
					return nil, err
				}
				uid, err := s.TenantUser(r.Context(), p.TenantID)
				if err != nil {
					return nil, err
				}
				return s.BalanceOf(r.Context(), uid)
			})},

		// ---- wallet app API ----
		{Method: "POST", Path: app + "/signup", API: W, Summary: "Sign up as a private user (username, password, PIN)",
			Request: WalletSignUp{}, Response: WalletUser{}, Status: 201,
			Handler: handler(errw, 201, func(r *http.Request) (any, error) {
				var in WalletSignUp
				if err := decode(r, &in); err != nil {
					return nil, err
				}
				return s.SignUp(r.Context(), SignUp(in))
			})},
		{Method: "POST", Path: app + "/login", API: W, Summary: "Log in; the session token comes back and in the cg_wallet cookie",
			Request: WalletLogin{}, Response: WalletSession{},
			Handler: func(w http.ResponseWriter, r *http.Request) {
				var in WalletLogin
				if err := decode(r, &in); err != nil {
					errw(w, r, err)
					return
				}
				sess, err := s.LoginFrom(r.Context(), in.Username, in.Password, httpx.ClientAddr(r))
				if err != nil {
					errw(w, r, err)
					return
				}
				// Max-Age, not Expires: the lifetime counts from when the
				// browser receives the cookie, so a client clock that
				// disagrees with the server's cannot drop it on arrival.
				http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: sess.Token, Path: "/wallet", MaxAge: int(s.cfg.SessionTTL / time.Second),
					HttpOnly: true, Secure: s.cfg.SecureCookies || r.TLS != nil, SameSite: http.SameSiteStrictMode})
				w.Header().Set("Cache-Control", "no-store") // never kept for Idempotency-Key replays
				httpx.WriteJSON(w, 200, sess)
			}},
		{Method: "POST", Path: app + "/logout", API: W, Summary: "Log out", Response: WalletOK{},
			Handler: func(w http.ResponseWriter, r *http.Request) {
				tok := bearer(r)
				if c, err := r.Cookie(SessionCookie); err == nil && tok == "" {
					tok = c.Value
				}
				var err error
				if tok != "" {
					err = s.Logout(r.Context(), tok)
				}
				if err == nil {
					http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/wallet", MaxAge: -1, HttpOnly: true,
						Secure: s.cfg.SecureCookies || r.TLS != nil, SameSite: http.SameSiteStrictMode})
				}
				httpx.Respond(w, r, errw, 200, WalletOK{WalletOK: true}, err) // the answer committed with the logout, if any
			}},
		{Method: "GET", Path: app + "/me", API: W, Summary: "The logged-in user, balance (EUR) and balances in every currency held, tier limits and fees", Response: WalletMe{},
			Handler: handler(errw, 200, func(r *http.Request) (any, error) {
				p, err := userOf(r)
				if err != nil {
					return nil, err
				}
				return s.Me(r, p.UserID)
			})},
		{Method: "GET", Path: app + "/transactions", API: W, Summary: "The wallet's transactions with fees, newest first", Response: WalletTransactionPage{}, Query: txQuery,
			Handler: handler(errw, 200, func(r *http.Request) (any, error) {
				p, err := userOf(r)
				if err != nil {
					return nil, err
				}
				f, err := txFilter(r)
				if err != nil {
					return nil, err
				}
				return s.Transactions(r.Context(), p.UserID, f)
			})},
		{Method: "GET", Path: app + "/requests", API: W, Summary: "Money requests to the user (status=pending for those to decide)", Response: MoneyRequestList{}, Query: []string{"status", "limit"},
			Handler: handler(errw, 200, func(r *http.Request) (any, error) {
				p, err := userOf(r)
				if err != nil {
					return nil, err
				}
				st := RequestStatus(r.URL.Query().Get("status"))
				switch st {
				case "", StatusPending, StatusApproved, StatusDenied, StatusExpired, StatusPartiallyRefunded, StatusRefunded:
				default:
					return nil, apperr.InvalidField("status", "unknown status %q", st)
				}
				limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
				list, err := s.CustomerRequests(r.Context(), p.UserID, st, limit)
				return MoneyRequestList{Requests: list}, err
			})},
		{Method: "POST", Path: app + "/requests/{id}/approve", API: W, Summary: "Approve a money request with the PIN", Request: WalletPIN{}, Response: MoneyRequest{},
			Handler: handler(errw, 200, func(r *http.Request) (any, error) {
				p, err := userOf(r)
				if err != nil {
					return nil, err
				}
				var in WalletPIN
				if err := decode(r, &in); err != nil {
					return nil, err
				}
				return s.Approve(r.Context(), p.UserID, r.PathValue("id"), in.PIN)
			})},
		{Method: "POST", Path: app + "/requests/{id}/deny", API: W, Summary: "Deny a money request", Response: MoneyRequest{},
			Handler: handler(errw, 200, func(r *http.Request) (any, error) {
				p, err := userOf(r)
				if err != nil {
					return nil, err
				}
				return s.Deny(r.Context(), p.UserID, r.PathValue("id"))
			})},
		{Method: "POST", Path: app + "/send", API: W, Summary: "Send money to a private or corporate user", Request: WalletSend{}, Response: WalletTransaction{}, Status: 201,
			Handler: func(w http.ResponseWriter, r *http.Request) {
				p, err := userOf(r)
				if err != nil {
					errw(w, r, err)
					return
				}
				var in WalletSend
				if err := decode(r, &in); err != nil {
					errw(w, r, err)
					return
				}
				_, body, err := s.send(r.Context(), p.UserID, in)
				if err == nil {
					writeEncoded(w, 201, body)
					return
				}
				httpx.Respond(w, r, errw, 201, nil, err) // the committed answer, if the send committed
			}},
		{Method: "POST", Path: app + "/topups/simulate", API: W, Summary: "Sandbox: simulate an incoming bank transfer (currency: default EUR, or any ISO 4217 code, credited to the balance in it)", Request: WalletAmount{}, Response: WalletTransaction{}, Status: 201,
			Handler: handler(errw, 201, func(r *http.Request) (any, error) {
				p, err := userOf(r)
				if err != nil {
					return nil, err
				}
				var in WalletAmount
				if err := decode(r, &in); err != nil {
					return nil, err
				}
				return s.SimulateTopUp(r.Context(), p.UserID, in.Amount, in.Currency)
			})},
		{Method: "POST", Path: app + "/withdrawals", API: W, Summary: "Withdraw to a SEPA account (corporates: to the verified bank account), with the PIN",
			Request: WalletWithdrawal{}, Response: WalletTransaction{}, Status: 201,
			Handler: handler(errw, 201, func(r *http.Request) (any, error) {
				p, err := userOf(r)
				if err != nil {
					return nil, err
				}
				var in WalletWithdrawal
				if err := decode(r, &in); err != nil {
					return nil, err
				}
				return s.Withdraw(r.Context(), p.UserID, in)
			})},
		{Method: "POST", Path: app + "/bank-account/verification", API: W, Summary: "Corporate: request the 2-cent transfer carrying the verification code",
			Response: WalletTransaction{}, Status: 201,
			Handler: handler(errw, 201, func(r *http.Request) (any, error) {
				p, err := userOf(r)
				if err != nil {
					return nil, err
				}
				return s.RequestVerification(r.Context(), p.UserID)
			})},
		{Method: "POST", Path: app + "/bank-account/verify", API: W, Summary: "Corporate: enter the verification code", Request: WalletCode{}, Response: CorporateAccount{},
			Handler: handler(errw, 200, func(r *http.Request) (any, error) {
				p, err := userOf(r)
				if err != nil {
					return nil, err
				}
				var in WalletCode
				if err := decode(r, &in); err != nil {
					return nil, err
				}
				return s.VerifyBankAccount(r.Context(), p.UserID, in.Code)
			})},
		{Method: "POST", Path: app + "/password", API: W, Summary: "Change the password (with the old one; wrong old ones count as wrong logins); the user's other sessions end",
			Request: WalletPasswordChange{}, Response: WalletOK{},
			Handler: handler(errw, 200, func(r *http.Request) (any, error) {
				p, err := userOf(r)
				if err != nil {
					return nil, err
				}
				var in WalletPasswordChange
				if err := decode(r, &in); err != nil {
					return nil, err
				}
				return WalletOK{WalletOK: true}, s.ChangePassword(r.Context(), p.UserID, in.OldPassword, in.NewPassword, httpx.ClientAddr(r), sessionToken(r))
			})},
		{Method: "POST", Path: app + "/pin", API: W, Summary: "Change the PIN (with the old one; wrong old ones count towards the PIN lock)",
			Request: WalletPINChange{}, Response: WalletOK{},
			Handler: handler(errw, 200, func(r *http.Request) (any, error) {
				p, err := userOf(r)
				if err != nil {
					return nil, err
				}
				var in WalletPINChange
				if err := decode(r, &in); err != nil {
					return nil, err
				}
				return WalletOK{WalletOK: true}, s.ChangePIN(r.Context(), p.UserID, in.OldPIN, in.NewPIN)
			})},
		{Method: "POST", Path: app + "/close", API: W, Summary: "Close the wallet for good, with the PIN (its balance must be zero in every currency)",
			Request: WalletPIN{}, Response: AccountState{},
			Handler: handler(errw, 200, func(r *http.Request) (any, error) {
				p, err := userOf(r)
				if err != nil {
					return nil, err
				}
				var in WalletPIN
				if err := decode(r, &in); err != nil {
					return nil, err
				}
				return s.CloseOwnAccount(r.Context(), p.UserID, in.PIN)
			})},
		{Method: "POST", Path: app + "/upgrade", API: W, Summary: "Corporate: send the uploaded documents and ask for Corporate+ (an operator approves, asks for more documents or rejects)", Response: CorporateAccount{},
			Handler: handler(errw, 200, func(r *http.Request) (any, error) {
				p, err := userOf(r)
				if err != nil {
					return nil, err
				}
				return s.RequestUpgrade(r.Context(), p.UserID)
			})},
	}
	rs = append(rs, s.batchRoutes(errw)...) // bulk_http.go
	rs = append(rs, s.widgetRoutes(errw, platformErrs)...)
	rs = append(rs, s.upgradeRoutes(errw)...) // http_upgrade.go
	rs = append(rs, s.platformRoutes(platformErrs)...)
	return append(rs, s.pageRoutes()...)
}

// PlatformWalletOpen opens the authenticated tenant's corporate wallet.
type PlatformWalletOpen struct {
	// CompanyName defaults to the tenant's name.
	CompanyName string `json:"companyName,omitempty"`
	// Username, Password and PIN are the corporate's wallet-app login.
	Username string `json:"username"`
	Password string `json:"password"`
	PIN      string `json:"pin"`
	// IBAN and BIC are the company's bank account (verified later with the
	// 2-cent transfer).
	IBAN string `json:"iban"`
	BIC  string `json:"bic"`
}

// PlatformWallet is the tenant's corporate wallet and its balance.
type PlatformWallet struct {
	Account  CorporateAccount     `json:"account"`
	Username string               `json:"username"`
	Balance  WalletBalance        `json:"balance"`
	Secret   MerchantSecretStatus `json:"secret"` // never the secret itself
}

// SecretRotate is the optional body of a merchant secret's rotation.
type SecretRotate struct {
	// GraceSeconds keeps the previous secret working that long (0 to
	// 604800, 7 days); 0: it stops at once.
	GraceSeconds int `json:"graceSeconds,omitempty"`
}

// platformRoutes let a tenant open and see its corporate wallet with its
// APP key (the platform API's authentication and Idempotency-Key handling
// apply; errors in the platform format).
func (s *Service) platformRoutes(errw httpx.ErrorWriter) []httpx.Route {
	tenant := func(w http.ResponseWriter, r *http.Request) (string, bool) {
		p, ok := httpx.PrincipalFrom(r.Context())
		if !ok || p.TenantID == "" {
			errw(w, r, apperr.New(apperr.Unauthenticated, "Authorization field missing"))
			return "", false
		}
		return p.TenantID, true
	}
	return []httpx.Route{
		{Method: "POST", Path: "/platform/wallet/corporate", API: httpx.APIPlatform, Status: http.StatusCreated,
			Summary: "Open the tenant's corporate EUR wallet (tier Corporate): its wallet-app login and bank account; the merchant secret is shown only in this answer",
			Request: PlatformWalletOpen{}, Response: CorporateWallet{},
			Handler: func(w http.ResponseWriter, r *http.Request) {
				tid, ok := tenant(w, r)
				if !ok {
					return
				}
				var in PlatformWalletOpen
				if err := decode(r, &in); err != nil {
					errw(w, r, err)
					return
				}
				cw, err := s.OpenCorporate(r.Context(), tid, CorporateSpec{CompanyName: in.CompanyName, Username: in.Username,
					Password: in.Password, PIN: in.PIN, IBAN: in.IBAN, BIC: in.BIC})
				httpx.Respond(w, r, errw, http.StatusCreated, cw, err) // the answer committed with the wallet
			}},
		{Method: "POST", Path: "/platform/wallet/corporate/secret/rotate", API: httpx.APIPlatform, Status: http.StatusCreated,
			Summary: "Replace the merchant secret; the previous one keeps working for graceSeconds (0 to 604800; 0 or no body: it stops at once); the new secret is shown only in this answer",
			Request: SecretRotate{}, Response: MerchantSecretRotation{},
			Handler: httpx.HandleOptionalBody(errw, http.StatusCreated, func(r *http.Request, in SecretRotate) (MerchantSecretRotation, error) {
				p, ok := httpx.PrincipalFrom(r.Context())
				if !ok || p.TenantID == "" {
					return MerchantSecretRotation{}, apperr.New(apperr.Unauthenticated, "Authorization field missing")
				}
				if _, err := s.MerchantSecret(r.Context(), p.TenantID); err != nil {
					return MerchantSecretRotation{}, err // NotFound before the wallet is opened
				}
				return s.RotateMerchantSecret(r.Context(), p.TenantID, time.Duration(in.GraceSeconds)*time.Second)
			})},
		{Method: "POST", Path: "/platform/wallet/corporate/secret/revoke-previous", API: httpx.APIPlatform,
			Summary:  "End the grace period of the rotated merchant secret now (to revoke the current secret, rotate with no grace)",
			Response: MerchantSecretStatus{},
			Handler: httpx.Handle(errw, http.StatusOK, func(r *http.Request, _ httpx.NoBody) (MerchantSecretStatus, error) {
				p, ok := httpx.PrincipalFrom(r.Context())
				if !ok || p.TenantID == "" {
					return MerchantSecretStatus{}, apperr.New(apperr.Unauthenticated, "Authorization field missing")
				}
				if _, err := s.MerchantSecret(r.Context(), p.TenantID); err != nil {
					return MerchantSecretStatus{}, err
				}
				return s.RevokePreviousSecret(r.Context(), p.TenantID)
			})},
		{Method: "GET", Path: "/platform/wallet/corporate", API: httpx.APIPlatform,
			Summary:  "The tenant's corporate wallet: tier, bank account and its verification, upgrade status and balance",
			Response: PlatformWallet{},
			Handler: func(w http.ResponseWriter, r *http.Request) {
				tid, ok := tenant(w, r)
				if !ok {
					return
				}
				v, err := s.PlatformWallet(r.Context(), tid)
				if err != nil {
					errw(w, r, err)
					return
				}
				httpx.WriteJSON(w, http.StatusOK, v)
			}},
	}
}

// PlatformWallet returns a tenant's corporate wallet (NotFound before it is opened).
func (s *Service) PlatformWallet(ctx context.Context, tenantID string) (PlatformWallet, error) {
	c, err := s.corporateOf(ctx, s.db.Read(), "tenant_id", tenantID)
	if err != nil {
		return PlatformWallet{}, apperr.New(apperr.NotFound, "the tenant has no corporate wallet yet: open it with POST /platform/wallet/corporate")
	}
	acc, err := s.CorporateOf(ctx, c.UserID)
	if err != nil {
		return PlatformWallet{}, err
	}
	u, err := s.userByID(ctx, s.db.Read(), c.UserID)
	if err != nil {
		return PlatformWallet{}, err
	}
	b, err := s.BalanceOf(ctx, c.UserID)
	if err != nil {
		return PlatformWallet{}, err
	}
	sec, err := s.MerchantSecret(ctx, tenantID)
	if err != nil {
		return PlatformWallet{}, err
	}
	return PlatformWallet{Account: acc, Username: u.Username, Balance: b, Secret: sec}, nil
}

// Me builds the logged-in user's overview.
func (s *Service) Me(r *http.Request, userID string) (WalletMe, error) {
	ctx := r.Context()
	u, err := s.userByID(ctx, s.db.Read(), userID)
	if err != nil {
		return WalletMe{}, err
	}
	bs, err := s.balances(ctx, s.db.Read(), u)
	if err != nil {
		return WalletMe{}, err
	}
	l, err := s.Limits(ctx, u.Tier)
	if err != nil {
		return WalletMe{}, err
	}
	m := WalletMe{User: u.public(), Balance: bs[0], Balances: bs, Limits: l, Fees: FeesOf(u.Tier)}
	if u.Kind == KindCorporate {
		c, err := s.CorporateOf(ctx, userID)
		if err != nil {
			return WalletMe{}, err
		}
		m.Corporate = &c
		t, err := s.tenants.Tenant(ctx, u.TenantID)
		if err != nil {
			return WalletMe{}, err
		}
		m.SandboxTopUps = t.Mode == "sandbox"
	} else if m.SandboxTopUps, err = s.SandboxTopUps(ctx); err != nil {
		return WalletMe{}, err
	}
	return m, nil
}
