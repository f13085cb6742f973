package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/card"
	"github.com/cashgate/cashgate/internal/cardpay"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/money"
	"github.com/cashgate/cashgate/internal/outbox"
	"github.com/cashgate/cashgate/internal/store"
)

// Credit payments: money from the merchant to a card (the guide's "Credit
// payment has been refused." and "Unable to perform credit payment."; the
// gateway's payment job type Credit).
//
// A tenant enables them in its settings (creditPayments: enabled, and per
// currency a limit for each credit and for the total of a day in its time
// zone). A credit is a payment job of type Credit with the card in
// parameters (cardNumber and expiry, or a token; no CVC, no 3-D Secure, no
// options, no hosted page):
//
//	POST /api/gateway/payment-jobs {"type":"Credit","currency":"GBP","amountToCollect":"25.00",
//	                                "parameters":{"cardNumber":"…","cardExpiryMonth":"12","cardExpiryYear":"30"}}
//
// Its request, in one transaction, checks the limits (the day's total by a
// guarded update of gateway_credit_days, so concurrent credits stay within
// it), holds the amount on merchant/available (merchant/available →
// card-scheme/clearing: a credit the available balance cannot fund is
// refused, money is never created), vaults the card, writes the job and
// its payment (Pending) and schedules the credit (job gateway.credit). The
// answer is that Pending payment. The job then asks the acquirer to pay the
// card (named by the payment's reference, so a real connector sends it
// once) and, in its own transaction, posts the hold (payment Paid, job
// Paid) or, refused by the issuer, releases it and the day's total
// (payment Failed with "Credit payment has been refused.", job
// Cancelled); either way the merchant is notified as for any payment.
// A credit is not captured, cancelled or refunded.
//
// Refusals: credit payments not enabled, a currency without limits, a
// request that is no card credit → "Unable to perform credit payment.";
// beyond a limit, or more than the available balance → "Credit payment
// has been refused." (400, with a detail saying which).

// KindCredit is the scheduled work that sends a credit to the acquirer.
const KindCredit = "gateway.credit"

// JobTypeCredit is the type of a credit payment's job.
const JobTypeCredit = "Credit"

// The guide's messages of credit payments.
var (
	MsgCreditRefused = GuideMsg{Code: "CreditPaymentRefused", Message: "Credit payment has been refused."}
	MsgCreditUnable  = GuideMsg{Code: "UnableToPerformCreditPayment", Message: "Unable to perform credit payment."}
)

// creditSettings are the stored settings (credit_json), in minor units.
type creditSettings struct {
	Enabled bool                   `json:"enabled"`
	Limits  map[string]creditLimit `json:"limits,omitempty"`
}

type creditLimit struct {
	PerPayment int64 `json:"perPayment"`
	PerDay     int64 `json:"perDay"`
}

// wire is the settings as GET /platform/gateway/settings shows them.
func (c creditSettings) wire() *CreditPaymentSettings {
	out := &CreditPaymentSettings{Enabled: c.Enabled, Limits: map[string]CreditLimit{}}
	for code, l := range c.Limits {
		cur, err := money.ParseCurrency(code)
		if err != nil {
			continue
		}
		out.Limits[code] = CreditLimit{PerPayment: amount(l.PerPayment, cur), PerDay: amount(l.PerDay, cur)}
	}
	return out
}

// parseCreditSettings validates the settings of a PUT (nil: unchanged).
func parseCreditSettings(in *CreditPaymentSettings) (*creditSettings, error) {
	if in == nil {
		return nil, nil
	}
	out := &creditSettings{Enabled: in.Enabled, Limits: map[string]creditLimit{}}
	codes := make([]string, 0, len(in.Limits))
	for code := range in.Limits {
		codes = append(codes, code)
	}
	sort.Strings(codes) // the first bad one is always the same
	for _, code := range codes {
		l := in.Limits[code]
		field := "creditPayments.limits." + code
		cur, err := money.ParseCurrency(code)
		if err != nil || !slices.Contains(AcceptedCurrencies(), code) {
			return nil, apperr.InvalidField(field, "creditPayments.limits names currencies the gateway accepts (%s), not %q.", strings.Join(AcceptedCurrencies(), ", "), code)
		}
		per, err := parseAmount(field+".perPayment", Flex(l.PerPayment), cur)
		if err != nil {
			return nil, err
		}
		day, err := parseAmount(field+".perDay", Flex(l.PerDay), cur)
		if err != nil {
			return nil, err
		}
		if per == 0 || per > day {
			return nil, apperr.InvalidField(field, "A credit limit needs 0 < perPayment <= perDay.")
		}
		out.Limits[code] = creditLimit{PerPayment: per, PerDay: day}
	}
	return out, nil
}

