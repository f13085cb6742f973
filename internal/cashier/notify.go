package cashier

import (
	"context"
	"fmt"
	"net/http"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/store"
)

// PSP notifications: POST /cashier/v1/psp/{psp}/notifications. The PSP's
// connector authenticates and reads one (a forged one is refused, 401, and
// changes nothing); then, in one transaction, it is recorded once by its
// id (a duplicate changes nothing: "duplicate"), and applied to its
// deposit or payout when it names the PSP's own reference of it, is newer
// than the last one applied (a reordered, older one is "ignored") and is a
// step the state machine allows (else "ignored" too).

// Notification outcomes.
const (
	NotificationApplied   = "applied"
	NotificationIgnored   = "ignored"
	NotificationDuplicate = "duplicate"
)

// NotificationAnswer acknowledges a notification.
type NotificationAnswer struct {
	Outcome string `json:"outcome"`
}

// HandleNotification receives a notification of the named PSP.
func (s *Service) HandleNotification(ctx context.Context, pspName string, h http.Header, body []byte) (NotificationAnswer, error) {
	c, ok := s.psps[pspName]
	if !ok {
		return NotificationAnswer{}, apperr.New(apperr.NotFound, "unknown PSP %q", pspName)
	}
	n, err := c.ParseNotification(ctx, h, body)
	if err != nil {
		return NotificationAnswer{}, err
	}
	var out NotificationAnswer
	err = s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO cashier_notifications (psp, notification_id, tenant_id, object_id, status, outcome, received_at)
			VALUES ($1, $2, $3, $4, $5, 'ignored', $6) ON CONFLICT DO NOTHING`, pspName, n.ID, n.TenantID, n.ObjectID, n.Status, micros(s.now()))
		if err != nil {
			return fmt.Errorf("cashier: record notification: %w", err)
		}
		if k, err := res.RowsAffected(); err != nil || k == 0 {
			out.Outcome = NotificationDuplicate
			return err
		}
		applied, err := s.applyNotification(ctx, tx, c, n)
		if err != nil {
			return err
		}
		out.Outcome = NotificationIgnored
		if applied {
			out.Outcome = NotificationApplied
			_, err = tx.ExecContext(ctx, `UPDATE cashier_notifications SET outcome = 'applied' WHERE psp = $1 AND notification_id = $2`, pspName, n.ID)
		}
		return err
	})
	return out, err
}

// applyNotification applies n to its deposit or payout, if it may.
func (s *Service) applyNotification(ctx context.Context, tx *store.Tx, c Connector, n Notification) (bool, error) {
	var err error
	switch n.Kind {
	case IntentDeposit:
		d, lerr := s.loadDeposit(ctx, tx, n.TenantID, n.ObjectID, true)
		if lerr != nil || d.PSP != c.Info().Name || d.PSPRef != n.PSPRef || n.Seq <= d.PSPSeq {
			return false, ignorable(lerr)
		}
		d.PSPSeq = n.Seq
		err = s.applyDeposit(ctx, tx, d, c, Result{Status: n.Status, Reason: n.Reason})
	case IntentPayout:
		p, lerr := s.loadPayout(ctx, tx, n.TenantID, n.ObjectID, true)
		if lerr != nil || p.PSP != c.Info().Name || p.PSPRef != n.PSPRef || n.Seq <= p.PSPSeq {
			return false, ignorable(lerr)
		}
		p.PSPSeq = n.Seq
		err = s.applyPayout(ctx, tx, p, c, Result{Status: n.Status, Reason: n.Reason})
	default:
		return false, nil
	}
	return err == nil, ignorable(err)
}

// ignorable drops the errors that make a notification ignored rather
// than failed: an unknown object, a step the state machine refuses.
func ignorable(err error) error {
	if apperr.Is(err, apperr.NotFound) || apperr.Is(err, apperr.Conflict) {
		return nil
	}
	return err
}
