package gateway

import "context"

// Payment page references (the guide's warning "Supplied payment page
// reference does not exists."). A payment job may name the hosted payment
// page its shopper sees (parameters.paymentPageReference): one of the
// tenant's payment page templates (templates.go; matched in any case), or
// DefaultPaymentPage, the tenant's default template (cashgate's own look
// without one). A job naming another is created all the same, with the
// default page, and its answer carries the warning (field
// paymentPageReference).

// DefaultPaymentPage is the reference of the default hosted page.
const DefaultPaymentPage = "default"

// pageRefOf checks the request's payment page reference: the template it
// names (kept with the job: jobParams.PageRef), or "" and the guide's
// warning when it names none. The default page's reference, or none, is
// "" without a warning.
func (s *Service) pageRefOf(ctx context.Context, tenantID string, p *RequestParameters) (string, []Warning, error) {
	if p == nil {
		return "", nil, nil
	}
	ref := normPageRef(p.PaymentPageReference)
	if ref == "" || ref == DefaultPaymentPage {
		return "", nil, nil
	}
	ok, err := pageTemplateExists(ctx, s.DB.Read(), tenantID, ref)
	if err != nil || ok {
		return ref, nil, err
	}
	return "", []Warning{MsgPageNotFound.warning("paymentPageReference")}, nil
}
