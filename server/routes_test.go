package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/keydeck/keydeck/assets"
	"github.com/keydeck/keydeck/model"
)

// TestRoutesMatchOpenAPI fails when the route table has a route the
// document lacks, or the document an operation the table lacks, or they
// disagree on its operationId or on whether it needs a token.
func TestRoutesMatchOpenAPI(t *testing.T) {
	ops := docOps(t)
	table := map[string]Route{}
	for _, rt := range Routes() {
		if _, dup := table[rt.Pattern()]; dup {
			t.Errorf("route %s is in the table twice", rt.Pattern())
		}
		table[rt.Pattern()] = rt
		op, ok := ops[rt.Pattern()]
		if !ok {
			t.Errorf("route %s (%s) is not in assets/openapi.json", rt.Pattern(), rt.OperationID)
			continue
		}
		if op.OperationID != rt.OperationID {
			t.Errorf("route %s: operationId %q in the document, %q in the table", rt.Pattern(), op.OperationID, rt.OperationID)
		}
		needsToken := len(op.Security) > 0
		if needsToken != rt.Auth {
			t.Errorf("route %s: the document says token required = %v, the table %v", rt.Pattern(), needsToken, rt.Auth)
		}
		if (rt.plain == nil) == (rt.account == nil) || rt.Auth != (rt.account != nil) {
			t.Errorf("route %s: handler does not match its Auth flag", rt.Pattern())
		}
	}
	for pat, op := range ops {
		if _, ok := table[pat]; !ok {
			t.Errorf("assets/openapi.json has %s (%s), which the route table lacks", pat, op.OperationID)
		}
	}
}

// TestOpenAPIServed checks /openapi.json is the embedded document, valid
// JSON, OpenAPI 3.1.
func TestOpenAPIServed(t *testing.T) {
	e := newEnv(t)
	a := e.do(req{method: http.MethodGet, path: "/openapi.json"})
	wantStatus(t, a, http.StatusOK)
	if string(a.body) != string(assets.OpenAPI()) {
		t.Fatalf("served document differs from the embedded one")
	}
	var d struct {
		OpenAPI string `json:"openapi"`
	}
	if err := json.Unmarshal(a.body, &d); err != nil || d.OpenAPI != "3.1.0" {
		t.Fatalf("openapi version %q, %v", d.OpenAPI, err)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("content type %q", ct)
	}
}

// The verify shortcut in front of the mux answers exactly what the mux
// would: same status, same route pattern, for the usual request and for
// near misses the mux must keep handling (other methods, unclean or
// escaped paths, a trailing slash, a query string).
func TestVerifyShortcutAgreesWithMux(t *testing.T) {
	e := newEnv(t)
	e.account("acme", 100, 100, 0, model.PeriodMonthly)
	k, secret := e.key("acme", "k", model.PermRead, 50, 0)
	body := `{"client_id":"` + k.ClientID + `","client_secret":"` + secret + `","operation":"read"}`
	withPattern := func(h http.Handler, seen *string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.ServeHTTP(w, r)
			*seen = r.Pattern
		})
	}
	mux, _ := e.srv.routeMux()
	var viaShortcut, viaMux string
	short := withPattern(e.srv.newMux(), &viaShortcut)
	plain := withPattern(e.srv.canonical(mux), &viaMux)
	for _, c := range []struct{ method, target string }{
		{"POST", "/v1/verify"},
		{"POST", "/v1/verify?x=1"},
		{"GET", "/v1/verify"},
		{"HEAD", "/v1/verify"},
		{"PUT", "/v1/verify"},
		{"POST", "/v1/verify/"},
		{"POST", "//v1/verify"},
		{"POST", "/v1/./verify"},
		{"POST", "/v1/%76erify"},
		{"POST", "/V1/verify"},
	} {
		var got, want *httptest.ResponseRecorder
		for _, h := range []struct {
			h   http.Handler
			dst **httptest.ResponseRecorder
		}{{short, &got}, {plain, &want}} {
			r := httptest.NewRequest(c.method, c.target, strings.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			*h.dst = httptest.NewRecorder()
			h.h.ServeHTTP(*h.dst, r)
		}
		if got.Code != want.Code || viaShortcut != viaMux {
			t.Errorf("%s %s: shortcut %d %q, mux %d %q", c.method, c.target, got.Code, viaShortcut, want.Code, viaMux)
		}
	}
}
