package cashier

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/card"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/outbox"
	"github.com/cashgate/cashgate/internal/store"
)

// DepositRequest is the body of POST /cashier/v1/deposits (the Payment
// API), of the Agent API's MOTO and offline deposits, and what the hosted
// cashier submits.
type DepositRequest struct {
	CustomerID string `json:"customerId"`
	PSP        string `json:"psp,omitempty"` // card, wallet, bank, sim (MOTO: card; offline: none)
	// Amount is required for a free deposit; a fixed deposit's is its
	// session's (given, it must match).
	Amount    string `json:"amount,omitempty"`
	Currency  string `json:"currency,omitempty"`  // default: the customer's
	Reference string `json:"reference,omitempty"` // the Platform's, unique per tenant
	// SessionID is the order a fixed deposit pays.
	SessionID string       `json:"sessionId,omitempty"`
	Card      *CardDetails `json:"card,omitempty"`
	Wallet    *WalletLogin `json:"wallet,omitempty"`
	Note      string       `json:"note,omitempty"` // an offline deposit's: how the money came
	// ReturnURL is where the customer's browser goes after a 3-D Secure
	// challenge (default: its session's returnUrl).
	ReturnURL string `json:"returnUrl,omitempty"`
}

// CardDetails is a card as the Payment API takes it.
type CardDetails struct {
	Number      string `json:"number"`
	ExpiryMonth string `json:"expiryMonth"` // MM
	ExpiryYear  string `json:"expiryYear"`  // YY or YYYY
	CVC         string `json:"cvc"`
	HolderName  string `json:"holderName,omitempty"` // required for cards enrolled in 3-D Secure
}

// Agent is a back-office agent: an admin user of the tenant.
type Agent struct {
	ID, Username string
}

// depositPlan is a checked deposit about to be opened.
type depositPlan struct {
	st        Settings
	c         Connector
	d         *deposit
	op        Op
	authorise bool
	free      bool  // validated by the Platform's callback
	ag        Agent // who entered it (MOTO, offline)
}

// CreateDeposit is the Payment API's deposit.
func (s *Service) CreateDeposit(ctx context.Context, tenantID string, in DepositRequest, clientAddr string) (Deposit, error) {
	return s.deposit(ctx, tenantID, in, ChannelAPI, Agent{}, clientAddr)
}

// deposit checks, opens (created, within the customer's limits) and
// submits a deposit to its PSP, and answers it (201) with the PSP's
// outcome from inside the transaction that records it.
func (s *Service) deposit(ctx context.Context, tenantID string, in DepositRequest, channel string, ag Agent, clientAddr string) (Deposit, error) {
	pl, err := s.planDeposit(ctx, tenantID, in, channel, ag)
	if err != nil {
		return Deposit{}, err
	}
	pl.op.ClientAddr = clientAddr
	if pl.free {
		v := ValidationRequest{CustomerID: pl.d.CustomerID, Amount: format(pl.d.Amount, pl.d.Currency), Currency: pl.d.Currency,
			PSP: pl.d.PSP, Reference: pl.d.Reference, SessionID: pl.d.SessionID}
		if err := s.validateDeposit(ctx, tenantID, pl.st, v); err != nil {
			return Deposit{}, err
		}
	}
	if err := s.openDeposit(ctx, pl); err != nil {
		return Deposit{}, err
	}
	return s.submitDeposit(ctx, pl)
}

