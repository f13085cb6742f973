package gateway

import (
	"context"
	"errors"
	"net/http"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
)

// Routes are the gateway's routes: the API under /api/gateway/ (errw: the
// gateway's error format), the hosted pages and assets (public), and the
// tenant's settings and payment links under /platform/gateway/
// (platformErrs).
func (s *Service) Routes(errw, platformErrs httpx.ErrorWriter) []httpx.Route {
	h := handlers{s: s, errw: errw}
	const job = "/api/gateway/payment-jobs/{paymentJobReference}"
	const pay = job + "/payments/{paymentReference}"
	return append([]httpx.Route{
		{Method: "POST", Path: "/api/gateway/payment-jobs", API: httpx.APIGateway, Summary: "Create a payment job (and process its card payment)",
			Request: CreatePaymentJobRequest{}, Response: PaymentJobResponse{}, Status: http.StatusCreated, Handler: handle(h, http.StatusCreated, h.create)},
		{Method: "GET", Path: job, API: httpx.APIGateway, Summary: "Retrieve a payment job", Response: PaymentJobResponse{}, Handler: handle(h, http.StatusOK, h.get)},
		{Method: "GET", Path: pay, API: httpx.APIGateway, Summary: "Retrieve a payment", Response: GatewayPaymentResponse{}, Handler: handle(h, http.StatusOK, h.getPayment)},
		{Method: "PATCH", Path: job + "/cancel", API: httpx.APIGateway, Summary: "Cancel a payment job", Response: PaymentJobResponse{}, Handler: handle(h, http.StatusOK, h.cancelJob)},
		{Method: "PATCH", Path: pay + "/cancel", API: httpx.APIGateway, Summary: "Cancel a payment (same day, before settlement)", Response: GatewayPaymentResponse{}, Handler: handle(h, http.StatusOK, h.cancelPayment)},
		{Method: "POST", Path: pay + "/captures", API: httpx.APIGateway, Summary: "Capture an authorised payment", Request: CapturePaymentRequest{}, Response: PaymentCaptureResponse{}, Handler: handle(h, http.StatusOK, h.capture)},
		{Method: "POST", Path: pay + "/refunds", API: httpx.APIGateway, Summary: "Refund a paid payment", Request: RefundPaymentRequest{}, Response: PaymentRefundResponse{}, Status: http.StatusCreated, Handler: handle(h, http.StatusCreated, h.refund)},
		{Method: "POST", Path: "/api/gateway/card-tokenisation", API: httpx.APIGateway, Summary: "Store a card in the vault and return its token",
			Request: CardTokenisationRequest{}, Response: CardTokenisationResponse{}, Status: http.StatusCreated, Handler: handle(h, http.StatusCreated, h.tokenise)},
		{Method: "GET", Path: "/api/gateway/supported-payment-methods", API: httpx.APIGateway, Summary: "List the payment methods the configuration may use (with a customer's stored cards: ?customerReference=)",
			Query: []string{"customerReference"}, Response: SupportedPaymentMethodsResponse{}, Handler: handle(h, http.StatusOK, h.methods)},
		{Method: "DELETE", Path: "/api/gateway/customers/{customerReference}/tokens/{token}", API: httpx.APIGateway, Summary: "Delete a card token stored for a customer",
			Response: DeleteCardTokenResponse{}, Handler: handle(h, http.StatusOK, h.deleteToken)},

		{Method: "GET", Path: "/payment/form-post", API: httpx.APIPublic, Summary: "Hosted payment page: card form (payment link) or 3-D Secure simulator", Query: []string{"ref"}, Handler: s.handlePage},
		{Method: "POST", Path: "/payment/form-post", API: httpx.APIPublic, Summary: "Hosted payment page: submit the card", Query: []string{"ref"}, Handler: s.pageForm(16<<10, s.handleCardForm)},
		{Method: "POST", Path: "/payment/3ds", API: httpx.APIPublic, Summary: "3-D Secure simulator: complete, fail or cancel the challenge", Query: []string{"ref"}, Handler: s.pageForm(4<<10, s.handle3DS)},
		{Method: "POST", Path: "/payment/paypal", API: httpx.APIPublic, Summary: "Hosted payment page: pay with PayPal (to the PayPal sandbox simulator)", Query: []string{"ref"}, Handler: s.pageForm(4<<10, s.handlePayPalStart)},
		{Method: "GET", Path: "/payment/paypal", API: httpx.APIPublic, Summary: "PayPal sandbox simulator: approve, cancel or fail the payment", Query: []string{"ref"}, Handler: s.handlePayPalPage},
		{Method: "POST", Path: "/payment/paypal/result", API: httpx.APIPublic, Summary: "PayPal sandbox simulator: the shopper's answer (approve, cancel, fail)", Query: []string{"ref"}, Handler: s.pageForm(4<<10, s.handlePayPalResult)},
		{Method: "GET", Path: "/payment/result", API: httpx.APIPublic, Summary: "Default return page", Handler: s.handleResult},
		{Method: "GET", Path: "/assets/{name}", API: httpx.APIPublic, Summary: "Payment method logos", Handler: s.handleAsset},
		{Method: "GET", Path: logoPath + "{id}", API: httpx.APIPublic, Summary: "A payment page template's logo (cached; nosniff)", Handler: s.handleLogo},

		{Method: "GET", Path: "/platform/gateway/settings", API: httpx.APIPlatform, Summary: "Card gateway settings: configuration id, signing key, auto capture, fees, return and webhook URLs",
			Response: GatewaySettings{}, Handler: settingsHandler(s, platformErrs, false)},
		{Method: "PUT", Path: "/platform/gateway/settings", API: httpx.APIPlatform, Summary: "Replace the card gateway settings",
			Request: GatewaySettings{}, Response: GatewaySettings{}, Handler: settingsHandler(s, platformErrs, true)},
	}, s.linkRoutes(platformErrs)...)
}

