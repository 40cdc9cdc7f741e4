package remote_test

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"net/http/httptest"

	"github.com/keydeck/keydeck/server"
	"github.com/keydeck/keydeck/storage"
	"github.com/keydeck/keydeck/storage/postgres"
	"github.com/keydeck/keydeck/storage/postgres/pgtest"
	"github.com/keydeck/keydeck/storage/remote"
	"github.com/keydeck/keydeck/storage/sqlite"
	"github.com/keydeck/keydeck/storage/storetest"
)

// TestConformance runs the whole storetest suite against the remote
// client talking to a real server (httptest, loopback) over a real SQLite
// file. The suite's child processes each start their own server on the
// same file, so "two processes" means two servers.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, clock *storetest.Clock, path string) storetest.Env {
		db, err := sqlite.Open(context.Background(), path, sqlite.Options{Clock: clock.Now, FlushInterval: 20 * time.Millisecond})
		if err != nil {
			t.Fatalf("open %s: %v", path, err)
		}
		t.Cleanup(func() { db.Close() })
		return serveConformance(t, clock, path, db)
	})
}

// TestConformancePostgres is TestConformance over PostgreSQL: the server's
// database is a schema of its own named after the suite's path, which
// the suite's child processes (their own servers) open too.
func TestConformancePostgres(t *testing.T) {
	storetest.Run(t, func(t *testing.T, clock *storetest.Clock, path string) storetest.Env {
		var url string
		if os.Getenv("KEYDECK_STORETEST_CHILD") != "" {
			url = pgtest.Existing(t, path)
		} else {
			url = pgtest.Schema(t, path)
		}
		db, err := postgres.Open(context.Background(), url, postgres.Options{Clock: clock.Now, FlushInterval: 20 * time.Millisecond})
		if err != nil {
			t.Fatalf("open %s: %v", postgres.ShowURL(url), err)
		}
		t.Cleanup(func() { db.Close() })
		return serveConformance(t, clock, path, db)
	})
}

// serveConformance serves db with a real server and hands the suite the
// remote client to it. path names the database for the token book.
func serveConformance(t *testing.T, clock *storetest.Clock, path string, db storage.Admin) storetest.Env {
	srv, err := server.New(server.Config{Admin: db, Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	tokens := &tokenBook{db: db, path: path}
	return storetest.Env{
		Admin: db,
		Open: func(t *testing.T, account string) storage.Store {
			tok := tokens.get(t, account)
			st, err := remote.New(ts.URL, tok, remote.Options{Timeout: 30 * time.Second})
			if err != nil {
				t.Fatalf("remote.New: %v", err)
			}
			return st
		},
	}
}

// tokenBook hands out one API token per account of one database. An
// account has a single token, so rotating it again would lock out stores
// opened before; the token is also put in the environment, keyed by the
// database (its file, or the path its PostgreSQL schema is named after),
// so the suite's child processes (which inherit it) use it
// rather than rotating it under the parent's feet.
type tokenBook struct {
	db   storage.Admin
	path string
	mu   sync.Mutex
	toks map[string]string
}

func tokenEnv(account string) string { return "KEYDECK_REMOTETEST_TOKEN_" + account }

func (b *tokenBook) get(t *testing.T, account string) string {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if tok := b.toks[account]; tok != "" {
		return tok
	}
	if tok, path, ok := strings.Cut(os.Getenv(tokenEnv(account)), " "); ok && path == b.path {
		return tok
	}
	tok, err := b.db.RotateToken(context.Background(), "test", account)
	if err != nil {
		t.Fatalf("token for %s: %v", account, err)
	}
	if b.toks == nil {
		b.toks = map[string]string{}
	}
	b.toks[account] = tok
	os.Setenv(tokenEnv(account), tok+" "+b.path)
	return tok
}
