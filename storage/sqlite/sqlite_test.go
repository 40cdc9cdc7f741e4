package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
	"github.com/keydeck/keydeck/storage/sqlite"
	"github.com/keydeck/keydeck/storage/storetest"
)

var ctx = context.Background()

func TestFileModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "keydeck")
	path := filepath.Join(dir, "keydeck.db")
	db := openTest(t, storetest.NewClock(time.Now()), path)
	st, _ := db.Store("default", "test")
	if _, _, err := st.CreateKey(ctx, model.KeySpec{Name: "k", Permissions: model.PermRead}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", filepath.Base(p), fi.Mode().Perm())
		}
	}
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("data folder mode %v (%v), want 0700", fi.Mode().Perm(), err)
	}
	backup := filepath.Join(t.TempDir(), "copy.db")
	if err := db.Backup(ctx, backup); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(backup); fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup mode %v, want 0600", fi.Mode().Perm())
	}
	if err := db.Backup(ctx, backup); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("backup over an existing file: %v", err)
	}
	// SQLite's own names beside the database: a copy there would be taken
	// for a hot journal (or a WAL) by the next open and thrown away.
	for _, suffix := range []string{"-journal", "-wal", "-shm"} {
		if err := db.Backup(ctx, path+suffix); err == nil || !strings.Contains(err.Error(), "SQLite uses") {
			t.Fatalf("backup to %s: %v", filepath.Base(path+suffix), err)
		}
	}
	if _, err := os.Stat(path + "-journal"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused backup left %s-journal: %v", filepath.Base(path), err)
	}
	// The copy is a working database with the key in it.
	copyDB := openTest(t, storetest.NewClock(time.Now()), backup)
	cst, _ := copyDB.Store("default", "test")
	if _, err := cst.GetKey(ctx, "k"); err != nil {
		t.Fatalf("backup lacks the key: %v", err)
	}
}

func TestEmptyFileBecomes0600(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.db")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("an empty file made into a database has mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestBadPaths(t *testing.T) {
	dir := t.TempDir()
	notDB := filepath.Join(dir, "notes.txt")
	os.WriteFile(notDB, []byte(strings.Repeat("this is not a database\n", 100)), 0o600)
	ro := filepath.Join(dir, "ro")
	os.Mkdir(ro, 0o700)
	roDB := filepath.Join(ro, "k.db")
	db, err := sqlite.Open(ctx, roDB, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	os.Chmod(roDB, 0o400)
	os.Chmod(ro, 0o500)
	t.Cleanup(func() { os.Chmod(ro, 0o700) })

	cases := []struct {
		path string
		want string
		is   error
	}{
		{dir, "is a directory", nil},
		{notDB, "", storage.ErrNotDatabase},
		{filepath.Join(dir, "bad?#%name.db"), "", nil},
	}
	if os.Geteuid() != 0 { // root ignores file modes
		cases = append(cases, struct {
			path string
			want string
			is   error
		}{roDB, "", storage.ErrReadOnly})
	}
	for _, c := range cases {
		db, err := sqlite.Open(ctx, c.path, sqlite.Options{})
		if c.want == "" && c.is == nil {
			if err != nil {
				t.Errorf("%s: %v", c.path, err)
			} else {
				db.Close()
			}
			continue
		}
		if err == nil {
			db.Close()
			t.Errorf("%s: opened", c.path)
			continue
		}
		if c.is != nil && !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v", c.path, err)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: the error is more than one line: %q", c.path, err)
		}
	}
	// The file that is not a database is untouched.
	if b, _ := os.ReadFile(notDB); !strings.HasPrefix(string(b), "this is not a database") {
		t.Fatalf("opening a non-database changed it")
	}
}

// TestLockedByAnotherProcess holds SQLite's write lock from the sqlite3
// shell and checks a write waits the busy timeout, then says so, and
// changes nothing.
func TestLockedByAnotherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.db")
	db, err := sqlite.Open(ctx, path, sqlite.Options{BusyTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, _ := db.Store("default", "test")
	release := holdWriteLock(t, path)
	began := time.Now()
	_, _, err = st.CreateKey(ctx, model.KeySpec{Name: "k", Permissions: model.PermRead})
	if !errors.Is(err, storage.ErrLocked) {
		t.Fatalf("write under another process's lock: %v", err)
	}
	if waited := time.Since(began); waited < 250*time.Millisecond {
		t.Fatalf("gave up after %v, before the busy timeout", waited)
	}
	release()
	// Reads worked all along (WAL), and once the lock is gone writes do too.
	if _, _, err := st.CreateKey(ctx, model.KeySpec{Name: "k", Permissions: model.PermRead}); err != nil {
		t.Fatalf("write after the lock: %v", err)
	}
	if p, _ := st.ListKeys(ctx, storage.ListOptions{}); p.Total != 1 {
		t.Fatalf("%d keys, want 1", p.Total)
	}
}

// holdWriteLock takes SQLite's write lock on path from the sqlite3 shell,
// another process, until release is called (or the test ends).
func holdWriteLock(t *testing.T, path string) (release func()) {
	t.Helper()
	sh, err := exec.LookPath("sqlite3")
	if err != nil {
		t.Fatalf("the sqlite3 shell is needed for this test (apt-get install sqlite3): %v", err)
	}
	cmd := exec.Command(sh, path)
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			in.Write([]byte("ROLLBACK;\n.quit\n"))
			cmd.Wait()
		})
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		release()
	})
	in.Write([]byte("BEGIN IMMEDIATE; SELECT 'locked';\n"))
	buf := make([]byte, 16)
	if n, _ := out.Read(buf); !strings.Contains(string(buf[:n]), "locked") {
		t.Fatalf("sqlite3 did not take the lock: %q", buf[:n])
	}
	return release
}

