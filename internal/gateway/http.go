package gateway

import (
	"net/http"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
)

// Routes are the gateway's routes: the API under /api/gateway/ (errw: the
// gateway's error format), the hosted pages and assets (public), and the
// tenant's settings under /platform/gateway/ (platformErrs).
func (s *Service) Routes(errw, platformErrs httpx.ErrorWriter) []httpx.Route {
	h := handlers{s: s, errw: errw}
	const job = "/api/gateway/payment-jobs/{paymentJobReference}"
	const pay = job + "/payments/{paymentReference}"
	return []httpx.Route{
		{Method: "POST", Path: "/api/gateway/payment-jobs", API: httpx.APIGateway, Summary: "Create a payment job (and process its card payment)",
			Request: CreatePaymentJobRequest{}, Response: PaymentJobResponse{}, Status: http.StatusCreated, Handler: h.create},
		{Method: "GET", Path: job, API: httpx.APIGateway, Summary: "Retrieve a payment job", Response: PaymentJobResponse{}, Handler: h.get},
		{Method: "GET", Path: pay, API: httpx.APIGateway, Summary: "Retrieve a payment", Response: GatewayPaymentResponse{}, Handler: h.getPayment},
		{Method: "PATCH", Path: job + "/cancel", API: httpx.APIGateway, Summary: "Cancel a payment job", Response: PaymentJobResponse{}, Handler: h.cancelJob},
		{Method: "PATCH", Path: pay + "/cancel", API: httpx.APIGateway, Summary: "Cancel a payment (same day, before settlement)", Response: GatewayPaymentResponse{}, Handler: h.cancelPayment},
		{Method: "POST", Path: pay + "/captures", API: httpx.APIGateway, Summary: "Capture an authorised payment", Request: CapturePaymentRequest{}, Response: PaymentCaptureResponse{}, Handler: h.capture},
		{Method: "POST", Path: pay + "/refunds", API: httpx.APIGateway, Summary: "Refund a paid payment", Request: RefundPaymentRequest{}, Response: PaymentRefundResponse{}, Status: http.StatusCreated, Handler: h.refund},
		{Method: "POST", Path: "/api/gateway/card-tokenisation", API: httpx.APIGateway, Summary: "Store a card in the vault and return its token",
			Request: CardTokenisationRequest{}, Response: CardTokenisationResponse{}, Status: http.StatusCreated, Handler: h.tokenise},
		{Method: "GET", Path: "/api/gateway/supported-payment-methods", API: httpx.APIGateway, Summary: "List the payment methods the configuration may use", Response: SupportedPaymentMethodsResponse{}, Handler: h.methods},

		{Method: "GET", Path: "/payment/form-post", API: httpx.APIPublic, Summary: "Hosted payment page: card form (payment link) or 3-D Secure simulator", Query: []string{"ref"}, Handler: s.handlePage},
		{Method: "POST", Path: "/payment/form-post", API: httpx.APIPublic, Summary: "Hosted payment page: submit the card", Query: []string{"ref"}, Handler: s.handleCardForm},
		{Method: "POST", Path: "/payment/3ds", API: httpx.APIPublic, Summary: "3-D Secure simulator: complete, fail or cancel the challenge", Query: []string{"ref"}, Handler: s.handle3DS},
		{Method: "GET", Path: "/payment/result", API: httpx.APIPublic, Summary: "Default return page", Handler: s.handleResult},
		{Method: "GET", Path: "/assets/{name}", API: httpx.APIPublic, Summary: "Payment method logos", Handler: s.handleAsset},

		{Method: "GET", Path: "/platform/gateway/settings", API: httpx.APIPlatform, Summary: "Card gateway settings: configuration id, signing key, auto capture, fees, return and webhook URLs",
			Response: GatewaySettings{}, Handler: settingsHandler(s, platformErrs, false)},
		{Method: "PUT", Path: "/platform/gateway/settings", API: httpx.APIPlatform, Summary: "Replace the card gateway settings",
			Request: GatewaySettings{}, Response: GatewaySettings{}, Handler: settingsHandler(s, platformErrs, true)},
	}
}

type handlers struct {
	s    *Service
	errw httpx.ErrorWriter
}

func (h handlers) principal(w http.ResponseWriter, r *http.Request) (httpx.Principal, bool) {
	p, ok := httpx.PrincipalFrom(r.Context())
	if !ok || p.TenantID == "" {
		h.errw(w, r, apperr.New(apperr.Unauthenticated, MsgInvalidToken))
		return p, false
	}
	return p, true
}

func (h handlers) decode(w http.ResponseWriter, r *http.Request, dst any) bool {
	if _, err := httpx.Decode(r, dst, httpx.DecodeOptions{AllowUnknownFields: true}); err != nil {
		h.errw(w, r, err)
		return false
	}
	return true
}

func (h handlers) respondJob(w http.ResponseWriter, r *http.Request, status int, j *job, err error) {
	if err != nil {
		h.errw(w, r, err)
		return
	}
	v, err := h.s.viewFor(r, j)
	if err != nil {
		h.errw(w, r, err)
		return
	}
	httpx.WriteJSON(w, status, v.job(j))
}

func (h handlers) create(w http.ResponseWriter, r *http.Request) {
	p, ok := h.principal(w, r)
	if !ok {
		return
	}
	var req CreatePaymentJobRequest
	if !h.decode(w, r, &req) {
		return
	}
	j, err := h.s.Create(r.Context(), p.TenantID, p.KeyID, req)
	h.respondJob(w, r, http.StatusCreated, j, err)
}

