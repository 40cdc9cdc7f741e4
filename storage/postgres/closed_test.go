package postgres_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
	"github.com/keydeck/keydeck/storage/postgres"
	"github.com/keydeck/keydeck/storage/postgres/pgtest"
	"github.com/keydeck/keydeck/storage/storetest"
)

// Management calls after Close are storage.ErrClosed, as on the other
// stores, not pgx's "closed pool".
func TestClosedIsErrClosed(t *testing.T) {
	url := pgtest.Schema(t, t.Name())
	db, err := postgres.Open(context.Background(), url, postgres.Options{Clock: storetest.NewClock(t0).Now})
	if err != nil {
		t.Fatal(err)
	}
	st, err := db.Store(model.DefaultAccount, "test")
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	ctx := context.Background()
	calls := map[string]error{}
	_, _, calls["CreateKey"] = st.CreateKey(ctx, model.KeySpec{Name: "k", Permissions: model.PermRead})
	_, calls["ListKeys"] = st.ListKeys(ctx, storage.ListOptions{})
	_, calls["Account"] = st.Account(ctx)
	_, _, calls["CreateAccount"] = db.CreateAccount(ctx, "test", "other", model.AccountUpdate{})
	_, calls["ListAccounts"] = db.Accounts(ctx)
	for name, err := range calls {
		if !errors.Is(err, storage.ErrClosed) || strings.Contains(err.Error(), "closed pool") {
			t.Errorf("%s after Close: %v; want storage.ErrClosed", name, err)
		}
	}
}

// Open takes the scheme in any case, as URLs allow.
func TestOpenUpperCaseScheme(t *testing.T) {
	url := pgtest.Schema(t, t.Name())
	rest := strings.TrimPrefix(url, "postgres://")
	for _, u := range []string{"POSTGRES://" + rest, "PostgreSQL://" + rest, " postgresql://" + rest + " "} {
		db, err := postgres.Open(context.Background(), u, postgres.Options{})
		if err != nil {
			t.Fatalf("open %s: %v", postgres.ShowURL(u), err)
		}
		db.Close()
	}
}

// What /healthz and /metrics ask of the database (server.Pinger,
// server.PoolStater).
func TestPingAndPoolStats(t *testing.T) {
	url := pgtest.Schema(t, t.Name())
	db, err := postgres.Open(t.Context(), url, postgres.Options{MaxConns: 4})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	if err := db.Ping(t.Context()); err != nil {
		t.Fatalf("ping: %v", err)
	}
	st := db.PoolStats()
	if st.Max != 4 || st.Total < 1 || st.AcquireCount < 1 {
		t.Fatalf("pool stats %+v", st)
	}
	db.Close()
	if err := db.Ping(t.Context()); !errors.Is(err, storage.ErrClosed) {
		t.Fatalf("ping after Close: %v; want storage.ErrClosed", err)
	}
}

// A database that went away: the ping says so, naming host and port only.
func TestPingDown(t *testing.T) {
	proxy, url := pgtest.NewProxy(t, pgtest.Schema(t, t.Name()))
	db, err := postgres.Open(t.Context(), url, postgres.Options{ConnectTimeout: time.Second})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer db.Close()
	proxy.Cut()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	err = db.Ping(ctx)
	if !errors.Is(err, storage.ErrUnavailable) || !strings.Contains(err.Error(), db.Addr()) || strings.Contains(err.Error(), "search_path") {
		t.Fatalf("ping while down: %v", err)
	}
	proxy.Restore()
	if err := db.Ping(t.Context()); err != nil {
		t.Fatalf("ping after restore: %v", err)
	}
}
