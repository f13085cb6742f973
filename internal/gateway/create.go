package gateway

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/card"
	"github.com/cashgate/cashgate/internal/cardpay"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/money"
	"github.com/cashgate/cashgate/internal/outbox"
	"github.com/cashgate/cashgate/internal/store"
)

// Job kinds of the gateway's scheduled work.
const (
	KindSettle         = "gateway.settle"      // the midnight settlement batch of one tenant and day
	KindAuthExpiry     = "gateway.auth_expiry" // an authorisation not captured within 7 days
	KindJobExpiry      = "gateway.job_expiry"  // a payment job reaching its expiration
	EventPaymentStatus = "gateway.payment.status_changed"
)

type options struct {
	moto, generateToken, recurringParent, storedCredentials bool
	// ewallet: the card is an e-wallet token (parameters.ewalletType), paid
	// without a CVC (external3ds.go); credit: a credit payment (type
	// Credit), which needs no CVC either (credit.go).
	ewallet, credit bool
}

func parseOptions(in []string) (options, error) {
	var o options
	for _, s := range in {
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "ismoto":
			o.moto = true
		case "generatetoken":
			o.generateToken = true
		case "isrecurringpaymentjobparent":
			o.recurringParent = true
		case "usingstoredcredentials":
			o.storedCredentials = true
		default:
			return o, apperr.InvalidField("options", "Unknown option %q.", s)
		}
	}
	return o, nil
}

// parseMethods reads paymentMethodsToUse: the job's methods as it keeps and
// answers them, Card for any card ("card", "creditcard", "debitcard") and
// PayPal, each once in the order asked. Left out, the job takes cards
// (jobMethods may change that for a tenant without them).
func parseMethods(in *[]string) ([]string, error) {
	if in == nil {
		return []string{MethodCard}, nil
	}
	if len(*in) == 0 {
		return nil, MsgNoMethod.Invalid("paymentMethodsToUse")
	}
	out := []string{}
	for _, v := range *in {
		m, ok := methodAsked(v)
		if !ok {
			return nil, MsgMethodNotAllowed.Invalid("paymentMethodsToUse")
		}
		if isCardMethod(m) {
			m = MethodCard
		}
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out, nil
}

// jobMethods are the methods of a job that did not name any: the cards, or
// PayPal for a tenant that enabled PayPal alone.
func jobMethods(asked *[]string, parsed, enabled []string) []string {
	if asked == nil && !slices.ContainsFunc(enabled, isCardMethod) && slices.Contains(enabled, MethodPayPal) {
		return []string{MethodPayPal}
	}
	return parsed
}

// checkCardless refuses a job without the Card method that needs a card:
// one that comes with its card, a MOTO, a recurring parent or child, a
// tokenising job, a credit, the Virtual Terminal's.
func checkCardless(methods []string, needsCard bool) error {
	if needsCard && !slices.Contains(methods, MethodCard) {
		return MsgMethodNotAllowed.Invalid("paymentMethodsToUse")
	}
	return nil
}

func parseExpiration(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return JobExpiry(now), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			t = t.UTC().Truncate(time.Microsecond)
			if !t.After(now) {
				return time.Time{}, apperr.InvalidField("expirationDateTimeUtc", "expirationDateTimeUtc must be in the future.")
			}
			if t.After(JobExpiry(now)) {
				return time.Time{}, apperr.InvalidField("expirationDateTimeUtc", "expirationDateTimeUtc must be within six months.")
			}
			return t, nil
		}
	}
	return time.Time{}, apperr.InvalidField("expirationDateTimeUtc", "expirationDateTimeUtc must be a UTC date and time such as 2021-01-20T16:50:01.")
}

func parseAmount(field string, f Flex, cur money.Currency) (int64, error) {
	if f == "" {
		return 0, apperr.InvalidField(field, "%s is required.", field)
	}
	a, err := money.ParseDecimal(strings.TrimSpace(string(f)), cur)
	if err != nil || a.Minor > ledger.MaxAmount {
		return 0, apperr.InvalidField(field, "%s must be a decimal amount in %s such as \"10.00\".", field, cur.Code())
	}
	return a.Minor, nil
}

// cardInput is the card of a request after validation.
type cardInput struct {
	present bool
	details card.Details
	stored  *card.Stored // when paying with a token or a parent job's card
}

