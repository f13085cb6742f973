package wallet

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/passhash"
	"github.com/cashgate/cashgate/internal/store"
)

// The kinds of wallet user.
const (
	KindPrivate   = "private"
	KindCorporate = "corporate"
)

// user is a wallet_users row.
type user struct {
	ID        string
	Username  string
	Kind      string
	Tier      Tier
	TenantID  string
	AccountID string // the EUR wallet's ledger account
	TopUpRef  string
	PassHash  string
	PINHash   string
	CreatedAt time.Time
	// AccountNumber is "" only for a user created before migration 00012
	// until the service's start has numbered it (assignAccountNumbers).
	AccountNumber string
	Status        string // StatusActive, StatusSuspended, StatusClosed (accounts.go)
}

const userCols = `id, username, kind, tier, tenant_id, account_id, topup_ref, password_hash, pin_hash, created_at, account_number, status`

func scanUser(r interface{ Scan(...any) error }) (user, error) { return scanUserWith(r) }

// owner is the ledger owner of the user's wallet accounts (one per currency).
func (u user) owner() string {
	if u.Kind == KindCorporate {
		return "corporate:" + u.TenantID
	}
	return "customer:" + u.ID
}

// account is the ledger account spec of u's wallet in currency code. A
// corporate wallet is a merchant's: every remote payment, widget payment
// and request of its tenant credits it, so it is hot (ledger.AccountSpec.Hot).
func (u user) account(code string) ledger.AccountSpec {
	return ledger.AccountSpec{TenantID: LedgerScope, Owner: u.owner(), Purpose: walletPurpose, Currency: code, Hot: u.Kind == KindCorporate}
}

