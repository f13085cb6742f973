package wallet_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/ids"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/wallet"
)

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	ok(t, err)
	return string(b)
}

// checkDigits is an independent reference for the check digits: n =
// first10·100, check = 98 − n mod 97.
func checkDigits(first10 string) string {
	n, err := strconv.ParseInt(first10, 10, 64)
	if err != nil {
		panic(err)
	}
	return fmt.Sprintf("%s%02d", first10, 98-(n*100)%97)
}

// TestAccountNumberCheckDigits: the worked samples are valid; every
// single-digit change and every swap of two different neighbours of them,
// and of numbers drawn at random, is refused.
func TestAccountNumberCheckDigits(t *testing.T) {
	samples := []string{"123456789092", "999999999951", "100000000093", "555123456796"}
	gen := ids.New(rand.NewChaCha8([32]byte{9}))
	for range 200 {
		samples = append(samples, checkDigits(gen.Digits(10)))
	}
	for _, s := range samples[:4] {
		if got := checkDigits(s[:10]); got != s {
			t.Fatalf("reference: %s gives %s", s[:10], got)
		}
	}
	for _, s := range samples {
		if !wallet.ValidAccountNumber(s) {
			t.Fatalf("%s is refused", s)
		}
		for i := range len(s) {
			for d := byte('0'); d <= '9'; d++ {
				if d == s[i] {
					continue
				}
				if m := s[:i] + string(d) + s[i+1:]; wallet.ValidAccountNumber(m) {
					t.Fatalf("%s (digit %d of %s changed) is accepted", m, i, s)
				}
			}
			if i+1 < len(s) && s[i] != s[i+1] {
				if m := s[:i] + string(s[i+1]) + string(s[i]) + s[i+2:]; wallet.ValidAccountNumber(m) {
					t.Fatalf("%s (digits %d and %d of %s swapped) is accepted", m, i, i+1, s)
				}
			}
		}
	}
	for _, bad := range []string{"", "12345678909", "1234567890922", "023456789092", "12345678909a", "1234 5678 9092", "١٢٣٤٥٦٧٨٩٠٩٢"} {
		if wallet.ValidAccountNumber(bad) {
			t.Fatalf("%q is accepted", bad)
		}
	}
	// 0 followed by 11 digits whose remainder is 1 still is no number.
	if wallet.ValidAccountNumber(checkDigits("0123456789")) {
		t.Fatal("a number starting with 0 is accepted")
	}
}

func TestParseAccountNumber(t *testing.T) {
	for _, c := range []struct {
		in, want, err string
	}{
		{"123456789092", "123456789092", ""},
		{"1234 5678 9092", "123456789092", ""},
		{"  1234 5678 9092 ", "123456789092", ""},
		{"123456789093", "", "not a valid account number (check digits)"},
		{"1234 5678 9029", "", "not a valid account number (check digits)"},
		{"023456789092", "", "never starts with 0"},
		{"1234-5678-9092", "", "12 digits"},
		{"1234\t5678\t9092", "", "12 digits"},
		{"12345678909", "", "12 digits"},
		{"", "", "12 digits"},
	} {
		got, err := wallet.ParseAccountNumber("payable_to", c.in)
		if c.err == "" {
			if err != nil || got != c.want {
				t.Fatalf("%q: %q, %v; want %q", c.in, got, err, c.want)
			}
			continue
		}
		e := apperr.From(err)
		if err == nil || e.Code != apperr.Invalid || e.Field != "payable_to" || !strings.Contains(e.Message, c.err) {
			t.Fatalf("%q: %q, %v; want an invalid payable_to: …%s…", c.in, got, err, c.err)
		}
	}
	if got := wallet.FormatAccountNumber("123456789092"); got != "1234 5678 9092" {
		t.Fatalf("formatted %q", got)
	}
	if got := wallet.FormatAccountNumber("12345"); got != "12345" {
		t.Fatalf("formatted %q", got)
	}
}

