package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/ids"
	"github.com/cashgate/cashgate/internal/money"
	"github.com/cashgate/cashgate/internal/store"
)

// Limits of a payment request.
const (
	MaxAmount       = 1_000_000_000_000_000 // minor units: far below the ledger's bound, far above any real payment
	MaxNote         = 500                   // characters
	MaxMetadata     = 4096                  // bytes of the compacted JSON object
	MaxMetadataKeys = 50
	MaxMetadataKey  = 64 // bytes of one key
	MaxRedirectURL  = 2048
)

// Create creates a pending remote payment of the tenant and answers it (201)
// from inside its transaction.
func (s *Service) Create(ctx context.Context, tenantID string, in CreatePaymentRequest) (Payment, error) {
	now := s.now()
	p, err := s.validate(ctx, in, now)
	if err != nil {
		return Payment{}, err
	}
	p.TenantID = tenantID
	if p.To, err = s.receivingAccount(ctx, tenantID); err != nil {
		return Payment{}, err
	}
	var out Payment
	err = s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		if err := s.insertNew(ctx, tx, p); err != nil {
			return err
		}
		if err := s.emit(ctx, tx, p, "created"); err != nil {
			return err
		}
		out = s.view(p)
		return httpx.Reply(ctx, tx, http.StatusCreated, out)
	})
	return out, err
}

// insertNew stores p under a fresh 16-digit id (newID): a drawn id some
// payment has already inserts nothing and is drawn again, so no id is ever
// reused, and a concurrent draw of the same id cannot take it twice.
func (s *Service) insertNew(ctx context.Context, tx *store.Tx, p *payment) error {
	for {
		p.ID = newID(s.ids, s.clk.Now())
		inserted, err := insertPayment(ctx, tx, p)
		if err != nil || inserted {
			return err
		}
	}
}

// A payment id is 16 digits: a 5-digit time bucket (idBucket) and 11
// random digits. The bucket runs through 10000…99999 in steps of 100 ms and
// starts again every 2.5 hours, so the ids made together sort together:
// the primary key and the indexes keyed by the id (the events' subject,
// the attempts' payment) take a new payment on the few pages the bucket's
// ids share instead of on a random page each, and a commit of many
// payments writes those few pages (measured: see the README's
// Performance). Guessing stays as hard as with 16 random digits: the
// buckets recur, so each holds about 1/90000 of all ids, and a guess hits
// one with a chance of (all payments) in 9·10¹⁵, as before.
func newID(g *ids.Gen, now time.Time) string {
	return idBucket(now) + g.AnyDigits(11)
}

// idBucket is the 5-digit time bucket of a payment id made at now.
func idBucket(now time.Time) string {
	return strconv.FormatInt(10000+now.UnixMilli()/100%90000, 10)
}

type idPayload struct {
	ID string `json:"id"`
}

// validate checks a request and returns the payment it describes (no id,
// tenant or receiving account yet).
func (s *Service) validate(ctx context.Context, in CreatePaymentRequest, now time.Time) (*payment, error) {
	if in.Amount <= 0 || in.Amount > MaxAmount {
		return nil, apperr.InvalidField("amount", "amount must be a whole number of the currency's smallest unit between 1 and %d (10098 is 100.98 USD)", int64(MaxAmount))
	}
	cur, err := money.ParseCurrency(in.Currency)
	if err != nil {
		return nil, apperr.InvalidField("currency", "currency %q is not an ISO 4217 currency code cashgate supports", in.Currency)
	}
	if utf8.RuneCountInString(in.Note) > MaxNote {
		return nil, apperr.InvalidField("note", "note is at most %d characters", MaxNote)
	}
	meta, err := metadataOf(in.Metadata)
	if err != nil {
		return nil, err
	}
	p := &payment{Amount: in.Amount, Currency: cur.Code(), Note: in.Note, Metadata: meta, Status: StatusPending,
		CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(DefaultExpiry)}
	if in.ExpiresAt != nil {
		exp := in.ExpiresAt.UTC().Truncate(time.Microsecond)
		if exp.Before(now.Add(MinExpiry)) || exp.After(now.Add(MaxExpiry)) {
			return nil, apperr.InvalidField("expires_at", "expires_at must be between %s and %s from now", MinExpiry, MaxExpiry)
		}
		p.ExpiresAt = exp
	}
	if in.RedirectURL != "" {
		if err := checkRedirect(in.RedirectURL); err != nil {
			return nil, err
		}
		p.RedirectURL = in.RedirectURL
	}
	if in.PayableTo != "" {
		if p.PayableTo, err = s.wallets.CheckAccount(ctx, "payable_to", in.PayableTo); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// metadataOf returns the compacted metadata object ("{}" when absent).
func metadataOf(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "{}", nil
	}
	var m map[string]json.RawMessage
	if raw[0] != '{' || json.Unmarshal(raw, &m) != nil {
		return "", apperr.InvalidField("metadata", "metadata must be a JSON object")
	}
	if len(m) > MaxMetadataKeys {
		return "", apperr.InvalidField("metadata", "metadata has at most %d keys", MaxMetadataKeys)
	}
	for k := range m {
		if k == "" || len(k) > MaxMetadataKey {
			return "", apperr.InvalidField("metadata", "metadata keys are 1 to %d bytes", MaxMetadataKey)
		}
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return "", apperr.InvalidField("metadata", "metadata must be a JSON object")
	}
	if buf.Len() > MaxMetadata {
		return "", apperr.InvalidField("metadata", "metadata is at most %d bytes of JSON", MaxMetadata)
	}
	return buf.String(), nil
}

// checkRedirect accepts an absolute http(s) URL without a fragment (the
// page appends paymentId and status to its query).
func checkRedirect(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" || u.User != nil || len(raw) > MaxRedirectURL {
		return apperr.InvalidField("redirectUrl", "redirectUrl must be an absolute http(s) URL without a fragment or credentials, at most %d characters", MaxRedirectURL)
	}
	return nil
}
