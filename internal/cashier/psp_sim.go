package cashier

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/outbox"
	"github.com/cashgate/cashgate/internal/store"
)

// The simulated external PSP ("sim"): it keeps its own books
// (cashier_sim_ops, one operation per merchant reference, so a deposit or
// payout asked twice is one operation), accepts an operation at once and
// tells its outcome later by signed notifications, POSTed to
// /cashier/v1/psp/sim/notifications by background jobs, as a real PSP's
// would be:
//
//	deposit: pending (seq 1), then captured or declined (seq 2)
//	payout:  processing (seq 1), then paid or failed (seq 2)
//
// Deterministically from SimOptions.Seed and the operation, some final
// notifications are delayed (SimDelay), some sent twice (the same
// notification id), some sent before the intermediate one (reordered). The
// amount decides the outcome: minor units ending in 13 are declined (a
// payout fails); ending in 42, the PSP's API is unavailable the first two
// times it is asked (then accepts); ending in 99, it is never available.
// Everything else is approved.
//
// Notifications are signed like the Platform's callbacks, header
// Sim-Signature: t=<Unix seconds>,v1=<hex HMAC-SHA256(key, t + "." + body)>,
// with a key per tenant derived from SimOptions.Key.

// SimOptions configure the simulated PSP.
type SimOptions struct {
	Seed uint64 // chooses the delayed, duplicated and reordered notifications
	Key  []byte // signs notifications (32 bytes, derived from the KEK)
	// HTTP delivers notifications to this cashgate's public URL.
	HTTP *http.Client
}

// JobSimNotify delivers one notification of the simulated PSP.
const JobSimNotify = "cashier.sim.notify"

// SimDelay is how late a delayed notification comes.
const SimDelay = 90 * time.Second

// HeaderSimSignature carries a simulated notification's signature.
const HeaderSimSignature = "Sim-Signature"

type simPSP struct {
	basePSP
	s   *Service
	opt SimOptions
}

func newSimPSP(s *Service, opt SimOptions) (*simPSP, error) {
	if len(opt.Key) < 16 {
		return nil, errors.New("cashier: the simulated PSP needs a signing key of 16 bytes or more")
	}
	if opt.HTTP == nil {
		opt.HTTP = &http.Client{Timeout: 10 * time.Second}
	}
	return &simPSP{basePSP: basePSP{PSPSim}, s: s, opt: opt}, nil
}

func (p *simPSP) Info() Info {
	return Info{Name: PSPSim, MinAmount: 1, MaxAmount: MaxAmount, Deposits: true, Payouts: true, Selectable: true}
}

func (p *simPSP) Deposit(ctx context.Context, op Op, rec Recorder) error {
	ref, err := p.call(ctx, IntentDeposit, op)
	if err != nil {
		return err
	}
	return p.s.record(ctx, rec, Result{Status: DepositPending, PSPRef: ref})
}

func (p *simPSP) Payout(ctx context.Context, op Op, rec Recorder) error {
	ref, err := p.call(ctx, IntentPayout, op)
	if err != nil {
		return err
	}
	return p.s.record(ctx, rec, Result{Status: PayoutProcessing, PSPRef: ref})
}

var simAccountRE = regexp.MustCompile(`^[A-Za-z0-9-]{4,34}$`)

func (p *simPSP) CheckDestination(_ context.Context, d Destination) (Destination, error) {
	if !simAccountRE.MatchString(d.Account) {
		return Destination{}, apperr.InvalidField("destination.account", "destination.account is the customer's sim account: 4 to 34 letters, digits or -")
	}
	return Destination{Account: d.Account}, nil
}

type simOp struct {
	id, status string
	calls      int
}

// call is the simulated PSP's API: it books the operation (once per
// merchant reference) and schedules its notifications the first time it
// accepts it.
func (p *simPSP) call(ctx context.Context, kind string, op Op) (string, error) {
	var o simOp
	err := p.s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		var err error
		if o, err = p.book(ctx, tx, kind, op); err != nil || o.calls != firstAccepted(op.Amount) {
			return err // a failing call, or one the PSP has accepted before
		}
		return p.schedule(ctx, tx, kind, op, o)
	})
	if err == nil && failing(op.Amount, o.calls) {
		return "", apperr.New(apperr.Unavailable, "the PSP sim is unavailable; try again later")
	}
	return o.id, err
}

// failing: an amount ending in 42 fails the first two calls, one ending
// in 99 every call.
func failing(amount int64, calls int) bool {
	return (amount%100 == 42 && calls <= 2) || amount%100 == 99
}

// firstAccepted is the call that the PSP first accepts (0: none).
func firstAccepted(amount int64) int {
	switch amount % 100 {
	case 42:
		return 3
	case 99:
		return 0
	}
	return 1
}

func declines(amount int64) bool { return amount%100 == 13 }

