package server

import (
	"fmt"
	"net/url"
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

// Every shape a secret or token can take in a path, a method or a field
// name is hidden in the access log and in the answer: other cases, a
// dash, no prefix, cut short, percent-encoded once or twice.
func TestSecretShapesRedacted(t *testing.T) {
	e := newEnv(t)
	tok := e.token("default")
	_, secret := e.key("default", "r", model.PermRead, 10, 0)
	body := secret[4:]
	escape := func(s, pct string) string { // every character as pct+hex
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			fmt.Fprintf(&b, "%s%02X", pct, s[i])
		}
		return b.String()
	}
	// Shapes as they go on the wire (in a path); method marks those that
	// are HTTP tokens, so can be a method or a field name too.
	shapes := []struct {
		name, wire string
		method     bool
	}{
		{"as made", secret, true},
		{"upper case", "KDS_" + body, true},
		{"mixed case", "kDs_" + body, true},
		{"dash", "kds-" + body, true},
		{"token with a dash", "KDT-" + body, true},
		{"no prefix", body, true},
		{"cut short", secret[:20], true},
		{"glued to a word", "key" + secret, true},
		{"escaped separator", "kds%5F" + body, false},
		{"escaped twice", "kds%255F" + body, false},
		{"every character escaped", escape(secret, "%"), false},
		{"every character escaped twice", escape(secret, "%25"), false},
	}
	for _, s := range shapes {
		t.Run(s.name, func(t *testing.T) {
			logged := len(e.logBuf.String())
			sent := []answer{
				e.do(req{method: "GET", path: "/" + s.wire}),
				e.do(req{method: "GET", path: "/v1/keys/" + s.wire, token: tok}),
				e.do(req{method: "PATCH", path: "/v1/keys/" + s.wire + "/usage", token: tok}),
				e.do(req{method: "PATCH", path: "/v1/keys/" + s.wire, token: tok, body: `{"name":"x"}`}),
			}
			if s.method {
				sent = append(sent,
					e.do(req{method: s.wire, path: "/v1/keys", token: tok}),
					e.do(req{method: "POST", path: "/v1/verify", body: `{"` + s.wire + `":1}`}),
					e.do(req{method: "POST", path: "/v1/keys", token: tok, body: `{"` + s.wire + `":1}`}),
				)
			}
			for i, a := range sent {
				if a.status < 400 {
					t.Fatalf("request %d was answered %d", i, a.status)
				}
				if leaksSecret(string(a.body), body) {
					t.Errorf("answer %d quotes the secret: %s", i, model.RedactSecrets(string(a.body)))
				}
			}
			waitFor(t, "the access-log lines", func() bool { return strings.Count(e.logBuf.String()[logged:], "msg=access") >= len(sent) })
			if log := e.logBuf.String()[logged:]; leaksSecret(log, body) || !strings.Contains(log, "redacted") {
				t.Errorf("the access log holds the secret, or redacts nothing: %s", model.RedactSecrets(log))
			}
		})
	}
}

// leaksSecret: 8 characters of body are in s, as they are or escaped.
func leaksSecret(s, body string) bool {
	for range 3 {
		for i := 0; i+8 <= len(body); i++ {
			if strings.Contains(s, body[i:i+8]) {
				return true
			}
		}
		u, err := url.PathUnescape(s)
		if err != nil || u == s {
			return false
		}
		s = u
	}
	return false
}
