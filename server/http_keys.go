package server

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/keydeck/keydeck/api"
	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
)

// defaultUsageDays is the usage history's length without ?days=.
const defaultUsageDays = 30

func (s *Server) getAccount(w http.ResponseWriter, r *http.Request, st storage.Store) {
	a, err := st.Account(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request, st storage.Store) {
	q := r.URL.Query()
	opt := storage.ListOptions{Name: q.Get("name"), Query: q.Get("q"), Sort: storage.Sort(q.Get("sort")), Cursor: q.Get("cursor")}
	var ok bool
	if opt.IncludeRevoked, ok = s.boolParam(w, q.Get("include_revoked"), "include_revoked"); !ok {
		return
	}
	// The store checks the range (and caps it at storage.MaxLimit).
	if opt.Limit, ok = s.limitParam(w, q.Get("limit")); !ok {
		return
	}
	page, err := st.ListKeys(r.Context(), opt)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.FromKeyPage(page))
}

func (s *Server) createKey(w http.ResponseWriter, r *http.Request, st storage.Store) {
	var req api.CreateKeyRequest
	if !s.decode(w, r, s.maxBody, &req, false) {
		return
	}
	spec, err := req.Spec()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	k, secret, err := st.CreateKey(r.Context(), spec)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/keys/"+k.ClientID)
	writeJSON(w, http.StatusCreated, api.KeySecret{Key: api.FromKey(k), ClientSecret: secret})
}

func (s *Server) getKey(w http.ResponseWriter, r *http.Request, st storage.Store) {
	k, err := st.GetKey(r.Context(), r.PathValue("client_id"))
	s.answerKey(w, r, k, err)
}

func (s *Server) editKey(w http.ResponseWriter, r *http.Request, st storage.Store) {
	var req api.EditKeyRequest
	if !s.decode(w, r, s.maxBody, &req, false) {
		return
	}
	edit, err := req.Edit()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	k, err := st.EditKey(r.Context(), r.PathValue("client_id"), edit)
	s.answerKey(w, r, k, err)
}

func (s *Server) regenerateKey(w http.ResponseWriter, r *http.Request, st storage.Store) {
	var none struct{}
	if !s.decode(w, r, s.maxBody, &none, true) {
		return
	}
	k, secret, err := st.RegenerateKey(r.Context(), r.PathValue("client_id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.KeySecret{Key: api.FromKey(k), ClientSecret: secret})
}

func (s *Server) revokeKey(w http.ResponseWriter, r *http.Request, st storage.Store) {
	var req api.RevokeRequest
	if !s.decode(w, r, s.maxBody, &req, true) {
		return
	}
	k, err := st.RevokeKey(r.Context(), r.PathValue("client_id"), req.KeepAllocation)
	s.answerKey(w, r, k, err)
}

func (s *Server) releaseKey(w http.ResponseWriter, r *http.Request, st storage.Store) {
	var none struct{}
	if !s.decode(w, r, s.maxBody, &none, true) {
		return
	}
	k, err := st.ReleaseKey(r.Context(), r.PathValue("client_id"))
	s.answerKey(w, r, k, err)
}

func (s *Server) keyUsage(w http.ResponseWriter, r *http.Request, st storage.Store) {
	days, ok := s.intParam(w, r.URL.Query().Get("days"), "days", defaultUsageDays)
	if !ok {
		return
	}
	id := r.PathValue("client_id")
	u, err := st.Usage(r.Context(), id, days)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if u == nil {
		u = []model.UsageDay{}
	}
	writeJSON(w, http.StatusOK, api.UsageAnswer{ClientID: id, Days: u})
}

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request, st storage.Store) {
	q := r.URL.Query()
	f := storage.AuditFilter{Key: q.Get("key")}
	var ok bool
	if f.Limit, ok = s.limitParam(w, q.Get("limit")); !ok {
		return
	}
	ev, err := st.Audit(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if ev == nil {
		ev = []model.AuditEvent{}
	}
	writeJSON(w, http.StatusOK, api.AuditAnswer{Events: ev})
}

func (s *Server) answerKey(w http.ResponseWriter, r *http.Request, k model.Key, err error) {
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.KeyAnswer{Key: api.FromKey(k)})
}

// boolParam reads a query flag: "", "false", "0" are false; "true", "1"
// true; anything else is answered 422.
func (s *Server) boolParam(w http.ResponseWriter, v, name string) (bool, bool) {
	switch strings.ToLower(v) {
	case "", "false", "0":
		return false, true
	case "true", "1":
		return true, true
	}
	s.writeProblem(w, validation(name, name+" must be true or false"))
	return false, false
}

// intParam reads a whole-number query parameter; absent gives def. The
// store checks the range, so local and remote agree on it.
func (s *Server) intParam(w http.ResponseWriter, v, name string, def int) (int, bool) {
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		s.writeProblem(w, validation(name, name+" must be a whole number"))
		return 0, false
	}
	return n, true
}

// limitParam reads ?limit=: at least 1 (values above 1000 give 1000, as
// the document says); absent, the store's default.
func (s *Server) limitParam(w http.ResponseWriter, v string) (int, bool) {
	n, ok := s.intParam(w, v, "limit", 0)
	if ok && v != "" && n < 1 {
		s.writeProblem(w, validation("limit", "limit must be at least 1"))
		return 0, false
	}
	return n, ok
}

func validation(field, msg string) *api.Problem {
	p := api.NewProblem(http.StatusUnprocessableEntity, api.TypeValidation, msg)
	p.Field = field
	return p
}
