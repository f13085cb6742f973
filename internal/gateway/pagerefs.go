package gateway

import "strings"

// Payment page references (the guide's warning "Supplied payment page
// reference does not exists."). A payment job may name the hosted payment
// page its shopper sees (parameters.paymentPageReference). cashgate has one
// hosted page today, its own, whose reference is DefaultPaymentPage; a job
// naming another is created all the same, with the default page, and its
// answer carries the warning (field paymentPageReference). Hosted checkout
// templates, when a tenant can make them, are the other references this
// lookup will know.

// DefaultPaymentPage is the reference of cashgate's built-in hosted page.
const DefaultPaymentPage = "default"

// knownPaymentPage reports whether ref names a hosted payment page.
func knownPaymentPage(ref string) bool {
	return strings.EqualFold(strings.TrimSpace(ref), DefaultPaymentPage)
}

// pageRefWarnings are the warnings about the request's payment page
// reference: none, or the guide's when it names no page.
func pageRefWarnings(p *RequestParameters) []Warning {
	if p == nil || strings.TrimSpace(p.PaymentPageReference) == "" || knownPaymentPage(p.PaymentPageReference) {
		return nil
	}
	return []Warning{MsgPageNotFound.warning("paymentPageReference")}
}
