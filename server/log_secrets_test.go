package server

import (
	"fmt"
	"strings"
	"testing"

	"github.com/keydeck/keydeck/model"
)

// A secret sent where a Client ID or a path belongs reaches neither the
// access log nor an error body.
func TestSecretsInWrongPlacesStayOutOfLogsAndErrors(t *testing.T) {
	up := newUpstream(t)
	e := newEnv(t, withGateway(up.URL))
	k, secret := e.key("default", "r", model.PermRead, 10, 0)
	sent := []answer{
		// client_id and client_secret swapped
		e.do(req{method: "POST", path: "/v1/verify", body: verifyBody(secret, k.ClientID, "read", 0)}),
		// a secret as the operation, and as a field name
		e.do(req{method: "POST", path: "/v1/verify", body: fmt.Sprintf(`{"client_id":%q,"client_secret":%q,"operation":%q}`, k.ClientID, secret, secret)}),
		e.do(req{method: "POST", path: "/v1/verify", body: fmt.Sprintf(`{%q:1}`, secret)}),
		// a secret in a path
		e.do(req{method: "GET", path: "/" + secret}),
		e.do(req{method: "GET", path: "/v1/keys/" + secret, token: e.token("default")}),
		// the gateway with the pair swapped
		e.gateway(req{method: "GET", path: "/x", header: basic(secret, k.ClientID)}),
		e.gateway(req{method: "GET", path: "/x", header: map[string]string{HeaderClientID: secret, HeaderClientSecret: k.ClientID}}),
	}
	for i, a := range sent {
		if a.status < 400 {
			t.Fatalf("request %d was answered %d", i, a.status)
		}
		if strings.Contains(string(a.body), secret[4:24]) {
			t.Fatalf("answer %d quotes the secret", i)
		}
	}
	waitFor(t, "the access-log lines", func() bool { return strings.Count(e.logBuf.String(), "msg=access") >= len(sent) })
	if strings.Contains(e.logBuf.String(), secret[4:24]) {
		t.Fatal("the access log holds the secret")
	}
}
