package gateway

import (
	"context"

	"github.com/cashgate/cashgate/internal/store"
)

// A gateway write answers from inside its transaction (the httpx.Reply
// contract): the handler puts a replyFunc in the context it hands the
// service, and the service calls it with the job as its transaction left it,
// as the transaction's last step. The answer then commits with the payment.

type replyKey struct{}

// replyFunc renders and records a write's answer from j, inside tx.
type replyFunc func(ctx context.Context, tx *store.Tx, j *job) error

func withReply(ctx context.Context, f replyFunc) context.Context {
	return context.WithValue(ctx, replyKey{}, f)
}

// replyInTx calls the handler's replyFunc, if any (CLI and jobs have none).
func replyInTx(ctx context.Context, tx *store.Tx, j *job) error {
	if f, ok := ctx.Value(replyKey{}).(replyFunc); ok && f != nil {
		return f(ctx, tx, j)
	}
	return nil
}
