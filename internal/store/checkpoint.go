package store

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"
)

// Checkpoints (SQLite). A WAL database copies the pages of committed
// transactions from the WAL back into the database file at a checkpoint,
// and by default the connection whose commit crosses 1,000 WAL pages runs
// it inside that COMMIT: under load that was the committer, which then
// copied pages and fsynced the database file while every writer waited.
// The writer connection therefore runs with wal_autocheckpoint(0) and a
// checkpointer goroutine with a connection of its own runs PASSIVE
// checkpoints beside it: PASSIVE never takes the write lock and never waits
// for readers, it copies what no reader still needs and leaves the rest for
// the next one. Durability is untouched: every COMMIT still fsyncs the WAL
// (synchronous=FULL), and a checkpoint fsyncs the WAL before it copies.

// checkpointEvery is how often the checkpointer looks at the WAL while
// commits arrive; an idle database is not checkpointed again until the next
// commit.
const checkpointEvery = 50 * time.Millisecond

// checkpointer runs PASSIVE checkpoints on its own connection.
type checkpointer struct {
	conn *sql.DB
	log  *slog.Logger
	wake chan struct{} // a commit happened (buffered 1: coalesces)
	quit chan struct{}
	done chan struct{}
}

func openCheckpointer(path, pragmas string, log *slog.Logger) (*checkpointer, error) {
	c, err := sql.Open("sqlite", "file:"+path+"?"+pragmas)
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite checkpointer: %w", err)
	}
	c.SetMaxOpenConns(1)
	c.SetMaxIdleConns(1)
	c.SetConnMaxLifetime(0)
	c.SetConnMaxIdleTime(0)
	return &checkpointer{conn: c, log: log, wake: make(chan struct{}, 1),
		quit: make(chan struct{}), done: make(chan struct{})}, nil
}

// committed tells the checkpointer the WAL grew; it never blocks.
func (c *checkpointer) committed() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *checkpointer) loop() {
	defer close(c.done)
	for {
		select {
		case <-c.wake:
		case <-c.quit:
			return
		}
		c.checkpoint()
		select {
		case <-time.After(checkpointEvery):
		case <-c.quit:
			return
		}
	}
}

// checkpoint runs one PASSIVE checkpoint and logs a failure (the next one
// retries; the WAL only grows meanwhile).
func (c *checkpointer) checkpoint() {
	var busy, logFrames, moved int
	err := c.conn.QueryRowContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logFrames, &moved)
	if err != nil {
		c.log.Warn("sqlite checkpoint failed", "err", err)
	}
}

// close stops the loop and closes the connection (the last connection to
// close checkpoints what is left).
func (c *checkpointer) close() error {
	close(c.quit)
	<-c.done
	return c.conn.Close()
}
