package server

import (
	"net/http"
	"testing"

	"github.com/keydeck/keydeck/api"
	"github.com/keydeck/keydeck/model"
)

// An account's token sees and changes only that account: every management
// route is tried on alpha's key with beta's token (and with none, in
// TestManagement401). A route added to the table without a case here
// fails the test.
func TestAccountIsolation(t *testing.T) {
	e := newEnv(t)
	e.account("alpha", 100, 100, 10, model.PeriodMonthly)
	e.account("beta", 100, 100, 10, model.PeriodMonthly)
	ka, secret := e.key("alpha", "shared-name", model.PermRead, 5, 5)
	kb, _ := e.key("beta", "shared-name", model.PermRead, 7, 7)
	beta := e.tokens["beta"]

	for _, rt := range Routes() {
		if !rt.Auth {
			continue
		}
		r := sample(rt, ka.ClientID)
		r.token = beta
		switch rt.OperationID {
		case "getKey", "editKey", "regenerateKey", "revokeKey", "releaseKey", "keyUsage":
			wantStatus(t, e.do(r), http.StatusNotFound, api.TypeNotFound)
		case "listAudit":
			r.path = "/v1/audit?key=" + ka.ClientID
			wantStatus(t, e.do(r), http.StatusNotFound, api.TypeNotFound)
			r.path = "/v1/audit"
			a := e.do(r)
			wantStatus(t, a, http.StatusOK)
			var au api.AuditAnswer
			a.json(t, &au)
			for _, ev := range au.Events {
				if ev.Account != "beta" || ev.ClientID == ka.ClientID {
					t.Fatalf("beta's audit shows %+v", ev)
				}
			}
		case "listKeys":
			r.path = "/v1/keys?include_revoked=true&q=shared"
			a := e.do(r)
			wantStatus(t, a, http.StatusOK)
			var p api.KeyPage
			a.json(t, &p)
			if p.Total != 1 || p.Keys[0].ClientID != kb.ClientID {
				t.Fatalf("beta's list: %+v", p)
			}
		case "getAccount":
			a := e.do(r)
			wantStatus(t, a, http.StatusOK)
			var acct model.Account
			a.json(t, &acct)
			if acct.Name != "beta" || acct.QueryHeld != 7 {
				t.Fatalf("beta's account: %+v", acct)
			}
		case "createKey":
			a := e.do(r)
			wantStatus(t, a, http.StatusCreated)
			var ks api.KeySecret
			a.json(t, &ks)
			if ks.Key.Account != "beta" {
				t.Fatalf("beta's token created a key in %q", ks.Key.Account)
			}
		default:
			t.Fatalf("route %s has no isolation case", rt.Pattern())
		}
	}
	// By name, beta's token finds beta's key, never alpha's.
	a := e.do(req{method: "GET", path: "/v1/keys/shared-name", token: beta})
	wantStatus(t, a, http.StatusOK)
	var ka2 api.KeyAnswer
	a.json(t, &ka2)
	if ka2.Key.ClientID != kb.ClientID {
		t.Fatalf("beta's token reached alpha's key by name")
	}
	// Alpha's key is untouched and still works.
	got, err := e.store("alpha").GetKey(t.Context(), ka.ClientID)
	if err != nil || got.Name != "shared-name" || got.Status != model.StatusActive || got.SecretHint != ka.SecretHint || got.QueryAlloc != 5 {
		t.Fatalf("alpha's key after beta's attempts: %+v %v", got, err)
	}
	wantStatus(t, e.do(req{method: "POST", path: "/v1/verify", body: verifyBody(ka.ClientID, secret, "read", 0)}), http.StatusOK)
}
