package server

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/keydeck/keydeck/assets"
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
