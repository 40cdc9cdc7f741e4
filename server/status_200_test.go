package server

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keydeck/keydeck/api"
	"github.com/keydeck/keydeck/model"
)

func TestVerify200(t *testing.T) {
	e := newEnv(t)
	k, secret := e.key("default", "Backend-Server-Key", model.PermRead|model.PermWrite|model.PermDelete, 5, 3)
	for _, c := range []struct {
		op        string
		kind      string
		limit     int64
		remaining int64
	}{
		{"read", "query", 5, 4},
		{"read", "query", 5, 3},
		{"write", "mutation", 3, 2},
		{"delete", "mutation", 3, 1},
	} {
		a := e.do(req{method: "POST", path: "/v1/verify", body: verifyBody(k.ClientID, secret, c.op, 0)})
		wantStatus(t, a, http.StatusOK)
		var v api.VerifyAnswer
		a.json(t, &v)
		if !v.Allowed || v.ClientID != k.ClientID || v.Operation != c.op || v.Kind != c.kind || v.Limit != c.limit || v.Remaining != c.remaining ||
			v.Period != "monthly" || v.PeriodSeconds != 30*24*3600 || v.ResetsAt == nil || !v.ResetsAt.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)) {
			t.Fatalf("%s: answer %+v", c.op, v)
		}
		if strings.Contains(string(a.body), secret) {
			t.Fatalf("the verify answer echoes the secret")
		}
	}
	// Credits come out of the account.
	a := e.do(req{method: "POST", path: "/v1/verify", body: verifyBody(k.ClientID, secret, "read", 7)})
	wantStatus(t, a, http.StatusOK)
	acct, _ := e.store("default").Account(t.Context())
	if acct.Credits != model.DefaultCredits-7 {
		t.Fatalf("credits %d after spending 7", acct.Credits)
	}
	got, _ := e.store("default").GetKey(t.Context(), k.ClientID)
	if got.QueryUsed != 3 || got.MutationUsed != 2 || got.CreditsUsed != 7 {
		t.Fatalf("usage after the verifications: %+v", got)
	}
}

