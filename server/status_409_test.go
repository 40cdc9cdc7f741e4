package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/keydeck/keydeck/api"
	"github.com/keydeck/keydeck/model"
)

func TestCreateKey409(t *testing.T) {
	e := newEnv(t)
	e.account("acme", 60, 40, 0, model.PeriodMonthly)
	tok := e.tokens["acme"]
	create := func(name string, q, m int64) answer {
		return e.do(req{method: "POST", path: "/v1/keys", token: tok, body: map[string]any{"name": name, "permissions": []string{"read"}, "query_allocation": q, "mutation_allocation": m}})
	}
	wantStatus(t, create("Key A", 20, 10), http.StatusCreated)
	// The doc's example: 40 Query are left, 41 do not fit.
	a := create("Key B", 41, 30)
	wantStatus(t, a, http.StatusConflict, api.TypeAllocationExceeded)
	p := a.problem(t)
	if p.Kind != "query" || p.Available == nil || *p.Available != 40 || p.Requested == nil || *p.Requested != 41 || !strings.Contains(p.Detail, "40") {
		t.Fatalf("allocation problem: %s", a.body)
	}
	a = create("Key B", 40, 31)
	wantStatus(t, a, http.StatusConflict, api.TypeAllocationExceeded)
	if p := a.problem(t); p.Kind != "mutation" || *p.Available != 30 {
		t.Fatalf("allocation problem: %s", a.body)
	}
	a = create(" Key A ", 1, 1)
	wantStatus(t, a, http.StatusConflict, api.TypeDuplicateName)
	p2, _ := e.store("acme").ListKeys(t.Context(), storageListAll())
	if p2.Total != 1 {
		t.Fatalf("refused creates left %d keys", p2.Total)
	}
}

// Routes that change or name a key answer 409 for a revoked key, an
// ambiguous name, an allocation that does not fit, or a release that has
// nothing to free.
func TestKeys409(t *testing.T) {
	e := newEnv(t)
	e.account("acme", 100, 100, 0, model.PeriodMonthly)
	tok := e.tokens["acme"]
	st := e.store("acme")
	active, _ := e.key("acme", "active", model.PermRead, 10, 10)
	gone, _ := e.key("acme", "gone", model.PermRead, 10, 10)
	if _, err := st.RevokeKey(t.Context(), gone.ClientID, false); err != nil {
		t.Fatal(err)
	}
	// Two revoked keys named "twice" and no active one.
	for range 2 {
		k, _ := e.key("acme", "twice", model.PermRead, 1, 1)
		if _, err := st.RevokeKey(t.Context(), k.ClientID, false); err != nil {
			t.Fatal(err)
		}
	}
	type c struct {
		r   req
		typ string
	}
	cases := []c{
		{req{method: "PATCH", path: "/v1/keys/" + gone.ClientID, body: map[string]any{"name": "back"}}, api.TypeKeyRevoked},
		{req{method: "POST", path: "/v1/keys/" + gone.ClientID + "/regenerate"}, api.TypeKeyRevoked},
		{req{method: "POST", path: "/v1/keys/" + gone.ClientID + "/revoke"}, api.TypeKeyRevoked},
		{req{method: "POST", path: "/v1/keys/" + gone.ClientID + "/release"}, api.TypeNothingHeld},
		{req{method: "POST", path: "/v1/keys/" + active.ClientID + "/release"}, api.TypeKeyNotRevoked},
		{req{method: "PATCH", path: "/v1/keys/" + active.ClientID, body: map[string]any{"query_allocation": 500}}, api.TypeAllocationExceeded},
		{req{method: "GET", path: "/v1/keys/twice"}, api.TypeAmbiguous},
		{req{method: "PATCH", path: "/v1/keys/twice", body: map[string]any{"name": "x"}}, api.TypeAmbiguous},
		{req{method: "GET", path: "/v1/keys/twice/usage"}, api.TypeAmbiguous},
		{req{method: "GET", path: "/v1/audit?key=twice"}, api.TypeAmbiguous},
	}
	for _, c := range cases {
		c.r.token = tok
		a := e.do(c.r)
		wantStatus(t, a, http.StatusConflict, c.typ)
		if c.typ == api.TypeAmbiguous {
			if p := a.problem(t); p.Name != "twice" || len(p.Matches) != 2 {
				t.Fatalf("ambiguous problem: %s", a.body)
			}
		}
	}
	// Renaming onto an active name.
	e.key("acme", "other", model.PermRead, 0, 0)
	a := e.do(req{method: "PATCH", path: "/v1/keys/other", token: tok, body: map[string]any{"name": "active"}})
	wantStatus(t, a, http.StatusConflict, api.TypeDuplicateName)
	if got, _ := st.GetKey(t.Context(), active.ClientID); got.QueryAlloc != 10 || got.Status != model.StatusActive {
		t.Fatalf("a refused edit changed the key: %+v", got)
	}
}
