package server

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keydeck/keydeck/api"
	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
)

// Another process holding the database's write lock longer than the busy
// timeout makes writes answer 503 database-locked; reads go on (WAL).
func TestDatabaseLocked503(t *testing.T) {
	e := newEnv(t)
	tok := e.token("default")
	k, secret := e.key("default", "k", model.PermRead, 5, 5)
	other, err := sql.Open("sqlite3", "file:"+e.path+"?_busy_timeout=100")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	for _, r := range []req{
		{method: "POST", path: "/v1/verify", body: verifyBody(k.ClientID, secret, "read", 0)},
		{method: "POST", path: "/v1/keys", body: map[string]any{"name": "new", "permissions": []string{"read"}}},
		{method: "PATCH", path: "/v1/keys/" + k.ClientID, body: map[string]any{"name": "renamed"}},
		{method: "POST", path: "/v1/keys/" + k.ClientID + "/regenerate"},
		{method: "POST", path: "/v1/keys/" + k.ClientID + "/revoke"},
		{method: "POST", path: "/v1/keys/" + k.ClientID + "/release"},
	} {
		r.token = tok
		a := e.do(r)
		wantStatus(t, a, http.StatusServiceUnavailable, api.TypeDatabaseLocked)
		if a.header.Get("Retry-After") == "" {
			t.Errorf("%s %s: 503 database-locked without Retry-After", r.method, r.path)
		}
	}
	wantStatus(t, e.do(req{method: "GET", path: "/healthz"}), http.StatusOK)
	if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	// The lock gone, the same verification is allowed: nothing was lost
	// or half-done.
	wantStatus(t, e.do(req{method: "POST", path: "/v1/verify", body: verifyBody(k.ClientID, secret, "read", 0)}), http.StatusOK)
	if got, _ := e.store("default").GetKey(t.Context(), k.ClientID); got.QueryUsed != 1 || got.Name != "k" {
		t.Fatalf("after the lock: %+v", got)
	}
}

// A database that no longer answers makes /healthz 503 and verifications
// 503, never 200.
func TestClosedDatabase503(t *testing.T) {
	e := newEnv(t)
	k, secret := e.key("default", "k", model.PermRead, 5, 5)
	e.db.Close()
	wantStatus(t, e.do(req{method: "GET", path: "/healthz"}), http.StatusServiceUnavailable, api.TypeUnavailable)
	wantStatus(t, e.do(req{method: "POST", path: "/v1/verify", body: verifyBody(k.ClientID, secret, "read", 0)}), http.StatusServiceUnavailable)
}

// downAdmin is a database server (PostgreSQL) that can go away and come
// back: while down, every call fails as a lost connection does.
type downAdmin struct {
	storage.Admin
	down  atomic.Bool
	hang  atomic.Bool // no answer at all until the context ends
	pings atomic.Int64
}

func (d *downAdmin) err() error {
	if d.down.Load() {
		return fmt.Errorf("verify: %w", &storage.DatabaseDownError{Addr: "db.internal:5432", Cause: "connection refused"})
	}
	return nil
}

func (d *downAdmin) Verify(ctx context.Context, req model.VerifyRequest) (model.VerifyResult, error) {
	if d.hang.Load() {
		<-ctx.Done()
		return model.VerifyResult{}, ctx.Err()
	}
	if err := d.err(); err != nil {
		return model.VerifyResult{}, err
	}
	return d.Admin.Verify(ctx, req)
}

func (d *downAdmin) AuthenticateToken(ctx context.Context, token string) (model.Account, error) {
	if d.hang.Load() {
		<-ctx.Done()
		return model.Account{}, ctx.Err()
	}
	if err := d.err(); err != nil {
		return model.Account{}, err
	}
	return d.Admin.AuthenticateToken(ctx, token)
}

func (d *downAdmin) Ping(context.Context) error {
	d.pings.Add(1)
	return d.err()
}

func (d *downAdmin) PoolStats() PoolStats {
	return PoolStats{Acquired: 2, Idle: 3, Total: 5, Max: 16, AcquireCount: 40, AcquireDuration: 1500 * time.Millisecond, EmptyAcquireCount: 7, NewConns: 5}
}

