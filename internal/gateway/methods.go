package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/store"
)

// Payment methods a tenant enables (seed 003: "Before you can display any
// payment methods on a checkout page, you need to enable them in Cashflows
// Portal."). cashgate's methods are the ones supported-payment-methods
// gives: Card and CreditCard, both cards of the card simulator (enabled
// by default), and PayPal (paypal.go: off until the tenant enables it, as
// the guide's "you first need to … have PayPal enabled on your account").
// A tenant enables any of them or none. A payment job's
// paymentMethodsToUse must name enabled ones ("card" and "debitcard" ask
// for Card, "creditcard" for CreditCard, "paypal" for PayPal); a job that
// names none takes the cards; with none enabled no payment job is made,
// and the hosted page of an existing one takes no payment.
const (
	MethodCard       = "Card"
	MethodCreditCard = "CreditCard"
	MethodPayPal     = "PayPal"
)

// PaymentMethods are the payment methods a tenant can enable, in the order
// supported-payment-methods lists them.
func PaymentMethods() []string { return []string{MethodCard, MethodCreditCard, MethodPayPal} }

// DefaultMethods are the payment methods of a tenant that never chose:
// the cards (PayPal is enabled on request).
func DefaultMethods() []string { return []string{MethodCard, MethodCreditCard} }

// isCardMethod reports whether m is one of the card methods.
func isCardMethod(m string) bool { return m == MethodCard || m == MethodCreditCard }

// MsgNoMethodsAvailable is the guide's error for a payment job of a tenant
// that has no payment method enabled.
// MsgMethodRequiredUnderMPI refuses a job that names no payment method
// where the guide says it must: "If multiple payment methods are enabled
// while External MPI Provider is enabled, the create payment job request
// needs to specify the desired payment method with the paymentMethodsToUse
// field." The guide gives no message for it; this one is cashgate's.
var MsgMethodRequiredUnderMPI = GuideMsg{Code: "PaymentMethodRequired",
	Message: "Specify the payment method in paymentMethodsToUse: more than one payment method is enabled and so is the External MPI Provider."}

var MsgNoMethodsAvailable = GuideMsg{Code: "NoPaymentMethodsAvailable", Message: "Unable to create paymentjob without payment methods available."}

// methodAsked is the payment method a paymentMethodsToUse entry asks for.
func methodAsked(s string) (string, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "card", "debitcard":
		return MethodCard, true
	case "creditcard":
		return MethodCreditCard, true
	case "paypal":
		return MethodPayPal, true
	}
	return "", false
}

// parseEnabledMethods checks the paymentMethodsEnabled of a PUT: known
// names (any case), each once, returned in PaymentMethods' order.
func parseEnabledMethods(in []string) ([]string, error) {
	out := []string{}
	for _, m := range PaymentMethods() {
		for _, v := range in {
			if strings.EqualFold(strings.TrimSpace(v), m) {
				out = append(out, m)
				break
			}
		}
	}
	for _, v := range in {
		if !slices.ContainsFunc(out, func(m string) bool { return strings.EqualFold(strings.TrimSpace(v), m) }) {
			return nil, apperr.InvalidField("paymentMethodsEnabled", "paymentMethodsEnabled may hold %s (supported-payment-methods lists them); %q is not one of them.",
				strings.Join(PaymentMethods(), ", "), v)
		}
	}
	return out, nil
}

// checkMethodsEnabled refuses a payment job asking for a method the tenant
// has not enabled (asked nil: the job takes the cards, or PayPal where no
// card is enabled: jobMethods).
func checkMethodsEnabled(asked *[]string, enabled []string) error {
	if len(enabled) == 0 {
		return MsgNoMethodsAvailable.Invalid("paymentMethodsToUse")
	}
	if asked == nil {
		return nil
	}
	for _, v := range *asked {
		if m, ok := methodAsked(v); !ok || !slices.Contains(enabled, m) {
			return MsgMethodNotAllowed.Invalid("paymentMethodsToUse")
		}
	}
	return nil
}

// decodeMethods reads the payment_methods column.
func decodeMethods(raw string) ([]string, error) {
	out := []string{}
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		return nil, fmt.Errorf("gateway: payment methods: %w", err)
	}
	return out, nil
}

// putSettingsExtras sets, in tx after the settings row was written, the
// settings a PUT may leave out: the recurring auto-capture switch and the
// enabled payment methods (nil: unchanged).
func putSettingsExtras(ctx context.Context, tx *store.Tx, tenantID string, in GatewaySettings) error {
	if in.AutoCaptureRecurring != nil {
		if _, err := tx.ExecContext(ctx, `UPDATE gateway_settings SET auto_capture_recurring = $1 WHERE tenant_id = $2`, *in.AutoCaptureRecurring, tenantID); err != nil {
			return fmt.Errorf("gateway: recurring auto capture: %w", err)
		}
	}
	if in.PaymentMethodsEnabled != nil {
		if _, err := tx.ExecContext(ctx, `UPDATE gateway_settings SET payment_methods = $1 WHERE tenant_id = $2`, mustJSON(*in.PaymentMethodsEnabled), tenantID); err != nil {
			return fmt.Errorf("gateway: payment methods: %w", err)
		}
	}
	return nil
}

// checkMethodNamedUnderMPI applies the guide's rule for tenants with the
// External MPI Provider flag: with cards and PayPal both enabled, a job
// must name its method (the card kinds are one method: the card).
func checkMethodNamedUnderMPI(asked *[]string, enabled []string, mpi bool) error {
	if mpi && (asked == nil || len(*asked) == 0) && slices.ContainsFunc(enabled, isCardMethod) && slices.Contains(enabled, MethodPayPal) {
		return MsgMethodRequiredUnderMPI.Invalid("paymentMethodsToUse")
	}
	return nil
}
