package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/keydeck/keydeck/api"
	"github.com/keydeck/keydeck/model"
)

// Every endpoint that takes a body refuses one not declared JSON, before
// reading it: a form post, text, another charset, no Content-Type at all.
func TestNotJSON415(t *testing.T) {
	e := newEnv(t)
	tok := e.token("default")
	k, secret := e.key("default", "k", model.PermRead, 5, 5)
	verify := `{"client_id":"` + k.ClientID + `","client_secret":"` + secret + `","operation":"read"}`
	paths := []struct{ method, path, body string }{
		{"POST", "/v1/verify", verify},
		{"POST", "/v1/keys", `{"name":"n","permissions":["read"]}`},
		{"PATCH", "/v1/keys/" + k.ClientID, `{"name":"n"}`},
		{"POST", "/v1/keys/" + k.ClientID + "/regenerate", `{}`},
		{"POST", "/v1/keys/" + k.ClientID + "/revoke", `{}`},
		{"POST", "/v1/keys/" + k.ClientID + "/release", `{}`},
	}
	types := []struct{ ct, want string }{
		{omitHeader, "no Content-Type"},
		{"application/x-www-form-urlencoded", "application/x-www-form-urlencoded, not JSON"},
		{"multipart/form-data; boundary=x", "multipart/form-data, not JSON"},
		{"text/plain", "text/plain, not JSON"},
		{"text/json", "text/json, not JSON"},
		{"application/jsonx", "not JSON"},
		{"application/json; charset=latin1", "charset latin1"},
		{"application/json;;", "cannot be parsed"},
		{"", "cannot be parsed"},
	}
	for _, p := range paths {
		for _, c := range types {
			a := e.do(req{method: p.method, path: p.path, token: tok, body: p.body, header: map[string]string{"Content-Type": c.ct}})
			wantStatus(t, a, http.StatusUnsupportedMediaType, api.TypeUnsupportedMedia)
			if d := a.problem(t).Detail; !strings.Contains(d, c.want) {
				t.Errorf("%s %s with %q: detail %q, want %q", p.method, p.path, c.ct, d, c.want)
			}
			accept := a.header.Get("Accept-Post") + a.header.Get("Accept-Patch")
			if accept != "application/json" {
				t.Errorf("%s %s: Accept-Post/Patch %q", p.method, p.path, accept)
			}
		}
	}
	got, err := e.store("default").GetKey(t.Context(), k.ClientID)
	if err != nil || got.Name != "k" || got.Status != model.StatusActive || got.SecretHint != k.SecretHint {
		t.Fatalf("refused requests changed the key: %+v %v", got, err)
	}
	if n := e.admin.verifies.Load(); n != 0 {
		t.Fatalf("refused verifications reached the store %d times", n)
	}
	keys, err := e.store("default").ListKeys(t.Context(), storageListAll())
	if err != nil || len(keys.Keys) != 1 {
		t.Fatalf("refused creates made keys: %d %v", len(keys.Keys), err)
	}
}

// JSON with parameters, in any case, or a +json type is taken; an empty
// body needs no Content-Type.
func TestJSONContentTypes(t *testing.T) {
	e := newEnv(t)
	tok := e.token("default")
	k, secret := e.key("default", "k", model.PermRead, 50, 50)
	verify := `{"client_id":"` + k.ClientID + `","client_secret":"` + secret + `","operation":"read"}`
	for _, ct := range []string{"application/json", "application/json; charset=utf-8", "Application/JSON;Charset=UTF-8", "application/vnd.keydeck+json", `application/json; profile="x"`} {
		a := e.do(req{method: "POST", path: "/v1/verify", body: verify, header: map[string]string{"Content-Type": ct}})
		wantStatus(t, a, http.StatusOK)
	}
	a := e.do(req{method: "PATCH", path: "/v1/keys/" + k.ClientID, token: tok, body: `{"name":"k2"}`, header: map[string]string{"Content-Type": "application/merge-patch+json"}})
	wantStatus(t, a, http.StatusOK)
	a = e.do(req{method: "POST", path: "/v1/keys", token: tok, body: `{"name":"n","permissions":["read"]}`, header: map[string]string{"Content-Type": "application/json; charset=utf-8"}})
	wantStatus(t, a, http.StatusCreated)
	for _, p := range []string{"/regenerate", "/revoke", "/release"} {
		a := e.do(req{method: "POST", path: "/v1/keys/" + k.ClientID + p, token: tok})
		if a.status >= 400 && a.status != http.StatusConflict { // release: nothing held
			t.Fatalf("POST %s without a body or a Content-Type: %d %s", p, a.status, a.body)
		}
	}
}
