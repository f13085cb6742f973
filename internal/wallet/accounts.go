package wallet

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/httpx"
	"github.com/cashgate/cashgate/internal/store"
)

// A wallet user's account status:
//
//	active → suspended (operator) → active (operator)
//	active | suspended → closed (the user, or the operator; zero balance only)
//
// A suspended or closed user cannot log in (an open session ends), pay,
// withdraw or be paid; a closed account stays closed and its username
// taken. Money requests to it are refused; top-ups of a suspended wallet
// are credited (the money is the customer's), of a closed one refused.
const (
	AccountActive    = "active"
	AccountSuspended = "suspended"
	AccountClosed    = "closed"
)

// errInactive is the refusal of a movement involving an account that is
// not active; who names the party ("the wallet", "the recipient"…).
func errInactive(who string, u user) error {
	if u.Status == AccountClosed {
		return apperr.New(apperr.Forbidden, "%s %s is closed", who, u.Username)
	}
	return apperr.New(apperr.Forbidden, "%s %s is suspended; the issuer's customer service can tell why", who, u.Username)
}

// active refuses a party that is not active.
func active(who string, u user) error {
	if u.Status != "" && u.Status != AccountActive {
		return errInactive(who, u)
	}
	return nil
}

// ChangePassword replaces a user's password after checking the old one
// from the client address addr with the login's throttle (reserveLogin): a
// wrong old password counts as a wrong login, so guesses here cannot
// outrun the lock (MaxPINFailures from one address, then that address is
// locked out). Every other session of the user ends (keepToken, the
// session making the change, stays).
func (s *Service) ChangePassword(ctx context.Context, userID, oldPassword, newPassword, addr, keepToken string) error {
	u, err := s.userByID(ctx, s.db.Read(), userID)
	if err != nil {
		return err
	}
	if err := active("the wallet", u); err != nil {
		return err
	}
	if _, err := validCredentials(u.Username, newPassword, "0000"); err != nil {
		e := apperr.From(err)
		return apperr.InvalidField("newPassword", "%s", strings.Replace(e.Message, "password", "the new password", 1))
	}
	if err := s.checkPassword(ctx, u, oldPassword, addr); err != nil {
		return err
	}
	h, err := s.hash(newPassword)
	if err != nil {
		return err
	}
	return s.db.Transact(context.WithoutCancel(ctx), func(ctx context.Context, tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE wallet_users SET password_hash = $1 WHERE id = $2`, h, userID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM wallet_sessions WHERE user_id = $1 AND token_hash <> $2`, userID, tokenHash(keepToken)); err != nil {
			return err
		}
		return httpx.Reply(ctx, tx, http.StatusOK, WalletOK{WalletOK: true})
	})
}

// checkPassword verifies u's current password under the login throttle.
func (s *Service) checkPassword(ctx context.Context, u user, password, addr string) error {
	res, err := s.reserveLogin(ctx, u.ID, addr)
	if err != nil {
		return err
	}
	good, err := s.verify(u.PassHash, password)
	if err != nil {
		_ = s.endLogin(context.WithoutCancel(ctx), u.ID, addr, res, false)
		return err
	}
	if !good {
		if res.pairFailures >= s.cfg.MaxPINFailures {
			return apperr.New(apperr.Forbidden, "wrong password; password checks from this address are now locked for %s", s.cfg.PINLock)
		}
		return &apperr.Error{Code: apperr.Unauthenticated, Field: "oldPassword", Message: "wrong password"}
	}
	return s.endLogin(context.WithoutCancel(ctx), u.ID, addr, res, true)
}

