package cashier

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
)

// Routes returns the cashier API (/cashier/v1/…, API cashier: the
// platform's APP key or access tokens, Idempotency-Key on writes, errors
// in the platform format errw): settings, customers, sessions, the Payment
// API, the Agent API, and the PSP notification endpoint (public: PSPs sign
// their notifications).
func (s *Service) Routes(errw httpx.ErrorWriter) []httpx.Route {
	rs := append(s.platformRoutes(errw), s.paymentRoutes(errw)...)
	rs = append(rs, s.agentRoutes(errw)...)
	return append(rs, httpx.Route{Method: "POST", Path: "/cashier/v1/psp/{psp}/notifications", API: httpx.APIPublic,
		Summary:  "A PSP's asynchronous notification (signed by the PSP; duplicates and stale ones change nothing)",
		Response: NotificationAnswer{}, Handler: s.notificationHandler(errw)})
}

const base = "/cashier/v1"

// tenantHandler adapts fn, which needs the caller's tenant.
func tenantHandler[Req, Resp any](errw httpx.ErrorWriter, status int, fn func(r *http.Request, tenantID string, in Req) (Resp, error)) http.HandlerFunc {
	return httpx.Handle(errw, status, func(r *http.Request, in Req) (Resp, error) {
		p, ok := httpx.PrincipalFrom(r.Context())
		if !ok || p.TenantID == "" {
			var zero Resp
			return zero, apperr.New(apperr.Unauthenticated, "Authorization field missing")
		}
		return fn(r, p.TenantID, in)
	})
}

func (s *Service) platformRoutes(errw httpx.ErrorWriter) []httpx.Route {
	C := httpx.APICashier
	settings := func(put bool) http.HandlerFunc {
		h := tenantHandler(errw, http.StatusOK, func(r *http.Request, tid string, _ httpx.NoBody) (SettingsView, error) {
			return s.Settings(r.Context(), tid)
		})
		if put {
			h = tenantHandler(errw, http.StatusOK, func(r *http.Request, tid string, _ httpx.NoBody) (SettingsView, error) {
				in := DefaultSettings() // what the body leaves out
				if _, err := httpx.Decode(r, &in, httpx.DecodeOptions{}); err != nil {
					return SettingsView{}, err
				}
				return s.PutSettings(r.Context(), tid, in)
			})
		}
		return func(w http.ResponseWriter, r *http.Request) { w.Header().Set("Cache-Control", "no-store"); h(w, r) }
	}
	return []httpx.Route{
		{Method: "GET", Path: base + "/settings", API: C, Summary: "The tenant's cashier settings (one per question of seed 002) and callback secret",
			Response: SettingsView{}, Handler: settings(false)},
		{Method: "PUT", Path: base + "/settings", API: C, Summary: "Replace the tenant's cashier settings (fields left out take their defaults)",
			Request: Settings{}, Response: SettingsView{}, Handler: settings(true)},
		{Method: "PUT", Path: base + "/customers/{id}", API: C, Summary: "Create or replace a customer (the CRM's sync): 201 created, 200 replaced",
			Request: CustomerRequest{}, Response: Customer{},
			Handler: tenantHandler(errw, http.StatusOK, func(r *http.Request, tid string, in CustomerRequest) (Customer, error) {
				return s.PutCustomer(r.Context(), tid, r.PathValue("id"), in)
			})},
		{Method: "GET", Path: base + "/customers/{id}", API: C, Summary: "A customer with its balances", Response: Customer{},
			Handler: tenantHandler(errw, http.StatusOK, func(r *http.Request, tid string, _ httpx.NoBody) (Customer, error) {
				return s.GetCustomer(r.Context(), tid, r.PathValue("id"))
			})},
		{Method: "GET", Path: base + "/customers", API: C, Summary: "The tenant's customers in id order, paged", Query: []string{"limit", "cursor"},
			Response: CustomerList{}, Handler: tenantHandler(errw, http.StatusOK, func(r *http.Request, tid string, _ httpx.NoBody) (CustomerList, error) {
				p, err := pageOf(r.URL.Query())
				if err != nil {
					return CustomerList{}, err
				}
				return s.ListCustomers(r.Context(), tid, p)
			})},
		{Method: "POST", Path: base + "/sessions", API: C, Status: http.StatusCreated,
			Summary: "Open a cashier session (an order: deposit or payout, fixed or free amount) and get the hosted cashier's URL",
			Request: SessionRequest{}, Response: Session{},
			Handler: tenantHandler(errw, http.StatusCreated, func(r *http.Request, tid string, in SessionRequest) (Session, error) {
				return s.CreateSession(r.Context(), tid, in)
			})},
		{Method: "GET", Path: base + "/sessions/{id}", API: C, Summary: "A cashier session", Response: Session{},
			Handler: tenantHandler(errw, http.StatusOK, func(r *http.Request, tid string, _ httpx.NoBody) (Session, error) {
				return s.GetSession(r.Context(), tid, r.PathValue("id"))
			})},
	}
}

