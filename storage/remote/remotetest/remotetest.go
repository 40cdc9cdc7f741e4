// Package remotetest is a hostile keydeck server for tests of what reaches
// a terminal in remote mode (storage/remote, the CLI, the TUI): every
// string of every answer carries escape sequences, control and bidi
// characters, and the fixed-form fields can be broken one at a time.
package remotetest

import (
	"encoding/json"
	"net/http"
	"reflect"
	"time"
	"unicode/utf8"

	"github.com/keydeck/keydeck/api"
	"github.com/keydeck/keydeck/model"
)

// Hostile is put in every free-text field. It would set the window title
// (OSC 0), clear the screen, recolour, forge a line (CR LF), reverse the
// text (U+202E, U+2066), send a C1 CSI (U+009B), DEL, NUL and a tab;
// Marker shows where it went.
const Hostile = "\x1b]0;pwned\x07\x1b[2J\x1b[31mEVIL\r\nforged line\u202eesrever\u2066\u009b7m\x7f\x00\tend"

// Marker is the visible part of Hostile that survives sanitising, to
// check that the text was shown at all.
const Marker = "EVIL"

// ClientID is the Client ID of the one key the server knows.
const ClientID = "kdc_HostileHostileHostile0"

// Answers is what the server sends. Default fills it; a test breaks a
// field to see the answer refused.
type Answers struct {
	Account model.Account
	Key     api.Key // every key answer, and the one key of every page
	Secret  string  // create and regenerate
	Events  []model.AuditEvent
	Days    []model.UsageDay
	Verify  api.VerifyAnswer
	// Problem, when set, is the answer to every request but GET.
	Problem *api.Problem
}

// Default is Hostile in every string field (found by reflection, so a
// field added later is covered too), with the fixed-form fields valid:
// Client IDs, status, period, permissions, days and the secret.
func Default() Answers {
	var a Answers
	fill(reflect.ValueOf(&a).Elem())
	now := time.Date(2026, 11, 26, 14, 30, 0, 0, time.UTC)

	a.Account.Period = model.PeriodMonthly
	a.Account.QueryTotal, a.Account.MutationTotal, a.Account.Credits = 100, 100, 10
	a.Account.CreatedAt = now

	a.Key.ClientID = ClientID
	a.Key.Status = model.StatusActive
	a.Key.Permissions = []string{"read", "write"}
	a.Key.QueryAlloc, a.Key.MutationAlloc = 10, 5
	a.Key.CreatedAt, a.Key.SecretRotatedAt, a.Key.PeriodStart = now, now, now

	a.Secret = model.NewSecret()

	e := model.AuditEvent{ID: 1, At: now, ClientID: ClientID}
	fill(reflect.ValueOf(&e).Elem())
	e.ClientID = ClientID
	a.Events = []model.AuditEvent{e}

	a.Days = []model.UsageDay{{Day: "2026-11-26", Queries: 1}}

	a.Verify.ClientID = ClientID
	a.Verify.Kind = "query"
	a.Verify.Period = string(model.PeriodMonthly)
	a.Verify.Allowed = true
	return a
}

// HostileProblem is an error answer with Hostile in every string; typ
// picks how the client reads it (a validation error, an ambiguous name,
// or a type it does not know).
func HostileProblem(status int, typ string) *api.Problem {
	var p api.Problem
	fill(reflect.ValueOf(&p).Elem())
	p.Type = typ
	p.Status = status
	p.Matches = []string{Hostile, Hostile}
	p.ClientID, p.Period, p.Kind = "", "", ""
	return &p
}

// fill sets every string in v (fields of structs, elements of string
// slices) to Hostile, and gives a nil string slice one element.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(Hostile)
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i))
			}
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.String {
			v.Set(reflect.ValueOf([]string{Hostile}).Convert(v.Type()))
		}
	}
}

// Handler serves a. Every route of the management API and verify is
// answered; the token is not checked.
func Handler(a Answers) http.Handler {
	mux := http.NewServeMux()
	send := func(w http.ResponseWriter, status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		if p, ok := v.(*api.Problem); ok {
			w.Header().Set("Content-Type", api.ContentType)
			status = p.Status
		}
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	}
	write := func(status int, ok any) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if a.Problem != nil {
				send(w, 0, a.Problem)
				return
			}
			send(w, status, ok)
		}
	}
	read := func(v any) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { send(w, http.StatusOK, v) }
	}
	keySecret := api.KeySecret{Key: a.Key, ClientSecret: a.Secret}
	mux.Handle("GET /v1/account", read(a.Account))
	mux.Handle("GET /v1/keys", read(api.KeyPage{Keys: []api.Key{a.Key}, Total: 1}))
	mux.Handle("POST /v1/keys", write(http.StatusCreated, keySecret))
	mux.Handle("GET /v1/keys/{id}", read(api.KeyAnswer{Key: a.Key}))
	mux.Handle("PATCH /v1/keys/{id}", write(http.StatusOK, api.KeyAnswer{Key: a.Key}))
	mux.Handle("POST /v1/keys/{id}/regenerate", write(http.StatusOK, keySecret))
	mux.Handle("POST /v1/keys/{id}/revoke", write(http.StatusOK, api.KeyAnswer{Key: a.Key}))
	mux.Handle("POST /v1/keys/{id}/release", write(http.StatusOK, api.KeyAnswer{Key: a.Key}))
	mux.Handle("GET /v1/keys/{id}/usage", read(api.UsageAnswer{ClientID: Hostile, Days: a.Days}))
	mux.Handle("GET /v1/audit", read(api.AuditAnswer{Events: a.Events}))
	mux.Handle("POST /v1/verify", write(http.StatusOK, a.Verify))
	return mux
}

// Strings returns every string reachable from v (fields, elements, map
// keys and values, pointers), to check a whole answer, or decoded JSON, at
// once.
func Strings(v any) []string {
	var out []string
	var walk func(reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.String:
			out = append(out, v.String())
		case reflect.Pointer, reflect.Interface:
			if !v.IsNil() {
				walk(v.Elem())
			}
		case reflect.Struct:
			for i := 0; i < v.NumField(); i++ {
				if v.Type().Field(i).IsExported() {
					walk(v.Field(i))
				}
			}
		case reflect.Slice, reflect.Array:
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i))
			}
		case reflect.Map:
			for it := v.MapRange(); it.Next(); {
				walk(it.Key())
				walk(it.Value())
			}
		}
	}
	walk(reflect.ValueOf(v))
	return out
}

// Unsafe returns the first character of s that must not reach a
// terminal, and whether there is one: C0 controls (newline too: check
// line by line), DEL, C1 controls, the bidi embeddings, overrides and
// isolates, line and paragraph separators, and invalid UTF-8.
func Unsafe(s string) (rune, bool) {
	for i, r := range s {
		switch {
		case r == utf8.RuneError:
			if _, n := utf8.DecodeRuneInString(s[i:]); n == 1 {
				return r, true
			}
		case r < 0x20, r >= 0x7f && r <= 0x9f,
			r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069,
			r == 0x200e, r == 0x200f, r == 0x061c, r == 0x2028, r == 0x2029:
			return r, true
		}
	}
	return 0, false
}