type handlers struct {
	s    *Service
	errw httpx.ErrorWriter
}

func (h handlers) principal(w http.ResponseWriter, r *http.Request) (httpx.Principal, bool) {
	p, ok := httpx.PrincipalFrom(r.Context())
	if !ok || p.TenantID == "" {
		h.errw(w, r, MsgInvalidToken.Err(apperr.Unauthenticated))
		return p, false
	}
	return p, true
}

// cancelBody is the request of PATCH …/cancel: an empty body or a JSON
// object whose fields are ignored (no Content-Type check).
type cancelBody struct{}

// readBody reads the request body into dst the way the gateway API does:
// nothing for httpx.NoBody, an optional ignored object for cancelBody, and
// otherwise a JSON object whose unknown fields are accepted.
func readBody(r *http.Request, dst any) error {
	switch dst.(type) {
	case *httpx.NoBody:
		return nil
	case *cancelBody:
		b, err := httpx.ReadBody(r, 0)
		if err == nil && len(b) > 0 {
			var m map[string]any
			err = httpx.Unmarshal(b, &m, httpx.DecodeOptions{AllowUnknownFields: true})
		}
		return err
	}
	_, err := httpx.Decode(r, dst, httpx.DecodeOptions{AllowUnknownFields: true})
	return err
}

// handle adapts a typed gateway API handler to http.HandlerFunc: it checks
// the caller's principal, reads the body into Req (see readBody), calls fn
// and writes its result with status — or any error through h.errw.
func handle[Req, Resp any](h handlers, status int, fn func(r *http.Request, p httpx.Principal, req Req) (Resp, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, ok := h.principal(w, r)
		if !ok {
			return
		}
		var req Req
		if err := readBody(r, &req); err != nil {
			h.errw(w, r, err)
			return
		}
		resp, err := fn(r, p, req)
		httpx.Respond(w, r, h.errw, status, resp, err)
	}
}

