package server

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/keydeck/keydeck/api"
	"github.com/keydeck/keydeck/model"
)

// Every management route answers 401 without a valid token: none, not
// Bearer, malformed, well-formed but unknown, and a token since rotated.
// Nothing is changed.
func TestManagement401(t *testing.T) {
	e := newEnv(t)
	old := e.token("default")
	k, _ := e.key("default", "k", model.PermRead, 1, 1)
	if _, err := e.db.RotateToken(context.Background(), "test", "default"); err != nil {
		t.Fatal(err)
	}
	bad := []map[string]string{
		nil,
		{"Authorization": "Basic " + old},
		{"Authorization": "Bearer"},
		{"Authorization": "Bearer kdt_short"},
		{"Authorization": "Bearer " + model.NewToken()},
		{"Authorization": "Bearer " + old},
		{"Authorization": "Bearer " + model.NewSecret()},
	}
	for _, rt := range Routes() {
		if !rt.Auth {
			continue
		}
		for _, h := range bad {
			r := sample(rt, k.ClientID)
			r.header = h
			a := e.do(r)
			wantStatus(t, a, http.StatusUnauthorized, api.TypeUnauthorized)
			if a.header.Get("WWW-Authenticate") != `Bearer realm="keydeck"` {
				t.Fatalf("%s: WWW-Authenticate %q", rt.Pattern(), a.header.Get("WWW-Authenticate"))
			}
		}
	}
	got, err := e.store("default").GetKey(t.Context(), k.ClientID)
	if err != nil || got.Name != "k" || got.Status != model.StatusActive || got.SecretHint != k.SecretHint {
		t.Fatalf("unauthorized requests changed the key: %+v %v", got, err)
	}
	p, _ := e.store("default").ListKeys(t.Context(), storageListAll())
	if p.Total != 1 {
		t.Fatalf("unauthorized requests created keys: %d", p.Total)
	}
}

// A 401 from /v1/verify is the same answer, from the same work, whatever
// the reason: exactly one store call each (the store compares unknown IDs
// against a dummy digest), identical bodies and headers, no RateLimit
// headers, nothing consumed.
func TestVerify401Sameness(t *testing.T) {
	e := newEnv(t)
	k, secret := e.key("default", "live", model.PermRead, 5, 5)
	dead, deadSecret := e.key("default", "dead", model.PermRead, 5, 5)
	if _, err := e.store("default").RevokeKey(t.Context(), dead.ClientID, false); err != nil {
		t.Fatal(err)
	}
	cases := map[string]map[string]any{
		"unknown client id":   verifyBody(model.NewClientID(), secret, "read", 0),
		"wrong secret":        verifyBody(k.ClientID, model.NewSecret(), "read", 0),
		"bad checksum":        verifyBody(k.ClientID, secret[:len(secret)-1]+flip(secret[len(secret)-1]), "read", 0),
		"revoked key":         verifyBody(dead.ClientID, deadSecret, "read", 0),
		"malformed client id": verifyBody("nonsense", secret, "read", 0),
		"token as secret":     verifyBody(k.ClientID, model.NewToken(), "read", 0),
		"empty":               verifyBody("", "", "read", 0),
	}
	var first answer
	var firstName string
	for name, body := range cases {
		before := e.admin.verifies.Load()
		a := e.do(req{method: "POST", path: "/v1/verify", body: body})
		wantStatus(t, a, http.StatusUnauthorized, api.TypeInvalidCredentials)
		if n := e.admin.verifies.Load() - before; n != 1 {
			t.Fatalf("%s: %d store calls, want exactly 1", name, n)
		}
		if a.header.Get("RateLimit") != "" || a.header.Get("RateLimit-Policy") != "" || a.header.Get("Retry-After") != "" {
			t.Fatalf("%s: a 401 carries quota headers: %v", name, a.header)
		}
		if first.body == nil {
			first, firstName = a, name
			continue
		}
		if !bytes.Equal(a.body, first.body) {
			t.Fatalf("401 bodies differ:\n%s: %s\n%s: %s", firstName, first.body, name, a.body)
		}
		if !sameHeaders(a.header, first.header) {
			t.Fatalf("401 headers differ:\n%s: %v\n%s: %v", firstName, first.header, name, a.header)
		}
	}
	if got, _ := e.store("default").GetKey(t.Context(), k.ClientID); got.QueryUsed != 0 {
		t.Fatalf("401s consumed %d units", got.QueryUsed)
	}
	// A wrong (well-formed) secret for a known Client ID counts as that
	// key's denial; malformed ones are refused before any lookup.
	waitFor(t, "the 401 denials in the key's usage", func() bool {
		u, err := e.store("default").Usage(t.Context(), k.ClientID, 1)
		return err == nil && len(u) == 1 && u[0].Denied401 == 1
	})
}

func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

// sameHeaders compares headers, ignoring Date.
func sameHeaders(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if k == "Date" {
			continue
		}
		if strings.Join(v, "\n") != strings.Join(b[k], "\n") {
			return false
		}
	}
	return true
}