func (s *Service) userByID(ctx context.Context, q store.Querier, id string) (user, error) {
	u, err := scanUser(q.QueryRowContext(ctx, `SELECT `+userCols+` FROM wallet_users WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return user{}, apperr.New(apperr.NotFound, "wallet user %s not found", id)
	}
	if err != nil {
		return user{}, fmt.Errorf("wallet: user: %w", err)
	}
	return u, nil
}

func (s *Service) userByName(ctx context.Context, q store.Querier, field, username string) (user, error) {
	u, err := scanUser(q.QueryRowContext(ctx, `SELECT `+userCols+` FROM wallet_users WHERE username = $1`, strings.ToLower(strings.TrimSpace(username))))
	if errors.Is(err, sql.ErrNoRows) {
		return user{}, &apperr.Error{Code: apperr.NotFound, Field: field, Message: fmt.Sprintf("no wallet user %q", username)}
	}
	if err != nil {
		return user{}, fmt.Errorf("wallet: user: %w", err)
	}
	return u, nil
}

var (
	usernameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{2,31}$`)
	pinRE      = regexp.MustCompile(`^[0-9]{4,6}$`)
)

// validCredentials checks a new username, password and PIN.
func validCredentials(username, password, pin string) (string, error) {
	name := strings.ToLower(strings.TrimSpace(username))
	if !usernameRE.MatchString(name) {
		return "", apperr.InvalidField("username", "username must be 3 to 32 letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	if n := utf8.RuneCountInString(password); n < 8 || len(password) > 256 {
		return "", apperr.InvalidField("password", "password must be 8 to 256 characters")
	}
	if !pinRE.MatchString(pin) {
		return "", apperr.InvalidField("pin", "PIN must be 4 to 6 digits")
	}
	if strings.Contains(password, pin) && len(password) == len(pin) {
		return "", apperr.InvalidField("password", "password must not be the PIN")
	}
	return name, nil
}

// SignUp is a new private user.
type SignUp struct {
	Username string
	Password string
	PIN      string
}

// User is a wallet user as shown to itself and to operators.
type WalletUser struct {
	ID string `json:"id"`
	// AccountNumber names the wallet to other products and people: 12
	// digits with 2 check digits (ValidAccountNumber), shown grouped as
	// "1234 5678 9012" (FormatAccountNumber).
	AccountNumber string `json:"accountNumber"`
	Username      string `json:"username"`
	Kind          string `json:"kind"`
	Tier          Tier   `json:"tier"`
	TenantID      string `json:"tenantId,omitempty"`
	// TopUpReference is what to write in the reference of a bank transfer
	// that tops the wallet up.
	TopUpReference string `json:"topUpReference"`
	// Status is active, suspended or closed.
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"createdAt"`
}

func (u user) public() WalletUser {
	return WalletUser{ID: u.ID, AccountNumber: u.AccountNumber, Username: u.Username, Kind: u.Kind, Tier: u.Tier, TenantID: u.TenantID, TopUpReference: u.TopUpRef,
		Status: u.Status, CreatedAt: u.CreatedAt}
}

// topUpRef makes the reference a customer quotes on a top-up transfer:
// "CGW" and 9 digits.
func (s *Service) topUpRef() string { return "CGW" + s.ids.Digits(9) }

// insertUser creates a wallet user with its EUR ledger account and a new
// account number in tx, and sets both in u. Run it through
// transactNumbered, which runs the transaction again when a concurrent
// insert took the number first.
func (s *Service) insertUser(ctx context.Context, tx *store.Tx, u *user) error {
	acc, err := s.ledger.EnsureAccount(ctx, tx, u.account(Currency))
	if err != nil {
		return err
	}
	n, err := freeAccountNumber(ctx, tx, s.newAccountNumber)
	if err != nil {
		return err
	}
	u.AccountNumber, u.AccountID = n, acc.ID
	_, err = tx.ExecContext(ctx, `INSERT INTO wallet_users (id, username, kind, tier, tenant_id, account_id, topup_ref, password_hash, pin_hash, created_at, account_number)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		u.ID, u.Username, u.Kind, u.Tier, u.TenantID, acc.ID, u.TopUpRef, u.PassHash, u.PINHash, micros(u.CreatedAt), u.AccountNumber)
	if isNumberTaken(err) {
		return fmt.Errorf("wallet: insert user: %w", err)
	}
	if store.IsUniqueViolation(err) {
		return &apperr.Error{Code: apperr.Conflict, Field: "username", Message: fmt.Sprintf("username %q is taken", u.Username)}
	}
	if err != nil {
		return fmt.Errorf("wallet: insert user: %w", err)
	}
	return nil
}

// newUser hashes the secrets of a new user (outside any transaction).
func (s *Service) newUser(kind string, tier Tier, tenantID, username, password, pin string) (user, error) {
	name, err := validCredentials(username, password, pin)
	if err != nil {
		return user{}, err
	}
	ph, err := s.hash(password)
	if err != nil {
		return user{}, err
	}
	pinh, err := s.hashPIN(pin)
	if err != nil {
		return user{}, err
	}
	return user{ID: s.ids.ID("wus"), Username: name, Kind: kind, Tier: tier, TenantID: tenantID,
		TopUpRef: s.topUpRef(), PassHash: ph, PINHash: pinh, CreatedAt: s.now(), Status: AccountActive}, nil
}

// SignUp creates a private user with an empty EUR wallet.
func (s *Service) SignUp(ctx context.Context, in SignUp) (WalletUser, error) {
	u, err := s.newUser(KindPrivate, TierPrivate, "", in.Username, in.Password, in.PIN)
	if err != nil {
		return WalletUser{}, err
	}
	err = s.transactNumbered(ctx, func(ctx context.Context, tx *store.Tx) error {
		if err := s.insertUser(ctx, tx, &u); err != nil {
			return err
		}
		return httpx.Reply(ctx, tx, http.StatusCreated, u.public()) // the answer commits with the user
	})
	if err != nil {
		return WalletUser{}, err
	}
	return u.public(), nil
}

// Session is a wallet-app login.
type WalletSession struct {
	Token     string     `json:"token"` // send as "Authorization: Bearer <token>" or the cg_wallet cookie
	ExpiresAt time.Time  `json:"expiresAt"`
	User      WalletUser `json:"user"`
}

func tokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// errLogin is the one answer to a wrong username or password.
func errLogin() error {
	return apperr.New(apperr.Unauthenticated, "wrong username or password")
}

// Login checks a username and password and opens a session, for an
// in-process caller (the CLI, benchmarks): see LoginFrom.
func (s *Service) Login(ctx context.Context, username, password string) (WalletSession, error) {
	return s.LoginFrom(ctx, username, password, "")
}

// LoginFrom checks a username and password sent from the client address
// addr and opens a session. Attempts are throttled before the password is
// checked (reserveLogin): MaxPINFailures wrong passwords from one address
// lock that address out for the user for PINLock, and past
// LoginGlobalLimit wrong ones within LoginWindow from all addresses each
// further check waits a back-off that doubles up to LoginBackoffMax. A
// stranger who knows a username therefore locks out only their own
// address; the owner elsewhere is at most slowed down.
func (s *Service) LoginFrom(ctx context.Context, username, password, addr string) (WalletSession, error) {
	u, err := s.userByName(ctx, s.db.Read(), "username", username)
	if apperr.Is(err, apperr.NotFound) {
		// Spend the same effort as for a real user so timing tells nothing.
		_, _ = s.verify(dummyHash, password)
		return WalletSession{}, errLogin()
	}
	if err != nil {
		return WalletSession{}, err
	}
	res, err := s.reserveLogin(ctx, u.ID, addr)
	if err != nil {
		return WalletSession{}, err
	}
	good, err := s.verify(u.PassHash, password)
	if err != nil {
		s.endLogin(context.WithoutCancel(ctx), u.ID, addr, res, false)
		return WalletSession{}, err
	}
	if !good {
		if res.pairFailures >= s.cfg.MaxPINFailures {
			return WalletSession{}, apperr.New(apperr.Forbidden, "wrong password; logins from this address are now locked for %s", s.cfg.PINLock)
		}
		return WalletSession{}, errLogin()
	}
	if err := active("the wallet", u); err != nil { // told only to whoever knows the password
		_ = s.endLogin(context.WithoutCancel(ctx), u.ID, addr, res, true)
		return WalletSession{}, err
	}
	token := "cgw_" + s.ids.Secret(32)
	now := s.now()
	exp := now.Add(s.cfg.SessionTTL)
	// The session and the cleared failures commit together. The answer
	// carries the session token, a credential: it is never stored for
	// Idempotency-Key replays (the handler marks it no-store), so a retry
	// simply logs in again.
	err = s.db.Transact(context.WithoutCancel(ctx), func(ctx context.Context, tx *store.Tx) error {
		if err := s.endLoginIn(ctx, tx, u.ID, addr, res, true); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO wallet_sessions (token_hash, user_id, expires_at, created_at) VALUES ($1, $2, $3, $4)`,
			tokenHash(token), u.ID, micros(exp), micros(now))
		return err
	})
	if err != nil {
		return WalletSession{}, err
	}
	return WalletSession{Token: token, ExpiresAt: exp, User: u.public()}, nil
}

// dummyHash is verified when a login names no user.
const dummyHash = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3a9YwTQ0D6u9Ym1b8fJ0p5S0dE1TQ3S1f8Xc0Xy1Xk8"

// Logout ends a session; an HTTP request's answer ({"ok":true}) commits
// with it (httpx.Reply).
func (s *Service) Logout(ctx context.Context, token string) error {
	return s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM wallet_sessions WHERE token_hash = $1`, tokenHash(token)); err != nil {
			return err
		}
		return httpx.Reply(ctx, tx, http.StatusOK, WalletOK{WalletOK: true})
	})
}

