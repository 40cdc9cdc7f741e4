package server

import (
	"context"
	"net/http"
	"time"

	"github.com/keydeck/keydeck/api"
	"github.com/keydeck/keydeck/assets"
)

// healthz answers 200 when the database answers a read within two seconds,
// 503 otherwise.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if _, err := s.admin.Stats(ctx); err != nil {
		s.errorf(r, err, "health check failed")
		s.writeProblem(w, api.NewProblem(http.StatusServiceUnavailable, api.TypeUnavailable, "the database does not answer"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// openapi serves the embedded OpenAPI 3.1 document.
func (s *Server) openapi(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.Write(assets.OpenAPI())
}
