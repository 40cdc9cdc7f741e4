package server

import (
	"net/http"
	"testing"

	"github.com/keydeck/keydeck/api"
	"github.com/keydeck/keydeck/model"
)

// Every route that names a key answers 404 for an ID that is not one of
// the account's keys, and changes nothing.
func TestUnknownKey404(t *testing.T) {
	e := newEnv(t)
	tok := e.token("default")
	real, _ := e.key("default", "real", model.PermRead, 1, 1)
	for _, id := range []string{"nope", model.NewClientID(), "kdc_", "real%20", "..%2F..%2Fetc"} {
		for _, rt := range Routes() {
			if !rt.Auth || rt.OperationID == "createKey" || rt.OperationID == "listKeys" || rt.OperationID == "getAccount" {
				continue
			}
			r := sample(rt, id)
			if rt.OperationID == "listAudit" {
				r.path = "/v1/audit?key=" + id
			}
			r.token = tok
			a := e.do(r)
			wantStatus(t, a, http.StatusNotFound, api.TypeNotFound)
			if p := a.problem(t); p.Resource != "key" || p.Detail == "" {
				t.Fatalf("%s %s: problem %s", r.method, r.path, a.body)
			}
		}
	}
	got, err := e.store("default").GetKey(t.Context(), real.ClientID)
	if err != nil || got.Name != "real" || got.Status != model.StatusActive {
		t.Fatalf("404s changed the data: %+v %v", got, err)
	}
}

// A path that is no endpoint is a problem too.
func TestNoSuchEndpoint404(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/", "/v1", "/v1/keys/", "/v2/verify", "/v1/keys/x/y/z"} {
		a := e.do(req{method: "GET", path: p, token: e.token("default")})
		wantStatus(t, a, http.StatusNotFound, api.TypeNoSuchEndpoint)
	}
}
