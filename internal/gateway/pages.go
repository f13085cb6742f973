package gateway

import (
	"context"
	"embed"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/card"
	"github.com/cashgate/cashgate/internal/cardpay"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/store"
)

//go:embed templates/*.html assets/*
var files embed.FS

var pageTmpl = template.Must(template.ParseFS(files, "templates/page.html"))

type pageData struct {
	// L is the page's language (locale.go): the template says every text
	// through it ({{.L.T "Card number"}}); Title, Error, Notice and Status
	// are given in English and translated there too.
	L                                                                      *pageLang
	Title, Amount, Currency, OrderNumber, Ref, Mode, Masked, Status, Error string
	// Description is a payment link's; Notice says that a link is over.
	Description, Notice string
	// Attempt is the payment the card form was shown for: a form sent twice
	// (a double click, a reload) makes one attempt, not two.
	Attempt string
	// Card and PayPal are the payment methods the page offers (paypal.go).
	Card, PayPal bool
	// Brand is the page's payment page template (templates.go); Preview
	// shows it in the back office with a sample job: nothing can be sent.
	Brand   pageBrand
	Preview bool
}

// pageJob returns the job of a hosted page ref and its latest payment:
// every payment of a payment link shares the link's ref, and the page always
// works on the newest.
func (s *Service) pageJob(ctx context.Context, token string) (*job, *payment, error) {
	tenantID, jobRef, err := s.findPage(ctx, token)
	if err != nil {
		return nil, nil, err
	}
	j, err := s.readJob(ctx, tenantID, jobRef)
	if err != nil {
		return nil, nil, err
	}
	p := j.latest(token)
	if p == nil {
		return nil, nil, MsgPageNotFound.Err(apperr.NotFound)
	}
	if j.frames, err = s.frameAncestors(ctx, j); err != nil {
		return nil, nil, err
	}
	st, err := s.cachedSettings(ctx, j.TenantID)
	if err != nil {
		return nil, nil, err
	}
	j.offer = offerOf(j, st)
	b, err := s.brandFor(ctx, j.TenantID, j.Params.PageRef)
	if err != nil {
		return nil, nil, err
	}
	j.brand = &b
	return j, p, nil
}

// latest is the newest payment of j on the hosted page ref token.
func (j *job) latest(token string) *payment {
	for i := len(j.Payments) - 1; i >= 0; i-- {
		if j.Payments[i].PageToken == token {
			return j.Payments[i]
		}
	}
	return nil
}

// retryable reports whether the shopper may make another attempt on the
// payment link j whose latest attempt is p: a payment link (a job created
// without card details) takes attempts after a failed or cancelled payment
// until the job is paid, cancelled or expired. A job that came with its
// card (flags.direct) does not: the merchant creates a new one.
func (j *job) retryable(p *payment, now time.Time) bool {
	return !j.Flags["direct"] && j.Status == StPending && now.Before(j.ExpiresAt) &&
		(p.Status == StFailed || p.Status == StCancelled)
}

// closeDirect ends a pending job that came with its card (flags.direct)
// once its payment ended without money (declined, failed or abandoned 3-D
// Secure, cancelled): such a job takes that one payment — the guide has no
// call that submits another, and it has no page to retry on — so it becomes
// Cancelled, a status an integrator acts on by creating a new job, and its
// order number is free for that job (saveJob). A payment link stays Pending
// for another attempt (retryable). It reports whether j changed.
func (j *job) closeDirect() bool {
	if !j.Flags["direct"] || j.Status != StPending {
		return false
	}
	j.Status = StCancelled
	return true
}

// retryMessage tells the shopper, in l, why the previous attempt did not go through.
func retryMessage(l *pageLang, p *payment) string {
	if p.Status == StCancelled {
		return l.T("The previous payment was cancelled. You can pay again.")
	}
	msg := MsgRefused.Message
	if n := len(p.Steps); n > 0 && p.Steps[n-1].Message != "" {
		msg = p.Steps[n-1].Message
	}
	return l.Tf("The previous payment did not go through (%s) You can try again.", l.T(msg))
}

// Lang is the html lang attribute of the page.
func (d pageData) Lang() string {
	if d.L == nil {
		return "en-GB"
	}
	return d.L.tag.String()
}