// book inserts or finds the operation and counts the call.
func (p *simPSP) book(ctx context.Context, tx *store.Tx, kind string, op Op) (simOp, error) {
	final := map[string][2]string{IntentDeposit: {DepositCaptured, DepositDeclined}, IntentPayout: {PayoutPaid, PayoutFailed}}[kind]
	status := final[0]
	if declines(op.Amount) {
		status = final[1]
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO cashier_sim_ops (id, tenant_id, kind, merchant_ref, amount, currency, status, calls, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8) ON CONFLICT DO NOTHING`,
		p.s.ids.ID("sim"), op.TenantID, kind, op.ID, op.Amount, op.Currency, status, micros(p.s.now())); err != nil {
		return simOp{}, fmt.Errorf("cashier: sim book: %w", err)
	}
	var o simOp
	err := tx.QueryRowContext(ctx, `UPDATE cashier_sim_ops SET calls = calls + 1 WHERE tenant_id = $1 AND kind = $2 AND merchant_ref = $3
		RETURNING id, status, calls`, op.TenantID, kind, op.ID).Scan(&o.id, &o.status, &o.calls)
	return o, err
}

// simNotification is the simulated PSP's notification on the wire.
type simNotification struct {
	ID                string `json:"id"`
	Merchant          string `json:"merchant"` // the tenant
	Kind              string `json:"kind"`     // deposit or payout
	Reference         string `json:"reference"`
	MerchantReference string `json:"merchantReference"`
	Status            string `json:"status"`
	Seq               int64  `json:"seq"`
	Reason            string `json:"reason,omitempty"`
}

type simJob struct {
	Tenant string          `json:"tenant"`
	Body   json.RawMessage `json:"body"`
}

// schedule enqueues the operation's two notifications, delayed,
// duplicated or reordered as the seed says.
func (p *simPSP) schedule(ctx context.Context, tx *store.Tx, kind string, op Op, o simOp) error {
	first := map[string]string{IntentDeposit: DepositPending, IntentPayout: PayoutProcessing}[kind]
	h := p.chaos(o.id)
	now := p.s.now()
	finalAt, firstAt := now, now
	if h%4 == 0 {
		finalAt = now.Add(SimDelay)
	}
	if (h>>8)%3 == 0 {
		firstAt = finalAt.Add(5 * time.Second) // reordered: the final one comes first
	}
	copies := 1
	if (h>>16)%3 == 0 {
		copies = 2
	}
	reason := ""
	if declines(op.Amount) {
		reason = "declined_by_psp"
	}
	n := simNotification{Merchant: op.TenantID, Kind: kind, Reference: o.id, MerchantReference: op.ID}
	for _, x := range []struct {
		status  string
		seq     int64
		at      time.Time
		copies  int
		because string
	}{{first, 1, firstAt, 1, ""}, {o.status, 2, finalAt, copies, reason}} {
		n.ID, n.Status, n.Seq, n.Reason = "ntf_"+o.id+"_"+strconv.FormatInt(x.seq, 10), x.status, x.seq, x.because
		body, _ := json.Marshal(n)
		for range x.copies {
			if _, _, err := p.s.events.Enqueue(ctx, tx, outbox.JobSpec{Kind: JobSimNotify, TenantID: op.TenantID,
				Payload: simJob{Tenant: op.TenantID, Body: body}, RunAt: x.at}); err != nil {
				return err
			}
		}
	}
	return nil
}

// chaos is the seed's word on an operation.
func (p *simPSP) chaos(opID string) uint64 {
	var seed [8]byte
	binary.BigEndian.PutUint64(seed[:], p.opt.Seed)
	h := sha256.Sum256(append(seed[:], opID...))
	return binary.BigEndian.Uint64(h[:8])
}

// tenantKey is the tenant's notification signing key.
func (p *simPSP) tenantKey(tenantID string) string {
	m := hmac.New(sha256.New, p.opt.Key)
	m.Write([]byte("cashier sim notifications\n" + tenantID))
	return hex.EncodeToString(m.Sum(nil))
}

// Notify is the handler of JobSimNotify: it POSTs the notification, signed
// now, to this cashgate; anything but a 2xx is retried with backoff.
func (p *simPSP) Notify(ctx context.Context, jb outbox.Job) error {
	var j simJob
	if err := json.Unmarshal(jb.Payload, &j); err != nil {
		return outbox.Permanent(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.s.public+"/cashier/v1/psp/sim/notifications", bytes.NewReader(j.Body))
	if err != nil {
		return outbox.Permanent(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderSimSignature, Sign(p.tenantKey(j.Tenant), p.s.now(), j.Body))
	resp, err := p.opt.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("cashier: sim notification answered %d", resp.StatusCode)
	}
	return nil
}

// ParseNotification verifies the signature with the merchant's key and
// reads the notification.
func (p *simPSP) ParseNotification(_ context.Context, h http.Header, body []byte) (Notification, error) {
	var n simNotification
	if err := httpx.Unmarshal(body, &n, httpx.DecodeOptions{AllowUnknownFields: true}); err != nil || n.ID == "" || n.Merchant == "" {
		return Notification{}, apperr.New(apperr.Invalid, "not a notification of the PSP sim")
	}
	if err := VerifySignature(p.tenantKey(n.Merchant), h.Get(HeaderSimSignature), body, p.s.now()); err != nil {
		return Notification{}, err
	}
	return Notification{ID: n.ID, TenantID: n.Merchant, Kind: n.Kind, ObjectID: n.MerchantReference, PSPRef: n.Reference,
		Status: n.Status, Seq: n.Seq, Reason: n.Reason}, nil
}

// Status is what the simulated PSP's books say of an operation.
func (p *simPSP) Status(ctx context.Context, op Op) (Result, error) {
	var r Result
	err := p.s.db.Read().QueryRowContext(ctx, `SELECT id, status FROM cashier_sim_ops WHERE tenant_id = $1 AND merchant_ref = $2`,
		op.TenantID, op.ID).Scan(&r.PSPRef, &r.Status)
	if errors.Is(err, sql.ErrNoRows) {
		return Result{}, apperr.New(apperr.NotFound, "the PSP sim knows no operation %s", op.ID)
	}
	return r, err
}

// SimSign signs a notification body for tenantID as the simulated PSP does
// (tests forge and replay notifications with it).
func (s *Service) SimSign(tenantID string, body []byte) string {
	return Sign(s.sim.tenantKey(tenantID), s.now(), body)
}

// SimNotify is the handler of JobSimNotify (the simulated PSP's delivery).
func (s *Service) SimNotify(ctx context.Context, jb outbox.Job) error { return s.sim.Notify(ctx, jb) }
