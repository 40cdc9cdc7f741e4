package postgres

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
	"github.com/keydeck/keydeck/storage/postgres/pgtest"
)

// rawKey inserts a key straight into the table (the management half has
// its own tests) and returns its Client ID and secret.
func rawKey(t testing.TB, db *DB, account string, perm model.Permission, q, m int64) (string, string) {
	t.Helper()
	secret, id := model.NewSecret(), model.NewClientID()
	d := model.DigestOf(secret)
	now := db.now()
	_, err := db.pool.Exec(context.Background(), `INSERT INTO keys (account_id, name, client_id, secret_digest, secret_hint,
		secret_rotated_at, permissions, query_alloc, mutation_alloc, period_start, created_at)
		SELECT id, $2, $2, $3, 'x', $4, $5, $6, $7, $8, $4 FROM accounts WHERE name = $1`,
		account, id, d[:], now.UnixMilli(), perm, q, m, model.PeriodMonthly.Start(now).Unix())
	if err != nil {
		t.Fatal(err)
	}
	return id, secret
}

func openNodes(t testing.TB, n int, opt Options) []*DB {
	t.Helper()
	url := pgtest.Schema(t, t.Name())
	var dbs []*DB
	for range n {
		db, err := Open(context.Background(), url, opt)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs = append(dbs, db)
	}
	return dbs
}

