package store

// SetWALSync replaces the fsync of the WAL (durable.go); call it before the
// first Transact.
func SetWALSync(db *DB, f func() error) { db.sync.sync = f }

// Guarded reports whether the committer will run its next batch with a
// savepoint per callback (groupcommit.go); read it after a Transact returns.
func Guarded(db *DB) bool { return db.guarded }

// Queued is how many Transact calls wait for the committer.
func Queued(db *DB) int { return len(db.reqs) }
