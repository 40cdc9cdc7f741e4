package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/keydeck/keydeck/api"
	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
)

// writeJSON answers with v as JSON. API answers are never cached: some
// carry a secret, all carry live counts.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only our own wire types get here; they always marshal.
		panic(fmt.Sprintf("server: cannot encode %T: %v", v, err))
	}
	writeBody(w, status, body)
}

// writeBody answers with an encoded JSON body.
func writeBody(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	// Canonical keys assigned directly: no canonicalisation on the hot path.
	h["Content-Type"] = jsonType
	h["Cache-Control"] = noStore
	h["X-Content-Type-Options"] = nosniff
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

// Shared header values; net/http only reads them.
var (
	jsonType    = []string{"application/json"}
	problemType = []string{api.ContentType}
	noStore     = []string{"no-store"}
	nosniff     = []string{"nosniff"}
)

// writeProblem answers with an RFC 9457 problem.
func (s *Server) writeProblem(w http.ResponseWriter, p *api.Problem) {
	// A detail may quote what the client sent; a secret or token in it
	// (pasted into the wrong field, say) is not sent back. The same for
	// every member that can hold outside input.
	p.Detail = model.RedactSecrets(p.Detail)
	p.ID = model.RedactSecrets(p.ID)
	p.Field = model.RedactSecrets(p.Field)
	p.Name = model.RedactSecrets(p.Name)
	body, err := json.Marshal(p)
	if err != nil {
		panic(fmt.Sprintf("server: cannot encode a problem: %v", err))
	}
	h := w.Header()
	h["Content-Type"] = problemType
	h["Cache-Control"] = noStore
	h["X-Content-Type-Options"] = nosniff
	if p.Status == http.StatusUnauthorized && p.Type == api.TypeUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="keydeck"`)
	}
	if p.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(p.RetryAfter))
	}
	w.WriteHeader(p.Status)
	w.Write(append(body, '\n'))
}

// fail answers with the problem for a store error; errors it does not
// know are logged and answered 500 without their text.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch r.Context().Err() {
	case context.DeadlineExceeded:
		// Config.StoreTimeout ran out: the database did not answer.
		if s.downLog.allow(time.Now()) {
			s.errorf(r, err, "database did not answer in time")
		}
		p := api.NewProblem(http.StatusServiceUnavailable, api.TypeUnavailable, api.DatabaseUnreachable)
		p.RetryAfter = 1
		s.writeProblem(w, p)
		return
	case context.Canceled:
		// The client went away (or the server is stopping): nobody reads
		// this answer, and it is no server error worth a log line.
		s.writeProblem(w, api.NewProblem(http.StatusServiceUnavailable, api.TypeUnavailable, "the request was cancelled"))
		return
	}
	if p, ok := api.FromError(err); ok {
		// A lock, a full disk or a read-only file fails every request while
		// it lasts; the store logs those itself, at most once a second.
		switch {
		case p.Type == api.TypeDatabaseLocked, p.Type == api.TypeDiskFull, p.Type == api.TypeDatabaseReadOnly:
		case errors.Is(err, storage.ErrUnavailable):
			// A database server that went away fails every request until
			// it is back: one line a second says so, not one per request.
			if s.downLog.allow(time.Now()) {
				s.errorf(r, err, "database unreachable")
			}
		case p.Status >= 500:
			s.errorf(r, err, "store unavailable")
		}
		s.writeProblem(w, p)
		return
	}
	s.errorf(r, err, "internal error")
	s.writeProblem(w, api.NewProblem(http.StatusInternalServerError, api.TypeInternal,
		"internal error; the server log has the details"))
}

// badRequest answers 400 with a one-line reason.
func (s *Server) badRequest(w http.ResponseWriter, format string, args ...any) {
	s.writeProblem(w, api.NewProblem(http.StatusBadRequest, api.TypeBadRequest, fmt.Sprintf(format, args...)))
}

// decode reads a JSON body of at most limit bytes into dst. optional
// accepts an empty body (dst keeps its zero value). It answers the problem
// itself and returns false on any failure.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, limit int64, dst any, optional bool) bool {
	body, ok := s.readBody(w, r, limit)
	return ok && s.decodeBody(w, body, dst, optional)
}

// readBody reads a request body of at most limit bytes, declared JSON
// (see jsonContentType); on failure it answers the problem itself and
// returns false.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	untyped, ok := s.checkContentType(w, r)
	if !ok {
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.writeProblem(w, api.NewProblem(http.StatusRequestEntityTooLarge, api.TypeBodyTooLarge,
				fmt.Sprintf("the request body is larger than %d bytes", tooBig.Limit)))
			return nil, false
		}
		s.badRequest(w, "cannot read the request body")
		return nil, false
	}
	return body, s.typedIfAny(w, r, untyped, body)
}

// readBodyInto is readBody into dst when the request declares a length
// that fits it (the usual verification), without allocating.
func (s *Server) readBodyInto(dst []byte, w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	n := r.ContentLength
	if n < 0 || n > limit || n > int64(cap(dst)) {
		return s.readBody(w, r, limit)
	}
	untyped, ok := s.checkContentType(w, r)
	if !ok {
		return nil, false
	}
	dst = dst[:n]
	if _, err := io.ReadFull(r.Body, dst); err != nil {
		s.badRequest(w, "cannot read the request body")
		return nil, false
	}
	return dst, s.typedIfAny(w, r, untyped, dst)
}

// checkContentType answers 415 and returns false unless the request's
// Content-Type is JSON or absent (untyped).
func (s *Server) checkContentType(w http.ResponseWriter, r *http.Request) (untyped, ok bool) {
	ct := r.Header["Content-Type"]
	if len(ct) == 1 && ct[0] == "application/json" {
		return false, true // the usual one, without parsing
	}
	if len(ct) == 0 {
		return true, true
	}
	if why := jsonContentType(ct); why != "" {
		s.unsupportedMedia(w, r, why)
		return false, false
	}
	return false, true
}

// typedIfAny answers 415 and returns false for a body sent without a
// Content-Type: only an empty body may come without one.
func (s *Server) typedIfAny(w http.ResponseWriter, r *http.Request, untyped bool, body []byte) bool {
	if untyped && len(bytes.TrimSpace(body)) > 0 {
		s.unsupportedMedia(w, r, "the request body has no Content-Type; send it as application/json")
		return false
	}
	return true
}

// jsonContentType says why a Content-Type is not one a JSON body may come
// with, or "" when it is: application/json or application/*+json, in any
// case, with any parameters but a charset other than UTF-8. Any other
// type would be read as something it does not say it is (a form post
// sends application/x-www-form-urlencoded).
func jsonContentType(values []string) string {
	if len(values) != 1 {
		return "the request has more than one Content-Type; send one, application/json"
	}
	mt, params, err := mime.ParseMediaType(values[0])
	if err != nil {
		return "the Content-Type cannot be parsed; send application/json"
	}
	sub, ok := strings.CutPrefix(mt, "application/")
	if !ok || (sub != "json" && !strings.HasSuffix(sub, "+json")) {
		return fmt.Sprintf("the request body is %s, not JSON; send it as application/json", model.Sanitize(mt, 80))
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return fmt.Sprintf("charset %s is not supported; send UTF-8", model.Sanitize(cs, 40))
	}
	return ""
}

// unsupportedMedia answers 415, saying which type a body takes.
func (s *Server) unsupportedMedia(w http.ResponseWriter, r *http.Request, why string) {
	switch r.Method {
	case http.MethodPost:
		w.Header().Set("Accept-Post", "application/json")
	case http.MethodPatch:
		w.Header().Set("Accept-Patch", "application/json")
	}
	s.writeProblem(w, api.NewProblem(http.StatusUnsupportedMediaType, api.TypeUnsupportedMedia, why))
}

// decodeBody decodes one JSON value into dst with decodeStrict; on
// failure it answers the problem itself and returns false.
func (s *Server) decodeBody(w http.ResponseWriter, body []byte, dst any, optional bool) bool {
	if len(bytes.TrimSpace(body)) == 0 {
		if optional {
			return true
		}
		s.badRequest(w, "the request body is empty; send a JSON object")
		return false
	}
	if err := decodeStrict(body, dst); err != nil {
		p := api.NewProblem(http.StatusBadRequest, api.TypeBadRequest, err.detail)
		p.Field = err.field
		s.writeProblem(w, p)
		return false
	}
	return true
}

// bodyError is why a body was refused, in one line, and the member it is
// about when there is one.
type bodyError struct{ field, detail string }

// decodeStrict decodes one JSON value into dst. Stricter than
// encoding/json, which takes the last of repeated members and matches
// names ignoring case: every member name must be one of dst's json names
// exactly, and appear once, so what is checked is what was meant
// ("operation":"write","operation":"read" is refused, not read).
func decodeStrict(body []byte, dst any) *bodyError {
	if err := checkMembers(body, reflect.TypeOf(dst)); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var typ *json.UnmarshalTypeError
		field := ""
		if errors.As(err, &typ) {
			field = typ.Field
		}
		return &bodyError{field, jsonProblem(err)}
	}
	if dec.More() {
		return &bodyError{"", "the request body holds more than one JSON value"}
	}
	return nil
}

// checkMembers walks the first JSON value in body along t and reports the
// first member repeated in an object, or whose name is not exactly one of
// the struct's json names. Invalid JSON reports nothing: the decoder
// explains it, as it explains a value of the wrong kind.
func checkMembers(body []byte, t reflect.Type) *bodyError {
	dec := json.NewDecoder(bytes.NewReader(body))
	var first *bodyError
	if !walkMembers(dec, t, 0, &first) {
		return nil
	}
	return first
}

// maxMemberDepth bounds the walk; none of the request types nests deeper
// than 2, so anything deeper is refused by the decoder anyway.
const maxMemberDepth = 64

// walkMembers reads one value from dec, noting the first bad member in
// *first (t nil: any names); false means the JSON is not valid (or too
// deep) and the walk stopped.
func walkMembers(dec *json.Decoder, t reflect.Type, depth int, first **bodyError) bool {
	tok, err := dec.Token()
	if err != nil || depth > maxMemberDepth {
		return false
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return true // a scalar
	}
	if d == '{' {
		var fields map[string]reflect.Type // nil: any name
		var elem reflect.Type
		switch {
		case t == nil:
		case t.Kind() == reflect.Struct:
			fields = jsonFields(t)
		case t.Kind() == reflect.Map:
			elem = t.Elem()
		}
		seen := map[string]bool{}
		for dec.More() {
			tok, err := dec.Token()
			name, ok := tok.(string)
			if err != nil || !ok {
				return false
			}
			ft, known := fields[name]
			switch {
			case seen[name]:
				note(first, name, fmt.Sprintf("field %q appears more than once", name))
			case fields != nil && !known:
				note(first, name, unknownField(name, fields))
			}
			if fields != nil {
				elem = ft // nil for an unknown name
			}
			seen[name] = true
			if !walkMembers(dec, elem, depth+1, first) {
				return false
			}
		}
	} else {
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for dec.More() {
			if !walkMembers(dec, elem, depth+1, first) {
				return false
			}
		}
	}
	_, err = dec.Token() // the closing delimiter
	return err == nil
}

func note(first **bodyError, field, detail string) {
	if *first == nil {
		*first = &bodyError{field, detail}
	}
}

// unknownField explains a member name that is not one of fields; a name
// that differs only in case says which one is meant.
func unknownField(name string, fields map[string]reflect.Type) string {
	for f := range fields {
		if strings.EqualFold(f, name) {
			return fmt.Sprintf("unknown field %q (names are case-sensitive: %q)", name, f)
		}
	}
	return fmt.Sprintf("unknown field %q", name)
}

// jsonFields maps the JSON member names of a struct (as encoding/json
// names them, embedded structs included) to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" && f.Tag.Get("json") == "-" {
			continue
		}
		ft := f.Type
		if f.Anonymous && name == "" {
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for n, typ := range jsonFields(ft) {
					if _, ok := out[n]; !ok {
						out[n] = typ
					}
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = ft
	}
	return out
}

// jsonProblem explains a decoding error in one line without echoing the
// body (which may hold a secret).
func jsonProblem(err error) string {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("the request body is not valid JSON (at byte %d)", syn.Offset)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return fmt.Sprintf("the request body must be a JSON object, not %s", typ.Value)
		}
		return fmt.Sprintf("field %q must be %s, not %s", typ.Field, jsonTypeName(typ.Type.Kind().String()), typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the request body is not valid JSON (it ends too early)"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	}
	return "the request body is not valid JSON"
}

func jsonTypeName(kind string) string {
	switch {
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "uint"):
		return "a whole number from 0 to 1000000000000"
	case strings.HasPrefix(kind, "float"):
		return "a number"
	case kind == "string":
		return "a string"
	case kind == "bool":
		return "true or false"
	case kind == "slice":
		return "a list"
	}
	return "an object"
}

// TokenActor is the actor a token's changes are recorded under: the
// token's hint, never the token.
func TokenActor(token string) string { return "token:…" + model.Hint(token) }

// authed runs h with the store of the account whose token the request
// carries; without a valid token it answers 401.
func (s *Server) authed(h func(*Server, http.ResponseWriter, *http.Request, storage.Store)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, ok := bearer(r)
		if !ok || model.CheckSecret(model.TokenPrefix, tok) != nil {
			s.writeProblem(w, api.NewProblem(http.StatusUnauthorized, api.TypeUnauthorized, model.ErrUnauthorized.Error()))
			return
		}
		if s.storeTimeout > 0 {
			ctx, cancel := context.WithTimeout(r.Context(), s.storeTimeout)
			defer cancel()
			r = r.WithContext(ctx)
		}
		acct, err := s.admin.AuthenticateToken(r.Context(), tok)
		if err != nil {
			if errors.Is(err, model.ErrUnauthorized) || errors.Is(err, model.ErrNotFound) {
				err = model.ErrUnauthorized
			}
			s.fail(w, r, err)
			return
		}
		st, err := s.admin.Store(acct.Name, TokenActor(tok))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		h(s, w, r, st)
	}
}

// bearer reads "Authorization: Bearer <token>".
func bearer(r *http.Request) (string, bool) {
	v := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(v, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// everySecond lets through at most one event a second.
type everySecond struct{ last atomic.Int64 }

func (e *everySecond) allow(now time.Time) bool {
	n, last := now.UnixNano(), e.last.Load()
	return n-last >= int64(time.Second) && e.last.CompareAndSwap(last, n)
}
