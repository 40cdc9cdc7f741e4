package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keydeck/keydeck/storage"
	"github.com/keydeck/keydeck/storage/remote"
	"github.com/keydeck/keydeck/storage/sqlite"
)

// This file is the one place that picks a storage implementation: the
// local SQLite file, or a keydeck server with --remote.

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

	db, err := a.openDB(cmd, sqlite.Options{})
	if err != nil {
		return nil, nil, err
	}
	st, err := db.Store(a.account, a.actor())
	if err != nil {
		_ = db.Close()
		return nil, nil, err
	}
	return st, func() {
		_ = st.Close()
		_ = db.Close()
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

// openAdmin opens the local database for administration (accounts,
// tokens, SSH keys, backups), which is never available remotely.
func (a *app) openAdmin(cmd *cobra.Command) (storage.Admin, error) {
	if a.remoteURL(cmd) != "" {
		return nil, usageErrorf("%s is local administration: it works on the database file and cannot be used with --remote", cmdName(cmd))
	}
	return a.openDB(cmd, sqlite.Options{})
}

// openDB opens (creating if need be) the local database named by --db,
// KEYDECK_DB or the XDG default. opt.Logger is filled in from --log-level
// when nil. serve uses it with its own durability.
func (a *app) openDB(cmd *cobra.Command, opt sqlite.Options) (*sqlite.DB, error) {
	path, err := a.dbPath(cmd)
	if err != nil {
		return nil, err
	}
	if opt.Logger == nil {
		if opt.Logger, err = a.logger(cmd); err != nil {
			return nil, err
		}
	}
	// Open's errors name the path and say what is wrong with it.
	return sqlite.Open(cmd.Context(), path, opt)
}

// dbPath is --db, else KEYDECK_DB, else the XDG default.
func (a *app) dbPath(cmd *cobra.Command) (string, error) {
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
