package server

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/keydeck/keydeck/api"
	"github.com/keydeck/keydeck/assets"
	"github.com/keydeck/keydeck/storage"
)

// healthz answers 200 when the database answers within two seconds, 503
// otherwise: a database server is pinged (Pinger), a file is read.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	var err error
	if p, ok := s.admin.(Pinger); ok {
		err = p.Ping(ctx)
	} else {
		_, err = s.admin.Stats(ctx)
	}
	if err != nil {
		s.errorf(r, err, "health check failed")
		detail := "the database does not answer"
		if errors.Is(err, storage.ErrUnavailable) {
			detail = "the database cannot be reached"
		}
		p := api.NewProblem(http.StatusServiceUnavailable, api.TypeUnavailable, detail)
		p.RetryAfter = 1
		s.writeProblem(w, p)
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
