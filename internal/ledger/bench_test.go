package ledger_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/cashgate/cashgate/internal/clock"
	"github.com/cashgate/cashgate/internal/ids"
	"github.com/cashgate/cashgate/internal/ledger"
	"github.com/cashgate/cashgate/internal/store"
	"github.com/cashgate/cashgate/internal/store/storetest"
)

// benchClients is the number of concurrent clients the benchmarks simulate.
const benchClients = 8

// BenchmarkTransfer measures durable two-account transfers (overdraft
// check, one Transact and commit each) from 8 concurrent clients, each
// moving money between its own pair of no-overdraft accounts.
func BenchmarkTransfer(b *testing.B) {
	benchmarkTransfer(b, false)
}

// BenchmarkTransferHotAccount is BenchmarkTransfer with every client
// moving money between the same two accounts: the worst case for
// PostgreSQL, where the transfers queue on the two rows' locks.
func BenchmarkTransferHotAccount(b *testing.B) {
	benchmarkTransfer(b, true)
}

func benchmarkTransfer(b *testing.B, hot bool) {
	for _, e := range storetest.Engines() {
		b.Run(e.Name, func(b *testing.B) {
			db := e.Open(b)
			f := newFixture(b, db)
			// As in production: the real clock and time-ordered ids.
			f.l = ledger.New(db, clock.Real{}, ids.NewWithClock(nil, clock.Real{}))
			// RunParallel starts parallelism × GOMAXPROCS goroutines.
			par := (benchClients + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0)
			clients := par * runtime.GOMAXPROCS(0)
			type pair struct{ from, to string }
			pairs := make([]pair, clients)
			for i := range pairs {
				if hot && i > 0 {
					pairs[i] = pairs[0]
					continue
				}
				pairs[i] = pair{
					from: f.wallet(b, fmt.Sprintf("payer:%d", i), "EUR", 1_000_000_000),
					to:   f.account(b, fmt.Sprintf("payee:%d", i), "available", "EUR", false),
				}
			}
			var next atomic.Int64
			b.SetParallelism(par)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				p := pairs[next.Add(1)-1]
				s := f.l.Standalone()
				for pb.Next() {
					if _, err := s.Transfer(f.ctx, ledger.TransferSpec{
						TenantID: f.tenant, From: p.from, To: p.to, Currency: "EUR", Amount: 1, Reference: "bench",
					}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "transfers/s")
			b.ReportMetric(float64(clients), "clients")
			if err := ledger.CheckInvariants(f.ctx, db.Read()); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkCheckInvariants measures the invariant checker on a ledger of
// about 10,000 entries.
func BenchmarkCheckInvariants(b *testing.B) {
	for _, e := range storetest.Engines() {
		b.Run(e.Name, func(b *testing.B) {
			db := e.Open(b)
			f := newFixture(b, db)
			a := f.wallet(b, "a", "EUR", 1_000_000)
			c := f.account(b, "c", "available", "EUR", false)
			if err := db.Transact(f.ctx, func(ctx context.Context, tx *store.Tx) error {
				for range 10_000 {
					if _, err := f.l.Transfer(f.ctx, tx, ledger.TransferSpec{TenantID: f.tenant, From: a, To: c, Currency: "EUR", Amount: 1}); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if err := ledger.CheckInvariants(f.ctx, db.Read()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