func (s *Service) renderPage(w http.ResponseWriter, j *job, p *payment, mode, msg string) {
	d := pageData{L: langOf(j.Locale), Title: "Payment", Amount: amount(p.Amount, p.Currency), Currency: p.Currency.Code(), OrderNumber: j.OrderNumber,
		Ref: p.PageToken, Status: p.Status, Masked: p.MaskedPAN, Error: msg, Mode: mode, Attempt: p.Ref, Description: j.Params.Description,
		Brand: brandOfJob(j)}
	switch mode {
	case "":
		switch {
		case p.Status == StPending && p.ThreeDS == "challenge":
			d.Mode, d.Title = "3ds", "3-D Secure"
		case p.Status == StPending:
			d.Mode, d.Title = "card", "Pay by card"
		}
	case "card":
		d.Title, d.Amount, d.Masked = "Pay by card", amount(j.Amount, j.Currency), ""
	case "over":
		d.Title, d.Mode, d.Notice, d.Error = "Payment link", "none", msg, ""
	}
	d.Amount = d.L.amount(d.Amount)
	d.Card, d.PayPal = j.offer.card, j.offer.paypal
	if d.PayPal && d.Title == "Pay by card" {
		d.Title = "Payment" // the page offers PayPal too
	}
	s.pageHeaders(w, j)
	if err := pageTmpl.Execute(w, d); err != nil {
		s.Log.Error("gateway: render page", "err", err)
	}
}

// pageHeaders are the headers of a hosted page of j.
func (s *Service) pageHeaders(w http.ResponseWriter, j *job) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	csp, deny := pageCSP(j.frames)
	w.Header().Set("Content-Security-Policy", csp)
	if deny {
		w.Header().Set("X-Frame-Options", "DENY")
	}
}

// pageError answers a hosted page with msg, in the language of the job j
// (nil: of the request, requestLang).
func (s *Service) pageError(w http.ResponseWriter, r *http.Request, j *job, status int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = pageTmpl.Execute(w, pageData{L: requestLang(r, j), Title: "Payment", Error: msg, Mode: "none", Brand: brandOfJob(j)})
}

func (s *Service) handlePage(w http.ResponseWriter, r *http.Request) {
	j, p, err := s.pageJob(r.Context(), r.URL.Query().Get("ref"))
	if err != nil {
		s.pageError(w, r, j, http.StatusNotFound, MsgPageNotFound.Message)
		return
	}
	st, err := s.requestSettings(r.Context(), j.TenantID)
	if err != nil {
		s.pageError(w, r, j, http.StatusInternalServerError, "internal error")
		return
	}
	cardForm := p.Status == StPending && j.Status == StPending && p.ThreeDS != "challenge" || j.retryable(p, s.now())
	switch {
	case linkOver(j, s.now()) != "":
		s.renderPage(w, j, p, "over", linkOver(j, s.now()))
	case cardForm && !offerOf(j, st).any():
		// The tenant enabled none of the job's payment methods: the page offers none.
		s.renderPage(w, j, p, "over", msgNoMethodOnPage)
	case p.Status == StPending && j.Status == StPending:
		s.renderPage(w, j, p, "", "")
	case j.retryable(p, s.now()):
		s.renderPage(w, j, p, "card", retryMessage(langOf(j.Locale), p))
	default:
		v, err := s.viewFor(r, j)
		if err != nil {
			s.pageError(w, r, j, http.StatusInternalServerError, "internal error")
			return
		}
		http.Redirect(w, r, v.actionURL(j, p), http.StatusSeeOther)
	}
}

// linkOver says why the payment link j takes no more payments; "" while it
// does, and for a job that is not a link (its page sends the shopper to the
// shop's return URL).
func linkOver(j *job, now time.Time) string {
	if !j.isLink() {
		return ""
	}
	switch linkStatus(j, now) {
	case StCancelled:
		return "This payment link has been cancelled."
	case StExpired:
		return "This payment link has expired."
	case StPaid, StAuthorised:
		return "This payment link has been paid."
	}
	return ""
}

func (s *Service) viewFor(r *http.Request, j *job) (viewCtx, error) {
	return s.viewIn(r.Context(), r, j)
}

