package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/keydeck/keydeck/api"
	"github.com/keydeck/keydeck/model"
)

func TestCreateKey201(t *testing.T) {
	e := newEnv(t)
	tok := e.token("default")
	a := e.do(req{method: "POST", path: "/v1/keys", token: tok, body: map[string]any{
		"name": "  Video-Pipeline-Key ", "permissions": []string{"write", "read"}, "query_allocation": 20, "mutation_allocation": 10}})
	wantStatus(t, a, http.StatusCreated)
	var ks api.KeySecret
	a.json(t, &ks)
	k := ks.Key
	if k.Name != "Video-Pipeline-Key" || !model.ValidClientID(k.ClientID) || strings.Join(k.Permissions, ",") != "read,write" ||
		k.QueryAlloc != 20 || k.MutationAlloc != 10 || k.Status != model.StatusActive || k.Account != "default" {
		t.Fatalf("created: %+v", k)
	}
	if model.CheckSecret(model.SecretPrefix, ks.ClientSecret) != nil || k.SecretHint != model.Hint(ks.ClientSecret) {
		t.Fatalf("create did not return the key's secret")
	}
	if loc := a.header.Get("Location"); loc != "/v1/keys/"+k.ClientID {
		t.Fatalf("Location %q", loc)
	}
	if cc := a.header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("Cache-Control %q on an answer with a secret", cc)
	}
	// The secret works, and the audit names the token by its hint.
	v := e.do(req{method: "POST", path: "/v1/verify", body: verifyBody(k.ClientID, ks.ClientSecret, "write", 0)})
	wantStatus(t, v, http.StatusOK)
	ev, err := e.store("default").Audit(t.Context(), storeAuditFilter(k.ClientID))
	if err != nil || len(ev) != 1 || ev[0].Action != model.AuditKeyCreate || ev[0].Actor != TokenActor(tok) {
		t.Fatalf("audit of the create: %+v %v", ev, err)
	}
}
