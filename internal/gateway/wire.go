package gateway

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/cashgate/cashgate/internal/apperr"
)

// The request and response bodies of /api/gateway/…, with the guide's field
// names. Field names match case-insensitively (the guide writes both
// "cardNumber" and "CardNumber"); unknown fields are accepted and ignored
// (the guide's requests carry many optional details), but a body with
// anything after its JSON value is refused.

// Flex is a string field that also accepts a JSON number or boolean (the
// guide sends amounts as "10.00" and isFinalCapture as "true"; merchants'
// serializers sometimes send 10.00 and true).
type Flex string

// UnmarshalJSON implements json.Unmarshaler.
func (f *Flex) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = Flex(s)
		return nil
	}
	if string(b) == "null" {
		*f = ""
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err == nil {
		*f = Flex(n.String())
		return nil
	}
	var v bool
	if err := json.Unmarshal(b, &v); err != nil {
		return apperr.New(apperr.Invalid, "a string, number or boolean is expected, not %s", b)
	}
	if v {
		*f = "true"
	} else {
		*f = "false"
	}
	return nil
}

// Bool reads the flag: "true"/"false" in any case; "" is false.
func (f Flex) Bool(field string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(string(f))) {
	case "", "false", "0":
		return false, nil
	case "true", "1":
		return true, nil
	}
	return false, apperr.InvalidField(field, "%s must be true or false.", field)
}

// CreatePaymentJobRequest is the body of POST /api/gateway/payment-jobs.
type CreatePaymentJobRequest struct {
	Type                      string              `json:"type,omitempty"`
	Locale                    string              `json:"locale,omitempty"`
	PaymentMethodsToUse       *[]string           `json:"paymentMethodsToUse,omitempty" doc:"the payment methods the job offers, each enabled for the tenant: card, creditcard, debitcard (all answered as Card) and PayPal (the hosted page offers PayPal beside the card form; a PayPal-only job takes no card details, MOTO, token or recurrence); left out: the cards" example:"[\"Card\",\"PayPal\"]"`
	Parameters                *RequestParameters  `json:"parameters,omitempty"`
	Order                     *PaymentOrder       `json:"order,omitempty"`
	Options                   []string            `json:"options,omitempty"`
	Currency                  string              `json:"currency"`
	AmountToCollect           Flex                `json:"amountToCollect"`
	ExpirationDateTimeUtc     string              `json:"expirationDateTimeUtc,omitempty"`
	ParentPaymentJobReference string              `json:"parentPaymentJobReference,omitempty"`
	RecurrenceCriteria        *RecurrenceCriteria `json:"recurrenceCriteria,omitempty"`
	// RecipientDetails may also come here rather than in parameters (see
	// RequestParameters.RecipientDetails).
	RecipientDetails json.RawMessage `json:"recipientDetails,omitempty"`
	// CustomerReference names the merchant's customer: a token the job's
	// card gets (GenerateToken) is stored for them, and a token they pay
	// with must be theirs (customers.go).
	CustomerReference string `json:"customerReference,omitempty"`
	// CustomerEmail is the guide's optional customerEmail; it is kept in
	// the order (order.customerEmail, which may carry it too) and echoed.
	CustomerEmail string `json:"customerEmail,omitempty"`
	// ParentFrameDomains are the origins (https://shop.example) whose pages
	// may embed this job's hosted payment page: within the tenant's
	// embeddingDomains (embed.go).
	ParentFrameDomains *[]string `json:"parentFrameDomains,omitempty"`
}

