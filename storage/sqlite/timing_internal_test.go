package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/keydeck/keydeck/model"
)

// TestEvery401DoesTheSameWork: a wrong secret for a known Client ID, for a
// revoked key and an unknown Client ID must cost the same reads, lookups,
// digest compares and denial counts, cold and once seen, and again after
// another connection wrote (the unknown ID cost a read every time, so its
// 401 was measurably slower and told which Client IDs exist).
func TestEvery401DoesTheSameWork(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "k.db")
	db, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, _ := db.Store("default", "test")
	known, _, err := st.CreateKey(ctx, model.KeySpec{Name: "known", Permissions: model.PermRead, QueryAlloc: 5})
	if err != nil {
		t.Fatal(err)
	}
	revoked, _, err := st.CreateKey(ctx, model.KeySpec{Name: "revoked", Permissions: model.PermRead, QueryAlloc: 5})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.RevokeKey(ctx, revoked.ClientID, false); err != nil {
		t.Fatal(err)
	}
	other, err := sql.Open("sqlite3", dsn(path, "_busy_timeout=5000"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	// work reads the writer's counters on its goroutine (a write job,
	// which also drops the in-memory copy: the next verification is cold).
	work := func() workCount {
		var w workCount
		if err := db.write(ctx, func(dbtx) error { w = db.writer.work; return nil }); err != nil {
			t.Fatal(err)
		}
		return w
	}
	wrong := model.NewSecret()
	verify := func(id string) {
		r, err := db.Verify(ctx, model.VerifyRequest{ClientID: id, ClientSecret: wrong, Operation: model.OpRead})
		if err != nil || r.Verdict != model.DeniedUnauthorized {
			t.Fatalf("verify: %v %v", r.Verdict, err)
		}
	}
	cost := func(id string) workCount {
		before := work()
		verify(id) // cold
		verify(id) // seen
		verify(id)
		// Another connection commits: the copy, unknown IDs included,
		// is dropped and reloaded.
		if _, err := other.Exec(`UPDATE accounts SET credits = credits + 1 WHERE name = 'default'`); err != nil {
			t.Fatal(err)
		}
		verify(id)
		verify(id)
		after := work()
		return workCount{after.lookups - before.lookups, after.loads - before.loads,
			after.compares - before.compares, after.denials - before.denials}
	}
	want := cost(known.ClientID)
	if want != (workCount{lookups: 5, loads: 2, compares: 5, denials: 5}) {
		t.Fatalf("a wrong secret for a known key: %+v", want)
	}
	for name, id := range map[string]string{"revoked": revoked.ClientID, "unknown": model.NewClientID()} {
		if got := cost(id); got != want {
			t.Errorf("a 401 for a %s Client ID did %+v, a wrong secret for a known one %+v", name, got, want)
		}
	}
	// Closing flushes the denial counts: the known and the revoked key's,
	// and nothing for the unknown ID (no key to count it on).
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	var rows, denied int64
	if err := other.QueryRow(`SELECT count(*), coalesce(sum(denied_401), 0) FROM usage_days`).Scan(&rows, &denied); err != nil {
		t.Fatal(err)
	}
	if rows != 2 || denied != 10 {
		t.Fatalf("usage_days: %d rows, %d denials; want 2 rows, 10 denials", rows, denied)
	}
}
