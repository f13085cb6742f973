package store

// SetWALSync replaces the fsync of the WAL (durable.go); call it before the
// first Transact.
func SetWALSync(db *DB, f func() error) { db.sync.sync = f }