// ChangePIN replaces a user's PIN after checking the old one (checkPIN: one
// check at a time, MaxPINFailures wrong ones in a row lock the wallet's PIN
// for PINLock, whatever checks it — a payment's or this).
func (s *Service) ChangePIN(ctx context.Context, userID, oldPIN, newPIN string) error {
	if !pinRE.MatchString(newPIN) {
		return apperr.InvalidField("newPin", "the new PIN must be 4 to 6 digits")
	}
	u, err := s.userByID(ctx, s.db.Read(), userID)
	if err != nil {
		return err
	}
	if err := active("the wallet", u); err != nil {
		return err
	}
	if err := s.checkPIN(ctx, userID, oldPIN); err != nil {
		return err
	}
	h, err := s.hashPIN(newPIN)
	if err != nil {
		return err
	}
	return s.db.Transact(context.WithoutCancel(ctx), func(ctx context.Context, tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE wallet_users SET pin_hash = $1 WHERE id = $2`, h, userID); err != nil {
			return err
		}
		return httpx.Reply(ctx, tx, http.StatusOK, WalletOK{WalletOK: true})
	})
}

// CredentialReset is what an operator's reset made: the new password and
// PIN, shown this once to hand to the user ("" when not reset).
type CredentialReset struct {
	Username string `json:"username"`
	Password string `json:"password,omitempty"`
	PIN      string `json:"pin,omitempty"`
}

// ResetCredentials is the operator's reset of a user who lost the
// password or the PIN: a new random password and/or PIN (returned once),
// the PIN lock and the login throttles cleared, every session ended.
func (s *Service) ResetCredentials(ctx context.Context, username string, password, pin bool) (CredentialReset, error) {
	if !password && !pin {
		return CredentialReset{}, apperr.New(apperr.Invalid, "reset the password, the PIN or both")
	}
	u, err := s.userByName(ctx, s.db.Read(), "username", username)
	if err != nil {
		return CredentialReset{}, err
	}
	if u.Status == AccountClosed {
		return CredentialReset{}, errInactive("the wallet", u)
	}
	out := CredentialReset{Username: u.Username}
	ph, pinh := u.PassHash, u.PINHash
	if password {
		out.Password = s.ids.Secret(10)
		if ph, err = s.hash(out.Password); err != nil {
			return CredentialReset{}, err
		}
	}
	if pin {
		out.PIN = s.ids.Digits(6)
		if pinh, err = s.hashPIN(out.PIN); err != nil {
			return CredentialReset{}, err
		}
	}
	err = s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		// Guarded on the hashes read: a change meanwhile is not overwritten.
		if err := exec1(ctx, tx, `UPDATE wallet_users SET password_hash = $1, pin_hash = $2, pin_failures = 0, pin_locked_until = 0,
login_failures = 0, login_locked_until = 0 WHERE id = $3 AND password_hash = $4 AND pin_hash = $5`, ph, pinh, u.ID, u.PassHash, u.PINHash); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM wallet_login_throttle WHERE user_id = $1`, u.ID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM wallet_sessions WHERE user_id = $1`, u.ID)
		return err
	})
	if err != nil {
		return CredentialReset{}, err
	}
	return out, nil
}

// AccountState is a user's account status.
type AccountState struct {
	Username string `json:"username"`
	Status   string `json:"status"`
	Reason   string `json:"reason,omitempty"`
}

// SetAccountStatus is the operator's suspension (status suspended, with a
// reason) or reactivation (active) of a wallet user; a suspension ends the
// user's sessions. A closed account stays closed (Conflict).
func (s *Service) SetAccountStatus(ctx context.Context, username, status, reason string) (AccountState, error) {
	reason = strings.TrimSpace(reason)
	switch status {
	case AccountSuspended:
		if err := checkText("reason", reason, 1, 200); err != nil {
			return AccountState{}, err
		}
	case AccountActive:
		reason = ""
	default:
		return AccountState{}, apperr.InvalidField("status", "status must be %s or %s (close an account with CloseAccount)", AccountActive, AccountSuspended)
	}
	u, err := s.userByName(ctx, s.db.Read(), "username", username)
	if err != nil {
		return AccountState{}, err
	}
	err = s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		if err := exec1(ctx, tx, `UPDATE wallet_users SET status = $1, status_reason = $2, status_changed_at = $3 WHERE id = $4 AND status <> 'closed'`,
			status, reason, micros(s.now()), u.ID); err != nil {
			return apperr.New(apperr.Conflict, "the account of %s is closed", u.Username)
		}
		if status == AccountSuspended {
			_, err := tx.ExecContext(ctx, `DELETE FROM wallet_sessions WHERE user_id = $1`, u.ID)
			return err
		}
		return nil
	})
	if err != nil {
		return AccountState{}, err
	}
	return AccountState{Username: u.Username, Status: status, Reason: reason}, nil
}

// CloseAccount closes a wallet for good: its balance must be zero in every
// currency (withdraw or send it first) and no withdrawal may be on its way
// (a returned one would credit it back). The username stays taken; the
// sessions end. The user closes its own (with the PIN, CloseOwnAccount) or
// the operator does.
func (s *Service) CloseAccount(ctx context.Context, username, reason string) (AccountState, error) {
	u, err := s.userByName(ctx, s.db.Read(), "username", username)
	if err != nil {
		return AccountState{}, err
	}
	return s.closeAccount(ctx, u, strings.TrimSpace(reason))
}

// CloseOwnAccount is the user's own closing, confirmed with the PIN.
func (s *Service) CloseOwnAccount(ctx context.Context, userID, pin string) (AccountState, error) {
	u, err := s.userByID(ctx, s.db.Read(), userID)
	if err != nil {
		return AccountState{}, err
	}
	if err := active("the wallet", u); err != nil {
		return AccountState{}, err
	}
	if err := s.checkPIN(ctx, userID, pin); err != nil {
		return AccountState{}, err
	}
	return s.closeAccount(ctx, u, "closed by the user")
}

func (s *Service) closeAccount(ctx context.Context, u user, reason string) (AccountState, error) {
	if err := checkText("reason", reason, 0, 200); err != nil {
		return AccountState{}, err
	}
	out := AccountState{Username: u.Username, Status: AccountClosed, Reason: reason}
	err := s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		// The wallet's ledger accounts first, locked: a movement into it
		// waits for the closing and then finds it closed (receiving).
		if err := s.zeroBalance(ctx, tx, u); err != nil {
			return err
		}
		if err := exec1(ctx, tx, `UPDATE wallet_users SET status = 'closed', status_reason = $1, status_changed_at = $2 WHERE id = $3 AND status <> 'closed'`,
			reason, micros(s.now()), u.ID); err != nil {
			return apperr.New(apperr.Conflict, "the account of %s is closed already", u.Username)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM wallet_sessions WHERE user_id = $1`, u.ID); err != nil {
			return err
		}
		return httpx.Reply(ctx, tx, http.StatusOK, out)
	})
	if err != nil {
		return AccountState{}, err
	}
	return out, nil
}