func (s *Service) parseCard(ctx context.Context, tenantID string, p *RequestParameters, o options, now time.Time) (cardInput, error) {
	if p == nil || (p.CardNumber == "" && p.Token == "") {
		return cardInput{}, nil
	}
	in := cardInput{present: true}
	if p.Token != "" {
		if p.CardNumber != "" {
			return cardInput{}, apperr.InvalidField("token", "Give either cardNumber or token, not both.")
		}
		// Only the tenant's own tokens are found: another tenant's token is
		// as unknown as a made-up one.
		st, pan, err := s.Vault.OpenToken(ctx, s.DB.Read(), tenantID, strings.TrimSpace(p.Token))
		if apperr.Is(err, apperr.NotFound) {
			return cardInput{}, apperr.InvalidField("token", "The card token is not known.")
		}
		if err != nil {
			return cardInput{}, err
		}
		in.stored = &st
		in.details = card.Details{Number: pan, ExpiryMonth: st.ExpiryMonth, ExpiryYear: st.ExpiryYear, HolderName: st.HolderName}
		// The guide's token payment repeats the expiry: a reissued card
		// keeps its number and changes its expiry.
		if p.CardExpiryMonth != "" || p.CardExpiryYear != "" {
			m, y, err := card.ParseExpiry(strings.TrimSpace(string(p.CardExpiryMonth)), strings.TrimSpace(string(p.CardExpiryYear)))
			if err != nil {
				return cardInput{}, err
			}
			in.details.ExpiryMonth, in.details.ExpiryYear = m, y
		}
	} else {
		in.details.Number = card.Normalize(p.CardNumber)
		m, y, err := card.ParseExpiry(strings.TrimSpace(string(p.CardExpiryMonth)), strings.TrimSpace(string(p.CardExpiryYear)))
		if err != nil {
			return cardInput{}, err
		}
		in.details.ExpiryMonth, in.details.ExpiryYear = m, y
	}
	if p.CardHolderName != "" {
		in.details.HolderName = strings.TrimSpace(p.CardHolderName)
	}
	in.details.CVC = strings.TrimSpace(string(p.CardCvc))
	requireCVC := in.stored == nil && !o.storedCredentials && !o.ewallet && !o.credit
	if err := in.details.Validate(now, requireCVC); err != nil {
		return cardInput{}, err
	}
	return in, nil
}

// Create creates a payment job (POST /api/gateway/payment-jobs) for the
// tenant's configuration and, when the request carries a card, processes
// its payment as far as it can go without the shopper.
func (s *Service) Create(ctx context.Context, tenantID, configID string, req CreatePaymentJobRequest) (*job, error) {
	return s.create(ctx, tenantID, configID, req, createOpts{})
}

// createOpts are what the gateway's own pages add to a job they create
// through Create's path: a payment link (links.go) or a Virtual Terminal
// payment (terminal.go).
type createOpts struct {
	link     *linkSpec // the job is a payment link: flagged, listed in gateway_links
	terminal bool      // an agent's MOTO payment in the back office (flags.virtualTerminal)
}

