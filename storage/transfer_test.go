package storage_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
	"github.com/keydeck/keydeck/storage/postgres"
	"github.com/keydeck/keydeck/storage/postgres/pgtest"
	"github.com/keydeck/keydeck/storage/sqlite"
	"github.com/keydeck/keydeck/storage/storetest"
)

// tables is a whole store as Dump reads it.
type tables struct {
	Accounts []storage.AccountRow
	Keys     []storage.KeyRow
	Usage    []storage.UsageRow
	Audit    []storage.AuditRow
	SSHKeys  []storage.SSHKeyRow
}

func collect(t *testing.T, d storage.Dumper) tables {
	t.Helper()
	var out tables
	err := d.Dump(context.Background(), func(s storage.Source) error {
		var err error
		if out.Accounts, err = all(s.Accounts()); err != nil {
			return err
		}
		if out.Keys, err = all(s.Keys()); err != nil {
			return err
		}
		if out.Usage, err = all(s.UsageDays()); err != nil {
			return err
		}
		if out.Audit, err = all(s.AuditEvents()); err != nil {
			return err
		}
		out.SSHKeys, err = all(s.SSHKeys())
		return err
	})
	if err != nil {
		t.Fatalf("dump: %v", err)
	}
	return out
}

func all[T any](seq func(func(T, error) bool)) ([]T, error) {
	var out []T
	for r, err := range seq {
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// copyStore is keydeck copy without the command line.
func copyStore(from storage.Dumper, to storage.Loader) (storage.Counts, error) {
	var n storage.Counts
	err := from.Dump(context.Background(), func(s storage.Source) error {
		var err error
		n, err = to.Load(context.Background(), s)
		return err
	})
	return n, err
}

// TestCopySQLiteToPostgresAndBack fills a SQLite store (two accounts,
// revoked keys, one keeping its allocation, usage of two periods still
// pending, a token, an SSH key), copies it to PostgreSQL and from there
// to a new SQLite file, and checks that every row arrived and that the
// secrets, the token and the allowances still work.
func TestCopySQLiteToPostgresAndBack(t *testing.T) {
	pgURL := pgtest.Schema(t, t.Name())
	ctx := context.Background()
	// The last hour of January: usage of this period, then of February,
	// both still pending when the copy runs.
	clock := storetest.NewClock(time.Date(2026, 1, 31, 23, 0, 0, 0, time.UTC))
	path := filepath.Join(t.TempDir(), "src.db")
	src, err := sqlite.Open(ctx, path, sqlite.Options{Clock: clock.Now, FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()

	_, token, err := src.CreateAccount(ctx, "admin", "acme", model.AccountUpdate{
		QueryTotal: ptr(int64(1000)), MutationTotal: ptr(int64(500)), Credits: ptr(int64(100))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.AddSSHKey(ctx, "admin", "acme", model.SSHKey{Fingerprint: "SHA256:abc", PublicKey: "ssh-ed25519 AAAA test", Comment: "ops"}); err != nil {
		t.Fatal(err)
	}
	def, _ := src.Store(model.DefaultAccount, "tester")
	acme, _ := src.Store("acme", "tester")
	type made struct {
		st     storage.Store
		key    model.Key
		secret string
	}
	var keys []made
	for i, spec := range []struct {
		st storage.Store
		model.KeySpec
	}{
		{def, model.KeySpec{Name: "alpha", Permissions: model.PermRead | model.PermWrite, QueryAlloc: 100, MutationAlloc: 10}},
		{def, model.KeySpec{Name: "beta", Permissions: model.PermRead, QueryAlloc: 50}},
		{acme, model.KeySpec{Name: "gamma", Permissions: model.PermRead | model.PermDelete, QueryAlloc: 300, MutationAlloc: 200}},
		{acme, model.KeySpec{Name: "kept", Permissions: model.PermRead, QueryAlloc: 40}},
	} {
		k, secret, err := spec.st.CreateKey(ctx, spec.KeySpec)
		if err != nil {
			t.Fatalf("key %d: %v", i, err)
		}
		keys = append(keys, made{spec.st, k, secret})
	}
	verify := func(m made, op model.Operation, credits int64) model.Verdict {
		t.Helper()
		r, err := src.Verify(ctx, model.VerifyRequest{ClientID: m.key.ClientID, ClientSecret: m.secret, Operation: op, Credits: credits})
		if err != nil {
			t.Fatal(err)
		}
		return r.Verdict
	}
	for range 3 {
		verify(keys[0], model.OpRead, 0)
		verify(keys[2], model.OpDelete, 2)
		verify(keys[3], model.OpRead, 0)
	}
	verify(keys[1], model.OpWrite, 0) // 403: a denial, counted in the day
	if _, err := keys[1].st.RevokeKey(ctx, "beta", false); err != nil {
		t.Fatal(err)
	}
	if _, err := keys[3].st.RevokeKey(ctx, "kept", true); err != nil {
		t.Fatal(err)
	}
	// A new period: the units of January must stay in January's history.
	clock.Add(2 * time.Hour)
	for range 2 {
		verify(keys[0], model.OpWrite, 0)
		verify(keys[2], model.OpRead, 1)
	}
	var pending int
	raw, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if err := raw.QueryRow(`SELECT count(*) FROM pending_usage`).Scan(&pending); err != nil || pending == 0 {
		t.Fatalf("pending usage rows: %d, %v; the test needs some not yet folded", pending, err)
	}

	// What the store says before the copy, pending units included.
	type view struct {
		accounts map[string]model.Account
		keys     map[string]model.Key
		usage    map[string][]model.UsageDay
	}
	look := func(adm storage.Admin) view {
		t.Helper()
		v := view{accounts: map[string]model.Account{}, keys: map[string]model.Key{}, usage: map[string][]model.UsageDay{}}
		for _, name := range []string{model.DefaultAccount, "acme"} {
			st, err := adm.Store(name, "tester")
			if err != nil {
				t.Fatal(err)
			}
			a, err := st.Account(ctx)
			if err != nil {
				t.Fatal(err)
			}
			v.accounts[name] = a
		}
		for _, m := range keys {
			st, _ := adm.Store(m.key.Account, "tester")
			k, err := st.GetKey(ctx, m.key.ClientID)
			if err != nil {
				t.Fatal(err)
			}
			v.keys[m.key.ClientID] = k
			if v.usage[m.key.ClientID], err = st.Usage(ctx, m.key.ClientID, 3); err != nil {
				t.Fatal(err)
			}
		}
		return v
	}
	before := look(src)

	// The copy, as keydeck copy runs it: a second handle on the file, which
	// folds the pending log (the first handle has not), to a PostgreSQL
	// database that Open has given its "default" account.
	first, err := postgres.Open(ctx, pgURL, postgres.Options{Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	first.Close()
	from, err := sqlite.Open(ctx, path, sqlite.Options{Clock: clock.Now, NoDefaultAccount: true})
	if err != nil {
		t.Fatal(err)
	}
	defer from.Close()
	pg, err := postgres.Open(ctx, pgURL, postgres.Options{Clock: clock.Now, NoDefaultAccount: true})
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	n, err := copyStore(from, pg)
	if err != nil {
		t.Fatalf("copy to PostgreSQL: %v", err)
	}
	if err := raw.QueryRow(`SELECT count(*) FROM pending_usage`).Scan(&pending); err != nil || pending != 0 {
		t.Fatalf("pending usage rows after the copy: %d, %v", pending, err)
	}

	got := collect(t, pg)
	want := collect(t, from)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("PostgreSQL holds\n%+v\nwant\n%+v", got, want)
	}
	wantN := storage.Counts{Accounts: 2, Tokens: 1, Keys: 4, UsageDays: int64(len(want.Usage)),
		AuditEvents: int64(len(want.Audit)), SSHKeys: 1}
	if n != wantN {
		t.Fatalf("counts %+v, want %+v", n, wantN)
	}
	if len(want.Usage) < 5 || len(want.Audit) < 8 {
		t.Fatalf("too little copied to mean anything: %d usage days, %d audit events", len(want.Usage), len(want.Audit))
	}
	// The rows against what the store said before, not only against the
	// fold: the key rows hold February's units, the history both months.
	feb := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC).Unix()
	byID := map[int64]storage.KeyRow{}
	for _, k := range got.Keys {
		byID[k.ID] = k
	}
	for _, m := range keys {
		row, b := byID[m.key.ID], before.keys[m.key.ClientID]
		if d := model.DigestOf(m.secret); string(row.SecretDigest) != string(d[:]) {
			t.Errorf("%s: the secret's digest did not survive", m.key.Name)
		}
		// A row of an earlier period reads as nothing used now.
		q, mu, c := row.QueryUsed, row.MutationUsed, row.CreditsUsed
		if row.PeriodStart != feb {
			q, mu, c = 0, 0, 0
		}
		if q != b.QueryUsed || mu != b.MutationUsed || c != b.CreditsUsed {
			t.Errorf("%s: used %d/%d/%d in February, the store said %d/%d/%d", m.key.Name, q, mu, c, b.QueryUsed, b.MutationUsed, b.CreditsUsed)
		}
		if row.Status != string(b.Status) || row.KeepsAllocation != b.KeepsAllocation {
			t.Errorf("%s: status %s keeps %v, want %s %v", m.key.Name, row.Status, row.KeepsAllocation, b.Status, b.KeepsAllocation)
		}
	}
	// January's units never reach February's counters.
	if g := byID[keys[2].key.ID]; g.PeriodStart != feb || g.QueryUsed != 2 || g.MutationUsed != 0 || g.CreditsUsed != 2 {
		t.Errorf("gamma's row: period %d, used %d/%d/%d; want February, 2/0/2", g.PeriodStart, g.QueryUsed, g.MutationUsed, g.CreditsUsed)
	}
	if k := byID[keys[3].key.ID]; k.PeriodStart == feb || k.QueryUsed != 3 || k.Status != "revoked" || !k.KeepsAllocation {
		t.Errorf("kept's row: %+v; want January's 3 queries, revoked, keeping its allocation", k)
	}
	days := map[string]storage.UsageRow{}
	for _, u := range got.Usage {
		days[u.Day+"/"+itoa(u.KeyID)] = u
	}
	for _, m := range keys {
		for _, d := range before.usage[m.key.ClientID] {
			u := days[d.Day+"/"+itoa(m.key.ID)]
			if u.Queries != d.Queries || u.Mutations != d.Mutations || u.Credits != d.Credits {
				t.Errorf("%s %s: %+v, the store said %+v", m.key.Name, d.Day, u, d)
			}
		}
	}
	if u := days["2026-01-31/"+itoa(keys[0].key.ID)]; u.Queries != 3 || u.Mutations != 0 {
		t.Errorf("alpha's January day: %+v, want 3 queries", u)
	}
	if u := days["2026-02-01/"+itoa(keys[0].key.ID)]; u.Queries != 0 || u.Mutations != 2 {
		t.Errorf("alpha's February day: %+v, want 2 mutations", u)
	}
	if u := days["2026-01-31/"+itoa(keys[1].key.ID)]; u.Denied403 != 1 {
		t.Errorf("beta's denial: %+v", u)
	}
	var acmeRow storage.AccountRow
	for _, a := range got.Accounts {
		if a.Name == "acme" {
			acmeRow = a
		}
	}
	if d := model.DigestOf(token); string(acmeRow.TokenDigest) != string(d[:]) || acmeRow.Credits != 100-6-2 {
		t.Errorf("acme: token digest kept %v, credits %d (want 92)", string(acmeRow.TokenDigest) == string(d[:]), acmeRow.Credits)
	}

	// The identity sequences continue after the copied ids.
	conn, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var next int64
	if err := conn.QueryRow(ctx, `INSERT INTO audit_events (account_id, at, actor, action) VALUES (1, 0, 't', 'test') RETURNING id`).Scan(&next); err != nil {
		t.Fatalf("an audit event after the copy: %v", err)
	}
	if last := want.Audit[len(want.Audit)-1].ID; next != last+1 {
		t.Errorf("the next audit event is %d, want %d", next, last+1)
	}

	// A second copy is refused: the database holds data now.
	_, err = copyStore(from, pg)
	var ne *storage.NotEmptyError
	if !errors.As(err, &ne) || err.Error() != fmt.Sprintf("the target already holds 2 accounts, 4 keys, 1 SSH key and %d audit events; copy needs an empty database", len(want.Audit)+1) {
		t.Fatalf("copy into a full database: %v", err)
	}

	// And back, into a new SQLite file with its "default" account.
	backPath := filepath.Join(t.TempDir(), "back.db")
	fresh, err := sqlite.Open(ctx, backPath, sqlite.Options{Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	fresh.Close()
	into, err := sqlite.Open(ctx, backPath, sqlite.Options{Clock: clock.Now, NoDefaultAccount: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := copyStore(pg, into); err != nil {
		t.Fatalf("copy back to SQLite: %v", err)
	}
	into.Close()
	back, err := sqlite.Open(ctx, backPath, sqlite.Options{Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	if b, want := collect(t, back), collect(t, pg); !reflect.DeepEqual(b, want) {
		t.Fatalf("the SQLite copy holds\n%+v\nwant\n%+v", b, want)
	}
	after := look(back)
	if !reflect.DeepEqual(after, before) {
		t.Fatalf("the copy says\n%+v\nthe original said\n%+v", after, before)
	}
	if a, err := back.AuthenticateToken(ctx, token); err != nil || a.Name != "acme" {
		t.Fatalf("the token after two copies: %v, %v", a.Name, err)
	}
	for _, m := range keys {
		r, err := back.Verify(ctx, model.VerifyRequest{ClientID: m.key.ClientID, ClientSecret: m.secret, Operation: model.OpRead})
		if err != nil {
			t.Fatal(err)
		}
		want := model.Allowed
		if m.key.Name == "beta" || m.key.Name == "kept" {
			want = model.DeniedUnauthorized
		}
		if r.Verdict != want {
			t.Errorf("%s after two copies: %v, want %v", m.key.Name, r.Verdict, want)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// TestCopyMillionKeys times a copy of a million keys (with a usage day
// each) from SQLite to PostgreSQL and back. It runs only when
// KEYDECK_COPY_MILLION=1: it takes a minute and a gigabyte of disk.
func TestCopyMillionKeys(t *testing.T) {
	if os.Getenv("KEYDECK_COPY_MILLION") != "1" {
		t.Skip("set KEYDECK_COPY_MILLION=1 to time a copy of a million keys")
	}
	pgURL := pgtest.Schema(t, t.Name())
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "big.db")
	src, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	src.Close()
	raw, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	const n = 1_000_000
	start := time.Now()
	if _, err := raw.Exec(`WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?)
		INSERT INTO keys (id, account_id, name, client_id, secret_digest, secret_hint, secret_rotated_at, permissions,
			query_alloc, mutation_alloc, query_used, period_start, created_at)
		SELECT x, 1, 'key-' || x, 'kdc_' || x, randomblob(32), 'hint', 0, 1, 0, 0, 0, 0, 0 FROM c;
		INSERT INTO usage_days (key_id, day, queries) SELECT id, '2026-01-01', 1 FROM keys`, n); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	t.Logf("made %d keys in %v", n, time.Since(start))

	from, err := sqlite.Open(ctx, path, sqlite.Options{NoDefaultAccount: true})
	if err != nil {
		t.Fatal(err)
	}
	defer from.Close()
	pg, err := postgres.Open(ctx, pgURL, postgres.Options{NoDefaultAccount: true})
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	start = time.Now()
	c, err := copyStore(from, pg)
	if err != nil || c.Keys != n || c.UsageDays != n {
		t.Fatalf("to PostgreSQL: %+v, %v", c, err)
	}
	t.Logf("SQLite to PostgreSQL: %v", time.Since(start))

	back, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "back.db"), sqlite.Options{NoDefaultAccount: true})
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	start = time.Now()
	if c, err := copyStore(pg, back); err != nil || c.Keys != n {
		t.Fatalf("back to SQLite: %+v, %v", c, err)
	}
	t.Logf("PostgreSQL to SQLite: %v", time.Since(start))
}
