package gateway

import (
	"encoding/json"
	"time"

	"github.com/cashgate/cashgate/internal/card"
	"github.com/cashgate/cashgate/internal/money"
)

// DocumentationPath is where the gateway's API reference is served.
const DocumentationPath = "/openapi.json"

// viewCtx is what rendering needs beyond the job: the public base URL, the
// tenant's time zone and default return URLs.
type viewCtx struct {
	base string
	zone string
	st   settings
	now  time.Time
}

func amount(minor int64, cur money.Currency) string { return money.Format(money.New(minor, cur)) }

// returnURLs are a payment's success, failed and cancelled return URLs.
func (v viewCtx) returnURLs(j *job, p *payment) (ok, failed, cancelled string) {
	pick := func(job, tenant string) string {
		switch {
		case job != "":
			return job
		case tenant != "":
			return tenant
		}
		if l := langOf(j.Locale); l != pageLangs[0] {
			return v.base + "/payment/result?locale=" + l.tag.String() // the page speaks the job's language
		}
		return v.base + "/payment/result"
	}
	ok = returnURL(pick(j.Params.ReturnSuccess, v.st.ReturnSuccess), j.Ref, p.Ref, j.OrderNumber, false)
	failed = returnURL(pick(j.Params.ReturnFailed, v.st.ReturnFailed), j.Ref, p.Ref, j.OrderNumber, false)
	cancelled = returnURL(pick(j.Params.ReturnCancel, v.st.ReturnCancel), j.Ref, p.Ref, j.OrderNumber, true)
	return ok, failed, cancelled
}

// actionURL is where the shopper goes next: the hosted page while the
// payment waits for them, else the return URL of its outcome.
func (v viewCtx) actionURL(j *job, p *payment) string {
	ok, failed, cancelled := v.returnURLs(j, p)
	switch p.Status {
	case StPending:
		return v.base + "/payment/form-post?ref=" + p.PageToken
	case StAuthorised, StPaid, StRefunded, StPartiallyRefunded:
		return ok
	case StCancelled:
		return cancelled
	}
	return failed
}

func (v viewCtx) job(j *job) PaymentJobResponse {
	out := PaymentJob{
		Reference: j.Ref, CreateDateTimeUtc: formatTime(j.CreatedAt), Type: j.Type, TraceReference: j.TraceRef,
		ConfigurationID: j.ConfigID, Domain: "cashgate", Locale: j.Locale, TimeZone: v.zone, OrderHistory: []any{},
		ParentPaymentJobReference: j.Parent, RecurrenceCriteria: j.Params.Recurrence.criteria(), CustomerReference: j.Params.Customer, ParentFrameDomains: j.Params.FrameDomains, PaymentMethodsToUse: j.Methods, Currency: j.Currency.Code(),
		AmountToCollect: amount(j.Amount, j.Currency), ExpirationDateTimeUtc: formatTime(j.ExpiresAt),
		DueDateTimeUtc: formatTime(j.DueAt), LastUpdateTimeUtc: formatTime(j.UpdatedAt), LastProcessedTimeUtc: formatTime(j.UpdatedAt),
		Flags: j.Flags, Attributes: map[string]any{}, PaymentStatus: j.Status, Payments: []GatewayPayment{},
	}
	if j.Order.OrderNumber != "" || j.Order.CustomerEmail != "" || j.Order.BillingAddress != nil || j.Order.BillingIdentity != nil || j.Order.ShippingAddress != nil {
		o := j.Order
		o.CreateDateTimeUtc = formatTime(j.CreatedAt)
		if o.OrderLines == nil {
			o.OrderLines = []json.RawMessage{}
		}
		out.Order = &o
	}
	if out.Flags == nil {
		out.Flags = map[string]bool{}
	}
	if j.Collected > 0 {
		out.AmountCollected = amount(j.Collected, j.Currency)
		out.PaidAmount = out.AmountCollected
		out.PaidDateTimeUtc = formatTime(j.PaidAt)
	}
	for _, p := range j.Payments {
		out.Payments = append(out.Payments, v.payment(j, p))
	}
	links := GatewayLinks{
		Data:          &GatewayLink{URL: v.base + "/api/gateway/payment-jobs/" + j.Ref, Type: "application/json"},
		Documentation: &GatewayLink{URL: v.base + DocumentationPath, Type: "application/json"},
	}
	if n := len(j.Payments); n > 0 && j.Status != StExpired && j.Status != StCancelled && j.Type != JobTypeCredit {
		last := j.Payments[n-1]
		links.Action = &GatewayLink{URL: v.actionURL(j, last), Type: "text/html"}
		if j.retryable(last, v.now) {
			// The payment link still takes another attempt.
			links.Action.URL = v.base + "/payment/form-post?ref=" + last.PageToken
		}
	}
	return PaymentJobResponse{Data: out, Links: links, Warnings: j.Warnings}
}

