package sqlite

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/keydeck/keydeck/model"
)

// TestWALStaysBoundedUnderSteadyLoad commits without a pause for three
// seconds, far more frames than the restart threshold: the -wal file must
// be rewound again and again (the checkpointer pauses the writer for a
// final pass) rather than grow for as long as the load lasts. Between two
// checkpointer ticks (200 ms) the WAL grows at full speed, so the bound is
// a fraction of what was written rather than the threshold.
func TestWALStaysBoundedUnderSteadyLoad(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "k.db")
	db, err := Open(ctx, path, Options{walRestartFrames: 256}) // 1 MiB of 4 KiB pages
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	total := int64(1_000_000_000)
	if _, _, err := db.CreateAccount(ctx, "test", "busy", model.AccountUpdate{QueryTotal: &total}); err != nil {
		t.Fatal(err)
	}
	st, _ := db.Store("busy", "test")
	k, secret, err := st.CreateKey(ctx, model.KeySpec{Name: "busy", Permissions: model.PermRead, QueryAlloc: total})
	if err != nil {
		t.Fatal(err)
	}

	var commits int
	var largest int64
	stop := time.Now().Add(3 * time.Second)
	for time.Now().Before(stop) {
		// One at a time: every verification is a commit of at least one
		// 4 KiB frame.
		r, err := db.Verify(ctx, model.VerifyRequest{ClientID: k.ClientID, ClientSecret: secret, Operation: model.OpRead})
		if err != nil || r.Verdict != model.Allowed {
			t.Fatalf("verify %d: %v %v", commits, r.Verdict, err)
		}
		commits++
		if commits%100 == 0 {
			if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > largest {
				largest = fi.Size()
			}

		}
	}
	written := int64(commits) * 4096 // at least: a frame a commit
	if written < 16<<20 {
		t.Fatalf("only %d commits in 3 s: too few to tell a rewound WAL from a growing one", commits)
	}
	// Rewound every tick or two, the WAL never holds more than a fraction
	// of what was written; a WAL that is never rewound holds all of it.
	if largest > written/4 {
		t.Fatalf("after %d commits (≥ %d MiB of frames) the WAL reached %d MiB: it is not being rewound",
			commits, written>>20, largest>>20)
	}
	t.Logf("%d commits, largest WAL %d KiB", commits, largest>>10)
}

// TestWALPausesBackOffBehindAReader: a reader that keeps an old snapshot
// open keeps SQLite from rewinding the WAL; the checkpointer then pauses
// the writer less and less often instead of at every tick.
func TestWALPausesBackOffBehindAReader(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "k.db")
	db, err := Open(ctx, path, Options{walRestartFrames: 256}) // 1 MiB of 4 KiB pages
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	total := int64(1_000_000_000)
	if _, _, err := db.CreateAccount(ctx, "test", "busy", model.AccountUpdate{QueryTotal: &total}); err != nil {
		t.Fatal(err)
	}
	st, _ := db.Store("busy", "test")
	k, secret, err := st.CreateKey(ctx, model.KeySpec{Name: "busy", Permissions: model.PermRead, QueryAlloc: total})
	if err != nil {
		t.Fatal(err)
	}
	// Another connection, as another process would, holds a read
	// transaction for the whole test.
	other, err := sql.Open("sqlite3", dsn(path, "_query_only=1"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := other.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRow("SELECT count(*) FROM keys").Scan(&n); err != nil {
		t.Fatal(err)
	}

	stop := time.Now().Add(3 * time.Second)
	for time.Now().Before(stop) {
		if _, err := db.Verify(ctx, model.VerifyRequest{ClientID: k.ClientID, ClientSecret: secret, Operation: model.OpRead}); err != nil {
			t.Fatal(err)
		}
	}
	// The WAL is over the threshold from the first tick on: without the
	// back-off the writer would be paused at every tick (about 15 times
	// in 3 s); with it, at 0, 1, 3 s.
	if got := db.forcedPasses.Load(); got > 5 {
		t.Fatalf("the writer was paused %d times in 3 s behind a reader that blocks every rewind", got)
	}
	t.Logf("paused %d times", db.forcedPasses.Load())
}
