package server

import (
	"net/http"
	"path"
	"slices"
	"strings"

	"github.com/keydeck/keydeck/api"
	"github.com/keydeck/keydeck/storage"
)

// Route is one endpoint of the HTTP API. The mux is built from Routes, and
// a test checks Routes against assets/openapi.json both ways.
type Route struct {
	Method string // GET routes answer HEAD too
	// Path in ServeMux (and OpenAPI) form: /v1/keys/{client_id}.
	Path string
	// OperationID is the route's operationId in the OpenAPI document.
	OperationID string
	// Auth: the route needs an account token (Authorization: Bearer kdt_…)
	// and sees only that account.
	Auth bool

	plain   func(*Server, http.ResponseWriter, *http.Request)
	account func(*Server, http.ResponseWriter, *http.Request, storage.Store)
}

// Pattern is the route's ServeMux pattern, "GET /v1/keys".
func (rt Route) Pattern() string { return rt.Method + " " + rt.Path }

// Routes is the route table of the HTTP API.
func Routes() []Route {
	return []Route{
		{Method: "POST", Path: "/v1/verify", OperationID: "verify", plain: (*Server).verify},
		{Method: "GET", Path: "/v1/account", OperationID: "getAccount", Auth: true, account: (*Server).getAccount},
		{Method: "GET", Path: "/v1/keys", OperationID: "listKeys", Auth: true, account: (*Server).listKeys},
		{Method: "POST", Path: "/v1/keys", OperationID: "createKey", Auth: true, account: (*Server).createKey},
		{Method: "GET", Path: "/v1/keys/{client_id}", OperationID: "getKey", Auth: true, account: (*Server).getKey},
		{Method: "PATCH", Path: "/v1/keys/{client_id}", OperationID: "editKey", Auth: true, account: (*Server).editKey},
		{Method: "POST", Path: "/v1/keys/{client_id}/regenerate", OperationID: "regenerateKey", Auth: true, account: (*Server).regenerateKey},
		{Method: "POST", Path: "/v1/keys/{client_id}/revoke", OperationID: "revokeKey", Auth: true, account: (*Server).revokeKey},
		{Method: "POST", Path: "/v1/keys/{client_id}/release", OperationID: "releaseKey", Auth: true, account: (*Server).releaseKey},
		{Method: "GET", Path: "/v1/keys/{client_id}/usage", OperationID: "keyUsage", Auth: true, account: (*Server).keyUsage},
		{Method: "GET", Path: "/v1/audit", OperationID: "listAudit", Auth: true, account: (*Server).listAudit},
		{Method: "GET", Path: "/healthz", OperationID: "healthz", plain: (*Server).healthz},
		{Method: "GET", Path: "/metrics", OperationID: "metrics", plain: (*Server).serveMetrics},
		{Method: "GET", Path: "/openapi.json", OperationID: "openapi", plain: (*Server).openapi},
	}
}

// newMux registers every route, a 405 answer for the other methods of
// each path, and a 404 answer for every other path and for a path not in
// canonical form (never a redirect), all as problem+json.
//
// POST /v1/verify, the hot path, is matched before the mux with the same
// handler: the mux's pattern matching is about 2% of a verification's
// CPU. A request the shortcut takes is one the mux would route there too
// (same method, the exact clean path).
func (s *Server) newMux() http.Handler {
	mux, verify := s.routeMux()
	h := s.canonical(mux)
	const verifyPattern = "POST /v1/verify"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/v1/verify" && r.URL.RawPath == "" {
			r.Pattern = verifyPattern
			verify.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// canonical answers 404 for a path not in canonical form and hands the
// rest to mux. The mux would answer an unclean path with a redirect to
// the clean one, and CONNECT host:port with a plain-text 404: an API
// client should be told, not sent elsewhere. Like the mux, it looks at the
// escaped path: %2F inside a segment is a key name's business, not a
// separator.
func (s *Server) canonical(mux http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// CONNECT is refused whatever its target, a path of the API
		// included: this is an API, not a proxy.
		if r.Method == http.MethodConnect {
			s.writeProblem(w, api.NewProblem(http.StatusNotFound, api.TypeNoSuchEndpoint,
				"CONNECT is not supported: this is an API, not a proxy; see /openapi.json"))
			return
		}
		if p := r.URL.EscapedPath(); p != cleanPath(p) {
			s.writeProblem(w, api.NewProblem(http.StatusNotFound, api.TypeNoSuchEndpoint,
				"no such endpoint: the path is not in canonical form (no //, /./ or /../ segments); see /openapi.json"))
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// routeMux is the mux of every route, and the verify route's handler.
func (s *Server) routeMux() (*http.ServeMux, http.Handler) {
	mux := http.NewServeMux()
	var verify http.Handler
	allow := map[string][]string{}
	var paths []string
	for _, rt := range Routes() {
		var h http.HandlerFunc
		if rt.Auth {
			h = s.authed(rt.account)
		} else {
			plain := rt.plain
			h = func(w http.ResponseWriter, r *http.Request) { plain(s, w, r) }
		}
		ih := s.metrics.instrument(rt.Pattern(), h)
		mux.Handle(rt.Pattern(), ih)
		if rt.OperationID == "verify" {
			verify = ih
		}
		if _, ok := allow[rt.Path]; !ok {
			paths = append(paths, rt.Path)
		}
		allow[rt.Path] = append(allow[rt.Path], rt.Method)
		if rt.Method == "GET" {
			allow[rt.Path] = append(allow[rt.Path], "HEAD")
		}
	}
	for _, p := range paths {
		methods := allow[p]
		slices.Sort(methods)
		list := strings.Join(methods, ", ")
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", list)
			pr := api.NewProblem(http.StatusMethodNotAllowed, api.TypeMethodNotAllowed, r.Method+" is not allowed on "+p+" (use "+list+")")
			pr.Allow = methods
			s.writeProblem(w, pr)
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeProblem(w, api.NewProblem(http.StatusNotFound, api.TypeNoSuchEndpoint, "no such endpoint; see /openapi.json"))
	})
	return mux, verify
}

// cleanPath is the path ServeMux would redirect p to (net/http's own
// cleanPath): p is canonical when it is its own clean path.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		np += "/"
	}
	return np
}