// TestAccountNumbers: every private and corporate user gets a valid,
// distinct, stable account number, carried by sign-up, login, the session,
// the corporate settings, and found again by UserByAccountNumber.
func TestAccountNumbers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		seen := map[string]string{}
		var users []wallet.WalletUser
		for i := range 20 {
			users = append(users, e.customer(fmt.Sprintf("user%02d", i)))
		}
		corp := e.corporate("acme", false)
		if corp.User.AccountNumber == "" {
			t.Fatal("the corporate has no account number")
		}
		users = append(users, corp.User)
		for _, u := range users {
			if !wallet.ValidAccountNumber(u.AccountNumber) {
				t.Fatalf("%s has account number %q", u.Username, u.AccountNumber)
			}
			if other, dup := seen[u.AccountNumber]; dup {
				t.Fatalf("%s and %s share %s", other, u.Username, u.AccountNumber)
			}
			seen[u.AccountNumber] = u.Username
		}

		sess, err := e.w.Login(e.ctx, "user03", "password-user03")
		ok(t, err)
		if sess.User.AccountNumber != users[3].AccountNumber {
			t.Fatalf("login shows %q, sign-up %q", sess.User.AccountNumber, users[3].AccountNumber)
		}
		au, err := e.w.AuthenticateSession(e.ctx, sess.Token)
		ok(t, err)
		if au.AccountNumber != users[3].AccountNumber {
			t.Fatalf("session shows %q", au.AccountNumber)
		}
		ca, err := e.w.CorporateOf(e.ctx, corp.User.ID)
		ok(t, err)
		if ca.AccountNumber != corp.User.AccountNumber {
			t.Fatalf("corporate settings show %q, the user %q", ca.AccountNumber, corp.User.AccountNumber)
		}

		// Lookup, plain and grouped, through the pool and inside a transaction.
		for _, u := range []wallet.WalletUser{users[0], corp.User} {
			got, err := e.w.UserByAccountNumber(e.ctx, db.Read(), u.AccountNumber)
			ok(t, err)
			if g, w := mustJSON(t, got), mustJSON(t, u); g != w {
				t.Fatalf("lookup of %s: %s, want %s", u.AccountNumber, g, w)
			}
			ok(t, db.Transact(e.ctx, func(ctx context.Context, tx *store.Tx) error {
				got, err := e.w.UserByAccountNumber(ctx, tx, wallet.FormatAccountNumber(u.AccountNumber))
				if err == nil && got.ID != u.ID {
					err = fmt.Errorf("grouped lookup found %s", got.ID)
				}
				return err
			}))
		}
		unused := checkDigits("1111111111")
		if _, taken := seen[unused]; taken {
			t.Fatal("the test's unused number is taken")
		}
		for _, n := range []string{unused, "123456789093", "", "x"} {
			if _, err := e.w.UserByAccountNumber(e.ctx, db.Read(), n); !apperr.Is(err, apperr.NotFound) {
				t.Fatalf("lookup of %q: %v, want not found", n, err)
			}
		}
	})
}

// TestAccountNumberCollision: a taken number is never given out again (the
// next draw is used), a run of taken draws gives up, and a unique
// violation of the number (what a concurrent insert of the same number
// gets) is told apart from other unique violations.
func TestAccountNumberCollision(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		a, b := e.customer("alice"), e.customer("bob")
		draws := []string{a.AccountNumber, b.AccountNumber, a.AccountNumber, checkDigits("2222222222")}
		got, err := wallet.FreeAccountNumber(e.ctx, db.Read(), func() string { n := draws[0]; draws = draws[1:]; return n })
		ok(t, err)
		if got != checkDigits("2222222222") {
			t.Fatalf("got %s", got)
		}
		if _, err := wallet.FreeAccountNumber(e.ctx, db.Read(), func() string { return a.AccountNumber }); err == nil {
			t.Fatal("only taken numbers, and no error")
		}

		var numberErr, nameErr error
		_ = db.Transact(e.ctx, func(ctx context.Context, tx *store.Tx) error {
			_, numberErr = tx.ExecContext(ctx, `UPDATE wallet_users SET account_number = $1 WHERE id = $2`, a.AccountNumber, b.ID)
			return numberErr
		})
		_ = db.Transact(e.ctx, func(ctx context.Context, tx *store.Tx) error {
			_, nameErr = tx.ExecContext(ctx, `UPDATE wallet_users SET username = $1 WHERE id = $2`, a.Username, b.ID)
			return nameErr
		})
		if !wallet.IsNumberTaken(numberErr) {
			t.Fatalf("a duplicate account number: %v", numberErr)
		}
		if !store.IsUniqueViolation(nameErr) || wallet.IsNumberTaken(nameErr) {
			t.Fatalf("a duplicate username: %v", nameErr)
		}
		// Nothing changed.
		for _, u := range []wallet.WalletUser{a, b} {
			got, err := e.w.UserByAccountNumber(e.ctx, db.Read(), u.AccountNumber)
			ok(t, err)
			if got.ID != u.ID {
				t.Fatalf("%s now belongs to %s", u.AccountNumber, got.ID)
			}
		}
	})
}
