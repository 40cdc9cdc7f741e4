package server

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/keydeck/keydeck/api"
	"github.com/keydeck/keydeck/model"
)

// upstream is a real HTTP service behind the gateway that records what
// reaches it.
type upstream struct {
	*httptest.Server
	mu   sync.Mutex
	seen []seenReq
}

type seenReq struct {
	method, path, query, body string
	header                    http.Header
	requestURI                string // as sent, escapes and all
}

func newUpstream(t *testing.T) *upstream {
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.seen = append(u.seen, seenReq{r.Method, r.URL.Path, r.URL.RawQuery, string(b), r.Header.Clone(), r.RequestURI})
		u.mu.Unlock()
		w.Header().Set("RateLimit", `"upstream";r=1`)
		w.Header().Set("X-Upstream", "yes")
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, "from upstream: "+r.Method+" "+r.URL.Path)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) requests() []seenReq {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]seenReq(nil), u.seen...)
}

func withGateway(target string, costs ...string) envOption {
	return func(_ *sqliteOptions, c *Config) {
		u, _ := url.Parse(target)
		c.Upstream = u
		for _, s := range costs {
			cc, err := ParseCreditCost(s)
			if err != nil {
				panic(err)
			}
			c.CreditCosts = append(c.CreditCosts, cc)
		}
	}
}

func basic(id, secret string) map[string]string {
	return map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))}
}

func TestGatewayProxiesVerifiedRequests(t *testing.T) {
	up := newUpstream(t)
	e := newEnv(t, withGateway(up.URL, "POST /media=5", "DELETE /media/=2"))
	k, secret := e.key("default", "gw", model.PermRead|model.PermWrite, 10, 10)

	// Basic auth, GET: a read, one Query.
	a := e.gateway(req{method: "GET", path: "/files/1?size=large", header: basic(k.ClientID, secret)})
	if a.status != http.StatusAccepted || string(a.body) != "from upstream: GET /files/1" || a.header.Get("X-Upstream") != "yes" {
		t.Fatalf("proxied answer %d %q", a.status, a.body)
	}
	if a.header.Get("RateLimit") != `"query";r=9;t=1431000` || a.header.Get("RateLimit-Policy") != `"query";q=10;w=2592000, "mutation";q=10;w=2592000` {
		t.Fatalf("gateway quota headers: %v", a.header)
	}
	got := up.requests()[0]
	if got.path != "/files/1" || got.query != "size=large" || got.header.Get("Authorization") != "" || got.header.Get(HeaderVerifiedID) != k.ClientID {
		t.Fatalf("upstream saw %+v", got)
	}

	// Header credentials; the client's own Authorization goes upstream,
	// a forged X-Keydeck-Client-Id does not, nor do the credentials.
	a = e.gateway(req{method: "POST", path: "/media", body: "payload-bytes", header: map[string]string{
		HeaderClientID: k.ClientID, HeaderClientSecret: secret, "Authorization": "Bearer upstream-token", HeaderVerifiedID: "kdc_forged"}})
	if a.status != http.StatusAccepted {
		t.Fatalf("POST /media: %d %s", a.status, a.body)
	}
	got = up.requests()[1]
	if got.body != "payload-bytes" || got.header.Get("Authorization") != "Bearer upstream-token" || got.header.Get(HeaderClientID) != "" ||
		got.header.Get(HeaderClientSecret) != "" || strings.Join(got.header.Values(HeaderVerifiedID), ",") != k.ClientID {
		t.Fatalf("upstream saw %+v", got)
	}
	for _, sr := range up.requests() {
		for name, vals := range sr.header {
			if strings.Contains(strings.Join(vals, " "), secret) {
				t.Fatalf("the secret reached the upstream in %s", name)
			}
		}
	}

	// Management paths are the upstream's on this listener.
	a = e.gateway(req{method: "GET", path: "/v1/keys", header: basic(k.ClientID, secret)})
	if a.status != http.StatusAccepted || string(a.body) != "from upstream: GET /v1/keys" {
		t.Fatalf("GET /v1/keys through the gateway: %d %s", a.status, a.body)
	}

	// Usage: two reads, one write; POST /media cost 5 credits.
	k2, _ := e.store("default").GetKey(t.Context(), k.ClientID)
	if k2.QueryUsed != 2 || k2.MutationUsed != 1 || k2.CreditsUsed != 5 {
		t.Fatalf("usage after the gateway: %+v", k2)
	}
}

