package app

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
	"os"
	"time"

	"github.com/cashgate/cashgate/internal/ids"
	"github.com/cashgate/cashgate/internal/outbox"
)

// subkey derives a 32-byte key for one purpose from the key-encryption key
// (HKDF-SHA256), so no two kinds of secret share a key.
func subkey(kek []byte, purpose string) []byte {
	k, err := hkdf.Key(sha256.New, kek, nil, purpose, 32)
	if err != nil { // only for invalid lengths, which 32 is not
		panic(fmt.Sprintf("hkdf: %v", err))
	}
	return k
}

// workerID names this process's job runner in the jobs table.
func workerID(gen *ids.Gen) string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), gen.Secret(3))
}

// Recurring maintenance jobs: a job that reschedules itself with
// outbox.RetryAt, enqueued once under a unique key.
const (
	jobPurgeIdempotency = "platform.purge_idempotency_keys"
	purgeEvery          = time.Hour
	idempotencyKeep     = 24 * time.Hour
)

func (a *App) registerMaintenance() {
	a.Runner.Handle(jobPurgeIdempotency, func(ctx context.Context, job outbox.Job) error {
		n, err := a.Platform.PurgeIdempotencyKeys(ctx, idempotencyKeep)
		if err != nil {
			return err
		}
		if n > 0 {
			a.Log.Info("purged expired idempotency keys", "count", n)
		}
		return outbox.RetryAt(a.Clock.Now().Add(purgeEvery))
	})
}

func (a *App) scheduleMaintenance(ctx context.Context) error {
	_, _, err := a.Outbox.Enqueue(ctx, nil, outbox.JobSpec{Kind: jobPurgeIdempotency, RunAt: a.Clock.Now(), UniqueKey: jobPurgeIdempotency})
	return err
}