// putCredit stores the credit settings in tx (nil: unchanged).
func putCredit(ctx context.Context, tx *store.Tx, tenantID string, c *creditSettings) error {
	if c == nil {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE gateway_settings SET credit_json = $1 WHERE tenant_id = $2`, mustJSON(c), tenantID); err != nil {
		return fmt.Errorf("gateway: credit payments: %w", err)
	}
	return nil
}

// creditRequest is what create knows of a request of type Credit.
type creditRequest struct {
	req    CreatePaymentJobRequest
	card   cardInput
	ext    *card.ExternalAuth
	child  bool
	cur    money.Currency
	amount int64
}

// checkCredit refuses a credit the tenant cannot make: before anything is
// written.
func checkCredit(st settings, c creditRequest) error {
	unable := func(field, why string) error {
		e := MsgCreditUnable.Invalid(field)
		e.Err = detailError(why)
		return e
	}
	switch {
	case !st.Credit.Enabled:
		return unable("type", "Credit payments are not enabled for this configuration (creditPayments in the gateway settings).")
	case len(c.req.Options) > 0:
		return unable("options", "A credit payment takes no options.")
	case c.child || c.req.RecurrenceCriteria != nil:
		return unable("parentPaymentJobReference", "A credit payment is not recurring.")
	case !c.card.present:
		return unable("cardNumber", "A credit payment needs the card to credit: cardNumber and its expiry, or a token.")
	case c.ext != nil:
		return unable("threeDSecureCavv", "A credit payment is not authenticated by 3-D Secure: leave out the ThreeDSecure values and EwalletType.")
	}
	lim, ok := st.Credit.Limits[c.cur.Code()]
	if !ok {
		return unable("currency", fmt.Sprintf("No credit limit is set for %s (creditPayments.limits).", c.cur.Code()))
	}
	if c.amount > lim.PerPayment {
		e := MsgCreditRefused.ErrAt(apperr.LimitExceeded, "amountToCollect")
		e.Err = detailError(fmt.Sprintf("A credit payment in %s is at most %s.", c.cur.Code(), amount(lim.PerPayment, c.cur)))
		return e
	}
	return nil
}

// startCredit writes the credit payment j (its payment p, the card ci) in
// one transaction: the day's total, the hold on merchant/available, the
// vaulted card, the job and payment, the scheduled credit, the answer.
func (s *Service) startCredit(ctx context.Context, j *job, p *payment, ci cardInput, st settings) (*job, error) {
	loc, _, err := s.zone(ctx, j.TenantID)
	if err != nil {
		return nil, err
	}
	day := j.CreatedAt.In(loc).Format(time.DateOnly)
	lim := st.Credit.Limits[j.Currency.Code()]
	j.Type, j.Flags["credit"] = JobTypeCredit, true
	err = s.DB.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		jj, pp := *j, *p
		jj.Payments = []*payment{&pp}
		if err := reserveCreditDay(ctx, tx, jj.TenantID, jj.Currency, day, jj.Amount, lim.PerDay); err != nil {
			return err
		}
		hold, err := s.Cards.HoldCredit(ctx, tx, cardpay.SaleSpec{Scope: jj.TenantID, Currency: jj.Currency.Code(), Amount: jj.Amount, Reference: pp.Ref})
		if apperr.Is(err, apperr.InsufficientFunds) {
			e := MsgCreditRefused.ErrAt(apperr.InsufficientFunds, "amountToCollect")
			e.Err = detailError("The merchant's available balance (less the credits under way) cannot fund this credit payment.")
			return e
		}
		if err != nil {
			return err
		}
		pp.HoldID = hold
		if ci.stored != nil {
			pp.CardID = ci.stored.ID
		} else {
			sc, err := s.Vault.Store(ctx, tx, jj.TenantID, ci.details, jj.CreatedAt, false)
			if err != nil {
				return err
			}
			pp.CardID = sc.ID
		}
		pp.Steps = []step{{Ref: s.IDs.Digits(18), Action: "Start", Status: StPending, Amount: pp.Amount, CreatedAt: jj.CreatedAt}}
		if err := insertJob(ctx, tx, &jj); err != nil {
			return err
		}
		if err := insertPayment(ctx, tx, &pp); err != nil {
			return err
		}
		if _, _, err := s.Outbox.Enqueue(ctx, tx, outbox.JobSpec{Kind: KindCredit, TenantID: jj.TenantID, Payload: refPayload{Ref: jj.Ref},
			RunAt: jj.CreatedAt, UniqueKey: KindCredit + ":" + jj.Ref}); err != nil {
			return err
		}
		*j, *p = jj, pp
		j.Payments = []*payment{p}
		return httpx.Answer(ctx, tx, j)
	})
	if err != nil {
		return nil, err
	}
	return j, nil
}

// reserveCreditDay adds amount to the tenant's credits of the day in cur,
// refusing to pass limit (guarded: concurrent credits cannot).
func reserveCreditDay(ctx context.Context, tx *store.Tx, tenantID string, cur money.Currency, day string, amt, limit int64) error {
	refused := func() error {
		e := MsgCreditRefused.ErrAt(apperr.LimitExceeded, "amountToCollect")
		e.Err = detailError(fmt.Sprintf("The credit payments of %s in %s would pass the day's limit of %s.", day, cur.Code(), amount(limit, cur)))
		return e
	}
	if amt > limit {
		return refused()
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO gateway_credit_days (tenant_id, currency, day, total) VALUES ($1, $2, $3, $4)
		ON CONFLICT (tenant_id, currency, day) DO UPDATE SET total = gateway_credit_days.total + excluded.total
		WHERE gateway_credit_days.total + excluded.total <= $5`, tenantID, cur.Code(), day, amt, limit)
	if err != nil {
		return fmt.Errorf("gateway: credit day: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return refused()
	}
	return nil
}

// runCredit sends a credit payment to the acquirer and records the answer.
func (s *Service) runCredit(ctx context.Context, jb outbox.Job) error {
	var pl refPayload
	if err := json.Unmarshal(jb.Payload, &pl); err != nil {
		return outbox.Permanent(err)
	}
	j, err := s.readJob(ctx, jb.TenantID, pl.Ref)
	if apperr.Is(err, apperr.NotFound) {
		return outbox.Permanent(err)
	}
	if err != nil {
		return err
	}
	p := j.Payments[0]
	if p.Status != StPending {
		return nil // answered already
	}
	_, pan, err := s.Vault.Open(ctx, s.DB.Read(), j.TenantID, p.CardID)
	if err != nil {
		return err
	}
	res, err := s.Cards.Credit(ctx, cardpay.Charge{Card: card.Details{Number: pan}, Amount: p.Amount, Currency: p.Currency.Code()}, p.Ref)
	if err != nil {
		return err // the acquirer is unreachable: the job runs again
	}
	_, err = s.mutate(ctx, j.TenantID, j.Ref, func(tx *store.Tx, j *job, st settings, now time.Time) error {
		p := j.Payments[0]
		if p.Status != StPending {
			return nil
		}
		return s.finishCredit(ctx, tx, j, p, res, st, now)
	})
	return err
}

// finishCredit records the acquirer's answer res on the credit payment p.
func (s *Service) finishCredit(ctx context.Context, tx *store.Tx, j *job, p *payment, res card.AuthResult, st settings, now time.Time) error {
	p.TxnID, p.UpdatedAt, j.UpdatedAt = res.TransactionID, now, now
	d := acquiringDetails{}
	p.Acquiring = authDetails(&d, res, p.MaskedPAN)
	msg := ""
	if res.Approved {
		if err := s.Cards.Capture(ctx, tx, p.TenantID, p.HoldID, p.Amount, true); err != nil {
			return err
		}
		p.Status, p.PaidAt, j.Status, j.PaidAt = StPaid, now, StPaid, now
	} else {
		if err := s.Cards.Void(ctx, tx, p.TenantID, p.HoldID); err != nil {
			return err
		}
		loc, _, err := s.zone(ctx, j.TenantID)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE gateway_credit_days SET total = total - $1 WHERE tenant_id = $2 AND currency = $3 AND day = $4`,
			p.Amount, j.TenantID, j.Currency.Code(), j.CreatedAt.In(loc).Format(time.DateOnly)); err != nil {
			return fmt.Errorf("gateway: credit day: %w", err)
		}
		p.Status, j.Status, msg = StFailed, StCancelled, MsgCreditRefused.Message
	}
	stp := step{Ref: s.IDs.Digits(18), Seq: len(p.Steps), Action: "Process", Status: p.Status, Amount: p.Amount, Message: msg, CreatedAt: now}
	p.Steps = append(p.Steps, stp)
	if err := insertStep(ctx, tx, p.Ref, &stp); err != nil {
		return err
	}
	if err := savePayment(ctx, tx, p); err != nil {
		return err
	}
	if err := saveJob(ctx, tx, j); err != nil {
		return err
	}
	return s.notify(ctx, tx, j, p, st)
}

// creditOp refuses an operation on a credit payment's job: a credit is not
// captured, cancelled or refunded.
func creditOp(j *job, m GuideMsg) error {
	if j.Type != JobTypeCredit {
		return nil
	}
	return m.Err(apperr.Conflict)
}
