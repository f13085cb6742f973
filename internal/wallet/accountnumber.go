package wallet

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/store"
)

// Account numbers name wallets to other products (the remote payments'
// "Cashii account number": from, to, payable_to). One is 12 digits: 10
// random ones, the first not 0, then 2 check digits computed as an IBAN's
// (ISO 7064 MOD 97-10): with n the first 10 digits, check = 98 − (n·100 mod
// 97), so that the whole number mod 97 is 1. Any single mistyped digit and
// any swap of two adjacent different digits changes the remainder, and is
// refused. The API carries the plain 12 digits; people see them as
// "1234 5678 9012" (FormatAccountNumber).
const (
	accountNumberLen    = 12
	accountNumberRandom = 10
)

// accountNumberOf appends the check digits to 10 digits.
func accountNumberOf(first10 string) string {
	r := mod97(first10 + "00")
	return fmt.Sprintf("%s%02d", first10, 98-r)
}

// mod97 is the remainder of a decimal digit string divided by 97.
func mod97(digits string) int {
	r := 0
	for i := 0; i < len(digits); i++ {
		r = (r*10 + int(digits[i]-'0')) % 97
	}
	return r
}

// ValidAccountNumber reports whether s is an account number: 12 ASCII
// digits, the first not 0, whose check digits match.
func ValidAccountNumber(s string) bool {
	if len(s) != accountNumberLen || s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return mod97(s) == 1
}

// ParseAccountNumber reads an account number typed by a person or sent by
// a client: spaces between the digit groups are allowed ("1234 5678
// 9012"). It returns the plain 12 digits, or an Invalid error naming field.
func ParseAccountNumber(field, s string) (string, error) {
	n := strings.ReplaceAll(strings.TrimSpace(s), " ", "")
	if len(n) != accountNumberLen || strings.Trim(n, "0123456789") != "" {
		return "", apperr.InvalidField(field, "%s must be an account number of 12 digits", field)
	}
	if n[0] == '0' {
		return "", apperr.InvalidField(field, "not a valid account number (it never starts with 0)")
	}
	if !ValidAccountNumber(n) {
		return "", apperr.InvalidField(field, "not a valid account number (check digits)")
	}
	return n, nil
}

// FormatAccountNumber shows an account number in groups of four digits
// ("1234 5678 9012"); anything that is not 12 characters long is returned
// as it is.
func FormatAccountNumber(s string) string {
	if len(s) != accountNumberLen {
		return s
	}
	return s[:4] + " " + s[4:8] + " " + s[8:]
}

// newAccountNumber draws an account number (not yet checked to be free).
func (s *Service) newAccountNumber() string {
	return accountNumberOf(s.ids.Digits(accountNumberRandom))
}

// maxNumberDraws bounds the draws for a free account number: with 10^10
// numbers a taken one is rare, ten in a row mean something is wrong.
const maxNumberDraws = 10

// freeAccountNumber returns the first number draw gives that no user in q
// has. A concurrent transaction may still take it first; its insert then
// fails with a unique violation (isNumberTaken) and is run again.
func freeAccountNumber(ctx context.Context, q store.Querier, draw func() string) (string, error) {
	for range maxNumberDraws {
		n := draw()
		var one int
		err := q.QueryRowContext(ctx, `SELECT 1 FROM wallet_users WHERE account_number = $1`, n).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return n, nil
		}
		if err != nil {
			return "", fmt.Errorf("wallet: account number: %w", err)
		}
	}
	return "", fmt.Errorf("wallet: account number: %d draws were all taken", maxNumberDraws)
}

// isNumberTaken reports whether err is a unique violation of the account
// number (both engines name the column or its index in the message).
func isNumberTaken(err error) bool {
	return store.IsUniqueViolation(err) && strings.Contains(err.Error(), "account_number")
}

// maxNumberRaces bounds how often a write that gives out account numbers
// is run again after losing one to a concurrent write.
const maxNumberRaces = 3

