package sqlite_test

import (
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
	"github.com/keydeck/keydeck/storage/sqlite"
)

// TestReadsAreSnapshots reads usage while the writer folds its pending log
// every millisecond: a read that saw the per-day history before a fold and
// the pending log after it would miss units. Every read must count at
// least what was allowed before it began, and no more than after it ended.
func TestReadsAreSnapshots(t *testing.T) {
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "k.db"), sqlite.Options{FlushInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	total := int64(10_000_000)
	if _, err := db.UpdateAccount(ctx, "test", "default", model.AccountUpdate{QueryTotal: &total}); err != nil {
		t.Fatal(err)
	}
	st, _ := db.Store("default", "test")
	k, secret, err := st.CreateKey(ctx, model.KeySpec{Name: "k", Permissions: model.PermRead, QueryAlloc: total})
	if err != nil {
		t.Fatal(err)
	}
	var allowed atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	// Cleanups run last-in first-out: the verifier stops before the
	// database closes, also when the test fails.
	t.Cleanup(func() {
		close(stop)
		<-done
	})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			r, err := st.Verify(ctx, model.VerifyRequest{ClientID: k.ClientID, ClientSecret: secret, Operation: model.OpRead})
			if err != nil || r.Verdict != model.Allowed {
				t.Errorf("verify: %v %v", r.Verdict, err)
				return
			}
			allowed.Add(1)
		}
	}()
	deadline := time.Now().Add(1500 * time.Millisecond)
	for reads := 0; time.Now().Before(deadline); reads++ {
		before := allowed.Load()
		u, err := st.Usage(ctx, k.ClientID, 1)
		if err != nil {
			t.Fatal(err)
		}
		got, err := st.GetKey(ctx, k.ClientID)
		if err != nil {
			t.Fatal(err)
		}
		p, err := st.ListKeys(ctx, storage.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		a, err := st.Account(ctx)
		if err != nil {
			t.Fatal(err)
		}
		after := allowed.Load() + 1 // one may be committed and not yet counted
		for what, n := range map[string]int64{"history": u[0].Queries, "key": got.QueryUsed, "list": p.Keys[0].QueryUsed} {
			if n < before || n > after {
				t.Fatalf("read %d: %s counts %d queries; %d were allowed before the read, %d after", reads, what, n, before, after)
			}
		}
		if a.QueryHeld != total {
			t.Fatalf("read %d: the account holds %d", reads, a.QueryHeld)
		}
	}
}