// AuthenticateSession returns the user of a session token.
func (s *Service) AuthenticateSession(ctx context.Context, token string) (WalletUser, error) {
	u, err := s.sessionOf(ctx, token)
	if err != nil {
		return WalletUser{}, err
	}
	return u.public(), nil
}

// sessionOf checks a session token with one indexed read (the SHA-256 of
// the token is the primary key of wallet_sessions, joined to its user) and
// returns the user's row. No password hashing here: the token is 32 random
// bytes, so a plain hash lookup is as strong as the token.
func (s *Service) sessionOf(ctx context.Context, token string) (user, error) {
	if token == "" {
		return user{}, apperr.New(apperr.Unauthenticated, "log in first: no session token")
	}
	var exp int64
	u, err := scanUserWith(s.db.Read().QueryRowContext(ctx, sqlSession, tokenHash(token)), &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return user{}, apperr.New(apperr.Unauthenticated, "the session is unknown or has ended; log in again")
	}
	if err != nil {
		return user{}, fmt.Errorf("wallet: session: %w", err)
	}
	if exp <= micros(s.now()) {
		return user{}, apperr.New(apperr.Unauthenticated, "the session has expired; log in again")
	}
	if u.Status != AccountActive { // its sessions ended with the suspension; this one raced it
		return user{}, apperr.New(apperr.Unauthenticated, "the session has ended: the wallet is %s", u.Status)
	}
	return u, nil
}