func (s *Service) paymentRoutes(errw httpx.ErrorWriter) []httpx.Route {
	C := httpx.APICashier
	return []httpx.Route{
		{Method: "POST", Path: base + "/deposits", API: C, Status: http.StatusCreated,
			Summary: "Payment API: a deposit through a PSP (card data, wallet login); the answer says what the PSP did",
			Request: DepositRequest{}, Response: Deposit{},
			Handler: tenantHandler(errw, http.StatusCreated, func(r *http.Request, tid string, in DepositRequest) (Deposit, error) {
				return s.CreateDeposit(r.Context(), tid, in, httpx.ClientAddr(r))
			})},
		{Method: "GET", Path: base + "/deposits/{id}", API: C, Summary: "A deposit", Response: Deposit{},
			Handler: tenantHandler(errw, http.StatusOK, func(r *http.Request, tid string, _ httpx.NoBody) (Deposit, error) {
				return s.GetDeposit(r.Context(), tid, r.PathValue("id"))
			})},
		{Method: "GET", Path: base + "/deposits", API: C, Summary: "The tenant's deposits, newest first, filtered and paged",
			Query: filterQuery, Response: DepositList{}, Handler: s.listDeposits(errw, false)},
		{Method: "POST", Path: base + "/payouts", API: C, Status: http.StatusCreated,
			Summary: "Payment API: a customer's payout request, held until an agent approves or rejects it",
			Request: PayoutRequest{}, Response: Payout{},
			Handler: tenantHandler(errw, http.StatusCreated, func(r *http.Request, tid string, in PayoutRequest) (Payout, error) {
				return s.RequestPayout(r.Context(), tid, in)
			})},
		{Method: "GET", Path: base + "/payouts/{id}", API: C, Summary: "A payout", Response: Payout{},
			Handler: tenantHandler(errw, http.StatusOK, func(r *http.Request, tid string, _ httpx.NoBody) (Payout, error) {
				return s.GetPayout(r.Context(), tid, r.PathValue("id"))
			})},
		{Method: "GET", Path: base + "/payouts", API: C, Summary: "The tenant's payouts, newest first, filtered and paged",
			Query: filterQuery, Response: PayoutList{}, Handler: s.listPayouts(errw, false)},
	}
}

var filterQuery = []string{"status", "customerId", "psp", "q", "limit", "cursor"}

func (s *Service) listDeposits(errw httpx.ErrorWriter, agent bool) http.HandlerFunc {
	return s.lister(errw, agent, func(r *http.Request, tid string, f Filter) (any, error) { return s.ListDeposits(r.Context(), tid, f) })
}

func (s *Service) listPayouts(errw httpx.ErrorWriter, agent bool) http.HandlerFunc {
	return s.lister(errw, agent, func(r *http.Request, tid string, f Filter) (any, error) { return s.ListPayouts(r.Context(), tid, f) })
}

// lister serves a filtered list, to agents only when agent.
func (s *Service) lister(errw httpx.ErrorWriter, agent bool, fn func(r *http.Request, tid string, f Filter) (any, error)) http.HandlerFunc {
	return httpx.Handle(errw, http.StatusOK, func(r *http.Request, _ httpx.NoBody) (any, error) {
		tid, err := s.caller(r, agent)
		if err != nil {
			return nil, err
		}
		q := r.URL.Query()
		p, err := pageOf(q)
		if err != nil {
			return nil, err
		}
		return fn(r, tid, Filter{Status: q.Get("status"), CustomerID: q.Get("customerId"), PSP: q.Get("psp"), Q: q.Get("q"), Page: p})
	})
}

// caller is the request's tenant; an agent's when agent.
func (s *Service) caller(r *http.Request, agent bool) (string, error) {
	if agent {
		tid, _, err := s.agentOf(r)
		return tid, err
	}
	p, ok := httpx.PrincipalFrom(r.Context())
	if !ok || p.TenantID == "" {
		return "", apperr.New(apperr.Unauthenticated, "Authorization field missing")
	}
	return p.TenantID, nil
}

func pageOf(q url.Values) (Page, error) {
	p := Page{Cursor: q.Get("cursor")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return p, apperr.InvalidField("limit", "limit must be between 1 and %d", MaxPage)
		}
		p.Limit = n
	}
	return p, nil
}

func (s *Service) notificationHandler(errw httpx.ErrorWriter) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := httpx.ReadBody(r, 64<<10)
		if err == nil {
			err = httpx.RequireJSON(r)
		}
		var out NotificationAnswer
		if err == nil {
			out, err = s.HandleNotification(r.Context(), r.PathValue("psp"), r.Header, body)
		}
		if err != nil {
			errw(w, r, err)
			return
		}
		httpx.WriteJSON(w, http.StatusOK, out)
	}
}