func (s *Service) create(ctx context.Context, tenantID, configID string, req CreatePaymentJobRequest, co createOpts) (*job, error) {
	now := s.now()
	credit := strings.EqualFold(strings.TrimSpace(req.Type), JobTypeCredit) // credit.go
	if req.Type != "" && !strings.EqualFold(req.Type, "Payment") && !credit {
		return nil, apperr.InvalidField("type", "type must be Payment or Credit.")
	}
	cur, err := money.ParseCurrency(strings.ToUpper(strings.TrimSpace(req.Currency)))
	if err != nil {
		return nil, apperr.InvalidField("currency", "currency must be an ISO 4217 code such as GBP.")
	}
	if !slices.Contains(AcceptedCurrencies(), cur.Code()) {
		return nil, apperr.InvalidField("currency", "currency %s is not accepted; the accepted currencies are %s (supported-payment-methods lists them).",
			cur.Code(), strings.Join(AcceptedCurrencies(), ", "))
	}
	o, err := parseOptions(req.Options)
	if err != nil {
		return nil, err
	}
	amt, err := parseAmount("amountToCollect", req.AmountToCollect, cur)
	if err != nil {
		return nil, err
	}
	if amt == 0 && !o.recurringParent {
		return nil, MsgInvalidAmount.Invalid("amountToCollect")
	}
	methods, err := parseMethods(req.PaymentMethodsToUse)
	if err != nil {
		return nil, err
	}
	expires, err := parseExpiration(req.ExpirationDateTimeUtc, now)
	if err != nil {
		return nil, err
	}
	var params jobParams
	if p := req.Parameters; p != nil {
		params = jobParams{ReturnSuccess: p.ReturnURLSuccess, ReturnFailed: p.ReturnURLFailed, ReturnCancel: p.ReturnURLCancelled, WebhookURL: p.WebhookURL,
			MCC: strings.TrimSpace(p.Mcc)}
		for _, u := range []struct{ f, v string }{{"returnUrlSuccess", p.ReturnURLSuccess}, {"returnUrlFailed", p.ReturnURLFailed},
			{"returnUrlCancelled", p.ReturnURLCancelled}, {"webhookUrl", p.WebhookURL}} {
			if u.v != "" {
				if err := checkURL(u.f, u.v); err != nil {
					return nil, err
				}
			}
		}
	}
	if params.MCC != "" && (len(params.MCC) != 4 || !isReference(params.MCC)) {
		return nil, apperr.InvalidField("mcc", "mcc must be a merchant category code of 4 digits, such as 6012.")
	}
	if params.Recipient, err = s.recipientOf(req, now); err != nil {
		return nil, err
	}
	if params.Recipient == nil && params.MCC == MCCFinancialInstitution {
		return nil, recipientError("", "recipientDetails are required for a financial institution's payment (mcc 6012)")
	}
	if params.Recurrence, err = recurrenceOf(req, o, now); err != nil {
		return nil, err
	}
	var order PaymentOrder
	if req.Order != nil {
		order = *req.Order
		order.OrderNumber = strings.TrimSpace(order.OrderNumber)
		order.CreateDateTimeUtc = ""
		if len(order.OrderNumber) > 100 {
			return nil, apperr.InvalidField("orderNumber", "orderNumber must be at most 100 characters.")
		}
	}
	if order.CustomerEmail, err = customerEmailOf(req, order.CustomerEmail); err != nil {
		return nil, err
	}
	if params.Customer, err = parseCustomerRef(req.CustomerReference); err != nil {
		return nil, err
	}
	if params.FrameDomains, err = s.jobFrameDomains(ctx, tenantID, req.ParentFrameDomains); err != nil {
		return nil, err
	}
	locale := req.Locale
	if locale == "" {
		locale = "en_GB"
	}
	if err := checkLocale(locale); err != nil {
		return nil, err
	}
	// A tenant that takes cards only on its hosted pages refuses the card
	// before anything about it is checked.
	st, err := s.requestSettings(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if err := checkMethodsEnabled(req.PaymentMethodsToUse, st.Methods); err != nil {
		return nil, err
	}
	if err := checkMethodNamedUnderMPI(req.PaymentMethodsToUse, st.Methods, st.ExternalMPI); err != nil {
		return nil, err
	}
	methods = jobMethods(req.PaymentMethodsToUse, methods, st.Methods)
	if err := checkPayPalCurrency(methods, cur.Code()); err != nil {
		return nil, err
	}
	// The Virtual Terminal is cashgate's own page, as the hosted pages are.
	if st.RefuseDirectCards && !co.terminal && req.Parameters != nil && req.Parameters.CardNumber != "" {
		return nil, MsgDirectCardForbidden.Invalid("cardNumber")
	}
	x, err := parseExternalAuth(req.Parameters)
	if err != nil {
		return nil, err
	}
	o.ewallet = x != nil && x.Wallet != ""
	o.credit = credit
	var ci cardInput
	var parent *job
	if ref := strings.TrimSpace(req.ParentPaymentJobReference); ref != "" {
		if p := req.Parameters; p != nil && (p.CardNumber != "" || p.Token != "") {
			return nil, apperr.InvalidField("parentPaymentJobReference", "A recurring child payment job charges its parent's card: leave out cardNumber and token.")
		}
		if parent, ci, err = s.parentCard(ctx, tenantID, ref); err != nil {
			return nil, err
		}
		if err := checkChildCriteria(parent.Params.Recurrence, params.Recurrence); err != nil {
			return nil, err
		}
		if err := s.checkRecurrence(ctx, s.DB.Read(), parent, now); err != nil {
			return nil, err
		}
	} else if ci, err = s.parseCard(ctx, tenantID, req.Parameters, o, now); err != nil {
		return nil, err
	}
	if err := s.checkTokenCustomer(ctx, tenantID, ci, params.Customer); err != nil {
		return nil, err
	}
	needsCard := ci.present || parent != nil || o.moto || o.recurringParent || o.generateToken || credit || co.terminal
	if err := checkCardless(methods, needsCard); err != nil {
		return nil, err
	}
	sp := externalAuthSpec{mpi: st.ExternalMPI, moto: o.moto, child: parent != nil, link: co.link != nil, card: ci, storedCredentials: o.storedCredentials}
	if req.Parameters != nil {
		sp.cvc = strings.TrimSpace(string(req.Parameters.CardCvc))
	}
	var ext *card.ExternalAuth
	if credit {
		err = checkCredit(st, creditRequest{req: req, card: ci, ext: x, child: parent != nil, cur: cur, amount: amt})
	} else {
		ext, err = externalAuthOf(x, sp)
	}
	if err != nil {
		return nil, err
	}

	pageRef, pageWarnings, err := s.pageRefOf(ctx, tenantID, req.Parameters)
	if err != nil {
		return nil, err
	}
	params.PageRef = pageRef

	flags := map[string]bool{}
	if o.moto {
		flags["moto"] = true
	}
	if o.generateToken {
		flags["generateToken"] = true
	}
	if o.recurringParent {
		flags["recurringParent"] = true
	}
	if ci.present {
		flags["direct"] = true
	}
	if co.terminal {
		flags["virtualTerminal"] = true
	}
	if co.link != nil {
		flags["paymentLink"] = true
		params.Description = co.link.Description
	}
	j := &job{
		Ref: s.IDs.Digits(18), TenantID: tenantID, ConfigID: configID, TraceRef: s.IDs.Digits(18), Type: "Payment", Locale: locale,
		OrderNumber: order.OrderNumber, Order: order, Methods: methods, Options: req.Options, Flags: flags, Params: params,
		Currency: cur, Amount: amt, Status: StPending, ExpiresAt: expires, DueAt: now.Add(DueAfter), CreatedAt: now, UpdatedAt: now,
		Warnings: pageWarnings,
	}
	if j.Options == nil {
		j.Options = []string{}
	}
	if parent != nil {
		j.Parent = parent.Ref
	}
	p := &payment{Ref: s.IDs.Digits(18), JobRef: j.Ref, TenantID: tenantID, Status: StPending, Currency: cur, Amount: amt,
		MOTO: o.moto, CreatedAt: now, UpdatedAt: now}
	j.Payments = []*payment{p}
	if credit {
		p.MaskedPAN = card.Mask(ci.details.Number)
		return s.startCredit(ctx, j, p, ci, st)
	}

	var out cardpay.Outcome
	if ci.present {
		p.MaskedPAN = card.Mask(ci.details.Number)
		ch := chargeOf(j, p, ci.details)
		// A stored card paid with UsingStoredCredentials is merchant-initiated
		// unless the request authenticates it; a PAN paid so (CV2less) must be
		// authenticated by 3-D Secure v2 (external3ds.go).
		ch.MerchantInitiated = (parent != nil || o.storedCredentials && ci.stored != nil) && ext == nil
		ch.External = ext
		ch.Require3DS = o.storedCredentials && ci.stored == nil && ext == nil
		out, err = s.assess(ctx, ch)
		if err != nil {
			return nil, err
		}
		if out.NeedsChallenge() {
			p.PageToken = s.IDs.Secret(32)
		}
	} else {
		p.PageToken = s.IDs.Secret(32)
	}
	// The card is vaulted when the payment needs it later: to authorise
	// after 3-D Secure, to be tokenised (GenerateToken), to be charged by
	// recurring children. It gets a token only once the payment succeeded.
	needVault := ci.present && ci.stored == nil && (out.NeedsChallenge() || o.generateToken || o.recurringParent) && !out.Refused()

	err = s.DB.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		// Fresh copies: a retried transaction starts from the same state.
		jj, pp := *j, *p
		jj.Payments = []*payment{&pp}
		if parent != nil {
			if err := s.lockParent(ctx, tx, tenantID, parent.Ref); err != nil {
				return err
			}
			if err := s.checkRecurrence(ctx, tx, parent, now); err != nil {
				return err
			}
		}
		if needVault {
			sc, err := s.Vault.Store(ctx, tx, tenantID, ci.details, now, false)
			if err != nil {
				return err
			}
			pp.CardID = sc.ID
		} else if ci.stored != nil {
			pp.CardID = ci.stored.ID
		}
		if ci.present && !out.NeedsChallenge() {
			// Processed at once: job and payment are written once, in their
			// final state.
			if err := s.applyOutcome(ctx, tx, &jj, &pp, out, st, "Start", now, true); err != nil {
				return err
			}
		} else if err := insertJob(ctx, tx, &jj); err != nil {
			return err
		}
		switch {
		case !ci.present:
			pp.Steps = []step{{Ref: s.IDs.Digits(18), Action: "DisplayHostedPage", Status: StPending, Amount: amt, CreatedAt: now}}
		case out.NeedsChallenge():
			pp.ThreeDS = string(out.ThreeDS)
			pp.CVCResult = out.CVCResult
			pp.Acquiring = mustJSON(acquiringOf(out))
			pp.Steps = []step{{Ref: s.IDs.Digits(18), Action: "Start", Status: StPending, Amount: amt, CreatedAt: now}}
		}
		if !ci.present || out.NeedsChallenge() {
			if err := insertPayment(ctx, tx, &pp); err != nil {
				return err
			}
		}
		if co.link != nil {
			if err := insertLink(ctx, tx, &jj, pp.PageToken); err != nil {
				return err
			}
		}
		if jj.Status == StPending || jj.Status == StAuthorised {
			if err := s.scheduleJobExpiry(ctx, tx, &jj); err != nil {
				return err
			}
		}
		*j, *p = jj, pp
		j.Payments = []*payment{p}
		return httpx.Answer(ctx, tx, j) // the answer commits with the payment (httpx.Answering)
	})
	if err != nil {
		return nil, err
	}
	if p.PendingAmount > 0 {
		s.rememberSettlement(ctx, tenantID, now) // committed: the batch of the day is scheduled
	}
	return j, nil
}

