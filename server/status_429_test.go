package server

import (
	"net/http"
	"testing"
	"time"

	"github.com/keydeck/keydeck/api"
	"github.com/keydeck/keydeck/model"
)

// The quota headers follow SPEC §4 exactly: the policy names both of the
// key's quotas, RateLimit the one the request used. The clock is 2026-11-14
// 10:30:00 UTC: November has 30 days (w=2592000) and the period resets in
// 16 days 13 hours 30 minutes (t=1431000); t is rounded up to whole
// seconds.
func TestVerify429AndRateLimitHeaders(t *testing.T) {
	e := newEnv(t)
	k, secret := e.key("default", "two", model.PermRead|model.PermWrite, 2, 1)
	wantHeaders := func(a answer, policy, limit, retry string) {
		t.Helper()
		if got := a.header.Get("RateLimit-Policy"); got != policy {
			t.Fatalf("RateLimit-Policy %q, want %q", got, policy)
		}
		if got := a.header.Get("RateLimit"); got != limit {
			t.Fatalf("RateLimit %q, want %q", got, limit)
		}
		if got := a.header.Get("Retry-After"); got != retry {
			t.Fatalf("Retry-After %q, want %q", got, retry)
		}
	}
	a := e.do(req{method: "POST", path: "/v1/verify", body: verifyBody(k.ClientID, secret, "read", 0)})
	wantStatus(t, a, http.StatusOK)
	wantHeaders(a, `"query";q=2;w=2592000, "mutation";q=1;w=2592000`, `"query";r=1;t=1431000`, "")
	e.clock.Add(1500 * time.Millisecond) // 1430998.5 s left: t rounds up
	a = e.do(req{method: "POST", path: "/v1/verify", body: verifyBody(k.ClientID, secret, "read", 0)})
	wantStatus(t, a, http.StatusOK)
	wantHeaders(a, `"query";q=2;w=2592000, "mutation";q=1;w=2592000`, `"query";r=0;t=1430999`, "")
	a = e.do(req{method: "POST", path: "/v1/verify", body: verifyBody(k.ClientID, secret, "read", 0)})
	wantStatus(t, a, http.StatusTooManyRequests, api.TypeQuotaExceeded)
	wantHeaders(a, `"query";q=2;w=2592000, "mutation";q=1;w=2592000`, `"query";r=0;t=1430999`, "1430999")
	p := a.problem(t)
	if p.Title != "Quota Exceeded" || p.Kind != "query" || *p.Limit != 2 || *p.Remaining != 0 || p.ResetsAt == nil || p.Period != "monthly" {
		t.Fatalf("429 problem: %s", a.body)
	}
	// The mutation quota is separate.
	a = e.do(req{method: "POST", path: "/v1/verify", body: verifyBody(k.ClientID, secret, "write", 0)})
	wantStatus(t, a, http.StatusOK)
	wantHeaders(a, `"query";q=2;w=2592000, "mutation";q=1;w=2592000`, `"mutation";r=0;t=1430999`, "")
	// A 429 consumed nothing.
	if got, _ := e.store("default").GetKey(t.Context(), k.ClientID); got.QueryUsed != 2 || got.MutationUsed != 1 {
		t.Fatalf("usage after the 429: %+v", got)
	}
	// December: w is 31 days, and the quota is back.
	e.clock.Set(time.Date(2026, 12, 31, 23, 59, 30, 0, time.UTC))
	a = e.do(req{method: "POST", path: "/v1/verify", body: verifyBody(k.ClientID, secret, "read", 0)})
	wantStatus(t, a, http.StatusOK)
	wantHeaders(a, `"query";q=2;w=2678400, "mutation";q=1;w=2678400`, `"query";r=1;t=30`, "")
}

// Period none: no w, no t, no Retry-After.
func TestVerify429PeriodNone(t *testing.T) {
	e := newEnv(t)
	e.account("forever", 10, 10, 0, model.PeriodNone)
	k, secret := e.key("forever", "once", model.PermRead, 1, 0)
	a := e.do(req{method: "POST", path: "/v1/verify", body: verifyBody(k.ClientID, secret, "read", 0)})
	wantStatus(t, a, http.StatusOK)
	if a.header.Get("RateLimit-Policy") != `"query";q=1, "mutation";q=0` || a.header.Get("RateLimit") != `"query";r=0` {
		t.Fatalf("period none headers: %v", a.header)
	}
	var v api.VerifyAnswer
	a.json(t, &v)
	if v.Period != "none" || v.PeriodSeconds != 0 || v.ResetsAt != nil {
		t.Fatalf("period none answer: %s", a.body)
	}
	a = e.do(req{method: "POST", path: "/v1/verify", body: verifyBody(k.ClientID, secret, "read", 0)})
	wantStatus(t, a, http.StatusTooManyRequests, api.TypeQuotaExceeded)
	if a.header.Get("RateLimit-Policy") != `"query";q=1, "mutation";q=0` || a.header.Get("RateLimit") != `"query";r=0` || a.header.Get("Retry-After") != "" {
		t.Fatalf("period none 429 headers: %v", a.header)
	}
	if p := a.problem(t); p.ResetsAt != nil || p.PeriodSeconds != nil {
		t.Fatalf("period none 429 problem: %s", a.body)
	}
}
