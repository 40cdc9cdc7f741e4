package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keydeck/keydeck/server"
	"github.com/keydeck/keydeck/storage"
	"github.com/keydeck/keydeck/storage/postgres"
	"github.com/keydeck/keydeck/storage/remote"
	"github.com/keydeck/keydeck/storage/sqlite"
)

// This file is the one place that picks a storage implementation: a
// SQLite file, a PostgreSQL database (--db postgres://…), or a keydeck
// server with --remote.

// annTokenOptional marks a command that works remotely without an account
// token: verify, since POST /v1/verify needs only the key's credentials.
const annTokenOptional = "keydeck/token-optional"

// openStore returns the key store the command works on and a function that
// releases it.
func (a *app) openStore(cmd *cobra.Command) (storage.Store, func(), error) {
	if base := a.remoteURL(cmd); base != "" {
		if cmd.Flags().Changed("account") {
			return nil, nil, usageErrorf("--account is for local mode; with --remote the token decides the account")
		}
		u, err := checkRemoteURL(base, a.insecure)
		if err != nil {
			return nil, nil, err
		}
		token, err := a.credential(cmd, "token", a.token, envToken)
		if err != nil {
			return nil, nil, err
		}
		if token == "" && cmd.Annotations[annTokenOptional] == "" {
			return nil, nil, usageErrorf("--remote needs an account API token: --token T, --token - (stdin) or %s", envToken)
		}
		st, err := openRemote(cmd.Context(), u, token, a.insecure)
		if err != nil {
			return nil, nil, err
		}
		return st, func() { _ = st.Close() }, nil
	}

	db, err := a.openDB(cmd, storage.DurabilityNormal, nil)
	if err != nil {
		return nil, nil, err
	}
	st, err := db.admin.Store(a.account, a.actor())
	if err != nil {
		_ = db.admin.Close()
		return nil, nil, err
	}
	return st, func() {
		_ = st.Close()
		_ = db.admin.Close()
	}, nil
}

// withStore opens the key store, runs f and releases the store.
func (a *app) withStore(cmd *cobra.Command, f func(storage.Store) error) error {
	st, done, err := a.openStore(cmd)
	if err != nil {
		return err
	}
	defer done()
	return f(st)
}

// openAdmin opens the database for administration (accounts, tokens, SSH
// keys, backups), which is never available through a keydeck server.
func (a *app) openAdmin(cmd *cobra.Command) (storage.Admin, error) {
	if a.remoteURL(cmd) != "" {
		return nil, usageErrorf("%s is local administration: it works on the database itself and cannot be used with --remote", cmdName(cmd))
	}
	db, err := a.openDB(cmd, storage.DurabilityNormal, nil)
	if err != nil {
		return nil, err
	}
	return db.admin, nil
}

// database is an open keydeck database, a SQLite file or a PostgreSQL
// server.
type database struct {
	// admin is the store itself, so the server sees its optional
	// interfaces (server.Pinger, server.PoolStater on PostgreSQL).
	admin storage.Admin
	// name is what messages and logs call it: the file, or the URL
	// without user info or password.
	name string
	// file is the SQLite file; "" on PostgreSQL.
	file string
}

// openDB opens the database named by --db, KEYDECK_DB or the XDG default:
// a postgres:// or postgresql:// URL is a PostgreSQL server, anything else
// a SQLite file (created if need be). A nil logger is made from
// --log-level. serve passes its own durability.
func (a *app) openDB(cmd *cobra.Command, durability storage.Durability, logger *slog.Logger) (*database, error) {
	target, err := a.dbTarget(cmd)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		if logger, err = a.logger(cmd); err != nil {
			return nil, err
		}
	}
	if postgres.IsURL(target) {
		return openPostgres(cmd.Context(), target, postgres.Options{Durability: durability, Logger: logger})
	}
	// Open's errors name the path and say what is wrong with it.
	db, err := sqlite.Open(cmd.Context(), target, sqlite.Options{Durability: durability, Logger: logger})
	if err != nil {
		return nil, err
	}
	return &database{admin: db, name: target, file: target}, nil
}

// openPostgres connects to a PostgreSQL database. Its errors never hold
// the URL's user info or password: postgres.Open's name host and port
// only, and a server that cannot be reached is said in one line.
func openPostgres(ctx context.Context, rawURL string, opt postgres.Options) (*database, error) {
	// postgres.Open takes the scheme in any case and around spaces.
	db, err := postgres.Open(ctx, rawURL, opt)
	if err != nil {
		return nil, pgOpenError(err)
	}
	return &database{admin: db, name: db.URL()}, nil
}

// pgOpenError is postgres.Open's error as a command says it: a server
// that cannot be reached, or that refuses the login, is pgUnreachableError.
func pgOpenError(err error) error {
	var down *storage.DatabaseDownError
	if errors.As(err, &down) {
		return pgUnreachableError{down}
	}
	return err
}

// The PostgreSQL store is what the server asks of a database server beyond
// storage.Admin: a cheap ping for /healthz and the pool's state for
// /metrics.
var (
	_ storage.Admin     = (*postgres.DB)(nil)
	_ server.Pinger     = (*postgres.DB)(nil)
	_ server.PoolStater = (*postgres.DB)(nil)
)