// TestVerifyExactAcrossNodes: three processes' worth of pools and writers
// on one hot key allow exactly its allocation, and the credits exactly the
// balance, with every allowed unit in the row and the day's usage.
func TestVerifyExactAcrossNodes(t *testing.T) {
	nodes := openNodes(t, 3, Options{FlushInterval: 20 * time.Millisecond})
	ctx := context.Background()
	if _, err := nodes[0].pool.Exec(ctx, `UPDATE accounts SET credits = 150`); err != nil {
		t.Fatal(err)
	}
	hot, secret := rawKey(t, nodes[0], "default", model.PermRead|model.PermWrite, 200, 200)
	var allowed, credits, quota, denied atomic.Int64
	var wg sync.WaitGroup
	for i := range 24 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db := nodes[i%3]
			for n := range 30 {
				op, c := model.OpRead, int64(0)
				if n%2 == 0 {
					op, c = model.OpWrite, 1
				}
				r, err := db.Verify(ctx, model.VerifyRequest{ClientID: hot, ClientSecret: secret, Operation: op, Credits: c})
				if err != nil {
					t.Error(err)
					return
				}
				switch r.Verdict {
				case model.Allowed:
					allowed.Add(1)
					credits.Add(c)
				case model.DeniedQuota:
					quota.Add(1)
				default:
					denied.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	var q, m, c, uq, um, uc, balance int64
	if err := nodes[1].pool.QueryRow(ctx, `SELECT query_used, mutation_used, credits_used,
		(SELECT sum(queries) FROM usage_days), (SELECT sum(mutations) FROM usage_days), (SELECT sum(credits) FROM usage_days),
		(SELECT credits FROM accounts WHERE name = 'default') FROM keys WHERE client_id = $1`, hot).Scan(&q, &m, &c, &uq, &um, &uc, &balance); err != nil {
		t.Fatal(err)
	}
	// 360 reads and 360 writes: reads stop at 200, writes at 150 credits.
	if q != 200 || m != 150 || c != 150 || balance != 0 {
		t.Fatalf("row: queries %d mutations %d credits %d balance %d; want 200 150 150 0", q, m, c, balance)
	}
	if uq != q || um != m || uc != c {
		t.Fatalf("usage_days %d %d %d, row %d %d %d", uq, um, uc, q, m, c)
	}
	if allowed.Load() != q+m || credits.Load() != c {
		t.Fatalf("answered allowed %d (credits %d), recorded %d (%d)", allowed.Load(), credits.Load(), q+m, c)
	}
	if quota.Load() != 160 || denied.Load() != 210 {
		t.Fatalf("429s %d, other denials %d; want 160, 210 (402s)", quota.Load(), denied.Load())
	}
}

// TestVerifySeesOtherNodesChanges: a revoke or a new secret committed
// elsewhere is obeyed by the very next verification of another node.
func TestVerifySeesOtherNodesChanges(t *testing.T) {
	nodes := openNodes(t, 2, Options{})
	ctx := context.Background()
	id, secret := rawKey(t, nodes[0], "default", model.PermRead, 10, 0)
	req := model.VerifyRequest{ClientID: id, ClientSecret: secret, Operation: model.OpRead}
	for _, db := range nodes {
		if r, err := db.Verify(ctx, req); err != nil || r.Verdict != model.Allowed {
			t.Fatalf("before: %v %v", r.Verdict, err)
		}
	}
	if _, err := nodes[0].pool.Exec(ctx, `UPDATE keys SET permissions = 2 WHERE client_id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if r, _ := nodes[1].Verify(ctx, req); r.Verdict != model.DeniedForbidden {
		t.Fatalf("after the permission change: %v", r.Verdict)
	}
	if _, err := nodes[0].pool.Exec(ctx, `UPDATE keys SET status = 'revoked' WHERE client_id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if r, _ := nodes[1].Verify(ctx, req); r.Verdict != model.DeniedUnauthorized {
		t.Fatalf("after the revoke: %v", r.Verdict)
	}
}

// TestVerifyPeriodRollsOver: units of last month do not count in this one.
func TestVerifyPeriodRollsOver(t *testing.T) {
	now := time.Date(2026, 11, 30, 23, 59, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	db := openNodes(t, 1, Options{Clock: func() time.Time { return clock() }})[0]
	ctx := context.Background()
	id, secret := rawKey(t, db, "default", model.PermRead, 2, 0)
	req := model.VerifyRequest{ClientID: id, ClientSecret: secret, Operation: model.OpRead}
	for _, want := range []model.Verdict{model.Allowed, model.Allowed, model.DeniedQuota} {
		if r, _ := db.Verify(ctx, req); r.Verdict != want {
			t.Fatalf("November: %v, want %v", r.Verdict, want)
		}
	}
	now = now.Add(2 * time.Minute)
	r, err := db.Verify(ctx, req)
	if err != nil || r.Verdict != model.Allowed || r.Remaining != 1 {
		t.Fatalf("December: %+v %v", r, err)
	}
}

// TestVerifyDatabaseDown: with the server gone, verifications fail with
// ErrUnavailable within the batch timeout (never an allow, never a hang),
// denials are kept for later, and all works again once it is back, with
// no unit lost or counted twice.
func TestVerifyDatabaseDown(t *testing.T) {
	proxy, url := pgtest.NewProxy(t, pgtest.Schema(t, t.Name()))
	db, err := Open(context.Background(), url, Options{FlushInterval: 20 * time.Millisecond, ConnectTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	id, secret := rawKey(t, db, "default", model.PermRead, 100, 0)
	req := model.VerifyRequest{ClientID: id, ClientSecret: secret, Operation: model.OpRead}
	if r, err := db.Verify(ctx, req); err != nil || r.Verdict != model.Allowed {
		t.Fatalf("before: %v %v", r.Verdict, err)
	}
	proxy.Cut()
	for i := range 5 {
		start := time.Now()
		r, err := db.Verify(ctx, req)
		if !errors.Is(err, storage.ErrUnavailable) {
			t.Fatalf("request %d while down: %+v, %v; want ErrUnavailable", i, r, err)
		}
		if d := time.Since(start); d > batchTimeout+time.Second {
			t.Fatalf("request %d while down took %v", i, d)
		}
		if strings.Contains(err.Error(), "postgres://") {
			t.Fatalf("the error quotes the URL: %v", err)
		}
	}
	proxy.Restore()
	allowed := 1
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, err := db.Verify(ctx, req)
		if err == nil && r.Verdict == model.Allowed {
			allowed++
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovery: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var used int64
	if err := db.pool.QueryRow(ctx, `SELECT query_used FROM keys WHERE client_id = $1`, id).Scan(&used); err != nil {
		t.Fatal(err)
	}
	if used != int64(allowed) {
		t.Fatalf("%d allowed, %d recorded", allowed, used)
	}
}

// TestVerifyHotKeyNoCredits: three nodes on one hot key, reads only (the
// accounts are not locked): the allocation holds exactly, every allowed
// answer recorded in the row and the day's usage.
func TestVerifyHotKeyNoCredits(t *testing.T) {
	nodes := openNodes(t, 3, Options{FlushInterval: 20 * time.Millisecond})
	ctx := context.Background()
	hot, secret := rawKey(t, nodes[0], "default", model.PermRead, 500, 0)
	var allowed, quota atomic.Int64
	var wg sync.WaitGroup
	for i := range 24 {
		wg.Go(func() {
			for range 40 {
				r, err := nodes[i%3].Verify(ctx, model.VerifyRequest{ClientID: hot, ClientSecret: secret, Operation: model.OpRead})
				if err != nil {
					t.Error(err)
					return
				}
				switch r.Verdict {
				case model.Allowed:
					allowed.Add(1)
				case model.DeniedQuota:
					quota.Add(1)
				default:
					t.Errorf("verdict %v", r.Verdict)
				}
			}
		})
	}
	wg.Wait()
	var used, day int64
	if err := nodes[2].pool.QueryRow(ctx, `SELECT query_used, (SELECT sum(queries) FROM usage_days) FROM keys WHERE client_id = $1`, hot).Scan(&used, &day); err != nil {
		t.Fatal(err)
	}
	if allowed.Load() != 500 || used != 500 || day != 500 || quota.Load() != 960-500 {
		t.Fatalf("allowed %d, recorded %d (day %d), 429s %d; want 500, 500, 500, 460", allowed.Load(), used, day, quota.Load())
	}
}