type refPayload struct {
	Ref string `json:"ref"`
}

// scheduleJobExpiry makes sure job j expires at its expiration (once: the
// job is unique per job reference).
func (s *Service) scheduleJobExpiry(ctx context.Context, tx *store.Tx, j *job) error {
	_, _, err := s.Outbox.Enqueue(ctx, tx, outbox.JobSpec{Kind: KindJobExpiry, TenantID: j.TenantID,
		Payload: refPayload{Ref: j.Ref}, RunAt: j.ExpiresAt, UniqueKey: KindJobExpiry + ":" + j.Ref})
	return err
}

// applyOutcome records the acquirer's answer on a payment in tx: the
// statuses, the step, the ledger movement (a sale or a hold to
// merchant/pending of the tenant, by the card engine), the scheduled work
// and the notification.
//
// fresh means neither row exists yet: they are inserted in their final
// state instead of updated.
func (s *Service) applyOutcome(ctx context.Context, tx *store.Tx, j *job, p *payment, out cardpay.Outcome, st settings, action string, now time.Time, fresh bool) error {
	p.CVCResult = out.CVCResult
	p.UpdatedAt, j.UpdatedAt = now, now
	if out.Auth.TransactionID != "" {
		p.TxnID = out.Auth.TransactionID
	}
	if p.Method != MethodPayPal { // a PayPal payment keeps its PayPal details (paypal.go)
		details := acquiringOf(out)
		p.Acquiring = authDetails(&details, out.Auth, p.MaskedPAN)
	}
	if out.Refused() {
		p.Status = StFailed
		j.closeDirect()
	} else if p.Amount == 0 {
		p.Status, p.CaptureClosed, p.PaidAt = StPaid, true, now
		j.Status, j.PaidAt = StPaid, now
	} else {
		// The tenant's merchant/pending is the destination (SaleSpec.To "").
		spec := cardpay.SaleSpec{Scope: p.TenantID, Currency: p.Currency.Code(), Amount: p.Amount, Reference: p.Ref, Via: p.via()}
		p.Authorised = p.Amount
		if st.autoCaptures(j) {
			if err := s.Cards.Sale(ctx, tx, spec); err != nil {
				return err
			}
			p.Captured, p.PendingAmount, p.CaptureClosed = p.Amount, p.Amount, true
			p.FirstCaptureAt, p.LastCaptureAt, p.PaidAt = now, now, now
			p.Status = StPaid
			j.Status, j.Collected, j.PaidAt = StPaid, p.Amount, now
			if err := s.scheduleSettlement(ctx, tx, p.TenantID, now); err != nil {
				return err
			}
		} else {
			hold, err := s.Cards.Hold(ctx, tx, spec)
			if err != nil {
				return err
			}
			p.HoldID = hold
			p.Status = StAuthorised
			j.Status = StAuthorised
			if _, _, err := s.Outbox.Enqueue(ctx, tx, outbox.JobSpec{Kind: KindAuthExpiry, TenantID: p.TenantID,
				Payload: refPayload{Ref: p.Ref}, RunAt: now.Add(AuthorisationTTL), UniqueKey: KindAuthExpiry + ":" + p.Ref}); err != nil {
				return err
			}
		}
	}
	if !out.Refused() && j.Flags["generateToken"] && p.CardID != "" && p.Token == "" {
		// GenerateToken: the card becomes usable by token once its payment
		// succeeded (the token shows in the payment's attributes).
		tok, err := s.Vault.Tokenise(ctx, tx, p.TenantID, p.CardID)
		if err != nil {
			return err
		}
		p.Token = tok
		if c := j.Params.Customer; c != "" {
			stored, err := storeForCustomer(ctx, tx, p.TenantID, c, tok, p.CardID, now)
			if err != nil {
				return err
			}
			if !stored {
				j.Warnings = append(j.Warnings, MsgMaxStoredTokens.warning("customerReference"))
			}
		}
	}
	stp := step{Ref: s.IDs.Digits(18), Seq: len(p.Steps), Action: action, Status: p.Status, Amount: p.Amount, Message: p.declineMsg(out.Declined).Message, CreatedAt: now}
	p.Steps = append(p.Steps, stp)
	if fresh {
		if err := insertJob(ctx, tx, j); err != nil {
			return err
		}
		if err := insertPayment(ctx, tx, p); err != nil {
			return err
		}
	} else {
		if err := insertStep(ctx, tx, p.Ref, &stp); err != nil {
			return err
		}
		if err := savePayment(ctx, tx, p); err != nil {
			return err
		}
		if err := saveJob(ctx, tx, j); err != nil {
			return err
		}
	}
	return s.notify(ctx, tx, j, p, st)
}

