package server

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/keydeck/keydeck/model"
)

// keydeck's headers to the upstream are set after the hop-by-hop headers
// are removed, so no Connection header a client sends drops them, and a
// client's own copies, in any spelling an upstream may read as keydeck's,
// never arrive.
func TestGatewayHeadersAlwaysArriveAndCannotBeForged(t *testing.T) {
	up := newUpstream(t)
	e := newEnv(t, withGateway(up.URL))
	k, secret := e.key("default", "r", model.PermRead, 100, 0)
	gwHost := strings.TrimPrefix(e.gw.URL, "http://")
	forged := map[string]string{
		"X-Keydeck-Client-Id": "kdc_forged",
		"X_Keydeck_Client_Id": "kdc_forged",
		"x_KEYDECK-client_id": "kdc_forged",
		"X-Keydeck-Account":   "forged",
		"X_Forwarded_For":     "203.0.113.9",
		"X-Forwarded-Host":    "forged.example",
		"X_Forwarded_Proto":   "https",
		"Forwarded":           "for=203.0.113.9",
	}
	for _, conn := range []string{
		"",
		"X-Keydeck-Client-Id",
		"x-keydeck-client-id",
		"close, X-Keydeck-Client-Id",
		"X-Forwarded-For, X-Forwarded-Host, X-Forwarded-Proto, Forwarded",
		"keep-alive, X-Keydeck-Client-Id, X-Forwarded-For, X-Forwarded-Host, X-Forwarded-Proto",
	} {
		for _, forge := range []bool{false, true} {
			h := basic(k.ClientID, secret)
			if conn != "" {
				h["Connection"] = conn
			}
			if forge {
				for n, v := range forged {
					h[n] = v
				}
			}
			n := len(up.requests())
			a := e.gateway(req{method: "GET", path: "/x", header: h})
			if a.status != http.StatusAccepted || len(up.requests()) != n+1 {
				t.Fatalf("Connection %q: %d %s", conn, a.status, a.body)
			}
			got := up.requests()[n].header
			want := map[string]string{
				HeaderVerifiedID:    k.ClientID,
				"X-Forwarded-For":   "127.0.0.1",
				"X-Forwarded-Host":  gwHost,
				"X-Forwarded-Proto": "http",
			}
			for name, v := range want {
				if vs := got.Values(name); len(vs) != 1 || vs[0] != v {
					t.Errorf("Connection %q, forged %v: upstream got %s %q, want %q", conn, forge, name, vs, v)
				}
			}
			for name := range got {
				if hasFoldedPrefix(name, "x-keydeck-") && name != HeaderVerifiedID ||
					hasFoldedPrefix(name, "x-forwarded-") && want[name] == "" || foldedEqual(name, "forwarded") {
					t.Errorf("Connection %q: a client's %s reached the upstream", conn, name)
				}
			}
		}
	}
}

// The same holds when the upstream URL has a base path (SetURL joins it).
func TestGatewayHeadersWithUpstreamBasePath(t *testing.T) {
	up := newUpstream(t)
	u, _ := url.Parse(up.URL)
	u.Path = "/base"
	e := newEnv(t, withGateway(u.String()))
	k, secret := e.key("default", "r", model.PermRead, 10, 0)
	h := basic(k.ClientID, secret)
	h["Connection"] = "X-Keydeck-Client-Id"
	a := e.gateway(req{method: "GET", path: "/x", header: h})
	if a.status != http.StatusAccepted {
		t.Fatalf("%d %s", a.status, a.body)
	}
	if got := up.requests()[0]; got.path != "/base/x" || got.header.Get(HeaderVerifiedID) != k.ClientID {
		t.Fatalf("upstream saw %s with %s=%q", got.path, HeaderVerifiedID, got.header.Get(HeaderVerifiedID))
	}
}
