package server

import (
	"net/http"
	"testing"

	"github.com/keydeck/keydeck/api"
	"github.com/keydeck/keydeck/model"
)

func TestVerify402(t *testing.T) {
	e := newEnv(t)
	e.account("acme", 100, 100, 10, model.PeriodMonthly)
	k, secret := e.key("acme", "media", model.PermRead|model.PermWrite, 50, 50)
	wantStatus(t, e.do(req{method: "POST", path: "/v1/verify", body: verifyBody(k.ClientID, secret, "write", 8)}), http.StatusOK)
	a := e.do(req{method: "POST", path: "/v1/verify", body: verifyBody(k.ClientID, secret, "write", 3)})
	wantStatus(t, a, http.StatusPaymentRequired, api.TypeCreditsExhausted)
	p := a.problem(t)
	if p.ClientID != k.ClientID || p.Kind != "mutation" || p.Limit == nil || *p.Limit != 50 || p.Remaining == nil || *p.Remaining != 49 {
		t.Fatalf("402 problem: %s", a.body)
	}
	if a.header.Get("RateLimit") != `"mutation";r=49;t=1431000` || a.header.Get("RateLimit-Policy") != `"query";q=50;w=2592000, "mutation";q=50;w=2592000` {
		t.Fatalf("402 quota headers: %v", a.header)
	}
	if a.header.Get("Retry-After") != "" {
		t.Fatalf("a 402 carries Retry-After")
	}
	// Nothing consumed: the two credits left still pay for a request.
	got, _ := e.store("acme").GetKey(t.Context(), k.ClientID)
	if got.MutationUsed != 1 || got.CreditsUsed != 8 {
		t.Fatalf("a 402 consumed: %+v", got)
	}
	wantStatus(t, e.do(req{method: "POST", path: "/v1/verify", body: verifyBody(k.ClientID, secret, "read", 2)}), http.StatusOK)
}