// planDeposit checks a deposit against the tenant's settings, the PSP and
// the customer (read; openDeposit checks the customer again under lock).
func (s *Service) planDeposit(ctx context.Context, tenantID string, in DepositRequest, channel string, ag Agent) (*depositPlan, error) {
	st, err := s.settings(ctx, s.db.Read(), tenantID)
	if err != nil {
		return nil, err
	}
	c, err := s.depositPSP(st, channel, in.PSP)
	if err != nil {
		return nil, err
	}
	if err := CheckCustomerID("customerId", in.CustomerID); err != nil {
		return nil, err
	}
	cust, err := s.payable(ctx, s.db.Read(), tenantID, in.CustomerID, in.Currency, false)
	if err != nil {
		return nil, err
	}
	now := s.now()
	d := &deposit{ID: s.ids.ID("cdp"), TenantID: tenantID, CustomerID: cust.ID, PSP: c.Info().Name, Channel: channel, Currency: cust.Currency,
		Status: DepositCreated, Agent: ag.Username, CreatedAt: now, UpdatedAt: now}
	if d.Reference, err = checkReference(in.Reference); err != nil {
		return nil, err
	}
	if in.ReturnURL != "" {
		if err := checkReturnURL(in.ReturnURL); err != nil {
			return nil, err
		}
		d.ReturnURL = in.ReturnURL
	}
	pl := &depositPlan{st: st, c: c, d: d, authorise: st.authCapture(c) && channel != ChannelOffline, ag: ag}
	if err := s.depositAmount(ctx, pl, in); err != nil {
		return nil, err
	}
	if err := c.Info().takes(d.Amount, d.Currency); err != nil {
		return nil, err
	}
	pl.op = Op{TenantID: tenantID, ID: d.ID, CustomerID: d.CustomerID, Amount: d.Amount, Currency: d.Currency, MOTO: channel == ChannelMOTO,
		Wallet: in.Wallet, Bank: st.BankAccount, Description: in.Note}
	return pl, s.methodDetails(pl, in, now)
}

// depositPSP is the PSP a deposit through channel may use.
func (s *Service) depositPSP(st Settings, channel, name string) (Connector, error) {
	switch channel {
	case ChannelAPI, ChannelCashier:
		if (channel == ChannelAPI && st.Integration == IntegrationCashier) || (channel == ChannelCashier && st.Integration == IntegrationPayment) {
			return nil, apperr.New(apperr.Forbidden, "this tenant's integration is %q (settings.integration): %s deposits are not accepted", st.Integration, channel)
		}
		if !slices.Contains(st.DepositPSPs, name) {
			return nil, apperr.InvalidField("psp", "psp %q is not enabled for deposits (settings.depositPsps: %s)", name, strings.Join(st.DepositPSPs, ", "))
		}
		return s.psp("psp", name)
	case ChannelMOTO, ChannelOffline:
		if !st.MOTO {
			return nil, apperr.New(apperr.Forbidden, "back-office MOTO and offline deposits are not enabled for this tenant (settings.moto)")
		}
		if channel == ChannelMOTO {
			return s.psp("psp", PSPCard)
		}
		return s.psp("psp", PSPOffline)
	}
	return nil, fmt.Errorf("cashier: unknown channel %q", channel)
}

// depositAmount sets the deposit's amount and session: a fixed deposit
// pays its session's order, a free one its own amount (then validated by
// the Platform). An agent's deposit is always of the amount the agent
// enters.
func (s *Service) depositAmount(ctx context.Context, pl *depositPlan, in DepositRequest) error {
	d := pl.d
	byAgent := d.Channel == ChannelMOTO || d.Channel == ChannelOffline
	fixed := pl.st.DepositAmount == AmountFixed && !byAgent
	if in.SessionID != "" && !byAgent {
		x, err := s.usableSession(ctx, s.db.Read(), d.TenantID, in.SessionID, IntentDeposit, d.CustomerID)
		if err != nil {
			return err
		}
		d.SessionID = x.ID
		if fixed {
			d.Amount = x.Amount
		}
	}
	if fixed && d.SessionID == "" {
		return apperr.InvalidField("sessionId", "this tenant's deposits are fixed (settings.depositAmount): a deposit pays the order of a session (sessionId)")
	}
	if fixed {
		if in.Amount != "" {
			a, err := parseAmount("amount", in.Amount, d.Currency)
			if err != nil || a != d.Amount {
				return apperr.InvalidField("amount", "a fixed deposit must match the order's amount, %s %s", format(d.Amount, d.Currency), d.Currency)
			}
		}
		return nil
	}
	if in.Amount == "" {
		return apperr.InvalidField("amount", "amount is required")
	}
	var err error
	d.Amount, err = parseAmount("amount", in.Amount, d.Currency)
	pl.free = !byAgent
	return err
}