// scheduleSettlement makes sure the tenant's settlement batch for the day
// of now runs at the next midnight in its time zone. The batch is unique per
// tenant and cutoff instant (not local date): should the tenant's zone
// change, the new zone's midnight gets its own batch.
func (s *Service) scheduleSettlement(ctx context.Context, tx *store.Tx, tenantID string, now time.Time) error {
	loc, _, err := s.zone(ctx, tenantID)
	if err != nil {
		return err
	}
	cutoff := midnightAfter(now, loc)
	if s.settlementScheduled(tenantID, cutoff) {
		return nil
	}
	_, _, err = s.Outbox.Enqueue(ctx, tx, outbox.JobSpec{Kind: KindSettle, TenantID: tenantID,
		Payload: settlePayload{Cutoff: cutoff.UnixMicro()}, RunAt: cutoff,
		UniqueKey: KindSettle + ":" + tenantID + ":" + cutoff.UTC().Format(time.RFC3339)})
	return err
}

type settlePayload struct {
	Cutoff int64 `json:"cutoff"` // unix microseconds: settle what was captured before
}

// parentCard returns a recurring parent job and the card of its paid payment.
func (s *Service) parentCard(ctx context.Context, tenantID, ref string) (*job, cardInput, error) {
	parent, err := s.readJob(ctx, tenantID, ref)
	if apperr.Is(err, apperr.NotFound) {
		return nil, cardInput{}, MsgNotRecurringParent.Invalid("parentPaymentJobReference")
	}
	if err != nil {
		return nil, cardInput{}, err
	}
	if !parent.Flags["recurringParent"] {
		return nil, cardInput{}, MsgNotRecurringParent.Invalid("parentPaymentJobReference")
	}
	for _, p := range parent.Payments {
		if (p.Status == StPaid || p.Status == StAuthorised || p.Status == StRefunded || p.Status == StPartiallyRefunded) && p.CardID != "" {
			st, pan, err := s.Vault.Open(ctx, s.DB.Read(), tenantID, p.CardID)
			if err != nil {
				return nil, cardInput{}, err
			}
			return parent, cardInput{present: true, stored: &st, details: card.Details{Number: pan, ExpiryMonth: st.ExpiryMonth,
				ExpiryYear: st.ExpiryYear, HolderName: st.HolderName}}, nil
		}
	}
	return nil, cardInput{}, apperr.InvalidField("parentPaymentJobReference", "The recurring parent payment job has no successful card payment to recur on yet.")
}