// viewIn is viewFor reading with ctx (inside a write's transaction, its
// reads go through that transaction).
func (s *Service) viewIn(ctx context.Context, r *http.Request, j *job) (viewCtx, error) {
	_, zone, err := s.zone(ctx, j.TenantID)
	if err != nil {
		return viewCtx{}, err
	}
	st, err := s.requestSettings(ctx, j.TenantID)
	if err != nil {
		return viewCtx{}, err
	}
	return viewCtx{base: s.PublicURL, zone: zone, st: st, now: s.now()}, nil
}

// pageForm adapts a hosted page form post (the shopper's browser, ?ref=
// the page token) to http.HandlerFunc: it limits the body to limit bytes,
// finds the job and latest payment of the page and parses the form — or
// writes the error page — before calling fn.
func (s *Service) pageForm(limit int64, fn func(w http.ResponseWriter, r *http.Request, token string, j *job, p *payment)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		token := r.URL.Query().Get("ref")
		j, p, err := s.pageJob(r.Context(), token)
		if err != nil {
			s.pageError(w, r, j, http.StatusNotFound, MsgPageNotFound.Message)
			return
		}
		if err := r.ParseForm(); err != nil || httpx.CheckForm(r.PostForm) != nil {
			s.pageError(w, r, j, http.StatusBadRequest, "The form could not be read.")
			return
		}
		fn(w, r, token, j, p)
	}
}

// handleCardForm takes the card of a payment link from the hosted form:
// for the link's pending payment, or — after a failed or cancelled attempt —
// for a new payment of the same job.
func (s *Service) handleCardForm(w http.ResponseWriter, r *http.Request, token string, j *job, p *payment) {
	ctx := r.Context()
	attempt := r.PostFormValue("attempt")
	if attempt != "" && attempt != p.Ref {
		// The form of an earlier attempt, sent again: show where it stands.
		s.afterPage(w, r, j, token, MsgJobFinal.Err(apperr.Conflict))
		return
	}
	now := s.now()
	if !now.Before(j.ExpiresAt) {
		s.pageError(w, r, j, http.StatusConflict, msgPageExpired)
		return
	}
	fresh := p.Status == StPending && p.ThreeDS == "" && j.Status == StPending
	if !fresh && !j.retryable(p, now) {
		s.pageError(w, r, j, http.StatusConflict, MsgJobFinal.Message)
		return
	}
	mode := ""
	if !fresh {
		mode = "card"
	}
	// With the External MPI Provider flag the merchant authenticates its
	// payments itself: this page, which would run cashgate's own 3-D
	// Secure, takes no card (a link made before the flag was set).
	if st, err := s.cachedSettings(ctx, j.TenantID); err != nil {
		s.Log.Error("gateway: hosted page: settings", "err", err)
		s.pageError(w, r, j, http.StatusInternalServerError, "internal error")
		return
	} else if st.ExternalMPI {
		s.pageError(w, r, j, http.StatusConflict, msgPageNoCards)
		return
	} else if !offerOf(j, st).card {
		s.pageError(w, r, j, http.StatusConflict, MsgMethodNotAllowed.Message)
		return
	}
	c := card.Details{Number: card.Normalize(r.PostFormValue("cardNumber")), CVC: strings.TrimSpace(r.PostFormValue("cardCvc")),
		HolderName: strings.TrimSpace(r.PostFormValue("cardHolderName"))}
	m, y, err := card.ParseExpiry(strings.TrimSpace(r.PostFormValue("cardExpiryMonth")), strings.TrimSpace(r.PostFormValue("cardExpiryYear")))
	if err == nil {
		c.ExpiryMonth, c.ExpiryYear = m, y
		err = c.Validate(now, true)
	}
	var out cardpay.Outcome
	if err == nil {
		ch := chargeOf(j, p, c)
		ch.Amount = j.Amount
		out, err = s.assess(ctx, ch)
	}
	if err != nil {
		s.renderPage(w, j, p, mode, apperr.From(err).Message)
		return
	}
	masked := card.Mask(c.Number)
	_, err = s.mutate(ctx, j.TenantID, j.Ref, func(tx *store.Tx, j *job, st settings, now time.Time) error {
		p := j.latest(token)
		if p == nil {
			return MsgPageNotFound.Err(apperr.NotFound)
		}
		if attempt != "" && attempt != p.Ref {
			return MsgJobFinal.Err(apperr.Conflict)
		}
		if !now.Before(j.ExpiresAt) {
			return apperr.New(apperr.Invalid, msgPageExpired)
		}
		if !offerOf(j, st).card {
			return MsgMethodNotAllowed.Err(apperr.Conflict)
		}
		switch {
		case p.Status == StPending && p.ThreeDS == "" && j.Status == StPending:
		case j.retryable(p, now):
			np, err := s.retryPayment(ctx, tx, j, p, now)
			if err != nil {
				return err
			}
			p = np
		default:
			return MsgJobFinal.Err(apperr.Conflict)
		}
		p.MaskedPAN = masked
		if slices.Contains(j.Methods, MethodPayPal) {
			p.Method = MethodCard // chosen over PayPal (paypal.go)
		}
		vault := out.NeedsChallenge() || !out.Refused() && (j.Flags["generateToken"] || j.Flags["recurringParent"])
		if vault {
			sc, err := s.Vault.Store(ctx, tx, j.TenantID, c, now, false)
			if err != nil {
				return err
			}
			p.CardID = sc.ID
		}
		if out.NeedsChallenge() {
			p.ThreeDS, p.CVCResult, p.Acquiring, p.UpdatedAt = string(out.ThreeDS), out.CVCResult, mustJSON(acquiringOf(out)), now
			return savePayment(ctx, tx, p)
		}
		return s.applyOutcome(ctx, tx, j, p, out, st, "Process", now, false)
	})
	s.afterPage(w, r, j, token, err)
}

