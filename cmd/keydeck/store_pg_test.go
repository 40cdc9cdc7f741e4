package main

import (
	"context"
	"strings"
	"testing"

	"github.com/keydeck/keydeck/server"
	"github.com/keydeck/keydeck/storage/postgres"
	"github.com/keydeck/keydeck/storage/postgres/pgtest"
)

// openPostgres names the database without credentials and hands the
// server the store itself, with its ping and pool statistics.
func TestOpenPostgresName(t *testing.T) {
	url := pgtest.Schema(t, t.Name())
	d, err := openPostgres(context.Background(), url, postgres.Options{})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer d.admin.Close()
	if d.name != postgres.ShowURL(url) || d.file != "" || strings.Contains(d.name, "@") {
		t.Fatalf("name %q, file %q", d.name, d.file)
	}
	if _, ok := d.admin.(server.Pinger); !ok {
		t.Fatal("the admin handed to the server cannot be pinged")
	}
	if _, ok := d.admin.(server.PoolStater); !ok {
		t.Fatal("the admin handed to the server has no pool statistics")
	}
}
