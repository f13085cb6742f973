package gateway

import (
	"context"
	"net/http"
	"strconv"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
)

// linkRoutes are the payment links of the platform API (APP key or token;
// the platform's error format errw), for an integrator to make links as the
// back office does.
func (s *Service) linkRoutes(errw httpx.ErrorWriter) []httpx.Route {
	const base = "/platform/gateway/payment-links"
	const P = httpx.APIPlatform
	return []httpx.Route{
		{Method: "POST", Path: base, API: P, Status: http.StatusCreated,
			Summary: "Create a payment link: a payment job whose URL opens the hosted card page, with its QR codes and a Pay now button",
			Request: CreatePaymentLinkRequest{}, Response: PaymentLink{}, Handler: httpx.Handle(errw, http.StatusCreated, s.handleCreateLink)},
		{Method: "GET", Path: base, API: P, Summary: "List the payment links, newest first", Query: []string{"status", "limit", "after"},
			Response: PaymentLinkList{}, Handler: httpx.Handle(errw, http.StatusOK, s.handleListLinks)},
		{Method: "GET", Path: base + "/{id}", API: P, Summary: "A payment link", Response: PaymentLink{},
			Handler: httpx.Handle(errw, http.StatusOK, s.handleGetLink)},
		{Method: "POST", Path: base + "/{id}/cancel", API: P, Summary: "Cancel a payment link (its payment job); its page then says so",
			Response: PaymentLink{}, Handler: httpx.Handle(errw, http.StatusOK, s.handleCancelLink)},
		{Method: "GET", Path: base + "/{id}/qr.png", API: P, Summary: "The QR code of a payment link's URL (PNG)", Handler: s.handleQR(errw, false)},
		{Method: "GET", Path: base + "/{id}/qr.svg", API: P, Summary: "The QR code of a payment link's URL (SVG)", Handler: s.handleQR(errw, true)},
	}
}

func platformTenant(r *http.Request) (string, error) {
	if id, ok := TenantOf(r); ok {
		return id, nil
	}
	return "", apperr.New(apperr.Unauthenticated, "Authorization field missing")
}

// answerLink makes ctx answer a write with the link it leaves (httpx.Answering).
func (s *Service) answerLink(ctx context.Context, status int, out *PaymentLink) context.Context {
	return httpx.Answering(ctx, status, out, func(ctx context.Context, j *job) (PaymentLink, error) { return s.LinkView(ctx, j) })
}

func (s *Service) handleCreateLink(r *http.Request, req CreatePaymentLinkRequest) (PaymentLink, error) {
	tid, err := platformTenant(r)
	if err != nil {
		return PaymentLink{}, err
	}
	var out PaymentLink
	_, err = s.CreateLink(s.answerLink(r.Context(), http.StatusCreated, &out), tid, req)
	return out, err
}

func (s *Service) handleCancelLink(r *http.Request, _ httpx.NoBody) (PaymentLink, error) {
	tid, err := platformTenant(r)
	if err != nil {
		return PaymentLink{}, err
	}
	var out PaymentLink
	_, err = s.CancelLink(s.answerLink(r.Context(), http.StatusOK, &out), tid, r.PathValue("id"))
	return out, err
}

func (s *Service) handleGetLink(r *http.Request, _ httpx.NoBody) (PaymentLink, error) {
	tid, err := platformTenant(r)
	if err != nil {
		return PaymentLink{}, err
	}
	j, err := s.Link(r.Context(), tid, r.PathValue("id"))
	if err != nil {
		return PaymentLink{}, err
	}
	return s.LinkView(r.Context(), j)
}

func (s *Service) handleListLinks(r *http.Request, _ httpx.NoBody) (PaymentLinkList, error) {
	tid, err := platformTenant(r)
	if err != nil {
		return PaymentLinkList{}, err
	}
	q := r.URL.Query()
	f := LinkFilter{Status: q.Get("status"), After: q.Get("after")}
	if v := q.Get("limit"); v != "" {
		if f.Limit, err = strconv.Atoi(v); err != nil || f.Limit < 1 {
			return PaymentLinkList{}, apperr.InvalidField("limit", "limit must be between 1 and %d.", MaxLinkPage)
		}
	}
	page, err := s.ListLinks(r.Context(), tid, f)
	if err != nil {
		return PaymentLinkList{}, err
	}
	return s.LinkListView(r.Context(), tid, page)
}

// handleQR answers the QR code of a link's URL, as SVG or PNG.
func (s *Service) handleQR(errw httpx.ErrorWriter, svg bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tid, err := platformTenant(r)
		if err != nil {
			errw(w, r, err)
			return
		}
		j, err := s.Link(r.Context(), tid, r.PathValue("id"))
		if err != nil {
			errw(w, r, err)
			return
		}
		s.WriteQR(w, r, j, svg)
	}
}

// WriteQR writes the QR code of the link j's URL (the API's and the back
// office's QR routes).
func (s *Service) WriteQR(w http.ResponseWriter, r *http.Request, j *job, svg bool) {
	url := s.LinkURL(j.linkToken())
	var b []byte
	var err error
	if svg {
		b, err = QRSVG(url, "QR code of the payment link "+j.Ref)
		w.Header().Set("Content-Type", "image/svg+xml")
	} else {
		b, err = QRPNG(url)
		w.Header().Set("Content-Type", "image/png")
	}
	if err != nil {
		s.Log.ErrorContext(r.Context(), "gateway: QR code", "link", j.Ref, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Cache-Control", "private, max-age=3600")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(b)
}
