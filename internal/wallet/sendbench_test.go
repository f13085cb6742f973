package wallet_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/platform"
	"github.com/cashgate/cashgate/internal/store/storetest"
	"github.com/cashgate/cashgate/internal/wallet"
)

// BenchmarkSendService measures Service.Send without HTTP on SQLite from
// 16 goroutines between Corporate+ wallets: the committer's share.
func BenchmarkSendService(b *testing.B) {
	s := newStack(b, storetest.Engines()[0]) // SQLite
	s.clk.Set(time.Now())
	ctx := context.Background()
	w := s.a.Wallet.Service
	var names, ids []string
	for i := 0; i < 8; i++ {
		name := fmt.Sprintf("bench%d", i)
		c, err := w.CreateCorporate(ctx, wallet.CorporateSpec{CompanyName: name, Mode: platform.Production, Username: name, Password: "bench-password",
			PIN: "1234", IBAN: "DE89370400440532013000", BIC: "COBADEFFXXX"})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := w.ApproveUpgrade(ctx, c.TenantID, true); err != nil {
			b.Fatal(err)
		}
		if _, err := w.CreditTopUp(ctx, wallet.TopUp{Reference: c.User.TopUpReference, Amount: "1000000.00", BankReference: name}); err != nil {
			b.Fatal(err)
		}
		names, ids = append(names, name), append(ids, c.User.ID)
	}
	var n atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		rng := rand.New(rand.NewPCG(uint64(n.Add(1)), 1))
		for pb.Next() {
			i := rng.IntN(len(names))
			j := (i + 1 + rng.IntN(len(names)-1)) % len(names)
			if _, err := w.Send(ctx, ids[i], wallet.WalletSend{To: names[j], Amount: fmt.Sprintf("0.%02d", 20+rng.IntN(80))}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "sends/s")
	if err := ledger.CheckInvariants(ctx, s.a.DB.Read()); err != nil {
		b.Fatal(err)
	}
}