func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.db")
	db, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	raw, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`INSERT INTO goose_db_version (version_id, is_applied) VALUES (999, 1)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	_, err = sqlite.Open(ctx, path, sqlite.Options{})
	if !errors.Is(err, storage.ErrNewerSchema) || !strings.Contains(err.Error(), "999") {
		t.Fatalf("opening a newer schema: %v", err)
	}
}

func TestCloseFlushesDenials(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.db")
	db, err := sqlite.Open(ctx, path, sqlite.Options{FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := db.Store("default", "test")
	k, _, _ := st.CreateKey(ctx, model.KeySpec{Name: "k", Permissions: model.PermRead, QueryAlloc: 1})
	for range 3 {
		r, _ := st.Verify(ctx, model.VerifyRequest{ClientID: k.ClientID, ClientSecret: model.NewSecret(), Operation: model.OpRead})
		if r.Verdict != model.DeniedUnauthorized {
			t.Fatalf("wrong secret: %v", r.Verdict)
		}
	}
	u, _ := st.Usage(ctx, k.ClientID, 1)
	if u[0].Denied401 != 0 {
		t.Fatalf("denials were written at once (%d): a flood of bad secrets would write", u[0].Denied401)
	}
	db.Close()
	if _, err := st.Verify(ctx, model.VerifyRequest{ClientID: k.ClientID, ClientSecret: model.NewSecret(), Operation: model.OpRead}); !errors.Is(err, storage.ErrClosed) {
		t.Fatalf("verify after close: %v", err)
	}
	db2, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	st2, _ := db2.Store("default", "test")
	u, _ = st2.Usage(ctx, k.ClientID, 1)
	if u[0].Denied401 != 3 {
		t.Fatalf("denials after close: %d, want 3", u[0].Denied401)
	}
}

func TestStrictDurability(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.db")
	db, err := sqlite.Open(ctx, path, sqlite.Options{Durability: sqlite.DurabilityStrict})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, _ := db.Store("default", "test")
	k, secret, _ := st.CreateKey(ctx, model.KeySpec{Name: "k", Permissions: model.PermRead, QueryAlloc: 5})
	r, err := st.Verify(ctx, model.VerifyRequest{ClientID: k.ClientID, ClientSecret: secret, Operation: model.OpRead})
	if err != nil || r.Verdict != model.Allowed {
		t.Fatalf("strict verify: %v %v", r.Verdict, err)
	}
	if _, err := sqlite.ParseDurability("sometimes"); err == nil {
		t.Fatal("unknown durability accepted")
	}
}

func TestImportKeys(t *testing.T) {
	db := openTest(t, storetest.NewClock(time.Now()), filepath.Join(t.TempDir(), "k.db"))
	specs := make([]model.KeySpec, 2000)
	for i := range specs {
		specs[i] = model.KeySpec{Name: fmt.Sprintf("svc-%04d", i), Permissions: model.PermRead, QueryAlloc: 5, MutationAlloc: 2}
	}
	keys, secrets, err := db.ImportKeys(ctx, "default", "test", specs)
	if err != nil || len(keys) != 2000 || len(secrets) != 2000 {
		t.Fatalf("import: %d %d %v", len(keys), len(secrets), err)
	}
	st, _ := db.Store("default", "test")
	if r, _ := st.Verify(ctx, model.VerifyRequest{ClientID: keys[1234].ClientID, ClientSecret: secrets[1234], Operation: model.OpRead}); r.Verdict != model.Allowed {
		t.Fatalf("imported key: %v", r.Verdict)
	}
	a, _ := st.Account(ctx)
	if a.QueryHeld != 10000 || a.MutationHeld != 4000 {
		t.Fatalf("held after import: %+v", a)
	}
	// All or nothing: one key too many (or a duplicate name) imports none.
	_, _, err = db.ImportKeys(ctx, "default", "test", []model.KeySpec{{Name: "x", Permissions: model.PermRead}, {Name: "y", Permissions: model.PermRead, QueryAlloc: 1}})
	var ae *model.AllocationError
	if !errors.As(err, &ae) || ae.Available != 0 {
		t.Fatalf("import beyond the total: %v", err)
	}
	_, _, err = db.ImportKeys(ctx, "default", "test", []model.KeySpec{{Name: "z", Permissions: model.PermRead}, {Name: "svc-0001", Permissions: model.PermRead}})
	if !errors.Is(err, model.ErrDuplicateName) {
		t.Fatalf("import of a taken name: %v", err)
	}
	if p, _ := st.ListKeys(ctx, storage.ListOptions{}); p.Total != 2000 {
		t.Fatalf("a failed import left keys: %d", p.Total)
	}
}

// TestAnotherClientClosing opens the file with the sqlite3 shell while a
// store has it open, reads and quits. The shell must find the store's lock
// and leave the -wal and -shm alone: finding none, it checkpoints and
// deletes them under the store, whose later writes then go to an unlinked
// WAL that other processes never see and that is lost (keys a CLI created
// meanwhile vanished when the server stopped).
func TestAnotherClientClosing(t *testing.T) {
	sh, err := exec.LookPath("sqlite3")
	if err != nil {
		t.Fatalf("the sqlite3 shell is needed for this test (apt-get install sqlite3): %v", err)
	}
	path := filepath.Join(t.TempDir(), "k.db")
	db := openTest(t, storetest.NewClock(time.Now()), path)
	st, _ := db.Store("default", "test")
	count := func(name string) string {
		t.Helper()
		out, err := exec.Command(sh, path, "SELECT count(*) FROM keys WHERE name = '"+name+"';").CombinedOutput()
		if err != nil {
			t.Fatalf("sqlite3: %v\n%s", err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if _, _, err := st.CreateKey(ctx, model.KeySpec{Name: "before", Permissions: model.PermRead}); err != nil {
		t.Fatal(err)
	}
	if n := count("before"); n != "1" {
		t.Fatalf("the shell sees %s keys named before, want 1", n)
	}
	for _, p := range []string{path + "-wal", path + "-shm"} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("the shell removed %s under an open store: %v", filepath.Base(p), err)
		}
	}
	if _, _, err := st.CreateKey(ctx, model.KeySpec{Name: "after", Permissions: model.PermRead}); err != nil {
		t.Fatal(err)
	}
	if n := count("after"); n != "1" {
		t.Fatalf("the shell sees %s keys named after, a key the store has created, want 1", n)
	}
}

func TestStats(t *testing.T) {
	db := openTest(t, storetest.NewClock(time.Now()), filepath.Join(t.TempDir(), "k.db"))
	st, _ := db.Store("default", "test")
	for _, n := range []string{"a", "b", "c"} {
		if _, _, err := st.CreateKey(ctx, model.KeySpec{Name: n, Permissions: model.PermRead}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.RevokeKey(ctx, "b", false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.CreateAccount(ctx, "test", "acme", model.AccountUpdate{}); err != nil {
		t.Fatal(err)
	}
	got, err := db.Stats(ctx)
	if err != nil || got != (model.Stats{Accounts: 2, ActiveKeys: 2, RevokedKeys: 1}) {
		t.Fatalf("stats: %+v %v", got, err)
	}
	if _, err := db.Store("nobody", "test"); !errors.Is(err, model.ErrAccountNotFound) {
		t.Fatalf("store of an unknown account: %v", err)
	}
}

// Changing the period and a total in one update judges the total by what
// the keys hold in the new period: a key that used 100 this month, cut to
// an allocation of 10, holds 10 once the period is "none".
func TestPeriodChangeRecomputesHolds(t *testing.T) {
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "k.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	total := int64(1000)
	monthly := model.PeriodMonthly
	if _, _, err := db.CreateAccount(ctx, "test", "p", model.AccountUpdate{QueryTotal: &total, Period: &monthly}); err != nil {
		t.Fatal(err)
	}
	st, _ := db.Store("p", "test")
	k, secret, err := st.CreateKey(ctx, model.KeySpec{Name: "used", Permissions: model.PermRead, QueryAlloc: 200})
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		if r, err := db.Verify(ctx, model.VerifyRequest{ClientID: k.ClientID, ClientSecret: secret, Operation: model.OpRead}); err != nil || r.Verdict != model.Allowed {
			t.Fatalf("verify: %v %v", r.Verdict, err)
		}
	}
	ten := int64(10)
	if _, err := st.EditKey(ctx, k.ClientID, model.KeyEdit{QueryAlloc: &ten}); err != nil {
		t.Fatal(err)
	}
	none, fifty := model.PeriodNone, int64(50)
	a, err := db.UpdateAccount(ctx, "test", "p", model.AccountUpdate{Period: &none, QueryTotal: &fifty})
	if err != nil {
		t.Fatalf("period none with total 50: %v", err)
	}
	if a.Period != model.PeriodNone || a.QueryTotal != 50 || a.QueryHeld != 10 {
		t.Fatalf("account after the update: period %s, total %d, held %d", a.Period, a.QueryTotal, a.QueryHeld)
	}
	// Refused in the same update, the period stays as it was.
	five := int64(5)
	if _, err := db.UpdateAccount(ctx, "test", "p", model.AccountUpdate{Period: &monthly, QueryTotal: &five}); err == nil {
		t.Fatal("total 5 below what the key holds was accepted")
	}
	if a, _ := db.AccountByName(ctx, "p"); a.Period != model.PeriodNone {
		t.Fatalf("a refused update changed the period to %s", a.Period)
	}
}
