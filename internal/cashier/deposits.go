package cashier

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/cardpay"
	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/outbox"
	"github.com/cashgate/cashgate/internal/store"
)

// Deposit statuses.
const (
	DepositCreated    = "created"
	DepositPending    = "pending"
	DepositAuthorised = "authorised"
	DepositCaptured   = "captured"
	DepositVoided     = "voided"
	DepositDeclined   = "declined"
	DepositFailed     = "failed"
	DepositRefunded   = "refunded"
)

// Channels a deposit or payout came through.
const (
	ChannelAPI     = "api"     // the Payment API
	ChannelCashier = "cashier" // the hosted cashier (a session)
	ChannelMOTO    = "moto"    // an agent entered the customer's card
	ChannelOffline = "offline" // an agent recorded money received otherwise
)

// depositNext are the steps a deposit may take from each status.
var depositNext = map[string][]string{
	DepositCreated:    {DepositPending, DepositAuthorised, DepositCaptured, DepositDeclined, DepositFailed},
	DepositPending:    {DepositAuthorised, DepositCaptured, DepositDeclined, DepositFailed},
	DepositAuthorised: {DepositCaptured, DepositVoided},
	DepositCaptured:   {DepositRefunded},
}

// JobExpireAuth voids an authorisation its PSP no longer honours; JobStale
// fails a deposit left created (its PSP never answered) or waiting for a
// 3-D Secure challenge nobody completed.
const (
	JobExpireAuth = "cashier.deposit.expire_authorisation"
	JobStale      = "cashier.deposit.stale"
)

// StaleAfter is how long a deposit may stay created, or wait for its 3-D
// Secure challenge, before it fails.
const StaleAfter = 15 * time.Minute

type deposit struct {
	ID, TenantID, CustomerID, PSP, Channel string
	Amount, CapturedAmount                 int64
	Currency, Status, Reference, SessionID string
	PSPRef, HoldID, Reason, Payer, Agent   string
	ReturnURL, RefundRef                   string
	Instructions                           *Instructions // a bank transfer's, as the customer was told
	PSPSeq                                 int64
	Attempts                               int // calls to the PSP of a deposit submitted again (JobSubmitDeposit)
	CreatedAt, UpdatedAt                   time.Time
	AuthorisedAt, CapturedAt               time.Time
}

const depositCols = `id, tenant_id, customer_id, psp, channel, amount, captured_amount, currency, status, reference, session_id,
	psp_reference, hold_id, reason, payer, agent, return_url, psp_seq, created_at, updated_at, authorised_at, captured_at,
	instructions, refund_reference, attempts`

func scanDeposit(row interface{ Scan(...any) error }) (*deposit, error) {
	var d deposit
	var created, updated, auth, capt int64
	var instr string
	if err := row.Scan(&d.ID, &d.TenantID, &d.CustomerID, &d.PSP, &d.Channel, &d.Amount, &d.CapturedAmount, &d.Currency, &d.Status,
		&d.Reference, &d.SessionID, &d.PSPRef, &d.HoldID, &d.Reason, &d.Payer, &d.Agent, &d.ReturnURL, &d.PSPSeq, &created, &updated, &auth, &capt,
		&instr, &d.RefundRef, &d.Attempts); err != nil {
		return nil, err
	}
	if instr != "" {
		d.Instructions = &Instructions{}
		if err := json.Unmarshal([]byte(instr), d.Instructions); err != nil {
			return nil, fmt.Errorf("cashier: deposit instructions: %w", err)
		}
	}
	d.CreatedAt, d.UpdatedAt, d.AuthorisedAt, d.CapturedAt = fromMicros(created), fromMicros(updated), fromMicros(auth), fromMicros(capt)
	return &d, nil
}

