package server

import (
	"context"
	"database/sql"
	"net/http"
	"testing"

	"github.com/keydeck/keydeck/api"
	"github.com/keydeck/keydeck/model"
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