// methodDetails checks what the PSP needs from the customer.
func (s *Service) methodDetails(pl *depositPlan, in DepositRequest, now time.Time) error {
	switch pl.c.Info().Name {
	case PSPCard:
		if in.Card == nil {
			return apperr.InvalidField("card", "a card deposit needs card (number, expiryMonth, expiryYear, cvc)")
		}
		d := card.Details{Number: card.Normalize(in.Card.Number), CVC: in.Card.CVC, HolderName: strings.TrimSpace(in.Card.HolderName)}
		m, y, err := card.ParseExpiry(in.Card.ExpiryMonth, in.Card.ExpiryYear)
		if err != nil {
			return err
		}
		d.ExpiryMonth, d.ExpiryYear = m, y
		if err := d.Validate(now, !pl.op.MOTO); err != nil {
			return err
		}
		pl.op.Card = &d
	case PSPWallet:
		if in.Wallet == nil || in.Wallet.Username == "" || in.Wallet.Password == "" || in.Wallet.PIN == "" {
			return apperr.InvalidField("wallet", "a wallet deposit needs wallet (username, password, pin)")
		}
	}
	if pl.c.Info().Name != PSPCard && in.Card != nil {
		return apperr.InvalidField("card", "card is for card deposits only")
	}
	if n := utf8.RuneCountInString(in.Note); n > 200 {
		return apperr.InvalidField("note", "note is at most 200 characters")
	}
	return nil
}

func checkReference(ref string) (string, error) {
	if utf8.RuneCountInString(ref) > 100 {
		return "", apperr.InvalidField("reference", "reference is at most 100 characters")
	}
	return ref, nil
}

// openDeposit stores the deposit created, within the customer's limits
// (the customer's row locked, so concurrent deposits count each other) and
// its session's (one live deposit per order), and schedules its staleness
// check.
func (s *Service) openDeposit(ctx context.Context, pl *depositPlan) error {
	d := pl.d
	loc, err := s.location(ctx, d.TenantID)
	if err != nil {
		return err
	}
	return s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		cust, err := s.payable(ctx, tx, d.TenantID, d.CustomerID, d.Currency, true)
		if err != nil {
			return err
		}
		if err := s.depositLimits(ctx, tx, cust, d, loc); err != nil {
			return err
		}
		if err := s.sessionFree(ctx, tx, d.SessionID); err != nil {
			return err
		}
		if err := insertDeposit(ctx, tx, d); err != nil {
			return err
		}
		if pl.ag.ID != "" {
			if err := s.audit(ctx, tx, d.TenantID, pl.ag, "deposit."+d.Channel, d.ID, format(d.Amount, d.Currency)+" "+d.Currency); err != nil {
				return err
			}
		}
		if _, _, err := s.events.Enqueue(ctx, tx, outbox.JobSpec{Kind: JobStale, TenantID: d.TenantID, Payload: idPayload{ID: d.ID},
			RunAt: d.CreatedAt.Add(StaleAfter)}); err != nil {
			return err
		}
		return s.emit(ctx, tx, d.TenantID, "cashier.deposit.created", d.ID, viewDeposit(d))
	})
}

