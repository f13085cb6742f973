package money_test

import (
	"errors"
	"fmt"

	"github.com/cashgate/cashgate/internal/money"
)

func ExampleParseDecimal() {
	gbp, _ := money.ParseCurrency("GBP")
	a, err := money.ParseDecimal("10.5", gbp)
	fmt.Println(a.Minor, a, err)

	_, err = money.ParseDecimal("10.001", gbp)
	fmt.Println(err, errors.Is(err, money.ErrTooManyDecimals))
	// Output:
	// 1050 10.50 GBP <nil>
	// money: "10.001" has more than 2 decimals for GBP true
}

func ExampleFormat() {
	for _, code := range []string{"JPY", "EUR", "KWD"} {
		cur := money.MustParseCurrency(code)
		fmt.Println(code, money.Format(money.New(1000, cur)), money.New(-5, cur).Decimal())
	}
	// Output:
	// JPY 1000 -5
	// EUR 10.00 -0.05
	// KWD 1.000 -0.005
}

func ExamplePercentOf() {
	// A 2.9% fee (290 basis points) on 19.99 GBP = 57.971 pence.
	fee, _ := money.PercentOf(1999, 290, money.RoundHalfUp)
	fmt.Println(fee)

	// 0.25% of 1000 is exactly 2.5: the modes differ on ties.
	up, _ := money.PercentOf(1000, 25, money.RoundHalfUp)
	even, _ := money.PercentOf(1000, 25, money.RoundHalfEven)
	fmt.Println(up, even)
	// Output:
	// 58
	// 3 2
}

func ExampleAmount_Add() {
	gbp := money.MustParseCurrency("GBP")
	eur := money.MustParseCurrency("EUR")
	sum, err := money.New(1050, gbp).Add(money.New(-75, gbp))
	fmt.Println(sum, err)

	_, err = money.New(1050, gbp).Add(money.New(1, eur))
	fmt.Println(errors.Is(err, money.ErrCurrencyMismatch))
	// Output:
	// 9.75 GBP <nil>
	// true
}
