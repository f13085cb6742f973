package wallet_test

import (
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/apperr"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/wallet"
)

// rowCounts counts the rows of every table of the database.
func (e *env) rowCounts() map[string]int {
	e.t.Helper()
	q := `SELECT name FROM sqlite_master WHERE type = 'table'`
	if e.db.Dialect() == store.Postgres {
		q = `SELECT tablename FROM pg_tables WHERE schemaname = current_schema()`
	}
	rows, err := e.db.Read().QueryContext(e.ctx, q)
	if err != nil {
		e.t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			e.t.Fatal(err)
		}
		tables = append(tables, n)
	}
	if err := rows.Err(); err != nil {
		e.t.Fatal(err)
	}
	rows.Close()
	out := make(map[string]int, len(tables))
	for _, n := range tables {
		out[n] = e.count(`"` + n + `"`)
	}
	return out
}

// TestSaltsAreStateless: issuing salts writes nothing however many are
// asked for; a salt carries its expiry and a MAC binding it to its
// merchant, so a valid one works until it expires and an expired, forged
// (any bit flipped) or other merchant's salt is refused even with a
// correctly signed token.
func TestSaltsAreStateless(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		shop, other := e.corporate("shop", true), e.corporate("other", true) // the API is Corporate+'s

		before := e.rowCounts()
		salts := map[string]bool{}
		var salt wallet.MerchantSalt
		for i := 0; i < 300; i++ {
			s, err := e.w.NewSalt(e.ctx, shop.MerchantID)
			ok(t, err)
			if len(s.Salt) != 64 || strings.ToLower(s.Salt) != s.Salt || salts[s.Salt] {
				t.Fatalf("salt %d: %q (64 lower-case hex digits, never repeated)", i, s.Salt)
			}
			salts[s.Salt] = true
			salt = s
		}
		if _, err := e.w.NewSalt(e.ctx, "NOSUCHID"); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("salt of an unknown merchant: %v", err)
		}
		after := e.rowCounts()
		for table, n := range after {
			if before[table] != n {
				t.Errorf("table %s: %d rows before the salts, %d after", table, before[table], n)
			}
		}
		if len(after) != len(before) {
			t.Errorf("%d tables before, %d after", len(before), len(after))
		}
		if want := epoch.Add(time.Hour); !salt.ExpiresAt.Equal(want) {
			t.Fatalf("salt expires at %v, want %v", salt.ExpiresAt, want)
		}

		// A valid salt works and says until when.
		auth, err := e.w.AuthenticateMerchant(e.ctx, wallet.MerchantToken(shop.MerchantID, shop.MerchantSecret, salt.Salt))
		ok(t, err)
		if auth.TenantID != shop.TenantID || !auth.ExpiresAt.Equal(salt.ExpiresAt) {
			t.Fatalf("authenticated %+v, want tenant %s until %v", auth, shop.TenantID, salt.ExpiresAt)
		}

		refused := func(what, token string) {
			t.Helper()
			if _, err := e.w.AuthenticateMerchant(e.ctx, token); !apperr.Is(err, apperr.Unauthenticated) {
				t.Fatalf("%s: %v", what, err)
			}
		}
		// Every single bit flipped anywhere in the salt (expiry, random part,
		// MAC) is refused, though the merchant signs the forged salt properly.
		raw, err := hex.DecodeString(salt.Salt)
		ok(t, err)
		for i := 0; i < len(raw)*8; i++ {
			f := append([]byte(nil), raw...)
			f[i/8] ^= 1 << (i % 8)
			forged := hex.EncodeToString(f)
			refused("salt with bit "+forged, wallet.MerchantToken(shop.MerchantID, shop.MerchantSecret, forged))
		}
		// The upper-case spelling of a valid salt is not the salt.
		up := strings.ToUpper(salt.Salt)
		refused("upper-case salt", wallet.MerchantToken(shop.MerchantID, shop.MerchantSecret, up))
		// Another merchant's salt, signed by this merchant.
		otherSalt, err := e.w.NewSalt(e.ctx, other.MerchantID)
		ok(t, err)
		refused("other merchant's salt", wallet.MerchantToken(shop.MerchantID, shop.MerchantSecret, otherSalt.Salt))
		_, err = e.w.AuthenticateMerchant(e.ctx, wallet.MerchantToken(other.MerchantID, other.MerchantSecret, otherSalt.Salt))
		ok(t, err)
		// A made-up salt, e.g. the documentation's example.
		refused("example salt", wallet.MerchantToken(shop.MerchantID, shop.MerchantSecret, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"))

		// Valid until its expiry, refused from then on.
		e.clk.Advance(time.Hour - time.Microsecond)
		_, err = e.w.AuthenticateMerchant(e.ctx, wallet.MerchantToken(shop.MerchantID, shop.MerchantSecret, salt.Salt))
		ok(t, err)
		e.clk.Advance(time.Microsecond)
		refused("expired salt", wallet.MerchantToken(shop.MerchantID, shop.MerchantSecret, salt.Salt))
		if after := e.rowCounts(); after["wallet_sessions"] != before["wallet_sessions"] {
			t.Fatalf("authentication wrote sessions")
		}
	})
}
