package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keydeck/keydeck/storage"
	"github.com/keydeck/keydeck/storage/postgres"
	"github.com/keydeck/keydeck/storage/sqlite"
)

// copyCmd moves a whole store between databases: SQLite to PostgreSQL and
// back (or between two of a kind). The source is --db; it is read, never
// changed, except that usage still pending in a SQLite file is folded in
// as the store itself does every second.
func (a *app) copyCmd() *cobra.Command {
	var to string
	var asJSON bool
	c := &cobra.Command{
		Use:   "copy --to TARGET [--json]",
		Short: "Copy the whole database into an empty one: SQLite file or PostgreSQL URL (local only)",
		Long: `Copy everything in the database named by --db (or KEYDECK_DB, or the default
file) into TARGET: accounts with their API tokens, keys with their secrets'
digests, usage and history, the audit log and SSH keys. Every secret and
token keeps working in the copy. Either side is a SQLite file path or a
postgres:// (postgresql://) URL; a new PostgreSQL database is migrated first.

TARGET must be empty: no keys, no SSH keys and no account but the "default"
one a new database starts with (which is replaced). Usage a SQLite store
has not yet folded into its keys is folded into the copy. The copy is one
transaction on the target: it lands whole or not at all.

Stop the servers using the source first: what they write after the copy
has read the source is not in the copy (a SQLite source refuses writers
while it is read).`,
		Example: `  keydeck copy --to postgres://keydeck@db.example.com/keydeck
  keydeck --db postgres://keydeck@db.example.com/keydeck copy --to ~/keydeck.db`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if a.remoteURL(cmd) != "" {
				return usageErrorf("%s is local administration: it works on the databases themselves and cannot be used with --remote", cmdName(cmd))
			}
			if strings.TrimSpace(to) == "" {
				return usageErrorf("%s: --to TARGET is required (a SQLite file or a postgres:// URL)", cmdName(cmd))
			}
			from, err := a.dbTarget(cmd)
			if err != nil {
				return err
			}
			return a.copyStore(cmd, from, to, asJSON)
		},
	}
	c.Flags().StringVar(&to, "to", "", "the empty database to copy into: a SQLite file or a postgres:// URL")
	c.Flags().BoolVar(&asJSON, "json", false, "print the counts as JSON")
	return c
}

// copyResult is what copy --json prints.
type copyResult struct {
	From string `json:"from"`
	To   string `json:"to"`
	storage.Counts
}

func (a *app) copyStore(cmd *cobra.Command, from, to string, asJSON bool) error {
	ctx := cmd.Context()
	log, err := a.logger(cmd)
	if err != nil {
		return err
	}
	if sameDatabase(from, to) {
		return usageErrorf("%s: the source and the target are the same database", cmdName(cmd))
	}
	res := copyResult{From: showDB(from), To: showDB(to)}

	var src interface {
		storage.Dumper
		Close() error
	}
	if postgres.IsURL(from) {
		db, err := postgres.Open(ctx, from, postgres.Options{Logger: log, NoDefaultAccount: true, MaxConns: 2})
		if err != nil {
			return pgOpenError(err)
		}
		src = db
	} else {
		// Opening a missing file would create it: a typo would copy an
		// empty database.
		if _, err := os.Stat(from); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("%s: no such database file", from)
			}
			return err
		}
		db, err := sqlite.Open(ctx, from, sqlite.Options{Logger: log, NoDefaultAccount: true})
		if err != nil {
			return err
		}
		src = db
	}
	defer func() { _ = src.Close() }()

	var dst interface {
		storage.Loader
		Close() error
	}
	created := false // a SQLite target this command made, removed on failure
	if postgres.IsURL(to) {
		db, err := postgres.Open(ctx, to, postgres.Options{Logger: log, NoDefaultAccount: true, MaxConns: 2})
		if err != nil {
			return pgOpenError(err)
		}
		dst = db
	} else {
		if _, err := os.Lstat(to); errors.Is(err, fs.ErrNotExist) {
			created = true
		}
		db, err := sqlite.Open(ctx, to, sqlite.Options{Logger: log, NoDefaultAccount: true})
		if err != nil {
			if created {
				removeSQLite(to)
			}
			return err
		}
		dst = db
	}

	err = src.Dump(ctx, func(s storage.Source) error {
		n, err := dst.Load(ctx, s)
		res.Counts = n
		return err
	})
	closeErr := dst.Close()
	if err == nil {
		err = closeErr
	}
	if err != nil {
		if created {
			removeSQLite(to)
		}
		return fmt.Errorf("%s: %w", res.To, err)
	}

	if asJSON {
		return writeJSON(a.stdout, res)
	}
	n := res.Counts
	fmt.Fprintf(a.stdout, "Copied %s to %s:\n", res.From, res.To)
	return fields(a.stdout,
		"  accounts", fmt.Sprintf("%d (%d with an API token)", n.Accounts, n.Tokens),
		"  keys", strconv.FormatInt(n.Keys, 10),
		"  usage days", strconv.FormatInt(n.UsageDays, 10),
		"  audit events", strconv.FormatInt(n.AuditEvents, 10),
		"  SSH keys", strconv.FormatInt(n.SSHKeys, 10))
}

// showDB names a database in messages: a file by its path, a PostgreSQL
// URL without its credentials.
func showDB(s string) string {
	if postgres.IsURL(s) {
		return postgres.ShowURL(s)
	}
	return s
}

// sameDatabase reports whether a and b name one database: one URL, or one
// file (by path, or by identity when both exist).
func sameDatabase(a, b string) bool {
	if postgres.IsURL(a) || postgres.IsURL(b) {
		return strings.TrimSpace(a) == strings.TrimSpace(b)
	}
	if fa, err := os.Stat(a); err == nil {
		if fb, err := os.Stat(b); err == nil {
			return os.SameFile(fa, fb)
		}
	}
	pa, err1 := filepath.Abs(a)
	pb, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && pa == pb
}

// removeSQLite deletes a database file this command created, with the
// files SQLite keeps beside it.
func removeSQLite(path string) {
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		_ = os.Remove(path + suffix)
	}
}