var sqlSession = `SELECT ` + prefixed("u.", userCols) + `, s.expires_at
FROM wallet_sessions s JOIN wallet_users u ON u.id = s.user_id WHERE s.token_hash = $1`

// sessionUserKey carries the session's user row in a request's context.
type sessionUserKey struct{}

// withSessionUser remembers the row read when the session was checked, so
// the handler does not read it again.
func withSessionUser(ctx context.Context, u user) context.Context {
	return context.WithValue(ctx, sessionUserKey{}, u)
}

// sessionUser returns the session's user row if ctx carries the one of id.
func sessionUser(ctx context.Context, id string) (user, bool) {
	u, ok := ctx.Value(sessionUserKey{}).(user)
	return u, ok && u.ID == id
}

// scanUserWith scans a row of userCols followed by extra columns.
func scanUserWith(r interface{ Scan(...any) error }, extra ...any) (user, error) {
	var u user
	var created int64
	var number sql.NullString
	dst := append([]any{&u.ID, &u.Username, &u.Kind, &u.Tier, &u.TenantID, &u.AccountID, &u.TopUpRef, &u.PassHash, &u.PINHash, &created, &number, &u.Status}, extra...)
	err := r.Scan(dst...)
	u.CreatedAt, u.AccountNumber = fromMicros(created), number.String
	return u, err
}

func prefixed(p, cols string) string {
	parts := strings.Split(cols, ", ")
	for i := range parts {
		parts[i] = p + parts[i]
	}
	return strings.Join(parts, ", ")
}

// Login throttling across all client addresses of a user (see LoginFrom).
const (
	LoginGlobalLimit = 10
	LoginWindow      = 15 * time.Minute
	LoginBackoffMax  = 5 * time.Minute
)

// loginBackoff is the wait after the attempt counted over-th past
// LoginGlobalLimit (0 for the one reaching it): 1 s, doubling, at most
// LoginBackoffMax.
func loginBackoff(over int) time.Duration {
	return min(time.Second<<min(max(over, 0), 20), LoginBackoffMax)
}

// loginReservation is an attempt counted by reserveLogin.
type loginReservation struct {
	pairFailures int   // the attempts counted for (user, address), this one included
	pairLock     int64 // the lock this attempt took for (user, address), else 0
	window       int64 // the user's window the attempt was counted in
	backoff      int64 // the user's back-off this attempt started, else 0
}