// withDownAdmin serves e's database through a downAdmin, the gateway
// in front of target.
func withDownAdmin(t *testing.T, e *env, target string, storeTimeout time.Duration) *downAdmin {
	t.Helper()
	d := &downAdmin{Admin: e.admin}
	u, _ := url.Parse(target)
	srv, err := New(Config{Admin: d, Clock: e.clock.Now, Upstream: u, StoreTimeout: storeTimeout, Logger: slog.New(slog.NewTextHandler(e.logBuf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	e.srv, e.ts, e.gw = srv, httptest.NewServer(srv.Handler()), httptest.NewServer(srv.GatewayHandler())
	t.Cleanup(e.ts.Close)
	t.Cleanup(e.gw.Close)
	return d
}

// A database server that cannot be reached makes verifications, gateway
// requests and management calls 503 unavailable with Retry-After, never
// an allow and never a 500; /healthz says so; once it is back, all is as
// before.
func TestDatabaseDown503(t *testing.T) {
	up := newUpstream(t)
	e := newEnv(t)
	tok := e.token("default")
	k, secret := e.key("default", "k", model.PermRead, 5, 5)
	d := withDownAdmin(t, e, up.URL, 0)

	wantStatus(t, e.do(req{method: "GET", path: "/healthz"}), http.StatusOK)
	d.down.Store(true)
	a := e.do(req{method: "GET", path: "/healthz"})
	wantStatus(t, a, http.StatusServiceUnavailable, api.TypeUnavailable)
	if p := a.problem(t); !strings.Contains(p.Detail, "cannot be reached") || d.pings.Load() != 2 {
		t.Fatalf("healthz while down: %s (pings %d)", a.body, d.pings.Load())
	}
	for _, r := range []req{
		{method: "POST", path: "/v1/verify", body: verifyBody(k.ClientID, secret, "read", 0)},
		{method: "GET", path: "/v1/account", token: tok},
		{method: "GET", path: "/v1/keys", token: tok},
		{method: "GET", path: "/v1/keys/" + k.ClientID, token: tok},
		{method: "GET", path: "/v1/keys/" + k.ClientID + "/usage", token: tok},
		{method: "GET", path: "/v1/audit", token: tok},
		{method: "POST", path: "/v1/keys", token: tok, body: map[string]any{"name": "new", "permissions": []string{"read"}}},
		{method: "POST", path: "/v1/keys/" + k.ClientID + "/revoke", token: tok},
	} {
		a := e.do(r)
		wantStatus(t, a, http.StatusServiceUnavailable, api.TypeUnavailable)
		p := a.problem(t)
		if a.header.Get("Retry-After") != "1" || p.Detail != api.DatabaseUnreachable {
			t.Errorf("%s %s: Retry-After %q, detail %q", r.method, r.path, a.header.Get("Retry-After"), p.Detail)
		}
		if strings.Contains(string(a.body), "db.internal") {
			t.Errorf("%s %s: the answer names the database host: %s", r.method, r.path, a.body)
		}
	}
	g := e.gateway(req{method: "GET", path: "/files/1", header: basic(k.ClientID, secret)})
	if g.status != http.StatusServiceUnavailable || g.header.Get("Retry-After") != "1" {
		t.Fatalf("gateway while down: %d %s", g.status, g.body)
	}
	if n := len(up.requests()); n != 0 {
		t.Fatalf("%d requests reached the upstream while the database was down", n)
	}
	// One log line, not one per failed request.
	if n := strings.Count(e.logBuf.String(), "database unreachable"); n != 1 {
		t.Errorf("%d \"database unreachable\" log lines, want 1:\n%s", n, e.logBuf.String())
	}

	d.down.Store(false)
	wantStatus(t, e.do(req{method: "GET", path: "/healthz"}), http.StatusOK)
	wantStatus(t, e.do(req{method: "POST", path: "/v1/verify", body: verifyBody(k.ClientID, secret, "read", 0)}), http.StatusOK)
	if got, _ := e.store("default").GetKey(t.Context(), k.ClientID); got.QueryUsed != 1 {
		t.Fatalf("after the outage the key used %d, want 1", got.QueryUsed)
	}
}

// /metrics shows a pooled database's connections.
func TestDatabasePoolMetrics(t *testing.T) {
	e := newEnv(t)
	withDownAdmin(t, e, "http://127.0.0.1:1", 0)
	a := e.do(req{method: "GET", path: "/metrics"})
	wantStatus(t, a, http.StatusOK)
	for _, want := range []string{
		"keydeck_db_pool_acquired_connections 2",
		"keydeck_db_pool_idle_connections 3",
		"keydeck_db_pool_total_connections 5",
		"keydeck_db_pool_max_connections 16",
		"keydeck_db_pool_acquires_total 40",
		"keydeck_db_pool_acquire_duration_seconds_total 1.5",
		"keydeck_db_pool_empty_acquires_total 7",
	} {
		if !strings.Contains(string(a.body), want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// A database that stops answering altogether (a network that drops
// packets) holds no request past Config.StoreTimeout: verifications,
// gateway requests and management calls answer 503 with Retry-After.
func TestDatabaseHangs503(t *testing.T) {
	up := newUpstream(t)
	e := newEnv(t)
	tok := e.token("default")
	k, secret := e.key("default", "k", model.PermRead, 5, 5)
	d := withDownAdmin(t, e, up.URL, 100*time.Millisecond)
	d.hang.Store(true)
	for _, r := range []req{
		{method: "POST", path: "/v1/verify", body: verifyBody(k.ClientID, secret, "read", 0)},
		{method: "GET", path: "/v1/keys", token: tok},
	} {
		began := time.Now()
		a := e.do(r)
		wantStatus(t, a, http.StatusServiceUnavailable, api.TypeUnavailable)
		if took := time.Since(began); took > 5*time.Second || a.header.Get("Retry-After") != "1" {
			t.Errorf("%s %s: took %v, Retry-After %q", r.method, r.path, took, a.header.Get("Retry-After"))
		}
	}
	g := e.gateway(req{method: "GET", path: "/files/1", header: basic(k.ClientID, secret)})
	if g.status != http.StatusServiceUnavailable || g.header.Get("Retry-After") != "1" || len(up.requests()) != 0 {
		t.Fatalf("gateway while the database hangs: %d %s", g.status, g.body)
	}
	d.hang.Store(false)
	wantStatus(t, e.do(req{method: "POST", path: "/v1/verify", body: verifyBody(k.ClientID, secret, "read", 0)}), http.StatusOK)
}
