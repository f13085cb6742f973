package cashier

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
)

// Filter selects deposits or payouts of a tenant, newest first.
type Filter struct {
	Status     string
	CustomerID string
	PSP        string
	// Q finds one by its id, the Platform's reference or the PSP's.
	Q string
	Page
}

type keyset struct {
	at int64
	id string
}

// keyset decodes a newest-first cursor (created_at µs ":" id).
func (p *Page) keyset() (keyset, error) {
	raw, err := p.check()
	if err != nil || raw == "" {
		return keyset{}, err
	}
	at, id, ok := strings.Cut(raw, ":")
	n, perr := strconv.ParseInt(at, 10, 64)
	if !ok || perr != nil || id == "" || httpx.CheckText("cursor", id) != nil {
		return keyset{}, apperr.InvalidField("cursor", "cursor is not one this API gave out")
	}
	return keyset{at: n, id: id}, nil
}

func cursorOf(at time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at.UnixMicro(), 10) + ":" + id))
}

// listQuery is the page's SELECT of cols from table.
func listQuery(table, cols, tenantID string, f Filter, k keyset) (string, []any) {
	args := []any{tenantID}
	where := []string{"tenant_id = $1"}
	add := func(cond string, v ...any) {
		for _, a := range v {
			args = append(args, a)
			cond = strings.Replace(cond, "?", "$"+strconv.Itoa(len(args)), 1)
		}
		where = append(where, cond)
	}
	if f.Status != "" {
		add("status = ?", f.Status)
	}
	if f.CustomerID != "" {
		add("customer_id = ?", f.CustomerID)
	}
	if f.PSP != "" {
		add("psp = ?", f.PSP)
	}
	if f.Q != "" {
		add("(id = ? OR reference = ? OR psp_reference = ?)", f.Q, f.Q, f.Q)
	}
	if k.id != "" {
		add("(created_at, id) < (?, ?)", k.at, k.id)
	}
	return `SELECT ` + cols + ` FROM ` + table + ` WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY created_at DESC, id DESC LIMIT ` + strconv.Itoa(f.Limit+1), args
}

// DepositList is a page of deposits, newest first.
type DepositList struct {
	Data []Deposit `json:"data"`
	Next string    `json:"next,omitempty"`
}

// PayoutList is a page of payouts, newest first.
type PayoutList struct {
	Data []Payout `json:"data"`
	Next string   `json:"next,omitempty"`
}

var depositStatuses = []string{DepositCreated, DepositPending, DepositAuthorised, DepositCaptured, DepositVoided, DepositDeclined, DepositFailed, DepositRefunded}

var payoutStatuses = []string{PayoutRequested, PayoutApproved, PayoutRejected, PayoutProcessing, PayoutPaid, PayoutFailed, PayoutReturned}

func (f *Filter) check(statuses []string) (keyset, error) {
	if f.Status != "" && !slices.Contains(statuses, f.Status) {
		return keyset{}, apperr.InvalidField("status", "status must be one of %s", strings.Join(statuses, ", "))
	}
	return f.Page.keyset()
}

// ListDeposits returns a page of the tenant's deposits.
func (s *Service) ListDeposits(ctx context.Context, tenantID string, f Filter) (DepositList, error) {
	k, err := f.check(depositStatuses)
	if err != nil {
		return DepositList{}, err
	}
	q, args := listQuery("cashier_deposits", depositCols, tenantID, f, k)
	rows, err := s.db.Read().QueryContext(ctx, q, args...)
	if err != nil {
		return DepositList{}, fmt.Errorf("cashier: list deposits: %w", err)
	}
	defer rows.Close()
	out := DepositList{Data: []Deposit{}}
	for rows.Next() {
		d, err := scanDeposit(rows)
		if err != nil {
			return DepositList{}, err
		}
		if len(out.Data) == f.Limit {
			last := out.Data[len(out.Data)-1]
			out.Next = cursorOf(last.CreatedAt, last.ID)
			break
		}
		out.Data = append(out.Data, viewDeposit(d))
	}
	return out, rows.Err()
}

// ListPayouts returns a page of the tenant's payouts.
func (s *Service) ListPayouts(ctx context.Context, tenantID string, f Filter) (PayoutList, error) {
	k, err := f.check(payoutStatuses)
	if err != nil {
		return PayoutList{}, err
	}
	q, args := listQuery("cashier_payouts", payoutCols, tenantID, f, k)
	rows, err := s.db.Read().QueryContext(ctx, q, args...)
	if err != nil {
		return PayoutList{}, fmt.Errorf("cashier: list payouts: %w", err)
	}
	defer rows.Close()
	out := PayoutList{Data: []Payout{}}
	for rows.Next() {
		p, err := scanPayout(rows)
		if err != nil {
			return PayoutList{}, err
		}
		if len(out.Data) == f.Limit {
			last := out.Data[len(out.Data)-1]
			out.Next = cursorOf(last.CreatedAt, last.ID)
			break
		}
		out.Data = append(out.Data, viewPayout(p))
	}
	return out, rows.Err()
}

// GetDeposit returns the tenant's deposit.
func (s *Service) GetDeposit(ctx context.Context, tenantID, id string) (Deposit, error) {
	d, err := s.loadDeposit(ctx, s.db.Read(), tenantID, id, false)
	if err != nil {
		return Deposit{}, err
	}
	return viewDeposit(d), nil
}

// GetPayout returns the tenant's payout.
func (s *Service) GetPayout(ctx context.Context, tenantID, id string) (Payout, error) {
	p, err := s.loadPayout(ctx, s.db.Read(), tenantID, id, false)
	if err != nil {
		return Payout{}, err
	}
	return viewPayout(p), nil
}
