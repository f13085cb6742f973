package gateway

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/store"
)

// Recurring payments (the guide's "Recurring payments"):
//
//   - a parent job has the option IsRecurringPaymentJobParent and
//     recurrenceCriteria; its card is vaulted when its payment succeeds
//     (after 3-D Secure unless MOTO; a zero amount only verifies the card);
//   - a child job names the parent in parentPaymentJobReference and charges
//     the parent's vaulted card at once, without the shopper (no 3-D
//     Secure, no card details in the request); its recurrenceCriteria are
//     optional and, when given, must match the parent's type (and number of
//     instalments); an Instalment recurrence's Instalments must match its
//     recurringFrequency, as the guide says;
//   - a child is refused when the parent is not a recurring parent ("Cannot
//     recur on a non recurring parent."), has no successful payment yet,
//     its recurrence expired (recurringExpiry), or — Instalment — every
//     instalment was already taken (children that got an authorisation
//     count; declined ones do not).
//
// The gateway does not schedule children (neither does the guide's): the
// merchant creates each at the time it wants.

// Recurrence types.
const (
	RecurSubscription = "Subscription"
	RecurInstalment   = "Instalment"
	RecurUnscheduled  = "Unscheduled"
)

// Limits of recurrenceCriteria.
const (
	MaxRecurringFrequency = 366 // days between payments
	MaxInstalments        = 999
)

// recurrence are validated recurrenceCriteria, kept with the job.
type recurrence struct {
	Type        string `json:"type"`
	Expiry      string `json:"expiry,omitempty"`    // as given
	ExpiresAt   int64  `json:"expiresAt,omitempty"` // unix µs: the recurrence is valid before this instant
	Frequency   int    `json:"frequency,omitempty"` // days
	Instalments int    `json:"instalments,omitempty"`
}

func recurrenceField(name string) string { return "recurrenceCriteria." + name }

// parseRecurrence validates recurrenceCriteria at now.
func parseRecurrence(rc *RecurrenceCriteria, now time.Time) (*recurrence, error) {
	r := &recurrence{}
	switch strings.ToLower(strings.TrimSpace(rc.RecurrenceType)) {
	case "":
		return nil, apperr.InvalidField(recurrenceField("recurrenceType"), "recurrenceType is required: Subscription, Instalment or Unscheduled.")
	case "subscription":
		r.Type = RecurSubscription
	case "instalment", "installment":
		r.Type = RecurInstalment
	case "unscheduled":
		r.Type = RecurUnscheduled
	default:
		return nil, apperr.InvalidField(recurrenceField("recurrenceType"), "recurrenceType must be Subscription, Instalment or Unscheduled, not %q.", rc.RecurrenceType)
	}
	scheduled := r.Type != RecurUnscheduled
	if exp := strings.TrimSpace(rc.RecurringExpiry); exp != "" {
		at, ok := parseRecurringExpiry(exp)
		if !ok {
			return nil, apperr.InvalidField(recurrenceField("recurringExpiry"), "recurringExpiry must be a date as yyyy-mm-dd, for example 2034-11-08.")
		}
		if !at.After(now) {
			return nil, apperr.InvalidField(recurrenceField("recurringExpiry"), "recurringExpiry must be in the future.")
		}
		r.Expiry, r.ExpiresAt = exp, at.UnixMicro()
	} else if scheduled {
		return nil, apperr.InvalidField(recurrenceField("recurringExpiry"), "recurringExpiry is required for a %s recurrence: the date after which it ends, as yyyy-mm-dd.", r.Type)
	}
	if f := strings.TrimSpace(string(rc.RecurringFrequency)); f != "" {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > MaxRecurringFrequency {
			return nil, apperr.InvalidField(recurrenceField("recurringFrequency"), "recurringFrequency must be a whole number of days between payments, from 1 to %d.", MaxRecurringFrequency)
		}
		r.Frequency = n
	} else if scheduled {
		return nil, apperr.InvalidField(recurrenceField("recurringFrequency"), "recurringFrequency is required for a %s recurrence: the number of days between payments.", r.Type)
	}
	if i := strings.TrimSpace(string(rc.Instalments)); i != "" {
		if r.Type != RecurInstalment {
			return nil, apperr.InvalidField(recurrenceField("instalments"), "instalments applies only to the Instalment recurrence type.")
		}
		n, err := strconv.Atoi(i)
		if err != nil || n < 1 || n > MaxInstalments {
			return nil, apperr.InvalidField(recurrenceField("instalments"), "instalments must be a whole number of payments from 1 to %d.", MaxInstalments)
		}
		r.Instalments = n
	} else if r.Type == RecurInstalment {
		return nil, apperr.InvalidField(recurrenceField("instalments"), "instalments is required for an Instalment recurrence: the number of payments.")
	}
	// The guide: Instalments "must match the value of" recurringFrequency
	// (its instalment examples send 13 and 13).
	if r.Type == RecurInstalment && r.Instalments != r.Frequency {
		return nil, apperr.InvalidField(recurrenceField("instalments"), "instalments must match recurringFrequency (%d).", r.Frequency)
	}
	return r, nil
}

