package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/keydeck/keydeck/api"
	"github.com/keydeck/keydeck/model"
)

// Every endpoint with a body answers 400 for one that is not the JSON it
// takes, in one line, and changes nothing.
func TestBadBodies400(t *testing.T) {
	e := newEnv(t)
	tok := e.token("default")
	k, secret := e.key("default", "k", model.PermRead, 5, 5)
	paths := []struct{ method, path string }{
		{"POST", "/v1/verify"},
		{"POST", "/v1/keys"},
		{"PATCH", "/v1/keys/" + k.ClientID},
		{"POST", "/v1/keys/" + k.ClientID + "/regenerate"},
		{"POST", "/v1/keys/" + k.ClientID + "/revoke"},
		{"POST", "/v1/keys/" + k.ClientID + "/release"},
	}
	bodies := []struct{ body, want string }{
		{`{"name": `, "ends too early"},
		{`{"name": "x",}`, "not valid JSON"},
		{`[1, 2]`, "must be a JSON object"},
		{`{"client_secret": 5, "name": 5, "keep_allocation": "yes"}`, "must be|unknown field"},
		{`{"nonsense_field": 1}`, "unknown field"},
		{`{} {}`, "more than one JSON value"},
		{`"` + secret + `"`, "must be a JSON object"},
	}
	for _, p := range paths {
		for _, b := range bodies {
			a := e.do(req{method: p.method, path: p.path, token: tok, body: b.body})
			wantStatus(t, a, http.StatusBadRequest, api.TypeBadRequest)
			if d := a.problem(t).Detail; !containsAny(d, strings.Split(b.want, "|")) || strings.Contains(d, "\n") {
				t.Errorf("%s %s with %q: detail %q, want it to say %q", p.method, p.path, b.body, d, b.want)
			}
		}
	}
	// Creates and verifies need a body at all.
	for _, p := range paths[:3] {
		a := e.do(req{method: p.method, path: p.path, token: tok})
		wantStatus(t, a, http.StatusBadRequest, api.TypeBadRequest)
	}
	// Nothing changed: the key is as it was, its secret still works, and
	// no verification was consumed.
	got, err := e.store("default").GetKey(t.Context(), k.ClientID)
	if err != nil || got.Name != "k" || got.Status != model.StatusActive || got.QueryUsed != 0 || got.SecretHint != k.SecretHint {
		t.Fatalf("bad bodies changed the key: %+v %v", got, err)
	}
	if n := e.admin.verifies.Load(); n != 0 {
		t.Fatalf("bad verify bodies reached the store %d times", n)
	}
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// A fraction or an overflowing number where a whole number belongs says so.
func TestWholeNumbers400(t *testing.T) {
	e := newEnv(t)
	k, secret := e.key("default", "k", model.PermRead|model.PermWrite, 5, 5)
	for _, credits := range []string{"1.5", "99999999999999999999"} {
		body := `{"client_id":"` + k.ClientID + `","client_secret":"` + secret + `","operation":"write","credits":` + credits + `}`
		a := e.do(req{method: "POST", path: "/v1/verify", body: body})
		wantStatus(t, a, http.StatusBadRequest, api.TypeBadRequest)
		if d := a.problem(t).Detail; !strings.Contains(d, `field "credits" must be a whole number`) {
			t.Fatalf("credits %s: detail %q", credits, d)
		}
	}
}

// A member given twice, or named in another case, is refused with its
// name on every endpoint with a body: encoding/json would take the last
// one, or match the name ignoring case.
func TestRepeatedAndCaseVariantMembers400(t *testing.T) {
	e := newEnv(t)
	tok := e.token("default")
	k, secret := e.key("default", "k", model.PermRead|model.PermWrite, 5, 5)
	id := k.ClientID
	cases := []struct {
		method, path, body, field string
	}{
		{"POST", "/v1/verify", `{"client_id":"` + id + `","client_secret":"` + secret + `","operation":"write","operation":"read"}`, "operation"},
		{"POST", "/v1/verify", `{"client_id":"` + id + `","client_secret":"` + secret + `","Operation":"read"}`, "Operation"},
		{"POST", "/v1/verify", `{"client_id":"` + id + `","client_secret":"` + secret + `","operation":"read","CREDITS":1}`, "CREDITS"},
		{"POST", "/v1/verify", `{"client_id":"` + id + `","client_secret":"` + secret + `","operation":"read","op\u0065ration":"write"}`, "operation"},
		{"POST", "/v1/keys", `{"name":"a","name":"b","permissions":["read"]}`, "name"},
		{"POST", "/v1/keys", `{"Name":"a","permissions":["read"]}`, "Name"},
		{"PATCH", "/v1/keys/" + id, `{"name":"a","name":"b"}`, "name"},
		{"PATCH", "/v1/keys/" + id, `{"Query_Allocation":1}`, "Query_Allocation"},
		{"POST", "/v1/keys/" + id + "/revoke", `{"keep_allocation":false,"keep_allocation":true}`, "keep_allocation"},
		{"POST", "/v1/keys/" + id + "/revoke", `{"Keep_Allocation":true}`, "Keep_Allocation"},
		{"POST", "/v1/keys/" + id + "/regenerate", `{"x":1,"x":1}`, "x"},
		{"POST", "/v1/keys/" + id + "/release", `{"X":1}`, "X"},
	}
	for _, c := range cases {
		a := e.do(req{method: c.method, path: c.path, token: tok, body: c.body})
		wantStatus(t, a, http.StatusBadRequest, api.TypeBadRequest)
		p := a.problem(t)
		if p.Field != c.field || !strings.Contains(p.Detail, `"`+c.field+`"`) {
			t.Errorf("%s %s %s: field %q, detail %q; want them to name %q", c.method, c.path, c.body, p.Field, p.Detail, c.field)
		}
	}
	got, err := e.store("default").GetKey(t.Context(), id)
	if err != nil || got.Name != "k" || got.Status != model.StatusActive || got.QueryUsed+got.MutationUsed != 0 || got.SecretHint != k.SecretHint {
		t.Fatalf("refused bodies changed the key: %+v %v", got, err)
	}
	if n := e.admin.verifies.Load(); n != 0 {
		t.Fatalf("refused verify bodies reached the store %d times", n)
	}
}

// A request net/http cannot parse (request line, Host, header syntax) is
// answered 400 by net/http itself, before any handler: plain text, not a
// problem (a known limit, in the README). It echoes nothing sent.
func TestMalformedRequests400(t *testing.T) {
	addr := serveAPI(t, newEnv(t))
	secret := model.NewSecret()
	for _, raw := range []string{
		"GET /v1/keys/" + secret + " HTTP/1.1 extra\r\nHost: x\r\n\r\n",
		"GET /v1/keys/" + secret + " HTTP/1.1\r\n\r\n",
		"GET /v1/keys HTTP/1.1\r\nHost: x\r\nBad Header: " + secret + "\r\n\r\n",
		"GET /v1/keys HTTP/1.1\r\nHost: " + secret + "/\r\n\r\n",
	} {
		status, _, body := rawExchange(t, addr, raw)
		if status != http.StatusBadRequest || strings.Contains(body, secret[4:20]) {
			t.Fatalf("%q: status %d, body %q", model.RedactSecrets(raw), status, model.RedactSecrets(body))
		}
	}
}
