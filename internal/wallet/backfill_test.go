package wallet_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/cashgate/cashgate/internal/clock"
	"github.com/cashgate/cashgate/internal/ids"
	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/wallet"
)

// schemaBeforeAccountNumbers is the last migration without account numbers.
const schemaBeforeAccountNumbers = 11

// legacyDB opens a database of engine e at the schema before account
// numbers, writes n users the way that schema had them (each with its EUR
// ledger account; every tenth a corporate), then migrates it to the
// latest schema, as an upgrade does. It returns the database and its URL.
func legacyDB(t *testing.T, e storetest.Engine, n int) (*store.DB, string) {
	t.Helper()
	ctx := t.Context()
	url := e.URL(t)
	db := openDB(t, url)
	ok(t, db.MigrateTo(ctx, schemaBeforeAccountNumbers))
	clk := clock.NewFake(epoch)
	gen := ids.New(rand.NewChaCha8([32]byte{11}))
	ok(t, db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
		for i := range n {
			id, kind, tier, tenant := fmt.Sprintf("wus_legacy%04d", i), wallet.KindPrivate, "private", ""
			owner := "customer:" + id
			if i%10 == 9 {
				kind, tier, tenant = wallet.KindCorporate, "corporate", fmt.Sprintf("ten_legacy%04d", i)
				owner = "corporate:" + tenant
			}
			// The account as that schema had it (today's ledger code writes
			// columns it did not have yet).
			accID := gen.ID("acc")
			if _, err := tx.ExecContext(ctx, `INSERT INTO ledger_accounts (id, tenant_id, owner, purpose, currency, allow_overdraft, created_at)
VALUES ($1, $2, $3, 'wallet', 'EUR', FALSE, $4)`, accID, wallet.LedgerScope, owner, clk.Now().UnixMicro()); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO wallet_users (id, username, kind, tier, tenant_id, account_id, topup_ref, password_hash, pin_hash, created_at, pin_failures)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, id, fmt.Sprintf("legacy%04d", i), kind, tier, tenant, accID, fmt.Sprintf("CGW%09d", i),
				"$argon2id$pw"+id, "$argon2id$pin"+id, epoch.UnixMicro()+int64(i), i%3); err != nil {
				return err
			}
		}
		return nil
	}))
	_, err := db.Migrate(ctx)
	ok(t, err)
	return db, url
}

func openDB(t *testing.T, url string) *store.DB {
	t.Helper()
	db, err := store.Open(t.Context(), url, nil, store.Options{})
	ok(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// startWallet starts a wallet service on db as a process does (seed: its
// randomness), logging to log.
func startWallet(ctx context.Context, db *store.DB, seed byte, log *slog.Logger) (*wallet.Service, error) {
	clk := clock.NewFake(epoch)
	gen := ids.New(rand.NewChaCha8([32]byte{seed}))
	return wallet.New(ctx, wallet.Deps{DB: db, Clock: clk, IDs: gen, Log: log, Ledger: ledger.New(db, clk, gen)},
		wallet.Config{Pepper: bytes.Repeat([]byte{7}, 32), SecretKey: bytes.Repeat([]byte{5}, 32), Argon2: cheapArgon2()})
}

// syncBuffer is a log destination shared by goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// userRows returns every wallet user's columns but the account number, by id.
func userRows(t *testing.T, db *store.DB) map[string]string {
	t.Helper()
	rows, err := db.Read().QueryContext(t.Context(), `SELECT id, username, kind, tier, tenant_id, account_id, topup_ref, password_hash, pin_hash,
pin_failures, pin_locked_until, pin_check_until, login_failures, login_locked_until, login_check_until, login_window_start, created_at FROM wallet_users`)
	ok(t, err)
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, name, kind, tier, tenant, acc, ref, pw, pin string
		var n [8]int64
		ok(t, rows.Scan(&id, &name, &kind, &tier, &tenant, &acc, &ref, &pw, &pin, &n[0], &n[1], &n[2], &n[3], &n[4], &n[5], &n[6], &n[7]))
		out[id] = fmt.Sprint(name, kind, tier, tenant, acc, ref, pw, pin, n)
	}
	ok(t, rows.Err())
	return out
}

// accountNumbers returns every wallet user's account number ("" for NULL), by id.
func accountNumbers(t *testing.T, db *store.DB) map[string]string {
	t.Helper()
	rows, err := db.Read().QueryContext(t.Context(), `SELECT id, COALESCE(account_number, '') FROM wallet_users`)
	ok(t, err)
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, n string
		ok(t, rows.Scan(&id, &n))
		out[id] = n
	}
	ok(t, rows.Err())
	return out
}