func TestGatewayDenials(t *testing.T) {
	up := newUpstream(t)
	e := newEnv(t, withGateway(up.URL))
	k, secret := e.key("default", "r", model.PermRead, 1, 0)

	for _, h := range []map[string]string{
		nil,
		basic(k.ClientID, model.NewSecret()),
		{HeaderClientID: k.ClientID},
		{"Authorization": "Bearer " + secret},
	} {
		a := e.gateway(req{method: "GET", path: "/x", header: h})
		wantStatus(t, a, http.StatusUnauthorized, api.TypeInvalidCredentials)
		if !strings.HasPrefix(a.header.Get("WWW-Authenticate"), "Basic ") {
			t.Fatalf("gateway 401 without a Basic challenge")
		}
	}
	a := e.gateway(req{method: "DELETE", path: "/x", header: basic(k.ClientID, secret)})
	wantStatus(t, a, http.StatusForbidden, api.TypeForbidden)
	a = e.gateway(req{method: "PUT", path: "/x", header: basic(k.ClientID, secret)})
	wantStatus(t, a, http.StatusForbidden, api.TypeForbidden)
	wantStatus(t, e.gateway(req{method: "HEAD", path: "/x", header: basic(k.ClientID, secret)}), http.StatusAccepted)
	a = e.gateway(req{method: "GET", path: "/x", header: basic(k.ClientID, secret)})
	wantStatus(t, a, http.StatusTooManyRequests, api.TypeQuotaExceeded)
	if a.header.Get("Retry-After") != "1431000" {
		t.Fatalf("gateway 429 Retry-After %q", a.header.Get("Retry-After"))
	}
	a = e.gateway(req{method: "OPTIONS", path: "/x", header: basic(k.ClientID, secret)})
	wantStatus(t, a, http.StatusMethodNotAllowed, api.TypeMethodNotAllowed)
	if n := len(up.requests()); n != 1 {
		t.Fatalf("denied requests reached the upstream: %d requests", n)
	}
}

// Credits: only the operator's costs apply, and a request the account
// cannot pay for is a 402 that never reaches the upstream.
func TestGatewayCredits402(t *testing.T) {
	up := newUpstream(t)
	e := newEnv(t, withGateway(up.URL, "POST /media=600"))
	k, secret := e.key("default", "w", model.PermWrite, 0, 10)
	wantStatus(t, e.gateway(req{method: "POST", path: "/media", header: basic(k.ClientID, secret)}), http.StatusAccepted)
	a := e.gateway(req{method: "POST", path: "/media", header: basic(k.ClientID, secret)})
	wantStatus(t, a, http.StatusPaymentRequired, api.TypeCreditsExhausted)
	wantStatus(t, e.gateway(req{method: "POST", path: "/media/other", header: basic(k.ClientID, secret)}), http.StatusAccepted)
	if got, _ := e.store("default").GetKey(t.Context(), k.ClientID); got.CreditsUsed != 600 || got.MutationUsed != 2 {
		t.Fatalf("usage: %+v", got)
	}
}

// An upstream that cannot be reached is a 502, and the unit stays
// consumed (see the package doc for why).
func TestGatewayUpstreamDown502(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	e := newEnv(t, withGateway(deadURL))
	k, secret := e.key("default", "r", model.PermRead, 5, 0)
	a := e.gateway(req{method: "GET", path: "/x", header: basic(k.ClientID, secret)})
	wantStatus(t, a, http.StatusBadGateway, api.TypeUpstreamFailed)
	if a.header.Get("RateLimit") != `"query";r=4;t=1431000` {
		t.Fatalf("502 quota headers: %v", a.header)
	}
	if got, _ := e.store("default").GetKey(t.Context(), k.ClientID); got.QueryUsed != 1 {
		t.Fatalf("a 502 left usage at %d; the unit is consumed by design", got.QueryUsed)
	}
}

func TestParseCreditCost(t *testing.T) {
	for _, c := range []struct {
		in      string
		pattern string
		n       int64
		bad     bool
	}{
		{"POST /media=5", "POST /media", 5, false},
		{" /media/ = 2 ", "/media/", 2, false},
		{"GET /a/{id}/thumb=0", "GET /a/{id}/thumb", 0, false},
		{"POST /media", "", 0, true},
		{"POST /media=-1", "", 0, true},
		{"POST /media=x", "", 0, true},
		{"=5", "", 0, true},
	} {
		cc, err := ParseCreditCost(c.in)
		if c.bad != (err != nil) || (!c.bad && (cc.Pattern != c.pattern || cc.Credits != c.n)) {
			t.Errorf("ParseCreditCost(%q) = %+v, %v", c.in, cc, err)
		}
	}
	// Patterns net/http rejects, or that conflict, are errors at start-up.
	for _, bad := range [][]string{{"FETCH media=1"}, {"/a/{x}=1", "/a/{y}=2"}} {
		var costs []CreditCost
		for _, s := range bad {
			cc, err := ParseCreditCost(s)
			if err != nil {
				t.Fatal(err)
			}
			costs = append(costs, cc)
		}
		if _, err := newCostTable(costs); err == nil {
			t.Errorf("credit costs %q were accepted", bad)
		}
	}
}