// transactNumbered is db.Transact for a write that gives out account
// numbers: when a concurrent write took one first, fn runs again in a new
// transaction (which sees the number taken and draws another).
func (s *Service) transactNumbered(ctx context.Context, fn func(ctx context.Context, tx *store.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := s.db.Transact(ctx, fn)
		if !isNumberTaken(err) || attempt == maxNumberRaces {
			return err
		}
	}
}

// UserByAccountNumber returns the user with an account number (plain or
// grouped with spaces), read through q (a *store.Tx inside a transaction).
// Anything that is no valid account number finds no one (NotFound); use
// ParseAccountNumber first to tell a client its input is malformed.
func (s *Service) UserByAccountNumber(ctx context.Context, q store.Querier, number string) (WalletUser, error) {
	u, err := s.userByNumber(ctx, q, number)
	if err != nil {
		return WalletUser{}, err
	}
	return u.public(), nil
}

// userByNumber is UserByAccountNumber's row.
func (s *Service) userByNumber(ctx context.Context, q store.Querier, number string) (user, error) {
	n := strings.ReplaceAll(strings.TrimSpace(number), " ", "")
	if !ValidAccountNumber(n) {
		return user{}, apperr.New(apperr.NotFound, "no wallet has the account number %q", number)
	}
	u, err := scanUser(q.QueryRowContext(ctx, `SELECT `+userCols+` FROM wallet_users WHERE account_number = $1`, n))
	if errors.Is(err, sql.ErrNoRows) {
		return user{}, apperr.New(apperr.NotFound, "no wallet has the account number %s", FormatAccountNumber(n))
	}
	if err != nil {
		return user{}, fmt.Errorf("wallet: user by account number: %w", err)
	}
	return u, nil
}

// accountNumberBatch is how many users one backfill transaction numbers.
const accountNumberBatch = 200

// assignAccountNumbers gives every user without an account number (those
// created before migration 00012) one, accountNumberBatch users per
// transaction. It only touches rows where the number is NULL, so running it
// again, or in two processes starting at once, is harmless: a row another
// process numbered meanwhile is skipped, and a batch that lost a number to
// it (unique violation) runs again.
func (s *Service) assignAccountNumbers(ctx context.Context) error {
	total, races := 0, 0
	for {
		found, assigned, err := s.assignBatch(ctx)
		if isNumberTaken(err) && races < maxNumberRaces {
			races++
			s.log.Warn("wallet: account number taken by a concurrent process; numbering the batch again", "err", err)
			continue
		}
		if err != nil {
			return fmt.Errorf("wallet: account numbers: %w", err)
		}
		if found == 0 {
			if total > 0 {
				s.log.Info("wallet: account numbers assigned", "users", total)
			}
			return nil
		}
		total += assigned
		s.log.Info("wallet: account numbers assigned to a batch of users", "batch", assigned, "total", total)
	}
}

// assignBatch numbers up to accountNumberBatch users without a number in
// one transaction: found is how many it saw without one, assigned how many
// it numbered (fewer when another process got there first).
func (s *Service) assignBatch(ctx context.Context) (found, assigned int, err error) {
	err = s.db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		ids, err := unnumberedUsers(ctx, tx)
		if err != nil {
			return err
		}
		found, assigned = len(ids), 0
		for _, id := range ids {
			n, err := freeAccountNumber(ctx, tx, s.newAccountNumber)
			if err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, `UPDATE wallet_users SET account_number = $1 WHERE id = $2 AND account_number IS NULL`, n, id)
			if err != nil {
				return err
			}
			k, err := res.RowsAffected()
			if err != nil {
				return err
			}
			assigned += int(k)
		}
		return nil
	})
	return found, assigned, err
}

// unnumberedUsers returns the ids of up to accountNumberBatch users without
// an account number.
func unnumberedUsers(ctx context.Context, tx *store.Tx) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id FROM wallet_users WHERE account_number IS NULL ORDER BY id LIMIT $1`, accountNumberBatch)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
