package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/keydeck/keydeck/api"
	"github.com/keydeck/keydeck/model"
)

func TestVerify422(t *testing.T) {
	e := newEnv(t)
	k, secret := e.key("default", "k", model.PermRead, 5, 5)
	for _, c := range []struct {
		body  map[string]any
		field string
	}{
		{verifyBody(k.ClientID, secret, "fly", 0), "operation"},
		{verifyBody(k.ClientID, secret, "", 0), "operation"},
		{verifyBody(k.ClientID, secret, "read", -1), "credits"},
		{verifyBody(k.ClientID, secret, "read", model.MaxQuota+1), "credits"},
	} {
		a := e.do(req{method: "POST", path: "/v1/verify", body: c.body})
		wantStatus(t, a, http.StatusUnprocessableEntity, api.TypeValidation)
		if p := a.problem(t); p.Field != c.field {
			t.Fatalf("field %q, want %q: %s", p.Field, c.field, a.body)
		}
	}
	if got, _ := e.store("default").GetKey(t.Context(), k.ClientID); got.QueryUsed != 0 {
		t.Fatalf("a 422 consumed a unit")
	}
}

func TestKeys422(t *testing.T) {
	e := newEnv(t)
	tok := e.token("default")
	k, _ := e.key("default", "k", model.PermRead, 5, 5)
	spec := func(name string, perms []string, q, m int64) map[string]any {
		return map[string]any{"name": name, "permissions": perms, "query_allocation": q, "mutation_allocation": m}
	}
	cases := []struct {
		r     req
		field string
	}{
		{req{method: "POST", path: "/v1/keys", body: spec("", []string{"read"}, 1, 1)}, "name"},
		{req{method: "POST", path: "/v1/keys", body: spec("   ", []string{"read"}, 1, 1)}, "name"},
		{req{method: "POST", path: "/v1/keys", body: spec(strings.Repeat("x", 65), []string{"read"}, 1, 1)}, "name"},
		{req{method: "POST", path: "/v1/keys", body: spec("tab\there", []string{"read"}, 1, 1)}, "name"},
		{req{method: "POST", path: "/v1/keys", body: spec("ok", []string{}, 1, 1)}, "permissions"},
		{req{method: "POST", path: "/v1/keys", body: spec("ok", []string{"admin"}, 1, 1)}, "permissions"},
		{req{method: "POST", path: "/v1/keys", body: spec("ok", []string{"read,write"}, 1, 1)}, "permissions"},
		{req{method: "POST", path: "/v1/keys", body: spec("ok", []string{"read"}, -1, 1)}, "query_allocation"},
		{req{method: "POST", path: "/v1/keys", body: spec("ok", []string{"read"}, 1, model.MaxQuota+1)}, "mutation_allocation"},
		{req{method: "PATCH", path: "/v1/keys/" + k.ClientID, body: map[string]any{}}, ""},
		{req{method: "PATCH", path: "/v1/keys/" + k.ClientID, body: map[string]any{"permissions": []string{}}}, "permissions"},
		{req{method: "PATCH", path: "/v1/keys/" + k.ClientID, body: map[string]any{"name": "bell\a"}}, "name"},
		{req{method: "GET", path: "/v1/keys?cursor=garbage!"}, ""},
		{req{method: "GET", path: "/v1/keys?sort=sideways"}, "sort"},
		{req{method: "GET", path: "/v1/keys?limit=ten"}, "limit"},
		{req{method: "GET", path: "/v1/keys?limit=0"}, "limit"},
		{req{method: "GET", path: "/v1/keys?limit=-5"}, "limit"},
		{req{method: "GET", path: "/v1/audit?limit=0"}, "limit"},
		{req{method: "GET", path: "/v1/keys?include_revoked=perhaps"}, "include_revoked"},
		{req{method: "GET", path: "/v1/keys/" + k.ClientID + "/usage?days=0"}, ""},
		{req{method: "GET", path: "/v1/keys/" + k.ClientID + "/usage?days=367"}, ""},
		{req{method: "GET", path: "/v1/keys/" + k.ClientID + "/usage?days=x"}, "days"},
		{req{method: "GET", path: "/v1/audit?limit=many"}, "limit"},
	}
	for _, c := range cases {
		c.r.token = tok
		a := e.do(c.r)
		wantStatus(t, a, http.StatusUnprocessableEntity, api.TypeValidation)
		if p := a.problem(t); c.field != "" && p.Field != c.field {
			t.Fatalf("%s %s: field %q, want %q", c.r.method, c.r.path, p.Field, c.field)
		}
	}
	p, _ := e.store("default").ListKeys(t.Context(), storageListAll())
	if p.Total != 1 || p.Keys[0].Name != "k" || p.Keys[0].Permissions != model.PermRead {
		t.Fatalf("422s changed the data: %+v", p.Keys)
	}
}