func (v viewCtx) payment(j *job, p *payment) GatewayPayment {
	methods := j.Methods
	if p.Method != "" {
		methods = []string{p.Method}
	}
	out := GatewayPayment{
		Reference: p.Ref, CreateDateTimeUtc: formatTime(p.CreatedAt), PaymentMethods: methods, Status: p.Status,
		AmountToCollect: amount(p.Amount, p.Currency), SurchargeAmount: "0", Steps: []PaymentStep{}, Flags: map[string]bool{},
		Attributes: map[string]string{}, Refunds: []PaymentRefund{}, Captures: []PaymentCapture{},
	}
	if p.Captured > 0 {
		out.PaidAmount = amount(p.Captured, p.Currency)
	}
	if p.Authorised > 0 && p.Authorised != p.Captured {
		out.AuthorisedAmount = amount(p.Authorised, p.Currency)
		out.CapturedAmount = amount(p.Captured, p.Currency)
	}
	if p.Refunded > 0 {
		out.RefundedAmount = amount(p.Refunded, p.Currency)
	}
	if p.MOTO {
		out.Flags["moto"] = true
	}
	for _, st := range p.Steps {
		s := PaymentStep{Reference: st.Ref, CreateDateTimeUtc: formatTime(st.CreatedAt), Action: st.Action, PaymentMethods: methods,
			Status: st.Status, AmountToCollect: amount(st.Amount, p.Currency)}
		if st.Message != "" {
			s.ResultAttributes = map[string]string{"message": st.Message}
		}
		out.Steps = append(out.Steps, s)
	}
	ok, failed, cancelled := v.returnURLs(j, p)
	out.Attributes["returnUrlSuccess"] = ok
	out.Attributes["returnUrlFailed"] = failed
	out.Attributes["returnUrlCancelled"] = cancelled
	if p.Acquiring != "" && p.Acquiring != "{}" {
		out.Attributes["cashFlowsAcquiringDetails"] = p.Acquiring
	}
	if p.TxnID != "" {
		out.Attributes["paymentMethodTransactionId"] = p.TxnID
	}
	if p.VoidTxnID != "" {
		out.Attributes["paymentMethodVoidTransactionId"] = p.VoidTxnID
	}
	if p.Token != "" {
		out.Attributes["token"] = p.Token
	}
	for _, c := range p.Captures {
		out.Captures = append(out.Captures, viewCapture(c, p.Currency))
	}
	for _, f := range p.Refunds {
		out.Refunds = append(out.Refunds, v.refund(f, p))
	}
	return out
}

func viewCapture(c capture, cur money.Currency) PaymentCapture {
	return PaymentCapture{Reference: c.Ref, CreateDateTimeUtc: formatTime(c.CreatedAt), Status: c.Status,
		AmountToCapture: amount(c.Amount, cur), IsFinalCapture: c.Final,
		Attributes: map[string]string{"paymentMethodTransactionId": c.TxnID}}
}

func (v viewCtx) refund(f refund, p *payment) PaymentRefund {
	attrs := map[string]string{"paymentMethodTransactionId": f.TxnID}
	if p.Acquiring != "" && p.Acquiring != "{}" {
		attrs["cashFlowsAcquiringDetails"] = p.Acquiring
	}
	return PaymentRefund{Reference: f.Ref, CreateDateTimeUtc: formatTime(f.CreatedAt), RefundNumber: f.Number, Status: f.Status,
		AmountToRefund: amount(f.Amount, p.Currency),
		Steps:          []PaymentStep{{Reference: f.Ref, CreateDateTimeUtc: formatTime(f.CreatedAt), Action: "Start", Status: f.Status}},
		Attributes:     attrs}
}

// acquiringDetails is the cashFlowsAcquiringDetails JSON string.
type acquiringDetails struct {
	ThreeDSecureVersion       string `json:"ThreeDSecureVersion,omitempty"`
	ThreeDSecureVersionReason string `json:"ThreeDSecureVersionReason,omitempty"`
	AuthenticationStatus      string `json:"AuthenticationStatus,omitempty"`
	Eci                       string `json:"Eci,omitempty"`
	AuthCode                  string `json:"AuthCode,omitempty"`
	Arn                       string `json:"Arn,omitempty"`
	Message                   string `json:"Message,omitempty"`
	Status                    string `json:"Status,omitempty"`
	IssuerResponseCode        string `json:"IssuerResponseCode,omitempty"`
	CvvAvsResult              string `json:"CvvAvsResult,omitempty"`
	AcquirerResponseCode      string `json:"AcquirerResponseCode,omitempty"`
	TruncatedCardNumber       string `json:"TruncatedCardNumber,omitempty"`
	// An authentication made outside cashgate (external3ds.go): never its
	// CAVV or cryptogram.
	ExternalMpi           bool   `json:"ExternalMpi,omitempty"`
	ThreeDSecureDSTransID string `json:"ThreeDSecureDSTransId,omitempty"`
	EwalletType           string `json:"EwalletType,omitempty"`
}

func authDetails(d *acquiringDetails, r card.AuthResult, masked string) string {
	d.AuthCode, d.Arn, d.Message, d.IssuerResponseCode = r.AuthCode, r.ARN, r.Message, r.IssuerCode
	d.CvvAvsResult, d.AcquirerResponseCode, d.TruncatedCardNumber = r.CVCResult, r.AcquirerResponse, masked
	if r.Approved {
		d.Status = "Successful"
	} else {
		d.Status = "Failed"
	}
	return mustJSON(d)
}