// RequestParameters are the "parameters" of a payment job request: card
// fields, return URLs, the webhook URL.
type RequestParameters struct {
	CardNumber         string `json:"cardNumber,omitempty"`
	Token              string `json:"token,omitempty"`
	CardCvc            Flex   `json:"cardCvc,omitempty"`
	CardExpiryMonth    Flex   `json:"cardExpiryMonth,omitempty"`
	CardExpiryYear     Flex   `json:"cardExpiryYear,omitempty"`
	CardHolderName     string `json:"cardHolderName,omitempty"`
	ReturnURLSuccess   string `json:"returnUrlSuccess,omitempty"`
	ReturnURLFailed    string `json:"returnUrlFailed,omitempty"`
	ReturnURLCancelled string `json:"returnUrlCancelled,omitempty"`
	WebhookURL         string `json:"webhookUrl,omitempty"`
	// Mcc is the merchant category code; "6012" (financial institution)
	// requires RecipientDetails.
	Mcc string `json:"mcc,omitempty"`
	// RecipientDetails: the person receiving the funds, for financial
	// institutions — an object, or (as the guide sends it) a string holding
	// one: {"lastname", "dateOfBirth", "postcode", "primaryAccountNumber"}.
	RecipientDetails json.RawMessage `json:"recipientDetails,omitempty"`

	// External 3-D Secure v2 (external3ds.go): the authentication the
	// merchant made with its own 3-D Secure provider (all four, with the
	// External MPI Provider flag), or an e-wallet token's cryptogram
	// (EwalletType ApplePay, GooglePay, SamsungPay or Other, with
	// ThreeDSecureCavv and ThreeDSecureEci, no CVC). The CAVV is handed to
	// the acquirer and never stored.
	ThreeDSecureVersion   string `json:"threeDSecureVersion,omitempty" doc:"external 3-D Secure: the protocol version, 2.x.y (needs the External MPI Provider flag)"`
	ThreeDSecureCavv      string `json:"threeDSecureCavv,omitempty" doc:"external 3-D Secure: the authentication value (base64), or an e-wallet token's cryptogram; never stored"`
	ThreeDSecureEci       Flex   `json:"threeDSecureEci,omitempty" doc:"external 3-D Secure: the two-digit electronic commerce indicator"`
	ThreeDSecureDSTransID string `json:"threeDSecureDSTransId,omitempty" doc:"external 3-D Secure: the directory server's transaction id (UUID)"`
	EwalletType           string `json:"ewalletType,omitempty" enum:"ApplePay,GooglePay,SamsungPay,Other" example:"ApplePay" doc:"an e-wallet token: no CVC, its cryptogram as threeDSecureCavv (needs the External MPI Provider flag)"`
	// PaymentPageReference names the hosted payment page the shopper sees:
	// one of the tenant's payment page templates (templates.go, any case),
	// or default; one that does not exist gets the default page and the
	// guide's warning "Supplied payment page reference does not exists.".
	PaymentPageReference string `json:"paymentPageReference,omitempty" example:"summer-sale" doc:"the payment page template of the hosted pages (logo, colours, texts; made in the back office); none or default: the tenant's default template; an unknown one gets the default page and a warning"`
}

// PaymentOrder is the merchant's order: its number, billing and shipping details
// and lines, echoed back as given.
type PaymentOrder struct {
	OrderNumber       string            `json:"orderNumber,omitempty"`
	CreateDateTimeUtc string            `json:"createDateTimeUtc,omitempty"`
	CustomerEmail     string            `json:"customerEmail,omitempty"`
	BillingAddress    json.RawMessage   `json:"billingAddress,omitempty"`
	BillingIdentity   json.RawMessage   `json:"billingIdentity,omitempty"`
	ShippingAddress   json.RawMessage   `json:"shippingAddress,omitempty"`
	ShippingIdentity  json.RawMessage   `json:"shippingIdentity,omitempty"`
	OrderLines        []json.RawMessage `json:"orderLines"`
}

// RecurrenceCriteria describe a recurring parent or child job.
type RecurrenceCriteria struct {
	RecurrenceType     string `json:"recurrenceType,omitempty"`
	RecurringExpiry    string `json:"recurringExpiry,omitempty"`
	RecurringFrequency Flex   `json:"recurringFrequency,omitempty"`
	Instalments        Flex   `json:"instalments,omitempty"`
}

// CardTokenisationRequest is the body of POST /api/gateway/card-tokenisation:
// the card to store in the vault and replace by a token.
type CardTokenisationRequest struct {
	CardNumber      string `json:"cardNumber"`
	CardHolderName  string `json:"cardHolderName,omitempty"`
	CardExpiryYear  Flex   `json:"cardExpiryYear"`
	CardExpiryMonth Flex   `json:"cardExpiryMonth"`
	CardCvc         Flex   `json:"cardCvc"`
	// CustomerReference stores the token for that customer: it is listed
	// in supported-payment-methods?customerReference= (tokenizedCards).
	CustomerReference string `json:"customerReference,omitempty"`
}

// CardTokenisationResponse is the envelope of a new card token.
type CardTokenisationResponse struct {
	Data CardToken `json:"data"`
	// Warnings are the guide's warning messages about the request, which
	// went through (e.g. "The maximum number of stored tokens for a
	// customer has been reached."); left out when there are none.
	Warnings []Warning `json:"warnings,omitempty"`
}