// zeroBalance refuses to close a wallet that holds money or waits for a
// payout.
func (s *Service) zeroBalance(ctx context.Context, tx *store.Tx, u user) error {
	accounts, err := s.ledger.LockOwnerAccounts(ctx, tx, LedgerScope, u.owner())
	if err != nil {
		return err
	}
	var held []string
	for _, a := range accounts {
		if a.Purpose == walletPurpose && (a.Balance.Posted != 0 || a.Balance.PendingOut != 0 || a.Balance.PendingIn != 0) {
			held = append(held, formatMinor(a.Balance.Posted, a.Currency)+" "+a.Currency)
		}
	}
	if len(held) > 0 {
		return &apperr.Error{Code: apperr.Conflict, Field: "balance", Message: fmt.Sprintf(
			"the wallet holds %s: withdraw or send the balance first; only an empty wallet can be closed", strings.Join(held, ", "))}
	}
	var pending int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM wallet_transactions WHERE from_user = $1 AND kind = 'withdrawal' AND status IN ('requested', 'exported')`,
		u.ID).Scan(&pending); err != nil {
		return err
	}
	if pending > 0 {
		return apperr.New(apperr.Conflict, "a withdrawal of this wallet is on its way to the bank; close the wallet once it is paid")
	}
	return nil
}

// receiving checks, in the movement's transaction tx just before it
// commits, that the wallet money went to (userID) is still open; refused,
// when not nil, rewords the refusal for the movement. The check runs in a
// BeforeCommit hook after the ledger has applied the movement's postings
// (a credit waits for the commit, see ledger/deferred.go), so the wallet's
// account rows are locked by then. A closing locks those rows before it
// reads their balances (LockOwnerAccounts): a posting to them made before
// waits for nothing and the closing then sees the money and refuses; a
// posting after it waits for the closing's commit, and this read, a
// statement of its own after the posting, then sees the wallet closed and
// rolls the movement back. So no money lands in a closed wallet, and
// movements lock no user row (a customer's login or PIN check never holds
// them up).
func (s *Service) receiving(tx *store.Tx, who, userID string, allowSuspended bool, refused func(error) error) {
	tx.BeforeCommit(func(ctx context.Context) error {
		if err := s.ledger.Apply(ctx, tx); err != nil {
			return err
		}
		var name, st string
		if err := tx.QueryRowContext(ctx, `SELECT username, status FROM wallet_users WHERE id = $1`, userID).Scan(&name, &st); err != nil {
			return fmt.Errorf("wallet: recipient: %w", err)
		}
		if st == AccountActive || (allowSuspended && st == AccountSuspended) {
			return nil
		}
		err := errInactive(who, user{Username: name, Status: st})
		if refused != nil {
			return refused(err)
		}
		return err
	})
}
