package wallet

import (
	"context"
	"strings"
	"sync"

	"github.com/cashgate/cashgate/internal/store"
)

// maxCachedParties bounds the parties cache: past it, it starts over.
const maxCachedParties = 1 << 16

// parties remembers, by account number, what a move needs of a wallet: its
// user id, kind, tenant and EUR ledger account. None of these ever changes
// for an account number, so the cache needs no invalidation; it holds no
// secret, limit or tier, which moves that check them read afresh. A wallet
// is remembered only once the transaction that read it commits, so a wallet
// opened by a transaction that rolled back is never remembered.
type parties struct {
	mu sync.Mutex
	m  map[string]user
}

func (p *parties) get(number string) (user, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	u, ok := p.m[number]
	return u, ok
}

func (p *parties) put(u user) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil || len(p.m) >= maxCachedParties {
		p.m = make(map[string]user)
	}
	p.m[u.AccountNumber] = user{ID: u.ID, Kind: u.Kind, TenantID: u.TenantID, AccountID: u.AccountID, AccountNumber: u.AccountNumber}
}

// party returns the wallet with an account number for a move in tx: from
// the cache, or read in tx and remembered when tx commits.
func (s *Service) party(ctx context.Context, tx *store.Tx, number string) (user, error) {
	number = strings.ReplaceAll(strings.TrimSpace(number), " ", "")
	if u, ok := s.parties.get(number); ok {
		return u, nil
	}
	u, err := s.userByNumber(ctx, tx, number)
	if err != nil {
		return user{}, err
	}
	tx.OnCommit(func() { s.parties.put(u) })
	return u, nil
}