// jobResponse is the response of the payment job j.
func (h handlers) jobResponse(r *http.Request, j *job, err error) (PaymentJobResponse, error) {
	if err != nil {
		return PaymentJobResponse{}, err
	}
	return h.jobView(r.Context(), r, j)
}

func (h handlers) jobView(ctx context.Context, r *http.Request, j *job) (PaymentJobResponse, error) {
	v, err := h.s.viewIn(ctx, r, j)
	if err != nil {
		return PaymentJobResponse{}, err
	}
	return v.job(j), nil
}

// paymentResponse is the response of the payment payRef of j.
func (h handlers) paymentResponse(r *http.Request, j *job, payRef string, err error) (GatewayPaymentResponse, error) {
	if err != nil {
		return GatewayPaymentResponse{}, err
	}
	return h.paymentView(r.Context(), r, j, payRef)
}

func (h handlers) paymentView(ctx context.Context, r *http.Request, j *job, payRef string) (GatewayPaymentResponse, error) {
	p, err := j.payment(payRef)
	if err != nil {
		return GatewayPaymentResponse{}, err
	}
	v, err := h.s.viewIn(ctx, r, j)
	if err != nil {
		return GatewayPaymentResponse{}, err
	}
	out := GatewayPaymentResponse{Data: v.payment(j, p), Links: GatewayLinks{
		Data:   &GatewayLink{URL: v.base + "/api/gateway/payment-jobs/" + j.Ref + "/payments/" + p.Ref, Type: "application/json"},
		Action: &GatewayLink{URL: v.actionURL(j, p), Type: "text/html"},
	}, Warnings: j.Warnings}
	if j.Type == JobTypeCredit {
		out.Links.Action = nil // no shopper: nothing to do in a browser
	}
	return out, nil
}

func (h handlers) create(r *http.Request, p httpx.Principal, req CreatePaymentJobRequest) (PaymentJobResponse, error) {
	var out PaymentJobResponse
	ctx := httpx.Answering(r.Context(), http.StatusCreated, &out, func(ctx context.Context, j *job) (PaymentJobResponse, error) { return h.jobView(ctx, r, j) })
	_, err := h.s.Create(ctx, p.TenantID, p.KeyID, req)
	return out, err
}

func (h handlers) get(r *http.Request, p httpx.Principal, _ httpx.NoBody) (PaymentJobResponse, error) {
	j, err := h.s.Get(r.Context(), p.TenantID, r.PathValue("paymentJobReference"))
	return h.jobResponse(r, j, err)
}

func (h handlers) getPayment(r *http.Request, p httpx.Principal, _ httpx.NoBody) (GatewayPaymentResponse, error) {
	j, err := h.s.Get(r.Context(), p.TenantID, r.PathValue("paymentJobReference"))
	return h.paymentResponse(r, j, r.PathValue("paymentReference"), err)
}

func (h handlers) cancelJob(r *http.Request, p httpx.Principal, _ cancelBody) (PaymentJobResponse, error) {
	var out PaymentJobResponse
	ctx := httpx.Answering(r.Context(), http.StatusOK, &out, func(ctx context.Context, j *job) (PaymentJobResponse, error) { return h.jobView(ctx, r, j) })
	_, err := h.s.CancelJob(ctx, p.TenantID, r.PathValue("paymentJobReference"))
	return out, err
}

func (h handlers) cancelPayment(r *http.Request, p httpx.Principal, _ cancelBody) (GatewayPaymentResponse, error) {
	payRef := r.PathValue("paymentReference")
	var out GatewayPaymentResponse
	ctx := httpx.Answering(r.Context(), http.StatusOK, &out, func(ctx context.Context, j *job) (GatewayPaymentResponse, error) {
		return h.paymentView(ctx, r, j, payRef)
	})
	_, _, err := h.s.CancelPayment(ctx, p.TenantID, r.PathValue("paymentJobReference"), payRef)
	return out, err
}

