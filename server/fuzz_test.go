package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/keydeck/keydeck/api"
	"github.com/keydeck/keydeck/model"
)

// Fuzz targets for what the server parses of outside input besides the
// verify body (FuzzDecodeVerifyFast): management bodies, gateway
// credentials, gateway paths and credit costs, and query parameters.

// fuzzSecret is a made-up secret; replacing SECRET in a fuzzed body with
// it shows whether an answer echoes it.
const fuzzSecret = "kds_Zx81qLmN3vB7cT0pWe5rYu2iOa9sDf4gHj6kLz1XcVb8nM0Qw"

// bodyTypes are the request bodies decodeStrict reads.
var bodyTypes = []func() any{
	func() any { return &api.CreateKeyRequest{} },
	func() any { return &api.EditKeyRequest{} },
	func() any { return &api.RevokeRequest{} },
	func() any { return &api.VerifyRequest{} },
}

// exactStd is the reference: encoding/json as decodeBody used it, plus
// member names exactly as tagged, each once. The request types are flat,
// so only the top-level names matter.
func exactStd(b []byte, dst any) bool {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if dec.Decode(dst) != nil || dec.More() {
		return false
	}
	names := map[string]bool{}
	t := reflect.TypeOf(dst).Elem()
	for i := range t.NumField() {
		n, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		names[n] = true
	}
	dec = json.NewDecoder(bytes.NewReader(b))
	if tok, _ := dec.Token(); tok != json.Delim('{') {
		return true // null: no members
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		name, _ := tok.(string)
		var skip json.RawMessage
		if err != nil || !names[name] || seen[name] || dec.Decode(&skip) != nil {
			return false
		}
		seen[name] = true
	}
	return true
}

