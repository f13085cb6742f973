package ledger

import (
	"strconv"
	"testing"
)

func TestMaxBalanceSQL(t *testing.T) {
	if got := strconv.FormatInt(MaxBalance, 10); got != maxBalanceSQL {
		t.Fatalf("maxBalanceSQL = %s, want %s", maxBalanceSQL, got)
	}
}
