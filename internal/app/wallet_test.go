package app

import (
	"context"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/wallet"
)

// TestWalletHousekeepingScheduled: the wallet's schedule hook, run as the
// workers run it when they start, enqueues its housekeeping job once; the
// registered handler deletes expired sessions and reschedules
// itself, on the fake clock.
func TestWalletHousekeepingScheduled(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			a, clk, count := openForTest(t, e, 2)
			for i := 0; i < 2; i++ { // two workers starting: one job
				for _, schedule := range a.schedules {
					if err := schedule(ctx); err != nil {
						t.Fatal(err)
					}
				}
			}
			if n := count(`SELECT COUNT(*) FROM jobs WHERE kind = $1`, wallet.JobHousekeeping); n != 1 {
				t.Fatalf("%d wallet housekeeping jobs scheduled, want 1", n)
			}
			w := a.Wallet.Service
			_, err := w.CreateCorporate(ctx, wallet.CorporateSpec{CompanyName: "Shop", Mode: platform.Sandbox, Username: "shop", Password: "shop-password",
				PIN: "4321", IBAN: "DE89370400440532013000", BIC: "COBADEFFXXX"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Login(ctx, "shop", "shop-password"); err != nil {
				t.Fatal(err)
			}
			run := func() {
				t.Helper()
				if _, err := a.Runner.RunDue(ctx); err != nil {
					t.Fatal(err)
				}
			}
			run()
			clk.Advance(time.Hour) // the session (12 h) does not expire yet
			run()
			if s := count(`SELECT COUNT(*) FROM wallet_sessions`); s != 1 {
				t.Fatalf("after 1 h: %d sessions", s)
			}
			clk.Advance(12 * time.Hour)
			run()
			if s := count(`SELECT COUNT(*) FROM wallet_sessions`); s != 0 {
				t.Fatalf("after 13 h: %d sessions", s)
			}
			if err := ledger.CheckInvariants(ctx, a.DB.Read()); err != nil {
				t.Fatal(err)
			}
		})
	}
}