// reserveLogin counts a password check of userID from addr before the hash
// is computed, in one transaction holding the user's row and the (user,
// address) row (in that order, everywhere): it is refused while that address
// is locked for the user or MaxPINFailures of its attempts are counted
// (Forbidden / RateLimited), and while the user's back-off runs
// (RateLimited). However many guesses arrive at once, at most
// MaxPINFailures per address and LoginGlobalLimit per user in all (then one
// per back-off) are checked. The attempt that reaches MaxPINFailures for its
// address takes that lock at once; endLogin gives it back if the password
// was right.
func (s *Service) reserveLogin(ctx context.Context, userID, addr string) (loginReservation, error) {
	now := s.now()
	n := micros(now)
	var res loginReservation
	err := s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		// The user's row first: the insert below takes a key-share lock on
		// it (the foreign key), which must not be taken before FOR UPDATE.
		var gFailures int
		var gWindow, gUntil int64
		if err := tx.QueryRowContext(ctx, `SELECT login_failures, login_window_start, login_locked_until FROM wallet_users WHERE id = $1`+s.db.ForUpdate(), userID).
			Scan(&gFailures, &gWindow, &gUntil); err != nil {
			return err
		}
		// One upsert creates or locks the pair's row and reads it, so the
		// housekeeping purge of stale rows cannot slip in between.
		var failures int
		var windowStart, lockedUntil int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO wallet_login_throttle (user_id, address, failures, window_start, locked_until)
			VALUES ($1, $2, 0, $3, 0) ON CONFLICT (user_id, address) DO UPDATE SET failures = wallet_login_throttle.failures
			RETURNING failures, window_start, locked_until`, userID, addr, n).Scan(&failures, &windowStart, &lockedUntil); err != nil {
			return err
		}
		if lockedUntil > n {
			return &apperr.Error{Code: apperr.Forbidden, RetryAfterSeconds: int(fromMicros(lockedUntil).Sub(now).Seconds()) + 1,
				Message: fmt.Sprintf("logins to this wallet from this address are locked after %d wrong passwords; try again after %s",
					s.cfg.MaxPINFailures, fromMicros(lockedUntil).Format(time.RFC3339))}
		}
		if lockedUntil != 0 || fromMicros(windowStart).Add(LoginWindow).Compare(now) <= 0 {
			failures, windowStart, lockedUntil = 0, n, 0
		}
		if failures >= s.cfg.MaxPINFailures {
			return &apperr.Error{Code: apperr.RateLimited, RetryAfterSeconds: 1, Message: "other logins to this wallet from this address are being checked; try again in a second"}
		}
		if gUntil > n {
			return &apperr.Error{Code: apperr.RateLimited, RetryAfterSeconds: int(fromMicros(gUntil).Sub(now).Seconds()) + 1,
				Message: "too many wrong passwords for this wallet; try again in a moment"}
		}
		if fromMicros(gWindow).Add(LoginWindow).Compare(now) <= 0 {
			gFailures, gWindow = 0, n
		}
		gFailures++
		if gFailures >= LoginGlobalLimit {
			gUntil = micros(now.Add(loginBackoff(gFailures - LoginGlobalLimit)))
			res.backoff = gUntil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE wallet_users SET login_failures = $1, login_window_start = $2, login_locked_until = $3 WHERE id = $4`,
			gFailures, gWindow, gUntil, userID); err != nil {
			return err
		}
		failures++
		if failures >= s.cfg.MaxPINFailures {
			lockedUntil = micros(now.Add(s.cfg.PINLock))
			res.pairLock = lockedUntil
		}
		res.pairFailures, res.window = failures, gWindow
		_, err := tx.ExecContext(ctx, `UPDATE wallet_login_throttle SET failures = $1, window_start = $2, locked_until = $3 WHERE user_id = $4 AND address = $5`,
			failures, windowStart, lockedUntil, userID, addr)
		return err
	})
	if err != nil {
		return loginReservation{}, err
	}
	return res, nil
}

// endLogin ends a reserved attempt that was not a wrong password: it no
// longer counts towards the user's window (which only expiring resets), and
// for its address a right password (success) clears the failures while a
// check that could not run gives its attempt back. Either way the lock and
// the back-off this attempt took are lifted, never ones a later attempt
// took.
func (s *Service) endLogin(ctx context.Context, userID, addr string, res loginReservation, success bool) error {
	err := s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		return s.endLoginIn(ctx, tx, userID, addr, res, success)
	})
	if err != nil {
		return fmt.Errorf("wallet: end login attempt: %w", err)
	}
	return nil
}

// endLoginIn is endLogin inside tx.
func (s *Service) endLoginIn(ctx context.Context, tx *store.Tx, userID, addr string, res loginReservation, success bool) error {
	pair := `failures = failures - 1`
	if success {
		pair = `failures = 0`
	}
	if _, err := tx.ExecContext(ctx, `UPDATE wallet_users SET login_failures = login_failures - 1,
			login_locked_until = CASE WHEN login_locked_until = $3 THEN 0 ELSE login_locked_until END
		WHERE id = $1 AND login_failures > 0 AND login_window_start = $2`, userID, res.window, max(res.backoff, 1)); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE wallet_login_throttle SET `+pair+`, locked_until = 0
		WHERE user_id = $1 AND address = $2 AND failures > 0 AND (locked_until <= $3 OR locked_until = $4)`,
		userID, addr, micros(s.now()), max(res.pairLock, 1))
	return err
}

// checkWindow is how long a reserved PIN or password check may take before
// another may start (a crashed process frees its reservation after it).
const checkWindow = 10 * time.Second

// attemptPIN reserves the right to check one PIN of a user before the
// hash is computed: one check at a time per user (a second one meanwhile
// is RateLimited), none while the user is locked (Forbidden). A guarded
// UPDATE makes this exact across processes, so a flood of guesses costs at
// most one hash computation at a time per user and MaxPINFailures in all
// before the lock. finishPIN records the outcome and frees the reservation.
func (s *Service) attemptPIN(ctx context.Context, userID string) error {
	now := s.now()
	var n int64
	err := s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE wallet_users SET pin_check_until = $1 WHERE id = $2 AND pin_locked_until <= $3 AND pin_check_until <= $3`,
			micros(now.Add(checkWindow)), userID, micros(now))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("wallet: PIN attempt: %w", err)
	}
	if n == 1 {
		return nil
	}
	var until int64
	if err := s.db.Read().QueryRowContext(ctx, `SELECT pin_locked_until FROM wallet_users WHERE id = $1`, userID).Scan(&until); err != nil {
		return fmt.Errorf("wallet: PIN attempt: %w", err)
	}
	if until > micros(now) {
		return s.pinLocked(now, until)
	}
	return &apperr.Error{Code: apperr.RateLimited, RetryAfterSeconds: 1, Message: "another check of this wallet's secret is in progress; try again in a second"}
}

