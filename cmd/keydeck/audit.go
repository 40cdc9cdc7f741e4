package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/keydeck/keydeck/api"
	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
	"github.com/keydeck/keydeck/tui/format"
)

func (a *app) auditCmd() *cobra.Command {
	var key, limit string
	var asJSON bool
	c := &cobra.Command{
		Use:   "audit [--key ID] [--limit N] [--json]",
		Short: "Show the account's audit log, newest first",
		Long: `Show the account's audit log, newest first: every create, edit, regenerate,
revoke, release and account change, with who did it (os:<user>, an SSH key
fingerprint or an API token) and when. --key takes a Client ID or key name.`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			n, err := parseWhole("limit", limit, 1, storage.MaxLimit)
			if err != nil {
				return err
			}
			var events []model.AuditEvent
			err = a.withStore(cmd, func(st storage.Store) (err error) {
				events, err = st.Audit(cmd.Context(), storage.AuditFilter{Key: key, Limit: int(n)})
				return err
			})
			if err != nil {
				return err
			}
			if asJSON {
				if events == nil {
					events = []model.AuditEvent{}
				}
				return writeJSON(a.stdout, api.AuditAnswer{Events: events})
			}
			if len(events) == 0 {
				fmt.Fprintln(a.stdout, "No audit events.")
				return nil
			}
			t := newTable(a.stdout, "TIME", "ACTOR", "ACTION", "KEY", "CLIENT ID", "DETAILS")
			for _, e := range events {
				t.row(fmtTime(e.At, timeLong), e.Actor, e.Action, orDash(e.KeyName), orDash(e.ClientID), orDash(format.Details(e.Details)))
			}
			return t.flush()
		},
	}
	c.Flags().StringVar(&key, "key", "", "only the events of this key (Client ID or name)")
	c.Flags().StringVar(&limit, "limit", "100", "at most this many events (1–1000)")
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (a *app) backupCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "backup PATH",
		Short: "Write an online, consistent copy of the database to PATH (local only)",
		Long: `Write a consistent copy of the database to PATH while it stays in use (the
server, the TUI and other commands may keep running). PATH must not exist yet.
The copy holds digests only, never a secret or token.

On PostgreSQL (--db postgres://…) backup refuses: back the database up with
PostgreSQL's own tools, pg_dump (or continuous archiving), which copy it
consistently while keydeck runs.`,
		Example: `  keydeck backup ~/keydeck-$(date +%F).db`,
		Args:    exactArgs("PATH"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if a.remoteURL(cmd) == "" && a.onPostgres(cmd) {
				return errors.New("backup writes SQLite files only; back up a PostgreSQL database with pg_dump (e.g. pg_dump --format=custom --file=keydeck.dump DBNAME)")
			}
			path := args[0]
			if _, err := os.Lstat(path); err == nil {
				return fmt.Errorf("%s already exists; choose a new file for the backup", path)
			} else if !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("backup: %w", err)
			}
			if fi, err := os.Stat(filepath.Dir(path)); err != nil || !fi.IsDir() {
				return fmt.Errorf("backup: the folder %s does not exist", filepath.Dir(path))
			}
			return a.withAdmin(cmd, func(adm storage.Admin) error {
				if err := adm.Backup(cmd.Context(), path); err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "Backed up the database to %s\n", path)
				return nil
			})
		},
	}
}

// version and commit are set at build time by the Makefile (-ldflags
// "-X main.version=… -X main.commit=…"); otherwise the module's build
// information is used.
var version, commit string

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and Go version",
		Args:  exactArgs(),
		RunE: func(*cobra.Command, []string) error {
			v, rev := version, commit
			if bi, ok := debug.ReadBuildInfo(); ok {
				if v == "" {
					v = bi.Main.Version
				}
				var dirty bool
				for _, s := range bi.Settings {
					switch s.Key {
					case "vcs.revision":
						if rev == "" {
							rev = s.Value
						}
					case "vcs.modified":
						dirty = s.Value == "true"
					}
				}
				if dirty && commit == "" && rev != "" {
					rev += " (modified)"
				}
			}
			if v == "" {
				v = "(devel)"
			}
			if rev == "" {
				rev = "unknown"
			}
			return fields(a.stdout,
				"keydeck", v,
				"commit", rev,
				"go", runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH,
			)
		},
	}
}
