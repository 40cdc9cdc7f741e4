package server

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

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

// A path not in canonical form is no endpoint: 404, never the redirect
// ServeMux would answer, whatever the method.
func TestUncleanPaths404(t *testing.T) {
	e := newEnv(t)
	tok := e.token("default")
	k, secret := e.key("default", "k", model.PermRead, 5, 0)
	for _, p := range []string{"//v1/keys", "/v1//keys", "/v1/../v1/keys", "/v1/./keys", "/v1/keys/.", "/v1/keys/" + k.ClientID + "/..", "//", "/v1/keys/" + k.ClientID + "/./usage", "/./v1/verify", "//v1/verify", "/v1/verify/.."} {
		for _, m := range []string{"GET", "POST", "PATCH", "DELETE"} {
			a := e.do(req{method: m, path: p, token: tok, body: verifyBody(k.ClientID, secret, "read", 0)})
			wantStatus(t, a, http.StatusNotFound, api.TypeNoSuchEndpoint)
		}
	}
	if n := e.admin.verifies.Load(); n != 0 {
		t.Fatalf("unclean paths reached the store %d times", n)
	}
}

// CONNECT and an absolute URL without a path get a problem too.
func TestConnect404(t *testing.T) {
	e := newEnv(t)
	for _, raw := range []string{
		"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
		// A path of the API is no exception (the mux would say 405).
		"CONNECT /v1/keys HTTP/1.1\r\nHost: x\r\n\r\n",
		"CONNECT /v1/verify HTTP/1.1\r\nHost: x\r\n\r\n",
		"CONNECT /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET http://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n",
	} {
		status, h, body := rawExchange(t, e.ts.Listener.Addr().String(), raw)
		if status != http.StatusNotFound || h.Get("Content-Type") != api.ContentType || !strings.Contains(body, api.TypeNoSuchEndpoint) {
			t.Fatalf("%q: %d %q %s", raw, status, h.Get("Content-Type"), body)
		}
	}
}

// rawExchange writes raw to addr and reads one response.
func rawExchange(t *testing.T, addr, raw string) (int, http.Header, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("%q: %v", raw[:min(len(raw), 40)], err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}