// location is the tenant's time zone (its calendar days bound daily limits).
func (s *Service) location(ctx context.Context, tenantID string) (*time.Location, error) {
	t, err := s.tenants.Tenant(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	return t.Location(), nil
}

func dayStart(now time.Time, loc *time.Location) time.Time {
	y, m, d := now.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

// depositLimits refuses a deposit past the customer's limits: one deposit,
// and the day's live deposits (created, pending, authorised, captured).
func (s *Service) depositLimits(ctx context.Context, tx *store.Tx, c *customer, d *deposit, loc *time.Location) error {
	if c.MaxDeposit > 0 && d.Amount > c.MaxDeposit {
		return apperr.New(apperr.LimitExceeded, "a deposit of customer %s is at most %s %s", c.ID, format(c.MaxDeposit, c.Currency), c.Currency)
	}
	if c.DailyDeposit == 0 {
		return nil
	}
	var today int64
	err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(amount), 0) FROM cashier_deposits WHERE tenant_id = $1 AND customer_id = $2 AND created_at >= $3
		AND status IN ('created', 'pending', 'authorised', 'captured')`, c.TenantID, c.ID, micros(dayStart(d.CreatedAt, loc))).Scan(&today)
	if err != nil {
		return fmt.Errorf("cashier: deposits of the day: %w", err)
	}
	if today+d.Amount > c.DailyDeposit {
		return apperr.New(apperr.LimitExceeded, "customer %s may deposit %s %s a day; %s %s are deposited or under way today",
			c.ID, format(c.DailyDeposit, c.Currency), c.Currency, format(today, c.Currency), c.Currency)
	}
	return nil
}

// sessionFree refuses a second live deposit for one order.
func (s *Service) sessionFree(ctx context.Context, tx *store.Tx, sessionID string) error {
	if sessionID == "" {
		return nil
	}
	var id string
	err := tx.QueryRowContext(ctx, `SELECT COALESCE(MIN(id), '') FROM cashier_deposits WHERE session_id = $1 AND status IN ('created', 'pending', 'authorised', 'captured')`,
		sessionID).Scan(&id)
	if err != nil {
		return fmt.Errorf("cashier: deposits of the session: %w", err)
	}
	if id != "" {
		return apperr.New(apperr.Conflict, "the order of session %s is paid or being paid by deposit %s", sessionID, id)
	}
	return nil
}

// submitDeposit asks the PSP and answers with what it said. A PSP that
// cannot be reached is asked again later when the deposit carries no
// card or wallet login (deferDeposit), else it fails the deposit; a PSP
// that refuses the request fails it (its refusal is the answer).
func (s *Service) submitDeposit(ctx context.Context, pl *depositPlan) (Deposit, error) {
	var out Deposit
	rec := s.depositRecorder(pl.d.TenantID, pl.d.ID, pl.c, http.StatusCreated, &out, nil)
	var err error
	if pl.authorise {
		err = pl.c.Authorise(ctx, pl.op, rec)
	} else {
		err = pl.c.Deposit(ctx, pl.op, rec)
	}
	if err == nil {
		return out, nil
	}
	code := apperr.CodeOf(err)
	if code == apperr.Unavailable && resubmittable(pl.op) {
		return s.deferDeposit(ctx, pl.d) // asked again later (deposit_retry.go)
	}
	if code == apperr.Unavailable {
		return out, s.record(ctx, rec, Result{Status: DepositFailed, Reason: "psp_unavailable"})
	}
	if code == apperr.Invalid || code == apperr.Unauthenticated || code == apperr.Forbidden {
		fail := s.depositRecorder(pl.d.TenantID, pl.d.ID, pl.c, 0, &Deposit{}, nil)
		if ferr := s.record(ctx, fail, Result{Status: DepositFailed, Reason: "refused: " + apperr.From(err).Message}); ferr != nil {
			s.log.ErrorContext(ctx, "cashier: could not fail a refused deposit", "deposit", pl.d.ID, "err", ferr)
		}
	}
	return out, err
}

// depositRecorder records a PSP's answer for the deposit: it locks the
// deposit, applies the answer, runs then (if any) and answers with status
// (0: no answer, e.g. from a job).
func (s *Service) depositRecorder(tenantID, id string, c Connector, status int, out *Deposit,
	then func(ctx context.Context, tx *store.Tx, d *deposit) error) Recorder {
	return func(ctx context.Context, tx *store.Tx, res Result) error {
		d, err := s.loadDeposit(ctx, tx, tenantID, id, true)
		if err != nil {
			return err
		}
		if err := s.applyDeposit(ctx, tx, d, c, res); err != nil {
			return err
		}
		if then != nil {
			if err := then(ctx, tx, d); err != nil {
				return err
			}
		}
		*out = viewDeposit(d)
		if res.Action != "" {
			out.Action = &Action{Type: "redirect", URL: res.Action}
		}
		if status == 0 {
			return nil
		}
		return httpx.Reply(ctx, tx, status, *out)
	}
}
