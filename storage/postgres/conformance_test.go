package postgres_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/keydeck/keydeck/storage"
	"github.com/keydeck/keydeck/storage/postgres"
	"github.com/keydeck/keydeck/storage/postgres/pgtest"
	"github.com/keydeck/keydeck/storage/storetest"
)

// openTest opens the store on the schema named after path: a fresh one in
// the test process, the same one (made by the parent) in a storetest child
// process.
func openTest(t *testing.T, clock *storetest.Clock, path string) *postgres.DB {
	t.Helper()
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
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, clock *storetest.Clock, path string) storetest.Env {
		db := openTest(t, clock, path)
		return storetest.Env{
			Admin: db,
			Open: func(t *testing.T, account string) storage.Store {
				st, err := db.Store(account, "test:"+t.Name())
				if err != nil {
					t.Fatalf("store %s: %v", account, err)
				}
				return st
			},
		}
	})
}