// checkNumbered fails unless each of want users has a valid account
// number of its own.
func checkNumbered(t *testing.T, nums map[string]string, want int) {
	t.Helper()
	if len(nums) != want {
		t.Fatalf("%d users, want %d", len(nums), want)
	}
	owner := map[string]string{}
	for id, n := range nums {
		if !wallet.ValidAccountNumber(n) {
			t.Fatalf("%s has account number %q", id, n)
		}
		if o, dup := owner[n]; dup {
			t.Fatalf("%s and %s share %s", o, id, n)
		}
		owner[n] = id
	}
}

// TestAccountNumberBackfill: users that existed before the migration have
// no account number; the service's start gives each one its own, in
// batches, each logged, changing nothing else; a second start finds
// nothing to do.
func TestAccountNumberBackfill(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			ctx := t.Context()
			n := 2*wallet.AccountNumberBatch + 50
			db, _ := legacyDB(t, e, n)
			before := userRows(t, db)
			for id, num := range accountNumbers(t, db) {
				if num != "" {
					t.Fatalf("%s has account number %q before the backfill", id, num)
				}
			}

			var log syncBuffer
			w, err := startWallet(ctx, db, 1, slog.New(slog.NewTextHandler(&log, nil)))
			ok(t, err)
			nums := accountNumbers(t, db)
			checkNumbered(t, nums, n)
			if after := userRows(t, db); fmt.Sprint(after) != fmt.Sprint(before) {
				t.Fatal("the backfill changed other columns of the users")
			}
			if got := strings.Count(log.String(), "assigned to a batch"); got != 3 {
				t.Fatalf("%d batches logged, want 3:\n%s", got, log.String())
			}
			if !strings.Contains(log.String(), fmt.Sprintf("users=%d", n)) {
				t.Fatalf("no total logged:\n%s", log.String())
			}
			u, err := w.UserByAccountNumber(ctx, db.Read(), nums["wus_legacy0019"])
			ok(t, err)
			if u.ID != "wus_legacy0019" || u.Kind != wallet.KindCorporate || u.AccountNumber != nums["wus_legacy0019"] {
				t.Fatalf("lookup found %+v", u)
			}

			// Idempotent: a second start numbers no one and logs nothing.
			var again syncBuffer
			_, err = startWallet(ctx, db, 2, slog.New(slog.NewTextHandler(&again, nil)))
			ok(t, err)
			if fmt.Sprint(accountNumbers(t, db)) != fmt.Sprint(nums) {
				t.Fatal("the second start changed account numbers")
			}
			if again.String() != "" {
				t.Fatalf("the second start logged:\n%s", again.String())
			}
			ok(t, ledger.CheckInvariants(ctx, db.Read()))
		})
	}
}

// TestAccountNumberBackfillConcurrent: two processes starting at once on
// the same database number every user exactly once between them.
func TestAccountNumberBackfillConcurrent(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			ctx := t.Context()
			n := 2*wallet.AccountNumberBatch + 50
			db1, url := legacyDB(t, e, n)
			db2 := openDB(t, url)
			before := userRows(t, db1)
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i, db := range []*store.DB{db1, db2} {
				wg.Go(func() {
					_, errs[i] = startWallet(ctx, db, byte(i+1), slog.New(slog.DiscardHandler))
				})
			}
			wg.Wait()
			for _, err := range errs {
				ok(t, err)
			}
			checkNumbered(t, accountNumbers(t, db1), n)
			if fmt.Sprint(userRows(t, db2)) != fmt.Sprint(before) {
				t.Fatal("the backfill changed other columns of the users")
			}
			ok(t, ledger.CheckInvariants(ctx, db1.Read()))
		})
	}
}

// TestLegacyCorporateWalletsHot: the upgrade marks the ledger accounts of
// corporate wallets opened before hot (migration 00038), and no other.
func TestLegacyCorporateWalletsHot(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) { legacyHot(t, e) })
	}
}

func legacyHot(t *testing.T, e storetest.Engine) {
	db, _ := legacyDB(t, e, 20)
	rows, err := db.Read().QueryContext(t.Context(), `SELECT u.kind, a.hot FROM wallet_users u JOIN ledger_accounts a ON a.id = u.account_id`)
	ok(t, err)
	defer rows.Close()
	hot := map[string]int{}
	n := 0
	for rows.Next() {
		var kind string
		var h bool
		ok(t, rows.Scan(&kind, &h))
		n++
		if h != (kind == wallet.KindCorporate) {
			t.Errorf("a %s wallet's account: hot = %t", kind, h)
		}
		if h {
			hot[kind]++
		}
	}
	ok(t, rows.Err())
	if n != 20 || hot[wallet.KindCorporate] != 2 {
		t.Errorf("%d wallets, hot %v; want 20 wallets, 2 corporate hot", n, hot)
	}
}