// msgNoMethodOnPage is the hosted page of a tenant that has no payment
// method enabled (GatewaySettings.PaymentMethodsEnabled).
const msgNoMethodOnPage = "Card payments are not available here at the moment (Payment method not allowed.)."

// msgPageExpired answers a card sent to the page of a job past its expiry
// (before the expiry job has run).
const msgPageExpired = "This payment has expired."

// msgPageNoCards answers a card sent to a hosted page of a tenant with the
// External MPI Provider flag.
const msgPageNoCards = "Card payments on this page are unavailable: the merchant authenticates its payments with its own 3-D Secure provider."

// retryPayment adds a new attempt to the payment link j after its failed or
// cancelled payment prev, in tx: same amount and page ref, a later creation
// time (a job's payments are ordered by it).
func (s *Service) retryPayment(ctx context.Context, tx *store.Tx, j *job, prev *payment, now time.Time) (*payment, error) {
	created := now
	if !created.After(prev.CreatedAt) {
		created = prev.CreatedAt.Add(time.Microsecond)
	}
	p := &payment{Ref: s.IDs.Digits(18), JobRef: j.Ref, TenantID: j.TenantID, Status: StPending, Currency: j.Currency, Amount: j.Amount,
		PageToken: prev.PageToken, CreatedAt: created, UpdatedAt: now}
	p.Steps = []step{{Ref: s.IDs.Digits(18), Action: "DisplayHostedPage", Status: StPending, Amount: j.Amount, CreatedAt: now}}
	if err := insertPayment(ctx, tx, p); err != nil {
		return nil, err
	}
	j.Payments = append(j.Payments, p)
	return p, nil
}