// finishPIN records the outcome of a reserved check: success clears the
// failures; a failure counts one more and locks the user at
// MaxPINFailures (counting restarts after a lock ran out). It returns the
// failures in a row and whether the user is now locked.
func (s *Service) finishPIN(ctx context.Context, userID string, success bool) (failures int, locked bool, err error) {
	now := s.now()
	err = s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		if success {
			// A right PIN clears the failures, but never a lock that racing
			// wrong ones set meanwhile (possible only when this check
			// outlived its reservation window): the lock stands.
			res, err := tx.ExecContext(ctx, `UPDATE wallet_users SET pin_failures = 0, pin_locked_until = 0, pin_check_until = 0 WHERE id = $1 AND pin_locked_until <= $2`, userID, micros(now))
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n == 1 {
				failures, locked = 0, false
				return err
			}
			failures, locked = s.cfg.MaxPINFailures, true
			_, err = tx.ExecContext(ctx, `UPDATE wallet_users SET pin_check_until = 0 WHERE id = $1`, userID)
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT pin_failures FROM wallet_users WHERE id = $1`+s.db.ForUpdate(), userID).Scan(&failures); err != nil {
			return err
		}
		if failures >= s.cfg.MaxPINFailures {
			failures = 0
		}
		failures++
		var until int64
		if locked = failures >= s.cfg.MaxPINFailures; locked {
			until = micros(now.Add(s.cfg.PINLock))
		}
		_, err := tx.ExecContext(ctx, `UPDATE wallet_users SET pin_failures = $1, pin_locked_until = $2, pin_check_until = 0 WHERE id = $3`, failures, until, userID)
		return err
	})
	return failures, locked, err
}

// releasePIN frees a reservation without recording an outcome (the check
// could not run).
func (s *Service) releasePIN(ctx context.Context, userID string) {
	_ = s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE wallet_users SET pin_check_until = 0 WHERE id = $1`, userID)
		return err
	})
}

// pinLocked is the refusal of a wallet locked by wrong PINs until until.
func (s *Service) pinLocked(now time.Time, until int64) error {
	return &apperr.Error{Code: apperr.Forbidden, RetryAfterSeconds: int(fromMicros(until).Sub(now).Seconds()) + 1,
		Message: fmt.Sprintf("the wallet is locked after %d wrong PIN entries; try again after %s", s.cfg.MaxPINFailures, fromMicros(until).Format(time.RFC3339))}
}

// checkPINHash verifies a user's PIN against an argon2id hash (made before
// PINs were keyed) under the reservation, and on success replaces the hash
// with the keyed one, so each wallet pays the slow check once.
func (s *Service) checkPINHash(ctx context.Context, userID, encoded, pin string) (ok bool, failures int, locked bool, err error) {
	if err := s.attemptPIN(ctx, userID); err != nil {
		return false, 0, false, err
	}
	ok, err = s.verify(encoded, pin)
	if err != nil {
		s.releasePIN(context.WithoutCancel(ctx), userID)
		return false, 0, false, err
	}
	failures, locked, err = s.finishPIN(context.WithoutCancel(ctx), userID, ok)
	if err == nil && ok && !locked {
		err = s.rekeyPIN(context.WithoutCancel(ctx), userID, encoded, pin)
	}
	return ok && !locked, failures, locked, err
}

