package server

import (
	"net/http"
	"testing"

	"github.com/keydeck/keydeck/api"
	"github.com/keydeck/keydeck/model"
)

func TestVerify403(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		perm model.Permission
		op   string
		kind string
	}{
		{model.PermWrite | model.PermDelete, "read", "query"},
		{model.PermRead, "write", "mutation"},
		{model.PermRead | model.PermWrite, "delete", "mutation"},
	} {
		k, secret := e.key("default", "no-"+c.op, c.perm, 5, 5)
		a := e.do(req{method: "POST", path: "/v1/verify", body: verifyBody(k.ClientID, secret, c.op, 0)})
		wantStatus(t, a, http.StatusForbidden, api.TypeForbidden)
		p := a.problem(t)
		if p.Title != "Forbidden (You are not authorized)" || p.ClientID != k.ClientID || p.Kind != c.kind {
			t.Fatalf("403 problem: %s", a.body)
		}
		if a.header.Get("RateLimit-Policy") == "" || a.header.Get("Retry-After") != "" {
			t.Fatalf("403 headers: %v", a.header)
		}
		got, _ := e.store("default").GetKey(t.Context(), k.ClientID)
		if got.QueryUsed != 0 || got.MutationUsed != 0 {
			t.Fatalf("a 403 consumed: %+v", got)
		}
	}
	// The permission is checked before the quota: a key with no quota left
	// and no permission is a 403, not a 429.
	k, secret := e.key("default", "empty", model.PermRead, 0, 0)
	wantStatus(t, e.do(req{method: "POST", path: "/v1/verify", body: verifyBody(k.ClientID, secret, "delete", 0)}), http.StatusForbidden, api.TypeForbidden)
}