// handle3DS records the shopper's 3-D Secure result (or cancellation) and
// sends them to the matching return URL.
func (s *Service) handle3DS(w http.ResponseWriter, r *http.Request, token string, j *job, p *payment) {
	ctx := r.Context()
	result := r.PostFormValue("result")
	var out cardpay.Outcome
	switch result {
	case "cancel":
		if j.retryable(p, s.now()) {
			// The shopper gives up on another attempt: nothing to cancel
			// (the link stays open), back to the shop's cancelled page.
			v, verr := s.viewFor(r, j)
			if verr != nil {
				s.pageError(w, r, j, http.StatusInternalServerError, "internal error")
				return
			}
			_, _, cancelled := v.returnURLs(j, p)
			http.Redirect(w, r, cancelled, http.StatusSeeOther)
			return
		}
		// The shopper may only abandon a payment that waits for them: a
		// payment that went through is the merchant's to cancel or refund
		// (the page ref must not let whoever holds it reverse a sale).
		err := s.transition(ctx, j.TenantID, j.Ref, p.Ref, func(tx *store.Tx, j *job, p *payment, st settings, now time.Time) error {
			if p.Status != StPending || j.Status != StPending {
				return MsgJobFinal.Err(apperr.Conflict)
			}
			if err := s.cancelPayment(ctx, tx, j, p, st, now); err != nil {
				return err
			}
			if j.closeDirect() {
				j.UpdatedAt = now
				return saveJob(ctx, tx, j)
			}
			return nil
		})
		s.afterPage(w, r, j, token, err)
		return
	case "success":
		if p.Status != StPending || p.ThreeDS != "challenge" {
			break
		}
		_, pan, err := s.Vault.Open(ctx, s.DB.Read(), j.TenantID, p.CardID)
		if err != nil {
			s.pageError(w, r, j, http.StatusInternalServerError, "internal error")
			return
		}
		out, err = s.complete3DS(ctx, p, chargeOf(j, p, card.Details{Number: pan}), true)
		if err != nil {
			s.pageError(w, r, j, http.StatusBadGateway, apperr.From(err).Message)
			return
		}
	case "failure":
		var err error
		if out, err = s.complete3DS(ctx, p, cardpay.Charge{}, false); err != nil {
			s.pageError(w, r, j, http.StatusBadGateway, apperr.From(err).Message)
			return
		}
	default:
		s.pageError(w, r, j, http.StatusBadRequest, "Unknown 3-D Secure result.")
		return
	}
	err := s.transition(ctx, j.TenantID, j.Ref, p.Ref, func(tx *store.Tx, j *job, p *payment, st settings, now time.Time) error {
		if p.Status != StPending || p.ThreeDS != "challenge" || j.Status != StPending {
			return MsgJobFinal.Err(apperr.Conflict)
		}
		p.ThreeDS = string(out.ThreeDS)
		return s.applyOutcome(ctx, tx, j, p, out, st, "Process", now, false)
	})
	s.afterPage(w, r, j, token, err)
}

// transition runs fn on the locked job and payment.
func (s *Service) transition(ctx context.Context, tenantID, jobRef, payRef string, fn func(tx *store.Tx, j *job, p *payment, st settings, now time.Time) error) error {
	_, err := s.mutate(ctx, tenantID, jobRef, func(tx *store.Tx, j *job, st settings, now time.Time) error {
		p, err := j.payment(payRef)
		if err != nil {
			return err
		}
		return fn(tx, j, p, st, now)
	})
	return err
}

// afterPage sends the shopper on after a page action: to the page again
// (3-D Secure still to do) or to the return URL of the outcome.
// before is the job as the page found it (its language says the errors).
func (s *Service) afterPage(w http.ResponseWriter, r *http.Request, before *job, token string, err error) {
	if err != nil && !apperr.Is(err, apperr.Conflict) {
		e := apperr.From(err)
		if e.Code == apperr.Internal {
			s.Log.Error("gateway: hosted page", "err", err)
		}
		s.pageError(w, r, before, http.StatusBadRequest, e.Message)
		return
	}
	j, p, lerr := s.pageJob(r.Context(), token)
	if lerr != nil {
		s.pageError(w, r, before, http.StatusNotFound, MsgPageNotFound.Message)
		return
	}
	if p.Status == StPending && j.Status == StPending {
		http.Redirect(w, r, "/payment/form-post?ref="+token, http.StatusSeeOther)
		return
	}
	v, verr := s.viewFor(r, j)
	if verr != nil {
		s.Log.Error("gateway: hosted page: rendering the outcome", "job", j.Ref, "err", verr)
		s.pageError(w, r, j, http.StatusInternalServerError, "internal error")
		return
	}
	http.Redirect(w, r, v.actionURL(j, p), http.StatusSeeOther)
}

func (s *Service) handleAsset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	b, err := files.ReadFile("assets/" + name)
	if err != nil || strings.Contains(name, "/") {
		http.NotFound(w, r)
		return
	}
	if strings.HasSuffix(name, ".svg") {
		w.Header().Set("Content-Type", "image/svg+xml")
	}
	w.Header().Set("Cache-Control", "public, max-age=86400")
	_, _ = w.Write(b)
}