// rekeyPIN replaces a user's argon2id PIN hash, just verified, with the
// keyed hash of the same PIN (unless it changed meanwhile).
func (s *Service) rekeyPIN(ctx context.Context, userID, old, pin string) error {
	h, err := s.hashPIN(pin)
	if err != nil {
		return err
	}
	return s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE wallet_users SET pin_hash = $1 WHERE id = $2 AND pin_hash = $3`, h, userID, old)
		return err
	})
}

// errSlowPIN is keyedPINInTx's answer for a PIN hash that is not keyed.
var errSlowPIN = errors.New("wallet: the PIN hash is argon2id, checked outside transactions")

// checkKeyedPIN verifies a PIN against its keyed hash in a transaction of
// its own (keyedPINInTx).
func (s *Service) checkKeyedPIN(ctx context.Context, userID, pin string) (ok bool, failures int, locked bool, err error) {
	err = s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		ok, failures, locked, err = s.keyedPINInTx(ctx, tx, userID, pin)
		return err
	})
	return ok, failures, locked, err
}

// keyedPINInTx verifies a PIN against its keyed hash in tx, holding the
// user's row: each guess is judged after every earlier guess's outcome has
// been recorded, so concurrent guesses cannot outrun the lock
// (MaxPINFailures wrong ones in all, then Forbidden). A right PIN on a
// clean record writes nothing; a wallet already locked is Forbidden; a
// hash that is not keyed is errSlowPIN, and nothing is judged.
func (s *Service) keyedPINInTx(ctx context.Context, tx *store.Tx, userID, pin string) (ok bool, failures int, locked bool, err error) {
	now := s.now()
	var encoded string
	var until int64
	if err := tx.QueryRowContext(ctx, `SELECT pin_hash, pin_failures, pin_locked_until FROM wallet_users WHERE id = $1`+s.db.ForUpdate(), userID).
		Scan(&encoded, &failures, &until); err != nil {
		return false, 0, false, fmt.Errorf("wallet: PIN check: %w", err)
	}
	if !passhash.Keyed(encoded) {
		return false, 0, false, errSlowPIN
	}
	if until > micros(now) {
		return false, failures, true, s.pinLocked(now, until)
	}
	if ok, err = s.hasher.Verify(encoded, pin); err != nil {
		return false, 0, false, err
	}
	switch {
	case ok && failures == 0 && until == 0:
		return true, 0, false, nil
	case ok:
		failures, until = 0, 0
	default:
		if failures >= s.cfg.MaxPINFailures {
			failures = 0 // the last lock ran out: counting restarts
		}
		failures++
		if locked = failures >= s.cfg.MaxPINFailures; locked {
			until = micros(now.Add(s.cfg.PINLock))
		}
	}
	_, err = tx.ExecContext(ctx, `UPDATE wallet_users SET pin_failures = $1, pin_locked_until = $2 WHERE id = $3`, failures, until, userID)
	return ok, failures, locked, err
}

// pinOutcome is the answer to a judged PIN: nil when right, Forbidden when
// it locked the wallet, else Unauthenticated with the attempts left.
func (s *Service) pinOutcome(ok bool, failures int, locked bool) error {
	if locked {
		return apperr.New(apperr.Forbidden, "wrong PIN; the wallet is now locked for %s", s.cfg.PINLock)
	}
	if !ok {
		return &apperr.Error{Code: apperr.Unauthenticated, Field: "pin",
			Message: fmt.Sprintf("wrong PIN; %d attempt(s) left before the wallet locks", s.cfg.MaxPINFailures-failures)}
	}
	return nil
}

// checkPIN verifies a user's PIN (one check at a time per user, five wrong
// in a row lock the wallet for PINLock).
func (s *Service) checkPIN(ctx context.Context, userID, pin string) error {
	if !pinRE.MatchString(pin) {
		return apperr.InvalidField("pin", "PIN must be 4 to 6 digits")
	}
	u, err := s.userByID(ctx, s.db.Read(), userID)
	if err != nil {
		return err
	}
	var ok, locked bool
	var failures int
	if passhash.Keyed(u.PINHash) {
		ok, failures, locked, err = s.checkKeyedPIN(ctx, userID, pin)
	} else {
		ok, failures, locked, err = s.checkPINHash(ctx, userID, u.PINHash, pin)
	}
	if err != nil {
		return err
	}
	return s.pinOutcome(ok, failures, locked)
}