// Warning is one of the guide's warning messages ("Cashflows Gateway
// warning messages") in an answer that succeeded.
type Warning struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// CardToken is a tokenised card: the token to send as parameters.token
// instead of the card number, the expiry, the masked number.
type CardToken struct {
	Token               string `json:"token"`
	CardExpiryMonth     string `json:"cardExpiryMonth"`
	CardExpiryYear      string `json:"cardExpiryYear"`
	TruncatedCardNumber string `json:"truncatedCardNumber"`
	CustomerReference   string `json:"customerReference,omitempty"` // the customer it is stored for
}

// TokenizedCard is a customer's stored card in supported-payment-methods:
// the token to pay with, the masked number and the expiry.
type TokenizedCard struct {
	Token               string `json:"token"`
	TruncatedCardNumber string `json:"truncatedCardNumber"`
	CardExpiryMonth     string `json:"cardExpiryMonth"`
	CardExpiryYear      string `json:"cardExpiryYear"`
}

// DeleteCardTokenResponse is the answer of DELETE
// /api/gateway/customers/{customerReference}/tokens/{token}: the token
// removed, which no payment can use any more.
type DeleteCardTokenResponse struct {
	Data CardToken `json:"data"`
}

// CapturePaymentRequest is the body of POST …/payments/{ref}/captures.
type CapturePaymentRequest struct {
	AmountToCapture Flex `json:"amountToCapture"`
	IsFinalCapture  Flex `json:"isFinalCapture,omitempty"`
}

// RefundPaymentRequest is the body of POST …/payments/{ref}/refunds.
type RefundPaymentRequest struct {
	AmountToRefund Flex   `json:"amountToRefund"`
	RefundNumber   string `json:"refundNumber,omitempty"`
}

// GatewayLink is one of a response's links.
type GatewayLink struct {
	URL  string `json:"url"`
	Type string `json:"type"`
}

// GatewayLinks are a response's data, action and documentation links.
type GatewayLinks struct {
	Data          *GatewayLink `json:"data,omitempty"`
	Action        *GatewayLink `json:"action,omitempty"`
	Documentation *GatewayLink `json:"documentation,omitempty"`
}

// PaymentJobResponse is the envelope of a payment job.
type PaymentJobResponse struct {
	Data  PaymentJob   `json:"data"`
	Links GatewayLinks `json:"links"`
	// Warnings: the guide's warnings about this request (see Warning).
	Warnings []Warning `json:"warnings,omitempty"`
}

// GatewayPaymentResponse is the envelope of one payment.
type GatewayPaymentResponse struct {
	Data  GatewayPayment `json:"data"`
	Links GatewayLinks   `json:"links"`
	// Warnings: the guide's warnings about this request (see Warning).
	Warnings []Warning `json:"warnings,omitempty"`
}

// PaymentCaptureResponse is the envelope of a capture.
type PaymentCaptureResponse struct {
	Data PaymentCapture `json:"data"`
}

// PaymentRefundResponse is the envelope of a refund.
type PaymentRefundResponse struct {
	Data PaymentRefund `json:"data"`
}

// PaymentJob is a payment job as the guide shows it.
type PaymentJob struct {
	Reference                 string              `json:"reference"`
	CreateDateTimeUtc         string              `json:"createDateTimeUtc"`
	Type                      string              `json:"type"`
	TraceReference            string              `json:"traceReference"`
	ConfigurationID           string              `json:"configurationId"`
	Domain                    string              `json:"domain"`
	Locale                    string              `json:"locale"`
	TimeZone                  string              `json:"timeZone"`
	Order                     *PaymentOrder       `json:"order,omitempty"`
	OrderHistory              []any               `json:"orderHistory"`
	ParentPaymentJobReference string              `json:"parentPaymentJobReference,omitempty"`
	RecurrenceCriteria        *RecurrenceCriteria `json:"recurrenceCriteria,omitempty"`
	CustomerReference         string              `json:"customerReference,omitempty"`
	ParentFrameDomains        []string            `json:"parentFrameDomains,omitempty"`
	PaymentMethodsToUse       []string            `json:"paymentMethodsToUse"`
	Currency                  string              `json:"currency"`
	AmountToCollect           string              `json:"amountToCollect"`
	AmountCollected           string              `json:"amountCollected,omitempty"`
	PaidAmount                string              `json:"paidAmount,omitempty"`
	PaidDateTimeUtc           string              `json:"paidDateTimeUtc,omitempty"`
	ExpirationDateTimeUtc     string              `json:"expirationDateTimeUtc"`
	DueDateTimeUtc            string              `json:"dueDateTimeUtc,omitempty"`
	LastUpdateTimeUtc         string              `json:"lastUpdateTimeUtc"`
	LastProcessedTimeUtc      string              `json:"lastProcessedTimeUtc"`
	Flags                     map[string]bool     `json:"flags"`
	Attributes                map[string]any      `json:"attributes"`
	PaymentStatus             string              `json:"paymentStatus"`
	Payments                  []GatewayPayment    `json:"payments"`
}