func (h handlers) capture(r *http.Request, p httpx.Principal, req CapturePaymentRequest) (PaymentCaptureResponse, error) {
	payRef := r.PathValue("paymentReference")
	var out PaymentCaptureResponse
	ctx := httpx.Answering(r.Context(), http.StatusOK, &out, func(ctx context.Context, j *job) (PaymentCaptureResponse, error) {
		pay, err := j.payment(payRef)
		if err != nil || len(pay.Captures) == 0 {
			return PaymentCaptureResponse{}, errors.Join(err, errors.New("gateway: capture answer without a capture"))
		}
		return PaymentCaptureResponse{Data: viewCapture(pay.Captures[len(pay.Captures)-1], pay.Currency)}, nil
	})
	_, _, err := h.s.Capture(ctx, p.TenantID, r.PathValue("paymentJobReference"), payRef, req)
	return out, err
}

func (h handlers) refund(r *http.Request, p httpx.Principal, req RefundPaymentRequest) (PaymentRefundResponse, error) {
	payRef := r.PathValue("paymentReference")
	var out PaymentRefundResponse
	ctx := httpx.Answering(r.Context(), http.StatusCreated, &out, func(ctx context.Context, j *job) (PaymentRefundResponse, error) {
		pay, err := j.payment(payRef)
		if err != nil || len(pay.Refunds) == 0 {
			return PaymentRefundResponse{}, errors.Join(err, errors.New("gateway: refund answer without a refund"))
		}
		v, err := h.s.viewIn(ctx, r, j)
		if err != nil {
			return PaymentRefundResponse{}, err
		}
		return PaymentRefundResponse{Data: v.refund(pay.Refunds[len(pay.Refunds)-1], pay)}, nil
	})
	_, _, err := h.s.Refund(ctx, p.TenantID, r.PathValue("paymentJobReference"), payRef, req)
	return out, err
}

func (h handlers) methods(r *http.Request, p httpx.Principal, _ httpx.NoBody) (SupportedPaymentMethodsResponse, error) {
	logo := h.s.PublicURL + "/assets/payment-method-card.svg"
	cards := []TokenizedCard{}
	if q := r.URL.Query(); q.Has("customerReference") {
		customer, err := parseCustomerRef(q.Get("customerReference"))
		if err == nil && customer == "" {
			err = MsgInvalidCustomerRef.Invalid("customerReference")
		}
		if err != nil {
			return SupportedPaymentMethodsResponse{}, err
		}
		if cards, err = h.s.CustomerCards(r.Context(), p.TenantID, customer); err != nil {
			return SupportedPaymentMethodsResponse{}, err
		}
	}
	// Only the methods the tenant enabled are offered.
	st, err := h.s.requestSettings(r.Context(), p.TenantID)
	if err != nil {
		return SupportedPaymentMethodsResponse{}, err
	}
	out := SupportedPaymentMethodsResponse{Data: []SupportedPaymentMethod{}}
	for _, m := range st.Methods {
		if m == MethodPayPal {
			out.Data = append(out.Data, SupportedPaymentMethod{PaymentMethod: m, Logo: h.s.PublicURL + "/assets/payment-method-paypal.svg",
				IssuerList: []any{}, TokenizedCards: []TokenizedCard{}, Currencies: PayPalCurrencies(), Description: "PayPal Sandbox Simulator"})
			continue
		}
		out.Data = append(out.Data, SupportedPaymentMethod{PaymentMethod: m, Logo: logo, IssuerList: []any{}, SupportsTokenisation: true,
			TokenizedCards: cards, Currencies: AcceptedCurrencies(), Description: "Card Simulator"})
	}
	return out, nil
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
			var body []byte
			if body, err = httpx.Decode(r, &in, httpx.DecodeOptions{}); err == nil {
				err = httpx.RequireAll(body, &in) // PUT replaces every setting: none may be left out
			}
			if err == nil {
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