// FuzzDecodeStrict: management (and unusual verify) bodies never panic;
// decodeStrict accepts exactly what encoding/json with exact, unrepeated
// member names accepts, to the same value; a refusal is one line and
// never sends back a secret the body held.
func FuzzDecodeStrict(f *testing.F) {
	for _, s := range []string{
		`{"name":"k","permissions":["read","write"],"query_allocation":5,"mutation_allocation":0}`,
		`{"name":"k","name":"k"}`, `{"NAME":"k"}`, `{"Name":"k"}`, `{"n\u0061me":"k"}`, `{"name":null}`, `null`, `[]`,
		`{"permissions":null}`, `{"permissions":[{"a":1}]}`, `{"query_allocation":-1}`, `{"query_allocation":1e3}`,
		`{"keep_allocation":true}`, `{"keep_allocation":"yes"}`, `{} {}`, `{"name":"k"} x`, `{"name":`, "\ufeff{}",
		`{"client_secret":"SECRET"}`, `{"SECRET":1}`, `{"name":SECRET}`, `{"x":"SECRET","SECRET":2}`, `"SECRET"`,
		`{"client_id":"a","client_id":"b"}`, `{"operation":"write","operation":"read"}`, `{"name":"\ud800"}`, "{\"name\":\"a\xffb\"}",
	} {
		for i := range bodyTypes {
			f.Add(uint8(i), []byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		mk := bodyTypes[int(which)%len(bodyTypes)]
		got, want := mk(), mk()
		err := decodeStrict(body, got)
		if ok := exactStd(body, want); (err == nil) != ok {
			t.Fatalf("%T %q: decodeStrict %v, reference accepts: %v", got, body, err, ok)
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%T %q: decoded %+v, encoding/json %+v", got, body, got, want)
		}
		if err != nil && strings.ContainsAny(err.detail+err.field, "\r\n") {
			t.Fatalf("%q: refusal of more than one line: %+v", body, err)
		}
		// What a client gets back never holds the secret. Skipped when the
		// fuzzer wrote pieces of it itself: those are not a secret.
		secretBody := fuzzSecret[4:]
		for i := 0; i+8 <= len(secretBody); i++ {
			if bytes.Contains(body, []byte(secretBody[i:i+8])) {
				return
			}
		}
		withSecret := bytes.ReplaceAll(body, []byte("SECRET"), []byte(fuzzSecret))
		rec := httptest.NewRecorder()
		if (&Server{}).decodeBody(rec, withSecret, mk(), false) {
			return
		}
		for i := 0; i+8 <= len(secretBody); i++ {
			if strings.Contains(rec.Body.String(), secretBody[i:i+8]) {
				t.Fatalf("%q: the answer echoes the secret: %s", body, rec.Body)
			}
		}
	})
}

// FuzzCredentials: the gateway reads X-Client-Id/-Secret, else Basic
// auth, else nothing, without panicking; Basic credentials round-trip.
func FuzzCredentials(f *testing.F) {
	f.Add("kdc_1yICnk16F6gvqaUVjjGpUk", "", "", "kdc_1yICnk16F6gvqaUVjjGpUk", fuzzSecret)
	f.Add("", fuzzSecret, "Basic a2RjOng=", "u", "p:q")
	f.Add("", "", "Basic a2RjOng=", "", "")
	f.Add("", "", "basic a2RjOng=", "é", "\x00")
	f.Add("", "", "Basic !!!", "a:b", "c")
	f.Add("", "", "Bearer kdt_x", "id", "")
	f.Fuzz(func(t *testing.T, xid, xsecret, auth, user, pass string) {
		r := &http.Request{Header: http.Header{}}
		for k, v := range map[string]string{HeaderClientID: xid, HeaderClientSecret: xsecret, "Authorization": auth} {
			if v != "" {
				r.Header[k] = []string{v}
			}
		}
		id, secret, basic := credentials(r)
		switch bu, bp, bok := r.BasicAuth(); {
		case xid != "" || xsecret != "":
			if id != xid || secret != xsecret || basic {
				t.Fatalf("headers %q %q read as %q %q %v", xid, xsecret, id, secret, basic)
			}
		case bok:
			if id != bu || secret != bp || !basic {
				t.Fatalf("Basic %q read as %q %q %v", auth, id, secret, basic)
			}
		default:
			if id != "" || secret != "" || basic {
				t.Fatalf("nothing read as %q %q %v", id, secret, basic)
			}
		}
		if strings.Contains(user, ":") {
			return // Basic cannot carry it
		}
		r = &http.Request{Header: http.Header{}}
		r.SetBasicAuth(user, pass)
		if id, secret, basic := credentials(r); id != user || secret != pass || !basic {
			t.Fatalf("Basic %q/%q read as %q %q %v", user, pass, id, secret, basic)
		}
	})
}

// fuzzCosts prices paths for FuzzCanonPath.
var fuzzCosts = []CreditCost{
	{"POST /media", 5}, {"/api/v1/items/", 3}, {"GET /files/{id}/thumb", 7}, {"/straße", 4},
	{"DELETE /Ünïcode/", 9}, {"/K", 2}, {"PUT /a%41", 6},
}

// spellings are other ways to write the escaped path p that must
// canonicalise to the same key: in upper case, with the trailing slash
// toggled, with a ;parameter, with a letter percent-encoded.
func spellings(p string) []string {
	var out []string
	out = append(out, strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}, p))
	if p != "/" {
		if s, ok := strings.CutSuffix(p, "/"); ok {
			out = append(out, s)
		} else {
			out = append(out, p+"/", p+";x")
		}
	}
	for i := 0; i < len(p); i++ {
		if p[i] == '%' {
			i += 2
			continue
		}
		if c := p[i]; 'a' <= c|0x20 && c|0x20 <= 'z' {
			out = append(out, p[:i]+"%"+strconv.FormatUint(uint64(c), 16)+p[i+1:])
			break
		}
	}
	return out
}

// FuzzCanonPath: any request path is refused or canonicalised without
// panicking; canonicalising is idempotent (the forwarded form and the
// key give themselves back); and every spelling of an accepted path that
// canonicalises the same is priced the same.
func FuzzCanonPath(f *testing.F) {
	for _, s := range []string{"/", "/media", "/MEDIA/", "/media;x", "/%6Dedia", "/media.json", "/media.", "/api/v1/items/42",
		"//media", "/media%2F", "/a/../b", "/a/%2e%2e/b", "/%C0%AE", "/STRASSE", "/straße", "/Ünïcode/x", "/ｍｅｄｉａ",
		"/İ", "/ı", "/K", "/k", "/%252F", "/%25zz", "/a%20/b", "/a;/b", "/ a /", "/files/1/thumb", "/a%41", "/aa", "/%ff"} {
		f.Add(s)
	}
	table, err := newCostTable(fuzzCosts)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := url.ParseRequestURI(raw)
		if err != nil {
			return
		}
		p := u.EscapedPath()
		fwd, key, bad := canonPath(p)
		if bad != "" {
			if strings.ContainsAny(bad, "\r\n") {
				t.Fatalf("%q: refusal of more than one line", p)
			}
			return
		}
		if f2, k2, bad := canonPath(fwd); f2 != fwd || k2 != key || bad != "" {
			t.Fatalf("%q → %q %q, then %q %q %q", p, fwd, key, f2, k2, bad)
		}
		ek := (&url.URL{Path: key}).EscapedPath()
		if _, k2, bad := canonPath(ek); k2 != key || bad != "" {
			t.Fatalf("%q: key %q, escaped %q, gives %q %q", p, key, ek, k2, bad)
		}
		for _, m := range []string{"GET", "POST", "DELETE", "PUT"} {
			r := &http.Request{Method: m, Host: "example.com"}
			c := table.cost(r, key)
			for _, s := range spellings(p) {
				_, k2, bad := canonPath(s)
				if bad != "" || k2 != key {
					t.Fatalf("%q (key %q): spelling %q gives key %q (%s)", p, key, s, k2, bad)
				}
				if c2 := table.cost(r, k2); c2 != c {
					t.Fatalf("%s %q costs %d, spelled %q %d", m, p, c, s, c2)
				}
			}
		}
	})
}