// GatewayPayment is one payment of a job.
type GatewayPayment struct {
	Reference         string            `json:"reference"`
	CreateDateTimeUtc string            `json:"createDateTimeUtc"`
	PaymentMethods    []string          `json:"paymentMethods" doc:"the method the payment was taken with (Card or PayPal); while it waits on the hosted page, the job's methods"`
	Status            string            `json:"status"`
	AmountToCollect   string            `json:"amountToCollect"`
	SurchargeAmount   string            `json:"surchargeAmount"`
	PaidAmount        string            `json:"paidAmount,omitempty"`
	AuthorisedAmount  string            `json:"authorisedAmount,omitempty"`
	CapturedAmount    string            `json:"capturedAmount,omitempty"`
	RefundedAmount    string            `json:"refundedAmount,omitempty"`
	Steps             []PaymentStep     `json:"steps"`
	Flags             map[string]bool   `json:"flags"`
	Attributes        map[string]string `json:"attributes"`
	Refunds           []PaymentRefund   `json:"refunds"`
	Captures          []PaymentCapture  `json:"captures"`
}

// PaymentStep is one step of a payment.
type PaymentStep struct {
	Reference         string            `json:"reference"`
	CreateDateTimeUtc string            `json:"createDateTimeUtc"`
	Action            string            `json:"action"`
	PaymentMethods    []string          `json:"paymentMethods,omitempty"`
	Status            string            `json:"status"`
	AmountToCollect   string            `json:"amountToCollect,omitempty"`
	ResultAttributes  map[string]string `json:"resultAttributes,omitempty"`
}

// PaymentCapture is a capture of an authorised payment.
type PaymentCapture struct {
	Reference         string            `json:"reference"`
	CreateDateTimeUtc string            `json:"createDateTimeUtc"`
	Status            string            `json:"status"`
	AmountToCapture   string            `json:"amountToCapture"`
	IsFinalCapture    bool              `json:"isFinalCapture"`
	Attributes        map[string]string `json:"attributes"`
}

// PaymentRefund is a refund of a paid payment.
type PaymentRefund struct {
	Reference         string            `json:"reference"`
	CreateDateTimeUtc string            `json:"createDateTimeUtc"`
	RefundNumber      string            `json:"refundNumber"`
	Status            string            `json:"status"`
	AmountToRefund    string            `json:"amountToRefund"`
	Steps             []PaymentStep     `json:"steps"`
	Attributes        map[string]string `json:"attributes"`
}

// SupportedPaymentMethodsResponse is the body of GET supported-payment-methods.
type SupportedPaymentMethodsResponse struct {
	Data []SupportedPaymentMethod `json:"data"`
}

// SupportedPaymentMethod is one payment method the tenant may use.
type SupportedPaymentMethod struct {
	PaymentMethod        string          `json:"paymentMethod"`
	Logo                 string          `json:"logo"`
	IssuerList           []any           `json:"issuerList"`
	SupportsTokenisation bool            `json:"supportsTokenisation"`
	TokenizedCards       []TokenizedCard `json:"tokenizedCards"` // the customer's (?customerReference=), else empty
	Currencies           []string        `json:"currencies"`
	Description          string          `json:"description"`
}