// pgUnreachableError is the one line said when PostgreSQL cannot be
// reached at start.
type pgUnreachableError struct{ down *storage.DatabaseDownError }

func (e pgUnreachableError) Error() string {
	s := "cannot reach PostgreSQL at " + e.down.Addr
	if refusedLogin(e.down.Cause) {
		// It answered: the network is fine, the login is not.
		s = "PostgreSQL at " + e.down.Addr + " refused the connection"
	}
	if e.down.Cause != "" {
		s += ": " + e.down.Cause
	}
	return s
}

func (e pgUnreachableError) Unwrap() error { return e.down }

// refusedLogin reports a cause that is the server's answer to the login
// (wrong password, unknown role or database, pg_hba.conf), not a network
// failure.
func refusedLogin(cause string) bool {
	for _, s := range []string{"authentication failed", "does not exist", "pg_hba.conf", "permission denied", "password"} {
		if strings.Contains(cause, s) {
			return true
		}
	}
	return false
}

// dbTarget is --db, else KEYDECK_DB, else the XDG default: a file path
// or a PostgreSQL URL.
func (a *app) dbTarget(cmd *cobra.Command) (string, error) {
	if cmd.Flags().Changed("db") {
		if strings.TrimSpace(a.db) == "" {
			return "", usageErrorf("--db: empty path")
		}
		return a.db, nil
	}
	if p := a.getenv(envDB); p != "" {
		return p, nil
	}
	p, err := sqlite.DefaultPath()
	if err != nil {
		return "", fmt.Errorf("cannot find a place for the database (use --db): %w", err)
	}
	return p, nil
}

// onPostgres reports whether the database named is a PostgreSQL server.
func (a *app) onPostgres(cmd *cobra.Command) bool {
	t, err := a.dbTarget(cmd)
	return err == nil && postgres.IsURL(t)
}

// remoteURL is --remote, else KEYDECK_REMOTE; "" means local mode.
func (a *app) remoteURL(cmd *cobra.Command) string {
	if cmd.Flags().Changed("remote") {
		return strings.TrimSpace(a.remote)
	}
	return strings.TrimSpace(a.getenv(envRemote))
}

// checkRemoteURL checks --remote before anything else runs, with the
// remote client's own rules, as a usage error.
func checkRemoteURL(raw string, insecure bool) (*url.URL, error) {
	u, err := remote.CheckURL(raw, insecure)
	if err != nil {
		return nil, usageErrorf("--remote: %s", strings.TrimPrefix(err.Error(), "remote: "))
	}
	return u, nil
}

// openRemote connects to a keydeck server through the storage/remote
// client (it does not contact the server until the first call).
func openRemote(_ context.Context, u *url.URL, token string, insecure bool) (storage.Store, error) {
	return remote.New(u.String(), token, remote.Options{Insecure: insecure})
}

// dbSecrets are the password and user info of a PostgreSQL URL given with
// --db or KEYDECK_DB, raw and decoded. The PostgreSQL store never puts
// them in an error; hideDBSecrets makes sure of it for every message and
// log line keydeck prints, whatever a driver may one day quote.
func (a *app) dbSecrets() []string {
	var out []string
	for _, raw := range []string{a.db, a.getenv(envDB)} {
		if !postgres.IsURL(raw) {
			continue
		}
		raw = strings.TrimSpace(raw)
		rest := raw[strings.Index(raw, "://")+3:]
		if i := strings.IndexAny(rest, "/?#"); i >= 0 {
			rest = rest[:i]
		}
		if i := strings.LastIndexByte(rest, '@'); i >= 0 {
			// A user name alone is no secret (PostgreSQL's own messages
			// quote it); with a password the pair goes.
			userinfo := rest[:i]
			if _, pw, ok := strings.Cut(userinfo, ":"); ok && pw != "" {
				out = append(out, userinfo, pw)
				if dec, err := url.PathUnescape(pw); err == nil {
					out = append(out, dec)
				}
			}
		}
		if u, err := url.Parse(raw); err == nil {
			for k, vs := range u.Query() {
				if postgres.IsSecretParam(k) {
					out = append(out, vs...)
				}
			}
		}
	}
	// Too short to hide without mangling the message, and too short to
	// be worth much.
	return slices.DeleteFunc(out, func(s string) bool { return len(s) < 4 })
}

// hideDBSecrets replaces every dbSecrets string in s with "…".
func hideDBSecrets(s string, secrets []string) string {
	for _, x := range secrets {
		s = strings.ReplaceAll(s, x, "…")
	}
	return s
}

// hidingWriter is a log output that hides dbSecrets.
type hidingWriter struct {
	w       io.Writer
	secrets []string
}

func (h hidingWriter) Write(p []byte) (int, error) {
	s := string(p)
	if t := hideDBSecrets(s, h.secrets); t != s {
		_, err := io.WriteString(h.w, t)
		return len(p), err
	}
	return h.w.Write(p)
}
