package remote

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
)

// Routes returns the remote payments API (/remote/v1/…, API remote: the
// platform's APP key authentication, Idempotency-Key on writes, errors in
// the platform format errw).
func (s *Service) Routes(errw httpx.ErrorWriter) []httpx.Route {
	const base = "/remote/v1/payments"
	R := httpx.APIRemote
	return []httpx.Route{
		{Method: "POST", Path: base, API: R, Status: http.StatusCreated,
			Summary: "Create a remote payment (amount in the currency's smallest unit); the user pays it on payment_url",
			Request: CreatePaymentRequest{}, Response: Payment{},
			Handler: httpx.Handle(errw, http.StatusCreated, func(r *http.Request, in CreatePaymentRequest) (Payment, error) {
				tid, err := tenantOf(r)
				if err != nil {
					return Payment{}, err
				}
				return s.Create(r.Context(), tid, in)
			})},
		{Method: "GET", Path: base, API: R, Summary: "List the tenant's remote payments, newest first, filtered and paged",
			Query: []string{"status", "created_from", "created_to", "metadata[KEY]", "limit", "cursor"}, Response: PaymentList{},
			Handler: httpx.Handle(errw, http.StatusOK, func(r *http.Request, _ httpx.NoBody) (PaymentList, error) {
				tid, err := tenantOf(r)
				if err != nil {
					return PaymentList{}, err
				}
				f, err := filterOf(r.URL.Query())
				if err != nil {
					return PaymentList{}, err
				}
				return s.List(r.Context(), tid, f)
			})},
		{Method: "GET", Path: base + "/{id}", API: R, Summary: "A remote payment: re-read it before confirming an order", Response: Payment{},
			Handler: httpx.Handle(errw, http.StatusOK, func(r *http.Request, _ httpx.NoBody) (Payment, error) {
				tid, err := tenantOf(r)
				if err != nil {
					return Payment{}, err
				}
				return s.Get(r.Context(), tid, r.PathValue("id"))
			})},
		{Method: "POST", Path: base + "/{id}/cancel", API: R, Summary: "Cancel a payment not yet paid (pending or rejected)", Response: Payment{},
			Handler: httpx.Handle(errw, http.StatusOK, func(r *http.Request, _ httpx.NoBody) (Payment, error) {
				tid, err := tenantOf(r)
				if err != nil {
					return Payment{}, err
				}
				return s.Cancel(r.Context(), tid, r.PathValue("id"))
			})},
		{Method: "POST", Path: base + "/{id}/refunds", API: R, Status: http.StatusCreated,
			Summary: "Refund a paid payment, fully (no amount) or partly; status refunded once refunds reach the amount",
			Request: RefundRequest{}, Response: RefundResult{},
			Handler: httpx.HandleOptionalBody(errw, http.StatusCreated, func(r *http.Request, in RefundRequest) (RefundResult, error) {
				tid, err := tenantOf(r)
				if err != nil {
					return RefundResult{}, err
				}
				return s.Refund(r.Context(), tid, r.PathValue("id"), in)
			})},
		{Method: "GET", Path: base + "/{id}/refunds", API: R, Summary: "The refunds of a payment, oldest first", Response: RefundList{},
			Handler: httpx.Handle(errw, http.StatusOK, func(r *http.Request, _ httpx.NoBody) (RefundList, error) {
				tid, err := tenantOf(r)
				if err != nil {
					return RefundList{}, err
				}
				return s.Refunds(r.Context(), tid, r.PathValue("id"))
			})},
	}
}

func tenantOf(r *http.Request) (string, error) {
	p, ok := httpx.PrincipalFrom(r.Context())
	if !ok || p.TenantID == "" {
		return "", apperr.New(apperr.Unauthenticated, "Authorization field missing")
	}
	return p.TenantID, nil
}

// filterOf reads the list's query: status, created_from and created_to
// (RFC 3339), metadata[key]=value (repeatable), limit, cursor.
func filterOf(q url.Values) (ListFilter, error) {
	f := ListFilter{Status: q.Get("status"), Cursor: q.Get("cursor"), Metadata: map[string]string{}}
	for _, t := range []struct {
		name string
		dst  *time.Time
	}{{"created_from", &f.CreatedFrom}, {"created_to", &f.CreatedTo}} {
		if v := q.Get(t.name); v != "" {
			at, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return f, apperr.InvalidField(t.name, "%s must be an RFC 3339 time such as 2026-12-01T00:00:00Z", t.name)
			}
			*t.dst = at
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return f, apperr.InvalidField("limit", "limit must be between 1 and %d", MaxPage)
		}
		f.Limit = n
	}
	for k, vs := range q {
		if key, ok := strings.CutPrefix(k, "metadata["); ok && strings.HasSuffix(key, "]") && len(vs) == 1 {
			f.Metadata[strings.TrimSuffix(key, "]")] = vs[0]
		} else if ok {
			return f, apperr.InvalidField(k, "filter by metadata as metadata[key]=value, once per key")
		}
	}
	return f, nil
}