// GatewaySettings are a tenant's gateway settings (GET and PUT
// /platform/gateway/settings, with the platform's api-key authentication:
// the merchant's "portal" configuration). PUT replaces them all: every
// field without omitempty must be present and not null (httpx.RequireAll),
// so a forgotten field is a 400, never a silent reset.
type GatewaySettings struct {
	ConfigurationID    string `json:"configurationId,omitempty"` // read-only
	SigningKey         string `json:"signingKey,omitempty"`      // read-only: the key behind the Hash header
	AutoCapture        bool   `json:"autoCapture"`
	FeeBasisPoints     int64  `json:"feeBasisPoints"` // fee charged at settlement, in 1/100 of a percent
	FeeFixedMinor      int64  `json:"feeFixedMinor"`  // plus a fixed fee per payment, in minor units
	ReturnURLSuccess   string `json:"returnUrlSuccess"`
	ReturnURLFailed    string `json:"returnUrlFailed"`
	ReturnURLCancelled string `json:"returnUrlCancelled"`
	WebhookURL         string `json:"webhookUrl"`
	RequireHMAC        bool   `json:"requireHmac"` // refuse the plain Hash scheme; require Signature + Timestamp
	// RequireHMACBodylessWrites refuses body-less writes (the cancel
	// PATCHes) signed with the plain Hash scheme: their Hash is the same as
	// any GET's. They are accepted with Signature + Timestamp.
	RequireHMACBodylessWrites bool `json:"requireHmacBodylessWrites"`
	// RefuseDirectCardPayments refuses card details in the API (payment
	// jobs with cardNumber, card tokenisation): cards are taken on the
	// hosted pages only. Tokens and recurring children still charge.
	RefuseDirectCardPayments bool `json:"refuseDirectCardPayments"`
	// MaxStoredTokensPerCustomer is how many tokens one customer may have
	// stored (1 to 100, 10 by default; 0 or left out in a PUT: unchanged).
	// A token made beyond it still
	// works but is not stored for the customer, with the guide's warning
	// "The maximum number of stored tokens for a customer has been reached.".
	MaxStoredTokensPerCustomer int64 `json:"maxStoredTokensPerCustomer,omitempty"`
	// EmbeddingDomains are the parent-frame origins (https://shop.example,
	// https://*.shop.example) the hosted payment pages may be embedded in
	// (CSP frame-ancestors); none by default. Left out in a PUT: unchanged.
	EmbeddingDomains *[]string `json:"embeddingDomains,omitempty"`
	// AutoCaptureRecurring is the guide's "Auto Capture Recurring
	// Transactions": whether recurring child payments are captured at once
	// (else authorised only, captured within 7 days). Left out in a PUT:
	// unchanged; never set, it follows autoCapture.
	AutoCaptureRecurring *bool `json:"autoCaptureRecurring,omitempty"`
	// PaymentMethodsEnabled are the payment methods the tenant offers (the
	// names supported-payment-methods gives: Card, CreditCard — both by
	// default — and PayPal, off until enabled): supported-payment-methods lists only these, a payment job
	// asking for another is refused ("Payment method not allowed."), and
	// with none no payment job is made ("Unable to create paymentjob
	// without payment methods available."). Left out in a PUT: unchanged.
	PaymentMethodsEnabled *[]string `json:"paymentMethodsEnabled,omitempty" doc:"the payment methods enabled: Card, CreditCard (the default) and PayPal (off until enabled); left out in a PUT: unchanged"`

	// ExternalMPIProvider is the guide's External MPI Provider flag
	// (external3ds.go): card payment jobs carry the authentication of the
	// merchant's own 3-D Secure provider (ThreeDSecureVersion, Cavv, Eci,
	// DSTransId) and cashgate runs no challenge of its own; every payment
	// job must carry all its payment details; the Virtual Terminal and
	// payment links are unavailable. Off by default; left out in a PUT:
	// unchanged.
	ExternalMPIProvider *bool `json:"externalMpiProvider,omitempty" doc:"External MPI Provider: payments carry the merchant's own 3-D Secure v2 authentication; Virtual Terminal and payment links unavailable (left out: unchanged)"`
	// CreditPayments (credit.go): whether payment jobs of type Credit may
	// pay money to a card, from the merchant's available balance, and the
	// limits per currency. Off by default; left out in a PUT: unchanged.
	CreditPayments *CreditPaymentSettings `json:"creditPayments,omitempty" doc:"credit payments (type Credit: money to a card) and their limits per currency (left out: unchanged)"`
}

// CreditPaymentSettings are a tenant's credit payments (credit.go).
type CreditPaymentSettings struct {
	Enabled bool `json:"enabled"`
	// Limits per currency code: a currency not listed cannot be credited.
	Limits map[string]CreditLimit `json:"limits"`
}

// CreditLimit bounds the credit payments in one currency (decimal amounts
// such as "500.00"): each one, and their total per day (the tenant's time
// zone).
type CreditLimit struct {
	PerPayment string `json:"perPayment" example:"500.00"`
	PerDay     string `json:"perDay" example:"2000.00"`
}
