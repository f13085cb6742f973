package money_test

import (
	"testing"

	"github.com/cashgate/cashgate/internal/money"
)

func BenchmarkParseDecimal(b *testing.B) {
	benchmarks := []struct {
		name string
		in   string
		cur  money.Currency
	}{
		{"GBP/short", "10.50", gbp},
		{"GBP/no-fraction", "1999", gbp},
		{"JPY", "1000000", jpy},
		{"KWD", "12345.678", kwd},
		{"GBP/max", "92233720368547758.07", gbp},
		{"GBP/invalid", "1,000.00", gbp},
	}
	for _, bm := range benchmarks {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = money.ParseDecimal(bm.in, bm.cur)
			}
		})
	}
}

func BenchmarkFormat(b *testing.B) {
	a := money.New(123456789, gbp)
	b.ReportAllocs()
	for b.Loop() {
		_ = money.Format(a)
	}
}

func BenchmarkPercentOf(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_, _ = money.PercentOf(123456789, 290, money.RoundHalfEven)
	}
}
