package main

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/keydeck/keydeck/storage"
	"github.com/keydeck/keydeck/storage/postgres"
	"github.com/keydeck/keydeck/storage/postgres/pgtest"
)

// On a real PostgreSQL server (KEYDECK_TEST_POSTGRES): what /healthz and
// /metrics ask of the database, which needs only postgres.Open.
func TestPgAdminPingAndPool(t *testing.T) {
	url := pgtest.Schema(t, t.Name())
	db, err := postgres.Open(t.Context(), url, postgres.Options{MaxConns: 4})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	p := pgAdmin{db: db}
	if err := p.Ping(t.Context()); err != nil {
		t.Fatalf("ping: %v", err)
	}
	st := p.PoolStats()
	if st.Max != 4 || st.Total < 1 || st.AcquireCount < 1 {
		t.Fatalf("pool stats %+v", st)
	}
	db.Close()
	err = p.Ping(t.Context())
	if !errors.Is(err, storage.ErrUnavailable) || !strings.Contains(err.Error(), db.Addr()) {
		t.Fatalf("ping of a closed pool: %v", err)
	}
}

// openPostgres names the database without credentials; until the store
// has its management methods it says so and closes what it opened.
func TestOpenPostgresName(t *testing.T) {
	url := pgtest.Schema(t, t.Name())
	d, err := openPostgres(context.Background(), url, postgres.Options{})
	if err != nil {
		if !strings.Contains(err.Error(), "without the PostgreSQL store's management") {
			t.Fatalf("open: %v", err)
		}
		t.Skip("this build's PostgreSQL store has no management methods yet")
	}
	defer d.admin.Close()
	if d.name != postgres.ShowURL(url) || d.file != "" || strings.Contains(d.name, "@") {
		t.Fatalf("name %q, file %q", d.name, d.file)
	}
	if _, ok := d.admin.(interface{ Ping(context.Context) error }); !ok {
		t.Fatal("the admin handed to the server cannot be pinged")
	}
}
