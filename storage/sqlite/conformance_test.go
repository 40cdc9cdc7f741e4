package sqlite_test

import (
	"context"
	"testing"
	"time"

	"github.com/keydeck/keydeck/storage"
	"github.com/keydeck/keydeck/storage/sqlite"
	"github.com/keydeck/keydeck/storage/storetest"
)

// openTest opens a fresh (or existing) database for a test.
func openTest(t *testing.T, clock *storetest.Clock, path string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path, sqlite.Options{Clock: clock.Now, FlushInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
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