// recipientOf validates the request's recipientDetails (in parameters, as
// the guide sends them, or at the top level).
func (s *Service) recipientOf(req CreatePaymentJobRequest, now time.Time) (*Recipient, error) {
	raw := req.RecipientDetails
	if p := req.Parameters; p != nil && len(p.RecipientDetails) > 0 && string(p.RecipientDetails) != "null" {
		if len(raw) > 0 && string(raw) != "null" {
			return nil, recipientError("", "give recipientDetails once: in parameters or at the top level")
		}
		raw = p.RecipientDetails
	}
	return parseRecipient(raw, now)
}

// recurrenceOf validates recurrenceCriteria against the kind of job: a
// recurring parent needs them; a child may repeat them; other jobs have none.
func recurrenceOf(req CreatePaymentJobRequest, o options, now time.Time) (*recurrence, error) {
	child := strings.TrimSpace(req.ParentPaymentJobReference) != ""
	switch {
	case o.recurringParent && child:
		return nil, apperr.InvalidField("parentPaymentJobReference", "A payment job is either a recurring parent (IsRecurringPaymentJobParent) or a child (parentPaymentJobReference), not both.")
	case req.RecurrenceCriteria == nil && o.recurringParent:
		return nil, apperr.InvalidField("recurrenceCriteria", "recurrenceCriteria are required with the option IsRecurringPaymentJobParent: recurrenceType Subscription, Instalment or Unscheduled.")
	case req.RecurrenceCriteria == nil:
		return nil, nil
	case !o.recurringParent && !child:
		return nil, apperr.InvalidField("recurrenceCriteria", "recurrenceCriteria apply only to a recurring parent (option IsRecurringPaymentJobParent) or a recurring child (parentPaymentJobReference).")
	}
	return parseRecurrence(req.RecurrenceCriteria, now)
}

// customerEmailOf is the job's customerEmail: the request's (top level) or
// its order's; given in both, they must agree.
func customerEmailOf(req CreatePaymentJobRequest, inOrder string) (string, error) {
	top, err := parseEmail(req.CustomerEmail)
	if err != nil {
		return "", err
	}
	ord, err := parseEmail(inOrder)
	if err != nil {
		return "", err
	}
	if top != "" && ord != "" && !strings.EqualFold(top, ord) {
		return "", apperr.InvalidField("customerEmail", "customerEmail is given twice (at the top level and in order) with different values.")
	}
	if top != "" {
		return top, nil
	}
	return ord, nil
}

// checkTokenCustomer refuses a token stored for a customer other than the
// job's (when the job names one): the guide's "Invalid customer reference
// provided.".
func (s *Service) checkTokenCustomer(ctx context.Context, tenantID string, ci cardInput, customer string) error {
	if customer == "" || ci.stored == nil || ci.stored.Token == "" {
		return nil
	}
	owner, err := tokenOwner(ctx, s.DB.Read(), tenantID, ci.stored.Token)
	if err != nil {
		return err
	}
	if owner != "" && owner != customer {
		return MsgInvalidCustomerRef.Invalid("customerReference")
	}
	return nil
}
