package main

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cashgate/cashgate/internal/app"
	"github.com/cashgate/cashgate/internal/store"
)

// A backup is a gzipped tar of manifest.json, cashgate.db (a consistent
// copy of the SQLite database) and, unless they came from the environment,
// the data directory's pepper and kek: without them no password, PIN,
// webhook secret, signing key or vaulted card of the copy can be used.
const (
	backupDB       = "cashgate.db"
	backupManifest = "manifest.json"
)

var backupSecrets = []string{"pepper", "kek"}

// backupManifestV1 describes a backup.
type backupManifestV1 struct {
	Format        string    `json:"format"` // "cashgate-backup-1"
	CreatedAt     time.Time `json:"createdAt"`
	SchemaVersion int64     `json:"schemaVersion"`
	Secrets       []string  `json:"secrets"` // which of pepper, kek the backup holds
}

func (e *env) backupCmds() []*cobra.Command {
	backup := &cobra.Command{
		Use:   "backup FILE",
		Short: "Write an online, consistent backup of the SQLite database with its pepper and KEK",
		Long: `Write FILE (a .tar.gz, created with mode 0600; it must not exist) holding a
consistent copy of the SQLite database, taken while cashgate keeps serving,
and the data directory's pepper and KEK (a pepper or KEK given in the
environment is not written: keep it where it is kept). Guard the file like
the data directory: it holds the keys to every secret in the database.

PostgreSQL is backed up with its own tools; cashgate refuses and prints the
commands (pg_dump --format=custom, then pg_restore), and the pepper and KEK
must be kept beside that dump.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withApp(cmd.Context(), func(a *app.App) error { return e.backup(cmd.Context(), a, args[0]) })
		},
	}
	restore := &cobra.Command{
		Use:   "restore FILE",
		Short: "Restore a backup into an empty data directory (SQLite)",
		Long: `Restore FILE, written by cashgate backup, into the data directory (--data-dir)
and the SQLite database (--database-url, default <data-dir>/cashgate.db).
Neither may exist yet: restore never overwrites. The copy is checked
(SQLite integrity check, schema version) before restore reports success;
then cashgate serve runs on it with the same logins and keys.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return e.restore(cmd.Context(), args[0]) },
	}
	return []*cobra.Command{backup, restore}
}

func (e *env) backup(ctx context.Context, a *app.App, file string) error {
	if a.DB.Dialect() != store.SQLite {
		return errors.New("cashgate backup copies SQLite; for PostgreSQL run `pg_dump --format=custom --file=cashgate.dump \"$CASHGATE_DATABASE_URL\"` " +
			"(restore: `pg_restore --clean --if-exists --dbname=URL cashgate.dump`) and keep the pepper and KEK beside the dump")
	}
	tmp, err := os.MkdirTemp(filepath.Dir(file), ".cashgate-backup-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := a.DB.Backup(ctx, filepath.Join(tmp, backupDB)); err != nil {
		return err
	}
	version, _, err := a.DB.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	m := backupManifestV1{Format: "cashgate-backup-1", CreatedAt: a.Clock.Now().UTC(), SchemaVersion: version, Secrets: []string{}}
	files := map[string]string{backupDB: filepath.Join(tmp, backupDB)}
	for _, name := range backupSecrets {
		fromEnv := (name == "pepper" && len(e.cfg.Pepper) > 0) || (name == "kek" && len(e.cfg.KEK) > 0)
		if p := filepath.Join(e.cfg.DataDir, name); !fromEnv && fileExists(p) {
			files[name] = p
			m.Secrets = append(m.Secrets, name)
		}
	}
	if err := writeBackup(file, m, files); err != nil {
		os.Remove(file)
		return err
	}
	return e.printJSON(map[string]any{"backup": file, "schemaVersion": version, "secrets": m.Secrets, "createdAt": m.CreatedAt})
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// writeBackup writes the archive: the manifest first, then the files.
func writeBackup(file string, m backupManifestV1, files map[string]string) error {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	zw := gzip.NewWriter(f)
	tw := tar.NewWriter(zw)
	man, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: backupManifest, Mode: 0o600, Size: int64(len(man)), ModTime: m.CreatedAt}); err != nil {
		return err
	}
	if _, err := tw.Write(man); err != nil {
		return err
	}
	for _, name := range append([]string{backupDB}, m.Secrets...) {
		if err := addFile(tw, name, files[name], m.CreatedAt); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return f.Sync()
}

func addFile(tw *tar.Writer, name, path string, at time.Time) error {
	src, err := os.Open(path)
	if err != nil {
		return err
	}
	defer src.Close()
	fi, err := src.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: fi.Size(), ModTime: at}); err != nil {
		return err
	}
	_, err = io.Copy(tw, src)
	return err
}

func (e *env) restore(ctx context.Context, file string) error {
	dbPath, ok := strings.CutPrefix(e.cfg.URL(), "sqlite:")
	if !ok {
		return errors.New("cashgate restore writes a SQLite database; restore PostgreSQL with pg_restore (see cashgate backup --help)")
	}
	targets := map[string]string{backupDB: dbPath}
	for _, name := range backupSecrets {
		targets[name] = filepath.Join(e.cfg.DataDir, name)
	}
	for _, p := range []string{dbPath, dbPath + "-wal", targets["pepper"], targets["kek"]} {
		if fileExists(p) {
			return fmt.Errorf("cashgate restore: %s exists; restore into an empty data directory", p)
		}
	}
	m, written, err := extractBackup(file, targets)
	if err != nil {
		for _, p := range written {
			os.Remove(p)
		}
		return err
	}
	if err := checkRestored(ctx, dbPath, m); err != nil {
		return err
	}
	return e.printJSON(map[string]any{"restored": file, "database": dbPath, "schemaVersion": m.SchemaVersion, "secrets": m.Secrets, "createdAt": m.CreatedAt})
}

// extractBackup writes the archive's files to their targets (never over an
// existing file) and returns its manifest and the paths it wrote.
func extractBackup(file string, targets map[string]string) (m backupManifestV1, written []string, err error) {
	f, err := os.Open(file)
	if err != nil {
		return m, nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return m, nil, fmt.Errorf("%s is not a cashgate backup: %w", file, err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return m, written, fmt.Errorf("%s is damaged: %w", file, err)
		}
		if h.Name == backupManifest {
			if err := json.NewDecoder(tr).Decode(&m); err != nil || m.Format != "cashgate-backup-1" {
				return m, written, fmt.Errorf("%s is not a cashgate backup (manifest: %v)", file, err)
			}
			continue
		}
		dst, ok := targets[h.Name]
		if !ok || h.Typeflag != tar.TypeReg {
			return m, written, fmt.Errorf("%s holds an unexpected entry %q", file, h.Name)
		}
		if err := writeNew(dst, tr); err != nil {
			return m, written, err
		}
		written = append(written, dst)
	}
	if m.Format == "" || len(written) == 0 {
		return m, written, fmt.Errorf("%s is not a cashgate backup", file)
	}
	return m, written, nil
}

func writeNew(dst string, r io.Reader) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, r); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// checkRestored opens the restored database and checks its integrity and
// that its schema is the one the manifest names.
func checkRestored(ctx context.Context, dbPath string, m backupManifestV1) error {
	db, err := store.Open(ctx, "sqlite:"+dbPath, nil, store.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	var check string
	if err := db.Read().QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		return fmt.Errorf("the restored database fails SQLite's integrity check: %q %v", check, err)
	}
	cur, _, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if cur != m.SchemaVersion {
		return fmt.Errorf("the restored database has schema version %d, its manifest says %d", cur, m.SchemaVersion)
	}
	return nil
}