// loadDeposit reads the tenant's deposit (locked in a transaction when lock).
func (s *Service) loadDeposit(ctx context.Context, q store.Querier, tenantID, id string, lock bool) (*deposit, error) {
	suffix := ""
	if lock {
		suffix = s.forUpdate()
	}
	d, err := scanDeposit(q.QueryRowContext(ctx, `SELECT `+depositCols+` FROM cashier_deposits WHERE id = $1 AND tenant_id = $2`+suffix, id, tenantID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.New(apperr.NotFound, "deposit %q not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("cashier: load deposit: %w", err)
	}
	return d, nil
}

// insertDeposit stores a new deposit; a reference the tenant used already
// is a Conflict.
func insertDeposit(ctx context.Context, tx *store.Tx, d *deposit) error {
	res, err := tx.ExecContext(ctx, `INSERT INTO cashier_deposits (`+depositCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25) ON CONFLICT DO NOTHING`,
		d.ID, d.TenantID, d.CustomerID, d.PSP, d.Channel, d.Amount, d.CapturedAmount, d.Currency, d.Status, d.Reference, d.SessionID,
		d.PSPRef, d.HoldID, d.Reason, d.Payer, d.Agent, d.ReturnURL, d.PSPSeq, micros(d.CreatedAt), micros(d.UpdatedAt), micros(d.AuthorisedAt), micros(d.CapturedAt),
		instructionsJSON(d.Instructions), d.RefundRef, d.Attempts)
	if err != nil {
		return fmt.Errorf("cashier: insert deposit: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err == nil {
			err = &apperr.Error{Code: apperr.Conflict, Field: "reference", Message: fmt.Sprintf("a deposit with reference %q exists already", d.Reference)}
		}
		return err
	}
	return nil
}

// instructionsJSON is the stored form of a deposit's instructions ("" for none).
func instructionsJSON(in *Instructions) string {
	if in == nil {
		return ""
	}
	b, _ := json.Marshal(in)
	return string(b)
}

func saveDeposit(ctx context.Context, tx *store.Tx, d *deposit) error {
	_, err := tx.ExecContext(ctx, `UPDATE cashier_deposits SET status = $1, captured_amount = $2, psp_reference = $3, hold_id = $4, reason = $5,
		payer = $6, psp_seq = $7, updated_at = $8, authorised_at = $9, captured_at = $10, instructions = $11, refund_reference = $12, attempts = $13
		WHERE id = $14`,
		d.Status, d.CapturedAmount, d.PSPRef, d.HoldID, d.Reason, d.Payer, d.PSPSeq, micros(d.UpdatedAt), micros(d.AuthorisedAt), micros(d.CapturedAt),
		instructionsJSON(d.Instructions), d.RefundRef, d.Attempts, d.ID)
	if err != nil {
		return fmt.Errorf("cashier: save deposit: %w", err)
	}
	return nil
}

// canMove reports whether a deposit in status from may become to.
func canMove(next map[string][]string, from, to string) bool { return slices.Contains(next[from], to) }

// applyDeposit moves d, locked in tx, to res.Status with its ledger entry
// and event. A capture posts d.CapturedAmount (the whole amount when 0).
// A step the state machine does not allow is a Conflict and changes
// nothing; the same status again only records what res adds.
func (s *Service) applyDeposit(ctx context.Context, tx *store.Tx, d *deposit, c Connector, res Result) error {
	if res.PSPRef != "" {
		d.PSPRef = res.PSPRef
	}
	if res.Payer != "" {
		d.Payer = res.Payer
	}
	if res.Instructions != nil {
		d.Instructions = res.Instructions
	}
	if res.RefundRef != "" {
		d.RefundRef = res.RefundRef
	}
	if res.Status == DepositCaptured && res.Amount > 0 {
		d.CapturedAmount = res.Amount
	}
	now := s.now()
	d.UpdatedAt = now
	if res.Status == d.Status {
		return saveDeposit(ctx, tx, d)
	}
	if !canMove(depositNext, d.Status, res.Status) {
		return apperr.New(apperr.Conflict, "deposit %s is %s: it cannot become %s", d.ID, d.Status, res.Status)
	}
	if err := s.depositMoney(ctx, tx, d, c, res.Status, now); err != nil {
		return err
	}
	d.Status, d.Reason = res.Status, res.Reason
	if err := saveDeposit(ctx, tx, d); err != nil {
		return err
	}
	if d.SessionID != "" && (d.Status == DepositAuthorised || d.Status == DepositCaptured) {
		if err := completeSession(ctx, tx, d.SessionID, d.ID); err != nil {
			return err
		}
	}
	return s.emit(ctx, tx, d.TenantID, "cashier.deposit."+d.Status, d.ID, viewDeposit(d))
}

// depositMoney posts the ledger side of d becoming to.
func (s *Service) depositMoney(ctx context.Context, tx *store.Tx, d *deposit, c Connector, to string, now time.Time) error {
	switch to {
	case DepositAuthorised:
		d.AuthorisedAt = now
		return s.holdDeposit(ctx, tx, d, c, now)
	case DepositCaptured:
		d.CapturedAt = now
		if d.CapturedAmount == 0 {
			d.CapturedAmount = d.Amount
		}
		return s.captureMoney(ctx, tx, d, c)
	case DepositVoided:
		return s.ledger.VoidHold(ctx, tx, d.TenantID, d.HoldID)
	case DepositRefunded:
		return s.refundMoney(ctx, tx, d, c)
	}
	return nil
}

// holdDeposit reserves the deposit PSP clearing → customer balance and
// schedules the authorisation's expiry.
func (s *Service) holdDeposit(ctx context.Context, tx *store.Tx, d *deposit, c Connector, now time.Time) error {
	from, to, err := s.depositAccounts(ctx, tx, d, c)
	if err != nil {
		return err
	}
	h, err := s.ledger.Hold(ctx, tx, ledger.HoldSpec{TenantID: d.TenantID, From: from, To: to, Currency: d.Currency, Amount: d.Amount,
		Kind: KindDeposit, Reference: d.ID})
	if err != nil {
		return err
	}
	d.HoldID = h.ID
	if exp := c.Info().AuthExpiry; exp > 0 {
		_, _, err = s.events.Enqueue(ctx, tx, outbox.JobSpec{Kind: JobExpireAuth, TenantID: d.TenantID, Payload: idPayload{ID: d.ID},
			RunAt: now.Add(exp), UniqueKey: JobExpireAuth + ":" + d.ID})
	}
	return err
}

func (s *Service) captureMoney(ctx context.Context, tx *store.Tx, d *deposit, c Connector) error {
	if d.HoldID != "" {
		_, err := s.ledger.PostHold(ctx, tx, d.TenantID, d.HoldID, d.CapturedAmount, true)
		return err
	}
	from, to, err := s.depositAccounts(ctx, tx, d, c)
	if err != nil {
		return err
	}
	_, err = s.ledger.Transfer(ctx, tx, ledger.TransferSpec{TenantID: d.TenantID, From: from, To: to, Currency: d.Currency,
		Amount: d.CapturedAmount, Kind: KindDeposit, Reference: d.ID})
	return err
}

// refundMoney takes a captured deposit back from the customer's balance
// to its PSP's clearing: a card deposit through the payments core's card
// refund (cardpay: to the card scheme's clearing, entry card_refund), as
// the card gateway and remote payments refund cards.
func (s *Service) refundMoney(ctx context.Context, tx *store.Tx, d *deposit, c Connector) error {
	to, from, err := s.depositAccounts(ctx, tx, d, c)
	if err != nil {
		return err
	}
	if c.Info().Name == PSPCard {
		err = s.cards.Refund(ctx, tx, cardpay.RefundSpec{Scope: d.TenantID, Currency: d.Currency, Reference: d.ID,
			Amount: d.CapturedAmount, From: from})
	} else {
		_, err = s.ledger.Transfer(ctx, tx, ledger.TransferSpec{TenantID: d.TenantID, From: from, To: to, Currency: d.Currency,
			Amount: d.CapturedAmount, Kind: KindRefund, Reference: d.ID})
	}
	if apperr.Is(err, apperr.InsufficientFunds) {
		return apperr.New(apperr.InsufficientFunds, "customer %s's balance no longer holds the %s %s of deposit %s (it was withdrawn)",
			d.CustomerID, format(d.CapturedAmount, d.Currency), d.Currency, d.ID)
	}
	return err
}

// depositAccounts are the PSP's clearing and the customer's balance.
func (s *Service) depositAccounts(ctx context.Context, tx *store.Tx, d *deposit, c Connector) (clearing, balance string, err error) {
	if clearing, err = s.clearing(ctx, tx, d.TenantID, c, d.Currency); err != nil {
		return "", "", err
	}
	balance, err = s.customerAccount(ctx, tx, d.TenantID, d.CustomerID, purposeBalance, d.Currency)
	return clearing, balance, err
}

type idPayload struct {
	ID string `json:"id"`
}

// Deposit is a deposit on the wire.
type Deposit struct {
	ID             string     `json:"id"`
	CustomerID     string     `json:"customerId"`
	PSP            string     `json:"psp"`
	Channel        string     `json:"channel"`
	Status         string     `json:"status"`
	Amount         string     `json:"amount"`
	CapturedAmount string     `json:"capturedAmount"`
	Currency       string     `json:"currency"`
	Reference      *string    `json:"reference"`
	SessionID      *string    `json:"sessionId"`
	PSPReference   *string    `json:"pspReference"`
	Reason         *string    `json:"reason"`
	Payer          *string    `json:"payer"`
	Agent          *string    `json:"agent"`
	CreatedAt      time.Time  `json:"createdAt"`
	UpdatedAt      time.Time  `json:"updatedAt"`
	AuthorisedAt   *time.Time `json:"authorisedAt"`
	CapturedAt     *time.Time `json:"capturedAt"`
	// RefundReference is the acquirer's refund transaction of a refunded
	// card deposit.
	RefundReference *string `json:"refundReference"`
	// Attempts counts the calls to a PSP that could not be reached, for a
	// deposit submitted again later (0: it answered the first time).
	Attempts int `json:"attempts"`
	// Action is where the customer goes next (a 3-D Secure challenge): in
	// the answer that created the deposit only.
	Action *Action `json:"action,omitempty"`
	// Instructions say how to pay a bank transfer: in every answer about
	// the deposit, as the customer was first told.
	Instructions *Instructions `json:"instructions,omitempty"`
}

// Action sends the customer's browser somewhere.
type Action struct {
	Type string `json:"type"` // "redirect"
	URL  string `json:"url"`
}

func viewDeposit(d *deposit) Deposit {
	return Deposit{ID: d.ID, CustomerID: d.CustomerID, PSP: d.PSP, Channel: d.Channel, Status: d.Status,
		Amount: format(d.Amount, d.Currency), CapturedAmount: format(d.CapturedAmount, d.Currency), Currency: d.Currency,
		Reference: opt(d.Reference), SessionID: opt(d.SessionID), PSPReference: opt(d.PSPRef), Reason: opt(d.Reason), Payer: opt(d.Payer),
		Agent: opt(d.Agent), CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt, AuthorisedAt: optTime(d.AuthorisedAt), CapturedAt: optTime(d.CapturedAt),
		RefundReference: opt(d.RefundRef), Attempts: d.Attempts, Instructions: d.Instructions}
}

func opt(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