// FuzzCreditCost: --credit-cost values never panic (a pattern ServeMux
// refuses is an error); folding a pattern is idempotent; and a literal
// pattern prices its own path.
func FuzzCreditCost(f *testing.F) {
	for _, s := range []string{"POST /media=5", "/media/=1", "GET /files/{id}/thumb=7", "/MEDIA=+5", "/x= 3 ", "=5", "/x=",
		"/x=-1", "/x=1000000000001", "POST /a;b=1", "/a/../b=1", "/%2F=1", "/Straße=2", "example.com/x=1", "BAD METHOD /x=1",
		"/ｍｅｄｉａ=1", "/a%41=2", "/{x=1", "/a b=1", "/é/=3", "POST  /x=4", "/x==1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCreditCost(s)
		if err != nil {
			if strings.ContainsAny(err.Error(), "\r\n") {
				t.Fatalf("%q: error of more than one line", s)
			}
			return
		}
		if c.Pattern == "" || c.Pattern != strings.TrimSpace(c.Pattern) || c.Credits < 0 || c.Credits > model.MaxQuota {
			t.Fatalf("%q: %+v", s, c)
		}
		fp, err := foldPattern(c.Pattern)
		if err != nil {
			return
		}
		if again, err := foldPattern(fp); err != nil || again != fp {
			t.Fatalf("%q folds to %q, then %q (%v)", c.Pattern, fp, again, err)
		}
		table, err := newCostTable([]CreditCost{c})
		if err != nil || c.Credits == 0 {
			return
		}
		method, path := "GET", c.Pattern
		if i := strings.IndexAny(c.Pattern, " \t"); i >= 0 {
			method, path = c.Pattern[:i], strings.TrimLeft(c.Pattern[i:], " \t")
		}
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, "{}") {
			return // a host or wildcards: no one literal path
		}
		_, key, bad := canonPath(path)
		if bad != "" {
			return
		}
		if got := table.cost(&http.Request{Method: method, Host: "example.com"}, key); got != c.Credits {
			t.Fatalf("%q: %s %s (key %q) costs %d", s, method, path, key, got)
		}
	})
}

// FuzzQueryParams: ?limit=, ?days= and the boolean flags never panic;
// whole numbers are what strconv.Atoi reads, limits at least 1, booleans
// one of "", true, false, 1, 0 in any case.
func FuzzQueryParams(f *testing.F) {
	for _, s := range []string{"", "1", "0", "-1", "+5", "1000", "1001", "01", "1e3", "0x10", " 1", "9223372036854775808", "true",
		"TRUE", "False", "yes", "١"} {
		f.Add(s)
	}
	s := &Server{}
	f.Fuzz(func(t *testing.T, v string) {
		n, ok := s.intParam(httptest.NewRecorder(), v, "days", 7)
		want, err := strconv.Atoi(v)
		switch {
		case v == "":
			if !ok || n != 7 {
				t.Fatalf("absent: %d %v", n, ok)
			}
		case ok != (err == nil) || ok && n != want:
			t.Fatalf("%q: %d %v, strconv %d %v", v, n, ok, want, err)
		}
		n, ok = s.limitParam(httptest.NewRecorder(), v)
		if ok && v != "" && n < 1 || ok && v != "" && n != want || !ok && (v == "" || err == nil && want >= 1) {
			t.Fatalf("limit %q: %d %v", v, n, ok)
		}
		b, ok := s.boolParam(httptest.NewRecorder(), v, "include_revoked")
		switch strings.ToLower(v) {
		case "", "false", "0":
			ok = ok && !b
		case "true", "1":
			ok = ok && b
		default:
			ok = !ok
		}
		if !ok {
			t.Fatalf("include_revoked=%q: %v", v, b)
		}
	})
}