// parseRecurringExpiry reads the guide's yyyy-mm-dd (valid through that
// day, UTC) or a date-time (valid until that instant).
func parseRecurringExpiry(s string) (time.Time, bool) {
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t.AddDate(0, 0, 1), true
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// criteria is r on the wire.
func (r *recurrence) criteria() *RecurrenceCriteria {
	if r == nil {
		return nil
	}
	out := &RecurrenceCriteria{RecurrenceType: r.Type, RecurringExpiry: r.Expiry}
	if r.Frequency > 0 {
		out.RecurringFrequency = Flex(strconv.Itoa(r.Frequency))
	}
	if r.Instalments > 0 {
		out.Instalments = Flex(strconv.Itoa(r.Instalments))
	}
	return out
}

// checkChildCriteria checks a child's own recurrenceCriteria against its parent's
// (before the card is charged).
func checkChildCriteria(parent, child *recurrence) error {
	if child == nil {
		return nil
	}
	if child.Type != parent.Type {
		return apperr.InvalidField(recurrenceField("recurrenceType"), "recurrenceType must match the parent payment job's: %s.", parent.Type)
	}
	if child.Instalments != 0 && child.Instalments != parent.Instalments {
		return apperr.InvalidField(recurrenceField("instalments"), "instalments must match the parent payment job's: %d.", parent.Instalments)
	}
	return nil
}

// checkRecurrence decides whether the parent may recur now, with q (in the
// child's transaction, after locking the parent: children of one parent
// are created one at a time, so instalments are never exceeded).
func (s *Service) checkRecurrence(ctx context.Context, q store.Querier, parent *job, now time.Time) error {
	r := parent.Params.Recurrence
	if r == nil {
		return MsgNotRecurringParent.Invalid("parentPaymentJobReference")
	}
	if r.ExpiresAt != 0 && !now.Before(fromMicros(r.ExpiresAt)) {
		return apperr.InvalidField("parentPaymentJobReference", "The recurrence of the parent payment job ended (recurringExpiry %s).", r.Expiry)
	}
	if r.Instalments == 0 {
		return nil
	}
	var taken int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM gateway_payments p JOIN gateway_jobs j ON j.reference = p.job_reference
		WHERE j.parent_reference = $1 AND j.tenant_id = $2 AND p.authorised > 0`, parent.Ref, parent.TenantID).Scan(&taken); err != nil {
		return fmt.Errorf("gateway: count instalments: %w", err)
	}
	if taken >= r.Instalments {
		return apperr.InvalidField("parentPaymentJobReference", "All %d instalments of the parent payment job have been taken.", r.Instalments)
	}
	return nil
}

// lockParent locks the parent job row in tx (PostgreSQL; SQLite writers are
// serialised anyway) so that concurrent children of one parent serialise.
func (s *Service) lockParent(ctx context.Context, tx *store.Tx, tenantID, ref string) error {
	var st string
	if err := tx.QueryRowContext(ctx, `SELECT status FROM gateway_jobs WHERE reference = $1 AND tenant_id = $2`+s.DB.ForUpdate(), ref, tenantID).Scan(&st); err != nil {
		return fmt.Errorf("gateway: lock parent job: %w", err)
	}
	return nil
}
