package card_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/card"
	"github.com/cashgate/cashgate/internal/ids"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

func TestTestCardsAreValid(t *testing.T) {
	for _, c := range card.TestCards {
		if !card.Luhn(c.Number) {
			t.Errorf("%s fails Luhn", c.Number)
		}
	}
	for _, bad := range []string{"4000000000000001", "400000000000000a", "1234"} {
		if card.Luhn(bad) {
			t.Errorf("%s passes Luhn", bad)
		}
	}
	if got := card.Mask("4000000000000002"); got != "400000******0002" {
		t.Errorf("Mask = %s", got)
	}
}

func TestValidate(t *testing.T) {
	now := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	ok := card.Details{Number: "4000000000000002", ExpiryMonth: 11, ExpiryYear: 2026, CVC: "123"}
	if err := ok.Validate(now, true); err != nil {
		t.Errorf("valid to the end of its month: %v", err)
	}
	for name, d := range map[string]card.Details{
		"expired":  {Number: "4000000000000002", ExpiryMonth: 10, ExpiryYear: 2026, CVC: "123"},
		"cvc":      {Number: "4000000000000002", ExpiryMonth: 12, ExpiryYear: 2030, CVC: "12"},
		"no cvc":   {Number: "4000000000000002", ExpiryMonth: 12, ExpiryYear: 2030},
		"bad luhn": {Number: "4000000000000003", ExpiryMonth: 12, ExpiryYear: 2030, CVC: "123"},
	} {
		if d.Validate(now, true) == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestSimulatorOutcomes(t *testing.T) {
	sim := card.NewSimulator(ids.New(rand.NewChaCha8([32]byte{1})))
	ctx := context.Background()
	for _, c := range card.TestCards {
		enr, _ := sim.Enrolment(ctx, c.Number)
		if enr != c.Enrolment {
			t.Errorf("%s: enrolment %v, want %v", c.Number, enr, c.Enrolment)
		}
		r, _ := sim.Authorise(ctx, card.AuthRequest{PAN: c.Number, CVCResult: "200", Amount: 100, Currency: "GBP"})
		if r.Approved != (c.Outcome == card.Approve) {
			t.Errorf("%s: approved %v", c.Number, r.Approved)
		}
	}
	res, _ := sim.CheckCVC(ctx, "4000000000000002", card.CVCFail)
	r, _ := sim.Authorise(ctx, card.AuthRequest{PAN: "4000000000000002", CVCResult: res})
	if r.Approved {
		t.Error("CVC 999 approved")
	}
}

// TestVault: the PAN round-trips, is not stored in clear, and a wrong
// key-encryption key cannot open it.
func TestVault(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		gen := ids.New(rand.NewChaCha8([32]byte{2}))
		if _, err := db.Read().ExecContext(ctx, `SELECT 1`); err != nil {
			t.Fatal(err)
		}
		if err := db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO tenants (id, business_code, name, mode, timezone, created_at) VALUES ('ten_1', 'B1', 'T', 'sandbox', 'UTC', 0)`)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		v, err := card.NewVault(bytes.Repeat([]byte{1}, 32), gen)
		if err != nil {
			t.Fatal(err)
		}
		var st card.Stored
		d := card.Details{Number: "4000000000000002", ExpiryMonth: 5, ExpiryYear: 2030, CVC: "123", HolderName: "Ada"}
		if err := db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
			st, err = v.Store(ctx, tx, "ten_1", d, time.Unix(0, 0), true)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		var sealed []byte
		if err := db.Read().QueryRowContext(ctx, `SELECT pan_sealed FROM card_vault WHERE id = $1`, st.ID).Scan(&sealed); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(sealed, []byte("4000000000000002")) {
			t.Error("PAN stored in clear")
		}
		got, pan, err := v.OpenToken(ctx, db.Read(), "ten_1", st.Token)
		if err != nil || pan != d.Number || got.MaskedPAN != "400000******0002" {
			t.Fatalf("open: %v %q %+v", err, pan, got)
		}
		other, _ := card.NewVault(bytes.Repeat([]byte{2}, 32), gen)
		if _, _, err := other.Open(ctx, db.Read(), "ten_1", st.ID); err == nil {
			t.Error("opened with the wrong key-encryption key")
		}
		if _, _, err := v.Open(ctx, db.Read(), "ten_2", st.ID); err == nil {
			t.Error("opened another tenant's card")
		}
	})
}

// TestVaultTokens: a card vaulted without a token cannot be found by any
// token until Tokenise gives it one (and keeps it); tokens are per tenant;
// the CVC is stored nowhere.
func TestVaultTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		gen := ids.New(rand.NewChaCha8([32]byte{4}))
		if err := db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
			for _, id := range []string{"ten_1", "ten_2"} {
				if _, err := tx.ExecContext(ctx, `INSERT INTO tenants (id, business_code, name, mode, timezone, created_at) VALUES ($1, $2, 'T', 'sandbox', 'UTC', 0)`, id, "B"+id); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		v, err := card.NewVault(bytes.Repeat([]byte{1}, 32), gen)
		if err != nil {
			t.Fatal(err)
		}
		d := card.Details{Number: "5400100400099001", ExpiryMonth: 12, ExpiryYear: 2031, CVC: "737", HolderName: "Han Solo"}
		var plain card.Stored
		var tok, again string
		if err := db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
			var err error
			if plain, err = v.Store(ctx, tx, "ten_1", d, time.Unix(0, 0), false); err != nil {
				return err
			}
			if plain.Token != "" {
				t.Errorf("untokenised card has token %q", plain.Token)
			}
			if tok, err = v.Tokenise(ctx, tx, "ten_1", plain.ID); err != nil {
				return err
			}
			again, err = v.Tokenise(ctx, tx, "ten_1", plain.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if !card.IsToken(tok) || tok[0] == '0' || again != tok {
			t.Fatalf("tokens %q, %q", tok, again)
		}
		got, pan, err := v.OpenToken(ctx, db.Read(), "ten_1", tok)
		if err != nil || pan != d.Number || got.ID != plain.ID || got.Token != tok || got.HolderName != "Han Solo" {
			t.Fatalf("open by token: %v %+v", err, got)
		}
		if _, _, err := v.OpenToken(ctx, db.Read(), "ten_2", tok); err == nil {
			t.Error("another tenant opened the token")
		}
		for _, bad := range []string{"", "-" + plain.ID, "123", tok + "0"} {
			if _, _, err := v.OpenToken(ctx, db.Read(), "ten_1", bad); err == nil {
				t.Errorf("token %q opened a card", bad)
			}
		}
		if err := db.Transact(ctx, func(ctx context.Context, tx *store.Tx) error {
			_, err := v.Tokenise(ctx, tx, "ten_2", plain.ID)
			return err
		}); err == nil {
			t.Error("another tenant tokenised the card")
		}
		// Nothing stored holds the PAN or the CVC in clear.
		rows, err := db.Read().QueryContext(ctx, `SELECT * FROM card_vault`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				var b []byte
				switch x := v.(type) {
				case []byte:
					b = x
				case string:
					b = []byte(x)
				}
				if bytes.Contains(b, []byte(d.Number)) || bytes.Contains(b, []byte(d.CVC)) {
					t.Errorf("column %s holds the PAN or CVC in clear", cols[i])
				}
			}
		}
	})
}
