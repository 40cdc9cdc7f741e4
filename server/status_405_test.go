package server

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/keydeck/keydeck/api"
)

// Every path answers 405 with Allow for the methods it does not take.
func TestMethodNotAllowed405(t *testing.T) {
	e := newEnv(t)
	allowed := map[string][]string{}
	for _, rt := range Routes() {
		allowed[rt.Path] = append(allowed[rt.Path], rt.Method)
	}
	for path, methods := range allowed {
		for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
			if slices.Contains(methods, m) {
				continue
			}
			a := e.do(req{method: m, path: strings.ReplaceAll(path, "{client_id}", "x"), token: e.token("default")})
			wantStatus(t, a, http.StatusMethodNotAllowed, api.TypeMethodNotAllowed)
			allow := a.header.Get("Allow")
			for _, want := range methods {
				if !strings.Contains(allow, want) {
					t.Fatalf("%s %s: Allow %q lacks %s", m, path, allow, want)
				}
			}
		}
	}
}