func (h handlers) get(w http.ResponseWriter, r *http.Request) {
	p, ok := h.principal(w, r)
	if !ok {
		return
	}
	j, err := h.s.Get(r.Context(), p.TenantID, r.PathValue("paymentJobReference"))
	h.respondJob(w, r, http.StatusOK, j, err)
}

func (h handlers) respondPayment(w http.ResponseWriter, r *http.Request, j *job, payRef string, err error) {
	if err != nil {
		h.errw(w, r, err)
		return
	}
	p, err := j.payment(payRef)
	if err != nil {
		h.errw(w, r, err)
		return
	}
	v, err := h.s.viewFor(r, j)
	if err != nil {
		h.errw(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, GatewayPaymentResponse{Data: v.payment(j, p), Links: GatewayLinks{
		Data:   &GatewayLink{URL: v.base + "/api/gateway/payment-jobs/" + j.Ref + "/payments/" + p.Ref, Type: "application/json"},
		Action: &GatewayLink{URL: v.actionURL(j, p), Type: "text/html"},
	}})
}

func (h handlers) getPayment(w http.ResponseWriter, r *http.Request) {
	p, ok := h.principal(w, r)
	if !ok {
		return
	}
	j, err := h.s.Get(r.Context(), p.TenantID, r.PathValue("paymentJobReference"))
	h.respondPayment(w, r, j, r.PathValue("paymentReference"), err)
}

// noBody accepts an empty body or an empty JSON object (PATCH …/cancel).
func (h handlers) noBody(w http.ResponseWriter, r *http.Request) bool {
	b, err := httpx.ReadBody(r, 0)
	if err == nil && len(b) > 0 {
		var m map[string]any
		err = httpx.Unmarshal(b, &m, httpx.DecodeOptions{AllowUnknownFields: true})
	}
	if err != nil {
		h.errw(w, r, err)
		return false
	}
	return true
}

func (h handlers) cancelJob(w http.ResponseWriter, r *http.Request) {
	p, ok := h.principal(w, r)
	if !ok || !h.noBody(w, r) {
		return
	}
	j, err := h.s.CancelJob(r.Context(), p.TenantID, r.PathValue("paymentJobReference"))
	h.respondJob(w, r, http.StatusOK, j, err)
}

func (h handlers) cancelPayment(w http.ResponseWriter, r *http.Request) {
	p, ok := h.principal(w, r)
	if !ok || !h.noBody(w, r) {
		return
	}
	payRef := r.PathValue("paymentReference")
	j, _, err := h.s.CancelPayment(r.Context(), p.TenantID, r.PathValue("paymentJobReference"), payRef)
	h.respondPayment(w, r, j, payRef, err)
}

func (h handlers) capture(w http.ResponseWriter, r *http.Request) {
	p, ok := h.principal(w, r)
	if !ok {
		return
	}
	var req CapturePaymentRequest
	if !h.decode(w, r, &req) {
		return
	}
	j, c, err := h.s.Capture(r.Context(), p.TenantID, r.PathValue("paymentJobReference"), r.PathValue("paymentReference"), req)
	if err != nil {
		h.errw(w, r, err)
		return
	}
	pay, _ := j.payment(r.PathValue("paymentReference"))
	httpx.WriteJSON(w, http.StatusOK, PaymentCaptureResponse{Data: viewCapture(c, pay.Currency)})
}

func (h handlers) refund(w http.ResponseWriter, r *http.Request) {
	p, ok := h.principal(w, r)
	if !ok {
		return
	}
	var req RefundPaymentRequest
	if !h.decode(w, r, &req) {
		return
	}
	j, f, err := h.s.Refund(r.Context(), p.TenantID, r.PathValue("paymentJobReference"), r.PathValue("paymentReference"), req)
	if err != nil {
		h.errw(w, r, err)
		return
	}
	pay, _ := j.payment(r.PathValue("paymentReference"))
	v, err := h.s.viewFor(r, j)
	if err != nil {
		h.errw(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusCreated, PaymentRefundResponse{Data: v.refund(f, pay)})
}

// Currencies the card simulator accepts.
var simulatorCurrencies = []string{"AUD", "CAD", "DKK", "HKD", "JPY", "NZD", "NOK", "SGD", "ZAR", "SEK", "CHF", "GBP", "USD", "EUR"}

func (h handlers) methods(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.principal(w, r); !ok {
		return
	}
	logo := baseURL(r) + "/assets/payment-method-card.svg"
	out := SupportedPaymentMethodsResponse{}
	for _, m := range []string{"Card", "CreditCard"} {
		out.Data = append(out.Data, SupportedPaymentMethod{PaymentMethod: m, Logo: logo, IssuerList: []any{}, SupportsTokenisation: true,
			TokenizedCards: []any{}, Currencies: simulatorCurrencies, Description: "Card Simulator"})
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

func settingsHandler(s *Service, errw httpx.ErrorWriter, put bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, ok := httpx.PrincipalFrom(r.Context())
		if !ok || p.TenantID == "" {
			errw(w, r, apperr.New(apperr.Unauthenticated, "Authorization field missing"))
			return
		}
		var out GatewaySettings
		var err error
		if put {
			var in GatewaySettings
			if _, err = httpx.Decode(r, &in, httpx.DecodeOptions{}); err == nil {
				out, err = s.PutSettings(r.Context(), p.TenantID, in)
			}
		} else {
			out, err = s.GetSettings(r.Context(), p.TenantID)
		}
		if err != nil {
			errw(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		httpx.WriteJSON(w, http.StatusOK, out)
	}
}
