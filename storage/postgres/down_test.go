package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
	"github.com/keydeck/keydeck/storage/postgres"
	"github.com/keydeck/keydeck/storage/postgres/pgtest"
	"github.com/keydeck/keydeck/storage/storetest"
)

// Management while PostgreSQL is gone, refusing connections (Cut) or not
// answering at all (Stall): every call is ErrUnavailable within the
// context's deadline or the pool's connect timeout, never a hang; after
// the database is back every call works again and nothing is left
// half-done (a create is there once or not at all).
func TestManagementDatabaseDown(t *testing.T) {
	t.Run("cut", func(t *testing.T) { testManagementDown(t, (*pgtest.Proxy).Cut) })
	t.Run("stall", func(t *testing.T) { testManagementDown(t, (*pgtest.Proxy).Stall) })
}

func testManagementDown(t *testing.T, outage func(*pgtest.Proxy)) {
	const connectTimeout = 500 * time.Millisecond
	proxy, url := pgtest.NewProxy(t, pgtest.Schema(t, t.Name()))
	db, err := postgres.Open(context.Background(), url, postgres.Options{
		Clock: storetest.NewClock(t0).Now, ConnectTimeout: connectTimeout, FlushInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	st, err := db.Store(model.DefaultAccount, "test")
	if err != nil {
		t.Fatal(err)
	}
	bg := context.Background()
	k, _, err := st.CreateKey(bg, model.KeySpec{Name: "before", Permissions: model.PermRead, QueryAlloc: 10})
	if err != nil {
		t.Fatal(err)
	}
	// Both: a call bounded by the connect timeout alone (first, while the
	// pool still holds the connections of before), and one bounded by its
	// context (shorter than the connect timeout).
	bounds := []struct {
		name  string
		ctx   func() (context.Context, context.CancelFunc)
		limit time.Duration
	}{
		{"connect timeout", func() (context.Context, context.CancelFunc) { return context.WithCancel(bg) }, connectTimeout*3 + time.Second},
		{"ctx", func() (context.Context, context.CancelFunc) { return context.WithTimeout(bg, 200*time.Millisecond) }, 200*time.Millisecond + time.Second},
	}
	q := int64(20)
	name := "renamed"
	calls := []struct {
		name string
		do   func(ctx context.Context, i int) error
	}{
		{"CreateKey", func(ctx context.Context, i int) error {
			_, _, err := st.CreateKey(ctx, model.KeySpec{Name: "during-" + string(rune('a'+i)), Permissions: model.PermRead, QueryAlloc: 5})
			return err
		}},
		{"EditKey", func(ctx context.Context, i int) error {
			_, err := st.EditKey(ctx, k.ClientID, model.KeyEdit{Name: &name, QueryAlloc: &q})
			return err
		}},
		{"ListKeys", func(ctx context.Context, i int) error {
			_, err := st.ListKeys(ctx, storage.ListOptions{})
			return err
		}},
		{"Account", func(ctx context.Context, i int) error {
			_, err := st.Account(ctx)
			return err
		}},
		{"UpdateAccount", func(ctx context.Context, i int) error {
			c := int64(5000)
			_, err := db.UpdateAccount(ctx, "test", model.DefaultAccount, model.AccountUpdate{Credits: &c})
			return err
		}},
	}
	// Connections of the pool busy a moment ago, and idle ones.
	for range 3 {
		if _, err := st.ListKeys(bg, storage.ListOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	outage(proxy)
	for i, b := range bounds {
		for _, c := range calls {
			ctx, cancel := b.ctx()
			start := time.Now()
			err := c.do(ctx, i)
			took := time.Since(start)
			cancel()
			t.Logf("%s while down (%s): %v after %v", c.name, b.name, err, took.Round(time.Millisecond))
			if !errors.Is(err, storage.ErrUnavailable) {
				t.Errorf("%s while down (%s): %v; want storage.ErrUnavailable", c.name, b.name, err)
			} else if s := err.Error(); strings.Contains(s, "search_path") || strings.Contains(s, "postgres@") {
				t.Errorf("%s while down: %q shows the URL", c.name, s)
			}
			if took > b.limit {
				t.Errorf("%s while down (%s) took %v; want at most %v", c.name, b.name, took, b.limit)
			}
		}
	}
	proxy.Restore()
	for _, c := range calls {
		ctx, cancel := context.WithTimeout(bg, 10*time.Second)
		err := c.do(ctx, 2)
		cancel()
		if err != nil {
			t.Errorf("%s after restore: %v", c.name, err)
		}
	}
	page, err := st.ListKeys(bg, storage.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]int{}
	for _, k := range page.Keys {
		names[k.Name]++
	}
	if names["renamed"] != 1 || names["during-c"] != 1 || names["during-a"] > 1 || names["during-b"] > 1 || len(page.Keys) != page.Total {
		t.Fatalf("keys after restore: %v (total %d)", names, page.Total)
	}
}

// A PostgreSQL that went away a moment (a restart) leaves the pool's idle
// connections dead: the first calls after it is back must not fail on
// them.
func TestManagementRightAfterRestart(t *testing.T) {
	proxy, url := pgtest.NewProxy(t, pgtest.Schema(t, t.Name()))
	db, err := postgres.Open(context.Background(), url, postgres.Options{Clock: storetest.NewClock(t0).Now, ConnectTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st, err := db.Store(model.DefaultAccount, "test")
	if err != nil {
		t.Fatal(err)
	}
	bg := context.Background()
	// Eight connections in the pool, all idle for less than a second.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { st.ListKeys(bg, storage.ListOptions{}) })
	}
	wg.Wait()
	proxy.Cut()
	proxy.Restore()
	for i := range 8 {
		k, _, err := st.CreateKey(bg, model.KeySpec{Name: fmt.Sprintf("after-%d", i), Permissions: model.PermRead})
		if err != nil {
			t.Fatalf("create %d right after the restart: %v", i, err)
		}
		name := fmt.Sprintf("edited-%d", i)
		if _, err := st.EditKey(bg, k.ClientID, model.KeyEdit{Name: &name}); err != nil {
			t.Fatalf("edit %d: %v", i, err)
		}
		if _, err := st.Account(bg); err != nil {
			t.Fatalf("account %d: %v", i, err)
		}
	}
	page, err := st.ListKeys(bg, storage.ListOptions{})
	if err != nil || page.Total != 8 {
		t.Fatalf("list: %d keys, %v", page.Total, err)
	}
}
