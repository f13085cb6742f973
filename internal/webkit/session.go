package webkit

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/cashgate/cashgate/internal/store"
)

// SessionCookie names the session cookie of a kit made by New (the
// developer portal's); Kit.Sessions gives a page set a cookie of its own.
const SessionCookie = "cg_session"

// Session is a signed-in browser: who (Kind and Subject, e.g. "developer"
// and the developer's id) until when.
type Session struct {
	Kind      string
	Subject   string
	ExpiresAt time.Time
}

// hashToken is what the database keeps of a session token.
func hashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// StartSession signs the browser in as (kind, subject): a new random token
// in a new row and a new cookie, and the session the browser held before
// (if any) deleted, in one transaction. A token planted before login
// (session fixation) therefore never becomes a signed-in session.
func (k *Kit) StartSession(ctx context.Context, w http.ResponseWriter, r *http.Request, kind, subject string) error {
	return k.StartSessionTx(ctx, w, r, kind, subject, nil)
}

// StartSessionTx is StartSession that also runs inTx (when not nil) in the
// session's transaction: a sign-in's audit row commits with its session.
func (k *Kit) StartSessionTx(ctx context.Context, w http.ResponseWriter, r *http.Request, kind, subject string,
	inTx func(ctx context.Context, tx *store.Tx) error) error {
	token := "cgs_" + k.gen.Secret(32)
	now := k.now()
	exp := now.Add(k.cfg.SessionTTL)
	old := ""
	if c, err := r.Cookie(k.sess.name); err == nil && c.Value != "" {
		old = hashToken(c.Value)
	}
	err := k.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		if old != "" {
			if _, err := tx.ExecContext(ctx, `DELETE FROM web_sessions WHERE token_hash = $1`, old); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO web_sessions (token_hash, kind, subject_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
			hashToken(token), kind, subject, now.UnixMicro(), exp.UnixMicro()); err != nil {
			return err
		}
		if inTx != nil {
			return inTx(ctx, tx)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("webkit: start session: %w", err)
	}
	k.setCookieAt(w, r, k.sess.name, token, k.sess.path, int(k.cfg.SessionTTL/time.Second))
	return nil
}

// CurrentSession returns the browser's session of kind, if it holds a valid
// one (one indexed read by the token's hash).
func (k *Kit) CurrentSession(ctx context.Context, r *http.Request, kind string) (Session, bool, error) {
	c, err := r.Cookie(k.sess.name)
	if err != nil || c.Value == "" {
		return Session{}, false, nil
	}
	var s Session
	var exp int64
	err = k.db.Reader(ctx).QueryRowContext(ctx, `SELECT kind, subject_id, expires_at FROM web_sessions WHERE token_hash = $1`,
		hashToken(c.Value)).Scan(&s.Kind, &s.Subject, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, false, nil
	}
	if err != nil {
		return Session{}, false, fmt.Errorf("webkit: session: %w", err)
	}
	s.ExpiresAt = time.UnixMicro(exp).UTC()
	if s.Kind != kind || !s.ExpiresAt.After(k.now()) {
		return Session{}, false, nil
	}
	return s, true, nil
}

// EndSession signs the browser out: its session row is deleted (the token
// is worthless from now on, wherever a copy of it is) and the cookie
// cleared.
func (k *Kit) EndSession(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	return k.EndSessionTx(ctx, w, r, nil)
}

// EndSessionTx is EndSession that also runs inTx (when not nil) in the
// transaction that deletes the session, when the browser holds one.
func (k *Kit) EndSessionTx(ctx context.Context, w http.ResponseWriter, r *http.Request, inTx func(ctx context.Context, tx *store.Tx) error) error {
	k.setCookieAt(w, r, k.sess.name, "", k.sess.path, -1)
	c, err := r.Cookie(k.sess.name)
	if err != nil || c.Value == "" {
		return nil
	}
	err = k.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM web_sessions WHERE token_hash = $1`, hashToken(c.Value)); err != nil {
			return err
		}
		if inTx != nil {
			return inTx(ctx, tx)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("webkit: end session: %w", err)
	}
	return nil
}

// Purge deletes expired sessions and throttle rows whose window and lock
// have run out; the app runs it hourly.
func (k *Kit) Purge(ctx context.Context) (int64, error) {
	now := k.now()
	var n int64
	err := k.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		n = 0
		res, err := tx.ExecContext(ctx, `DELETE FROM web_sessions WHERE expires_at <= $1`, now.UnixMicro())
		if err != nil {
			return err
		}
		a, _ := res.RowsAffected()
		res, err = tx.ExecContext(ctx, `DELETE FROM web_login_throttle WHERE window_start <= $1 AND locked_until <= $2`,
			now.Add(-k.cfg.ThrottleWindow).UnixMicro(), now.UnixMicro())
		if err != nil {
			return err
		}
		b, _ := res.RowsAffected()
		n = a + b
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("webkit: purge: %w", err)
	}
	return n, nil
}