func TestManagement200(t *testing.T) {
	e := newEnv(t)
	tok := e.token("default")
	k, _ := e.key("default", "Mobile-App-Key", model.PermRead, 10, 5)

	a := e.do(req{method: "GET", path: "/v1/account", token: tok})
	wantStatus(t, a, http.StatusOK)
	var acct model.Account
	a.json(t, &acct)
	if acct.Name != "default" || acct.QueryHeld != 10 || acct.MutationHeld != 5 || acct.ActiveKeys != 1 {
		t.Fatalf("account: %+v", acct)
	}

	a = e.do(req{method: "GET", path: "/v1/keys", token: tok})
	wantStatus(t, a, http.StatusOK)
	var page api.KeyPage
	a.json(t, &page)
	if page.Total != 1 || len(page.Keys) != 1 || page.Keys[0].ClientID != k.ClientID || strings.Join(page.Keys[0].Permissions, ",") != "read" {
		t.Fatalf("list: %+v", page)
	}

	for _, id := range []string{k.ClientID, "Mobile-App-Key"} {
		a = e.do(req{method: "GET", path: "/v1/keys/" + id, token: tok})
		wantStatus(t, a, http.StatusOK)
		var ka api.KeyAnswer
		a.json(t, &ka)
		if ka.Key.ClientID != k.ClientID || ka.Key.SecretHint != k.SecretHint {
			t.Fatalf("get %s: %+v", id, ka.Key)
		}
	}
	// HEAD is answered like GET, without a body.
	a = e.do(req{method: "HEAD", path: "/v1/keys/" + k.ClientID, token: tok})
	wantStatus(t, a, http.StatusOK)

	a = e.do(req{method: "PATCH", path: "/v1/keys/" + k.ClientID, token: tok, body: map[string]any{"name": "Renamed", "permissions": []string{"read", "delete"}, "query_allocation": 12}})
	wantStatus(t, a, http.StatusOK)
	var ka api.KeyAnswer
	a.json(t, &ka)
	if ka.Key.Name != "Renamed" || strings.Join(ka.Key.Permissions, ",") != "read,delete" || ka.Key.QueryAlloc != 12 || ka.Key.MutationAlloc != 5 {
		t.Fatalf("edited: %+v", ka.Key)
	}

	a = e.do(req{method: "POST", path: "/v1/keys/" + k.ClientID + "/regenerate", token: tok})
	wantStatus(t, a, http.StatusOK)
	var ks api.KeySecret
	a.json(t, &ks)
	if ks.Key.ClientID != k.ClientID || model.CheckSecret(model.SecretPrefix, ks.ClientSecret) != nil || ks.Key.SecretHint != model.Hint(ks.ClientSecret) {
		t.Fatalf("regenerate: key %+v", ks.Key)
	}
	if cc := a.header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("an answer with a secret has Cache-Control %q", cc)
	}

	a = e.do(req{method: "GET", path: "/v1/keys/" + k.ClientID + "/usage?days=7", token: tok})
	wantStatus(t, a, http.StatusOK)
	var u api.UsageAnswer
	a.json(t, &u)
	if len(u.Days) != 7 || u.Days[6].Day != "2026-11-14" {
		t.Fatalf("usage: %+v", u)
	}
	a = e.do(req{method: "GET", path: "/v1/keys/" + k.ClientID + "/usage", token: tok})
	wantStatus(t, a, http.StatusOK)
	a.json(t, &u)
	if len(u.Days) != 30 {
		t.Fatalf("default usage window: %d days", len(u.Days))
	}

	a = e.do(req{method: "POST", path: "/v1/keys/" + k.ClientID + "/revoke", token: tok, body: map[string]any{"keep_allocation": true}})
	wantStatus(t, a, http.StatusOK)
	a.json(t, &ka)
	if ka.Key.Status != model.StatusRevoked || !ka.Key.KeepsAllocation {
		t.Fatalf("revoked: %+v", ka.Key)
	}
	a = e.do(req{method: "POST", path: "/v1/keys/" + k.ClientID + "/release", token: tok})
	wantStatus(t, a, http.StatusOK)
	ka = api.KeyAnswer{}
	a.json(t, &ka)
	if ka.Key.Status != model.StatusRevoked || ka.Key.KeepsAllocation {
		t.Fatalf("released key still keeps its allocation: %+v", ka.Key)
	}

	a = e.do(req{method: "GET", path: "/v1/audit?key=" + k.ClientID + "&limit=2", token: tok})
	wantStatus(t, a, http.StatusOK)
	var au api.AuditAnswer
	a.json(t, &au)
	if len(au.Events) != 2 || au.Events[0].Action != model.AuditKeyRelease || !strings.HasPrefix(au.Events[0].Actor, "token:…") {
		t.Fatalf("audit: %+v", au.Events)
	}
	if au.Events[0].Actor != TokenActor(tok) || strings.Contains(au.Events[0].Actor, tok[4:20]) {
		t.Fatalf("actor %q: want the token's hint only", au.Events[0].Actor)
	}
}

func TestOperations200(t *testing.T) {
	e := newEnv(t)
	a := e.do(req{method: "GET", path: "/healthz"})
	wantStatus(t, a, http.StatusOK)
	if strings.TrimSpace(string(a.body)) != `{"status":"ok"}` {
		t.Fatalf("healthz body %s", a.body)
	}
	a = e.do(req{method: "GET", path: "/metrics"})
	wantStatus(t, a, http.StatusOK)
	if !strings.Contains(string(a.body), "keydeck_active_keys 0") {
		t.Fatalf("metrics lack keydeck_active_keys 0:\n%s", a.body)
	}
}
