package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
	"github.com/keydeck/keydeck/storage/postgres"
	"github.com/keydeck/keydeck/storage/postgres/pgtest"
	"github.com/keydeck/keydeck/storage/storetest"
)

var t0 = time.Date(2026, 11, 14, 10, 30, 0, 0, time.UTC)

// openURL opens the store at url; it is closed when t ends.
func openURL(t *testing.T, url string, clock *storetest.Clock) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), url, postgres.Options{Clock: clock.Now, FlushInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// exec runs SQL on the schema at url outside any store.
func exec(t *testing.T, url, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func newAccount(t *testing.T, db *postgres.DB, name string, q, m int64) storage.Store {
	t.Helper()
	if _, _, err := db.CreateAccount(context.Background(), "test", name, model.AccountUpdate{QueryTotal: &q, MutationTotal: &m}); err != nil {
		t.Fatalf("create account: %v", err)
	}
	st, err := db.Store(name, "test")
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// Ten processes starting at once on a fresh database migrate it once and
// make one default account.
func TestOpenConcurrently(t *testing.T) {
	url := pgtest.Schema(t, t.Name())
	clock := storetest.NewClock(t0)
	var wg sync.WaitGroup
	errs := make([]error, 10)
	dbs := make([]*postgres.DB, 10)
	for i := range 10 {
		wg.Go(func() {
			dbs[i], errs[i] = postgres.Open(context.Background(), url, postgres.Options{Clock: clock.Now})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		t.Cleanup(func() { dbs[i].Close() })
	}
	ctx := context.Background()
	accts, err := dbs[0].Accounts(ctx)
	if err != nil || len(accts) != 1 || accts[0].Name != model.DefaultAccount {
		t.Fatalf("accounts after 10 opens: %+v %v", accts, err)
	}
	st, err := dbs[3].Store(model.DefaultAccount, "test")
	if err != nil {
		t.Fatal(err)
	}
	ev, err := st.Audit(ctx, storage.AuditFilter{})
	if err != nil || len(ev) != 1 || ev[0].Action != model.AuditAccountCreate {
		t.Fatalf("default account created more than once: %+v %v", ev, err)
	}
	var applied int
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM goose_db_version WHERE version_id > 0`).Scan(&applied); err != nil {
		t.Fatal(err)
	}
	if applied != 1 {
		t.Fatalf("%d migrations recorded, want 1", applied)
	}
}

// A schema written by a newer keydeck is refused, not half-used.
func TestNewerSchemaRefused(t *testing.T) {
	url := pgtest.Schema(t, t.Name())
	clock := storetest.NewClock(t0)
	db, err := postgres.Open(context.Background(), url, postgres.Options{Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	exec(t, url, `INSERT INTO goose_db_version (version_id, is_applied) VALUES (99999, true)`)
	db, err = postgres.Open(context.Background(), url, postgres.Options{Clock: clock.Now})
	if err == nil {
		db.Close()
		t.Fatal("a newer schema was opened")
	}
	if !errors.Is(err, storage.ErrNewerSchema) {
		t.Fatalf("got %v, want ErrNewerSchema", err)
	}
}

// A search_path naming a schema that does not exist is said as such, not
// as goose's missing table.
func TestMissingSchemaSaid(t *testing.T) {
	url := pgtest.Schema(t, t.Name())
	url = strings.Replace(url, "search_path=", "search_path=nosuch_", 1)
	db, err := postgres.Open(context.Background(), url, postgres.Options{})
	if err == nil {
		db.Close()
		t.Fatal("opened a database whose search_path names no schema")
	}
	if !strings.Contains(err.Error(), "no schema to hold keydeck's tables") || strings.Contains(err.Error(), "goose") {
		t.Fatalf("got %q", err)
	}
}

// Two stores (two pools, as two processes) creating keys of one account
// at once never hand out more than its total.
func TestTwoStoresCreateConcurrently(t *testing.T) {
	url := pgtest.Schema(t, t.Name())
	clock := storetest.NewClock(t0)
	db1, db2 := openURL(t, url, clock), openURL(t, url, clock)
	newAccount(t, db1, "acme", 100, 50)
	var stores [2]storage.Store
	for i, db := range []*postgres.DB{db1, db2} {
		st, err := db.Store("acme", fmt.Sprint("test", i))
		if err != nil {
			t.Fatal(err)
		}
		stores[i] = st
	}
	ctx := context.Background()
	var ok atomic.Int64
	var wg sync.WaitGroup
	for i := range 60 {
		wg.Go(func() {
			_, _, err := stores[i%2].CreateKey(ctx, model.KeySpec{Name: fmt.Sprint("k", i), Permissions: model.PermRead, QueryAlloc: 3, MutationAlloc: 1})
			switch {
			case err == nil:
				ok.Add(1)
			case model.IsAllocation(err):
			default:
				t.Errorf("create: %v", err)
			}
		})
	}
	wg.Wait()
	a, err := stores[1].Account(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := ok.Load(); n != 33 || a.QueryHeld != 99 || a.ActiveKeys != 33 || a.MutationHeld != 33 {
		t.Fatalf("%d creates succeeded, account holds %d/%d with %d keys; want 33, 99/33, 33", n, a.QueryHeld, a.MutationHeld, a.ActiveKeys)
	}
}

// Edits, revokes, releases, creates and total changes of one account, at
// once from two pools, neither deadlock past the retries nor break the
// invariant.
func TestConcurrentChangesKeepInvariant(t *testing.T) {
	url := pgtest.Schema(t, t.Name())
	clock := storetest.NewClock(t0)
	db1, db2 := openURL(t, url, clock), openURL(t, url, clock)
	st1 := newAccount(t, db1, "acme", 1000, 1000)
	st2, err := db2.Store("acme", "test2")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var ids []string
	for i := range 10 {
		k, _, err := st1.CreateKey(ctx, model.KeySpec{Name: fmt.Sprint("k", i), Permissions: model.PermRead, QueryAlloc: 50, MutationAlloc: 50})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, k.ClientID)
	}
	stores := []storage.Store{st1, st2}
	dbs := []*postgres.DB{db1, db2}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			st := stores[w%2]
			for i := range 15 {
				id := ids[(w+i)%len(ids)]
				alloc := int64(40 + (w*7+i*13)%80)
				var err error
				switch (w + i) % 5 {
				case 0:
					_, err = st.EditKey(ctx, id, model.KeyEdit{QueryAlloc: &alloc, MutationAlloc: &alloc})
				case 1:
					_, _, err = st.CreateKey(ctx, model.KeySpec{Name: fmt.Sprintf("n%d-%d", w, i), Permissions: model.PermRead, QueryAlloc: alloc, MutationAlloc: alloc})
				case 2:
					_, err = st.RevokeKey(ctx, id, i%2 == 0)
				case 3:
					_, err = st.ReleaseKey(ctx, id)
				case 4:
					total := int64(900 + i*10)
					_, err = dbs[w%2].UpdateAccount(ctx, "test", "acme", model.AccountUpdate{QueryTotal: &total})
				}
				if err != nil && !model.IsAllocation(err) && !errors.Is(err, model.ErrRevoked) &&
					!errors.Is(err, model.ErrNotRevoked) && !errors.Is(err, model.ErrNothingHeld) {
					t.Errorf("worker %d step %d: %v", w, i, err)
				}
			}
		})
	}
	wg.Wait()
	a, err := st2.Account(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if a.QueryHeld > a.QueryTotal || a.MutationHeld > a.MutationTotal {
		t.Fatalf("held %d/%d exceeds totals %d/%d", a.QueryHeld, a.MutationHeld, a.QueryTotal, a.MutationTotal)
	}
	// The sums agree with the keys, one by one.
	p, err := st1.ListKeys(ctx, storage.ListOptions{IncludeRevoked: true, Limit: storage.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	var q, m int64
	for _, k := range p.Keys {
		q += k.Holds(model.KindQuery)
		m += k.Holds(model.KindMutation)
	}
	if q != a.QueryHeld || m != a.MutationHeld {
		t.Fatalf("keys hold %d/%d, account says %d/%d", q, m, a.QueryHeld, a.MutationHeld)
	}
}

// A key's usage columns count only while their period is the account's
// current one; what it holds follows.
func TestUsageOfEarlierPeriodReadsAsZero(t *testing.T) {
	url := pgtest.Schema(t, t.Name())
	clock := storetest.NewClock(t0)
	db := openURL(t, url, clock)
	st := newAccount(t, db, "acme", 100, 100)
	ctx := context.Background()
	k, _, err := st.CreateKey(ctx, model.KeySpec{Name: "a", Permissions: model.PermRead, QueryAlloc: 10, MutationAlloc: 10})
	if err != nil {
		t.Fatal(err)
	}
	// As the verifier would have written it: 30 queries this month.
	exec(t, url, `UPDATE keys SET query_used = 30, credits_used = 2 WHERE client_id = $1`, k.ClientID)
	if k = get(t, st, k.ClientID); k.QueryUsed != 30 || k.CreditsUsed != 2 {
		t.Fatalf("used %d, %d credits; want 30, 2", k.QueryUsed, k.CreditsUsed)
	}
	if a, _ := st.Account(ctx); a.QueryHeld != 30 {
		t.Fatalf("held %d, want 30 (usage above the allocation)", a.QueryHeld)
	}
	// Lowering below usage is allowed; raising must fit what is free.
	up := int64(101)
	if _, err := st.EditKey(ctx, "a", model.KeyEdit{QueryAlloc: &up}); !model.IsAllocation(err) {
		t.Fatalf("raise to 101 of 100: %v", err)
	}
	if _, _, err := st.CreateKey(ctx, model.KeySpec{Name: "b", Permissions: model.PermRead, QueryAlloc: 71}); !model.IsAllocation(err) {
		t.Fatalf("a new key of 71 beside one holding 30 of 100: %v", err)
	}
	up = 100
	if _, err := st.EditKey(ctx, "a", model.KeyEdit{QueryAlloc: &up}); err != nil {
		t.Fatalf("raise to 100: %v", err)
	}
	clock.Add(31 * 24 * time.Hour)
	if k = get(t, st, "a"); k.QueryUsed != 0 || k.CreditsUsed != 0 {
		t.Fatalf("next month: used %d, %d credits; want 0", k.QueryUsed, k.CreditsUsed)
	}
	if _, err := db.UpdateAccount(ctx, "test", "acme", model.AccountUpdate{Period: ptr(model.PeriodNone)}); err != nil {
		t.Fatal(err)
	}
	// Period none starts at 0: last month's start no longer matches.
	if k = get(t, st, "a"); k.QueryUsed != 0 || k.ResetsAt != nil {
		t.Fatalf("period none: used %d, resets %v", k.QueryUsed, k.ResetsAt)
	}
}

func ptr[T any](v T) *T { return &v }

func get(t *testing.T, st storage.Store, id string) model.Key {
	t.Helper()
	k, err := st.GetKey(context.Background(), id)
	if err != nil {
		t.Fatalf("get %s: %v", id, err)
	}
	return k
}

func TestImportKeys(t *testing.T) {
	url := pgtest.Schema(t, t.Name())
	clock := storetest.NewClock(t0)
	db := openURL(t, url, clock)
	st := newAccount(t, db, "acme", 100, 100)
	ctx := context.Background()
	if _, _, err := st.CreateKey(ctx, model.KeySpec{Name: "taken", Permissions: model.PermRead, QueryAlloc: 1}); err != nil {
		t.Fatal(err)
	}
	specs := func(names ...string) []model.KeySpec {
		var out []model.KeySpec
		for _, n := range names {
			out = append(out, model.KeySpec{Name: n, Permissions: model.PermRead | model.PermWrite, QueryAlloc: 20, MutationAlloc: 5})
		}
		return out
	}
	if _, _, err := db.ImportKeys(ctx, "nobody", "test", specs("a")); !errors.Is(err, model.ErrAccountNotFound) {
		t.Fatalf("unknown account: %v", err)
	}
	if _, _, err := db.ImportKeys(ctx, "acme", "test", specs("a", "b", "a")); !errors.Is(err, model.ErrDuplicateName) || !strings.HasPrefix(err.Error(), "key 3:") {
		t.Fatalf("duplicate in the batch: %v", err)
	}
	if _, _, err := db.ImportKeys(ctx, "acme", "test", specs("a", "taken")); !errors.Is(err, model.ErrDuplicateName) || !strings.HasPrefix(err.Error(), "key 2:") {
		t.Fatalf("name of an active key: %v", err)
	}
	if _, _, err := db.ImportKeys(ctx, "acme", "test", specs("a", "b", "c", "d", "e")); !model.IsAllocation(err) {
		t.Fatalf("100 of 99 free: %v", err)
	}
	if a, _ := st.Account(ctx); a.ActiveKeys != 1 {
		t.Fatalf("failed imports left %d keys", a.ActiveKeys)
	}
	keys, secrets, err := db.ImportKeys(ctx, "acme", "test", specs("a", "b", "c", "d"))
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		if k.Name != string(rune('a'+i)) || k.QueryAlloc != 20 || k.Permissions != model.PermRead|model.PermWrite || !k.Active() {
			t.Fatalf("key %d: %+v", i, k)
		}
		if model.CheckSecret(model.SecretPrefix, secrets[i]) != nil || model.Hint(secrets[i]) != k.SecretHint {
			t.Fatalf("key %d: secret does not match its hint", i)
		}
	}
	ev, err := st.Audit(ctx, storage.AuditFilter{Key: "d", Limit: 5})
	if err != nil || len(ev) != 1 || !strings.Contains(ev[0].Details, `"import":true`) || ev[0].Actor != "test" {
		t.Fatalf("audit of an imported key: %+v %v", ev, err)
	}
	if a, _ := st.Account(ctx); a.QueryHeld != 81 || a.MutationHeld != 20 {
		t.Fatalf("held %d/%d, want 81/20", a.QueryHeld, a.MutationHeld)
	}
	if keys, secrets, err := db.ImportKeys(ctx, "acme", "test", nil); err != nil || len(keys) != 0 || len(secrets) != 0 {
		t.Fatalf("empty import: %v", err)
	}
}

func TestAdmin(t *testing.T) {
	url := pgtest.Schema(t, t.Name())
	clock := storetest.NewClock(t0)
	db := openURL(t, url, clock)
	ctx := context.Background()
	a, token, err := db.CreateAccount(ctx, "root", "acme", model.AccountUpdate{})
	if err != nil || a.QueryTotal != model.DefaultQueryTotal || a.ResetsAt == nil {
		t.Fatalf("create account: %+v %v", a, err)
	}
	if _, _, err := db.CreateAccount(ctx, "root", "acme", model.AccountUpdate{}); !errors.Is(err, model.ErrAccountExists) {
		t.Fatalf("second acme: %v", err)
	}
	if _, _, err := db.CreateAccount(ctx, "root", "-bad", model.AccountUpdate{}); !model.IsValidation(err) {
		t.Fatalf("bad name: %v", err)
	}
	if _, err := db.Store("nobody", "x"); !errors.Is(err, model.ErrAccountNotFound) {
		t.Fatalf("store of an unknown account: %v", err)
	}
	got, err := db.AuthenticateToken(ctx, token)
	if err != nil || got.Name != "acme" {
		t.Fatalf("authenticate: %+v %v", got, err)
	}
	token2, err := db.RotateToken(ctx, "root", "acme")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.AuthenticateToken(ctx, token); !errors.Is(err, model.ErrUnauthorized) {
		t.Fatalf("old token after rotate: %v", err)
	}
	if _, err := db.AuthenticateToken(ctx, token2); err != nil {
		t.Fatalf("new token: %v", err)
	}
	if _, err := db.AuthenticateToken(ctx, model.NewToken()); !errors.Is(err, model.ErrUnauthorized) {
		t.Fatalf("unknown token: %v", err)
	}
	if _, err := db.RotateToken(ctx, "root", "nobody"); !errors.Is(err, model.ErrAccountNotFound) {
		t.Fatalf("rotate unknown: %v", err)
	}
	key := model.SSHKey{Fingerprint: "SHA256:abc", PublicKey: "ssh-ed25519 AAAA", Comment: "me"}
	if _, err := db.AddSSHKey(ctx, "root", "acme", key); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddSSHKey(ctx, "root", model.DefaultAccount, key); !errors.Is(err, model.ErrSSHKeyExists) || !strings.Contains(err.Error(), "acme") {
		t.Fatalf("same key twice: %v", err)
	}
	if ks, err := db.SSHKeys(ctx, "acme"); err != nil || len(ks) != 1 || ks[0].Comment != "me" {
		t.Fatalf("ssh keys: %+v %v", ks, err)
	}
	if got, err := db.AccountForSSHKey(ctx, key.Fingerprint); err != nil || got.Name != "acme" {
		t.Fatalf("account for key: %+v %v", got, err)
	}
	if err := db.RemoveSSHKey(ctx, "root", model.DefaultAccount, key.Fingerprint); !errors.Is(err, model.ErrSSHKeyNotFound) {
		t.Fatalf("remove from the wrong account: %v", err)
	}
	if err := db.RemoveSSHKey(ctx, "root", "acme", key.Fingerprint); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AccountForSSHKey(ctx, key.Fingerprint); !errors.Is(err, model.ErrSSHKeyNotFound) {
		t.Fatalf("removed key: %v", err)
	}
	st, err := db.Stats(ctx)
	if err != nil || st.Accounts != 2 {
		t.Fatalf("stats: %+v %v", st, err)
	}
	accts, err := db.Accounts(ctx)
	if err != nil || len(accts) != 2 || accts[0].Name != "acme" {
		t.Fatalf("accounts: %+v %v", accts, err)
	}
	s, _ := db.Store("acme", "root")
	ev, err := s.Audit(ctx, storage.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range ev {
		actions = append(actions, e.Action)
	}
	want := []string{model.AuditSSHKeyRemove, model.AuditSSHKeyAdd, model.AuditTokenRotate, model.AuditAccountCreate}
	if strings.Join(actions, " ") != strings.Join(want, " ") {
		t.Fatalf("audit %v, want %v", actions, want)
	}
	if err := db.Backup(ctx, t.TempDir()+"/x.db"); err == nil || !strings.Contains(err.Error(), "pg_dump") {
		t.Fatalf("backup: %v", err)
	}
}

// Lists page by keyset in every sort, names in byte order whatever the
// database's collation (as SQLite), with usage written as the verifier
// writes it; Usage fills quiet days; Audit obeys its limits.
func TestListUsageAudit(t *testing.T) {
	url := pgtest.Schema(t, t.Name())
	clock := storetest.NewClock(t0)
	db := openURL(t, url, clock)
	st := newAccount(t, db, "acme", 10000, 10000)
	ctx := context.Background()
	names := []string{"b", "B", "a", "Zed-Pipeline", "_x", "a%b", "é", "c", "C", "aa", "Ab", "z"}
	var ids []string
	for i, n := range names {
		k, _, err := st.CreateKey(ctx, model.KeySpec{Name: n, Permissions: model.PermRead, QueryAlloc: 10, MutationAlloc: 10})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, k.ClientID)
		exec(t, url, `UPDATE keys SET query_used = $1 WHERE client_id = $2`, i%4, k.ClientID)
		clock.Add(time.Second)
	}
	if _, err := st.RevokeKey(ctx, "c", false); err != nil {
		t.Fatal(err)
	}
	for _, sort := range []storage.Sort{storage.SortCreated, storage.SortName, storage.SortUsage} {
		for _, revoked := range []bool{false, true} {
			want := len(names) - 1
			if revoked {
				want++
			}
			var all []model.Key
			cursor := ""
			for range 20 {
				p, err := st.ListKeys(ctx, storage.ListOptions{Sort: sort, Limit: 5, Cursor: cursor, IncludeRevoked: revoked})
				if err != nil {
					t.Fatal(err)
				}
				if p.Total != want {
					t.Fatalf("%s: total %d, want %d", sort, p.Total, want)
				}
				all = append(all, p.Keys...)
				if cursor = p.NextCursor; cursor == "" {
					break
				}
			}
			if len(all) != want {
				t.Fatalf("%s revoked=%v: paged %d keys, want %d", sort, revoked, len(all), want)
			}
			seen := map[string]bool{}
			for i, k := range all {
				if seen[k.ClientID] {
					t.Fatalf("%s: %q twice", sort, k.Name)
				}
				seen[k.ClientID] = true
				if i == 0 {
					continue
				}
				a := all[i-1]
				var ok bool
				switch sort {
				case storage.SortCreated:
					ok = !a.CreatedAt.Before(k.CreatedAt)
				case storage.SortName:
					ok = a.Name < k.Name
				case storage.SortUsage:
					ok = a.QueryUsed+a.MutationUsed >= k.QueryUsed+k.MutationUsed
				}
				if !ok {
					t.Fatalf("%s: %q before %q", sort, a.Name, k.Name)
				}
			}
		}
	}
	for q, want := range map[string]int{"pipeLINE": 1, "%": 1, "a_b": 0, "c_": 11, ids[4][5:14]: 1} {
		p, err := st.ListKeys(ctx, storage.ListOptions{Query: q})
		if err != nil || p.Total != want {
			t.Fatalf("query %q: total %d, want %d (%v)", q, p.Total, want, err)
		}
	}
	if p, err := st.ListKeys(ctx, storage.ListOptions{Name: "a"}); err != nil || p.Total != 1 || p.Keys[0].Name != "a" {
		t.Fatalf("exact name: %+v %v", p, err)
	}
	if _, err := st.ListKeys(ctx, storage.ListOptions{Sort: storage.SortName, Cursor: "x"}); !model.IsValidation(err) {
		t.Fatalf("bad cursor: %v", err)
	}

	exec(t, url, `INSERT INTO usage_days (key_id, day, queries, denied_429) SELECT id, $1, 7, 2 FROM keys WHERE client_id = $2`,
		model.Day(clock.Now().AddDate(0, 0, -2)), ids[0])
	days, err := st.Usage(ctx, ids[0], 5)
	if err != nil || len(days) != 5 {
		t.Fatalf("usage: %+v %v", days, err)
	}
	if days[2].Queries != 7 || days[2].Denied429 != 2 || days[4].Day != model.Day(clock.Now()) || days[0].Queries != 0 || days[0].Day == "" {
		t.Fatalf("usage days: %+v", days)
	}
	for _, n := range []int{0, postgres.MaxUsageDays + 1} {
		if _, err := st.Usage(ctx, ids[0], n); !model.IsValidation(err) {
			t.Fatalf("usage of %d days: %v", n, err)
		}
	}
	if ev, err := st.Audit(ctx, storage.AuditFilter{Limit: 3}); err != nil || len(ev) != 3 || ev[0].Action != model.AuditKeyRevoke || ev[0].KeyName != "c" {
		t.Fatalf("audit newest first, limited: %+v %v", ev, err)
	}
	if ev, err := st.Audit(ctx, storage.AuditFilter{Key: "B"}); err != nil || len(ev) != 1 || ev[0].ClientID != ids[1] {
		t.Fatalf("audit of one key: %+v %v", ev, err)
	}
	if _, err := st.Audit(ctx, storage.AuditFilter{Key: "nope"}); !errors.Is(err, model.ErrKeyNotFound) {
		t.Fatalf("audit of an unknown key: %v", err)
	}
}

// ShowURL drops the user info and blanks every secret parameter,
// sslpassword (the client key's passphrase) included, readably.
func TestShowURLHidesSecrets(t *testing.T) {
	for raw, want := range map[string]string{
		"postgres://kd:pw1@db:5432/keydeck?sslmode=require":               "postgres://db:5432/keydeck?sslmode=require",
		"postgres://db/keydeck?user=kd&password=pw2":                      "postgres://db/keydeck?password=…",
		"postgres://db/keydeck?sslkey=k.pem&sslpassword=pw3&PASSWORD=pw4": "postgres://db/keydeck?PASSWORD=…&sslkey=k.pem&sslpassword=…",
		"postgres://kd:pw%zz5@db/keydeck":                                 "postgres://… (does not parse; not shown, as it may hold a password)",
	} {
		if got := postgres.ShowURL(raw); got != want {
			t.Errorf("ShowURL(%q) = %q, want %q", raw, got, want)
		}
	}
}
