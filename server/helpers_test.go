package server

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keydeck/keydeck/api"
	"github.com/keydeck/keydeck/assets"
	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/server/internal/servertest"
	"github.com/keydeck/keydeck/storage"
	"github.com/keydeck/keydeck/storage/sqlite"
	"github.com/keydeck/keydeck/storage/storetest"
)

// The route tests share one rule: every answer of a documented operation
// must have a status that assets/openapi.json declares for it, and, when
// the whole package runs, every status the document declares must have
// been produced by some test. So a status that is documented but never
// tested, or answered but not documented, fails the package.

var seen = struct {
	sync.Mutex
	m map[string]map[string]bool // operationId → status → seen
}{m: map[string]map[string]bool{}}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	servertest.RemoveBinary()
	// Only a run of every test can have produced every status: -list runs
	// none, and -run, -skip, -fuzz or -short select a subset.
	full := !testing.Short()
	for _, name := range []string{"test.run", "test.skip", "test.list", "test.fuzz"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" {
			full = false
		}
	}
	if code == 0 && full {
		if missing := missingStatuses(); len(missing) > 0 {
			fmt.Fprintf(os.Stderr, "FAIL: statuses declared in assets/openapi.json that no route test produced:\n  %s\n", strings.Join(missing, "\n  "))
			code = 1
		}
	}
	os.Exit(code)
}

// doc is the OpenAPI document, parsed once.
type openAPIDoc struct {
	Paths map[string]map[string]json.RawMessage `json:"paths"`
}

type openAPIOp struct {
	OperationID string                     `json:"operationId"`
	Responses   map[string]json.RawMessage `json:"responses"`
	Security    []map[string][]string      `json:"security"`
}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// docOps maps "METHOD /path" to its operation in the document.
func docOps(t testing.TB) map[string]openAPIOp {
	var d openAPIDoc
	if err := json.Unmarshal(assets.OpenAPI(), &d); err != nil {
		t.Fatalf("assets/openapi.json: %v", err)
	}
	out := map[string]openAPIOp{}
	for path, item := range d.Paths {
		for m, raw := range item {
			if !slices.Contains(httpMethods, m) {
				continue
			}
			var op openAPIOp
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("openapi %s %s: %v", m, path, err)
			}
			out[strings.ToUpper(m)+" "+path] = op
		}
	}
	return out
}

func missingStatuses() []string {
	ops := docOps(fatalTB{})
	seen.Lock()
	defer seen.Unlock()
	var missing []string
	for pat, op := range ops {
		for st := range op.Responses {
			if st == "default" {
				continue
			}
			if !seen.m[op.OperationID][st] {
				missing = append(missing, pat+" → "+st)
			}
		}
	}
	sort.Strings(missing)
	return missing
}

// fatalTB lets docOps run outside a test.
type fatalTB struct{ testing.TB }

func (fatalTB) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

// routeMux finds the route table's pattern for a request, as the server's
// mux does.
var routeMux = func() *http.ServeMux {
	m := http.NewServeMux()
	for _, rt := range Routes() {
		m.Handle(rt.Pattern(), http.NotFoundHandler())
	}
	return m
}()

// countingAdmin is the real store with its calls counted.
type countingAdmin struct {
	storage.Admin
	verifies atomic.Int64
	auths    atomic.Int64
}

func (c *countingAdmin) Verify(ctx context.Context, req model.VerifyRequest) (model.VerifyResult, error) {
	c.verifies.Add(1)
	return c.Admin.Verify(ctx, req)
}

func (c *countingAdmin) AuthenticateToken(ctx context.Context, token string) (model.Account, error) {
	c.auths.Add(1)
	return c.Admin.AuthenticateToken(ctx, token)
}

// env is a server on a real, fresh SQLite file, reached over loopback.
type env struct {
	t      testing.TB
	path   string
	clock  *storetest.Clock
	db     *sqlite.DB
	admin  *countingAdmin
	srv    *Server
	ts     *httptest.Server
	gw     *httptest.Server
	tokens map[string]string
	logBuf *servertest.SyncBuffer
}

type envOption func(*sqliteOptions, *Config)

type sqliteOptions = sqlite.Options

// start is mid-November 2026, UTC: the current period is November.
var start = time.Date(2026, 11, 14, 10, 30, 0, 0, time.UTC)

func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	e := &env{t: t, path: filepath.Join(t.TempDir(), "keydeck.db"), clock: storetest.NewClock(start), tokens: map[string]string{}, logBuf: &servertest.SyncBuffer{}}
	sopt := sqlite.Options{Clock: e.clock.Now, FlushInterval: 20 * time.Millisecond, BusyTimeout: 200 * time.Millisecond}
	cfg := Config{Clock: e.clock.Now}
	for _, o := range opts {
		o(&sopt, &cfg)
	}
	db, err := sqlite.Open(context.Background(), e.path, sopt)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	e.db = db
	t.Cleanup(func() { db.Close() })
	e.admin = &countingAdmin{Admin: db}
	cfg.Admin = e.admin
	access := NewAccessLog(e.logBuf, false)
	t.Cleanup(func() { access.Close() })
	cfg.AccessLog = access
	e.srv, err = New(cfg)
	if err != nil {
		t.Fatalf("server: %v", err)
	}
	e.ts = httptest.NewServer(e.srv.Handler())
	t.Cleanup(e.ts.Close)
	if g := e.srv.GatewayHandler(); g != nil {
		e.gw = httptest.NewServer(g)
		t.Cleanup(e.gw.Close)
	}
	return e
}

// account creates an account and remembers its token.
func (e *env) account(name string, q, m, credits int64, period model.Period) {
	e.t.Helper()
	_, tok, err := e.db.CreateAccount(context.Background(), "test", name, model.AccountUpdate{QueryTotal: &q, MutationTotal: &m, Credits: &credits, Period: &period})
	if err != nil {
		e.t.Fatalf("create account %s: %v", name, err)
	}
	e.tokens[name] = tok
}

// token is an account's API token (rotated once for "default").
func (e *env) token(account string) string {
	e.t.Helper()
	if tok, ok := e.tokens[account]; ok {
		return tok
	}
	tok, err := e.db.RotateToken(context.Background(), "test", account)
	if err != nil {
		e.t.Fatalf("token %s: %v", account, err)
	}
	e.tokens[account] = tok
	return tok
}

// key creates a key through the local store and returns it with its secret.
func (e *env) key(account, name string, perm model.Permission, q, m int64) (model.Key, string) {
	e.t.Helper()
	st, err := e.db.Store(account, "test")
	if err != nil {
		e.t.Fatal(err)
	}
	k, secret, err := st.CreateKey(context.Background(), model.KeySpec{Name: name, Permissions: perm, QueryAlloc: q, MutationAlloc: m})
	if err != nil {
		e.t.Fatalf("create key %s: %v", name, err)
	}
	return k, secret
}

// store is the local store of an account.
func (e *env) store(account string) storage.Store {
	e.t.Helper()
	st, err := e.db.Store(account, "test")
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}

// answer is a response, read whole.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) problem(t *testing.T) api.Problem {
	t.Helper()
	var p api.Problem
	if err := json.Unmarshal(a.body, &p); err != nil {
		t.Fatalf("problem body %q: %v", a.body, err)
	}
	return p
}

func (a answer) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("body %q: %v", a.body, err)
	}
}

// omitHeader as a header value in req leaves the header out (one the
// helper would set, such as Content-Type).
const omitHeader = "\x00omit"

// noRedirects is the tests' client: it shows a redirect instead of
// following it, so checkAnswer can refuse it.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// req describes a request to the API.
type req struct {
	method, path string
	body         any // string/[]byte sent as is, anything else as JSON; nil for none
	token        string
	header       map[string]string
}

// do sends r to the API and checks what every answer must satisfy.
func (e *env) do(r req) answer {
	e.t.Helper()
	return e.send(e.ts.URL, r, true)
}

// gateway sends r to the gateway.
func (e *env) gateway(r req) answer {
	e.t.Helper()
	return e.send(e.gw.URL, r, false)
}

func (e *env) send(base string, r req, api bool) answer {
	t := e.t
	t.Helper()
	var body io.Reader
	var raw []byte
	switch b := r.body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			t.Fatal(err)
		}
	}
	if raw != nil {
		body = bytes.NewReader(raw)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, r.method, base+r.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if r.token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.token)
	}
	if raw != nil && api {
		// The API wants its bodies declared JSON; gateway requests are
		// sent as the test describes them.
		hr.Header.Set("Content-Type", "application/json")
	}
	for k, v := range r.header {
		if v == omitHeader {
			hr.Header.Del(k)
			continue
		}
		hr.Header.Set(k, v)
	}
	resp, err := noRedirects.Do(hr)
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header, body: b}
	checkAnswer(t, r, raw, a)
	if api {
		e.record(hr, a)
	}
	return a
}

// checkAnswer holds for every answer: no redirect, errors are problems
// whose status matches, and no secret sent in the request comes back in
// an error.
func checkAnswer(t testing.TB, r req, raw []byte, a answer) {
	t.Helper()
	if a.status >= 300 && a.status < 400 {
		t.Fatalf("%s %s: redirected (%d to %q); the API never redirects", r.method, r.path, a.status, a.header.Get("Location"))
	}
	if a.status >= 400 {
		if ct := a.header.Get("Content-Type"); ct != api.ContentType {
			t.Fatalf("%s %s: %d with Content-Type %q, want %s", r.method, r.path, a.status, ct, api.ContentType)
		}
		var p api.Problem
		if err := json.Unmarshal(a.body, &p); err != nil {
			t.Fatalf("%s %s: problem %q: %v", r.method, r.path, a.body, err)
		}
		if p.Status != a.status || !strings.HasPrefix(p.Type, api.TypePrefix) || p.Title == "" || p.Detail == "" {
			t.Fatalf("%s %s: problem %+v for status %d", r.method, r.path, p, a.status)
		}
		for _, s := range secretsIn(string(raw) + " " + r.header["X-Client-Secret"] + " " + r.header["Authorization"] + " " + r.token) {
			if bytes.Contains(a.body, []byte(s)) {
				t.Fatalf("%s %s: the error answer echoes a secret", r.method, r.path)
			}
		}
	}
}

// secretsIn finds secret- and token-shaped strings.
func secretsIn(s string) []string {
	var out []string
	for _, p := range []string{model.SecretPrefix, model.TokenPrefix} {
		for i := strings.Index(s, p); i >= 0; {
			end := min(len(s), i+model.SecretLen)
			out = append(out, s[i:end])
			j := strings.Index(s[i+1:], p)
			if j < 0 {
				break
			}
			i += 1 + j
		}
	}
	return out
}

// record notes the operation and status, and fails at once on a status the
// document does not declare for the operation.
func (e *env) record(hr *http.Request, a answer) {
	e.t.Helper()
	_, pat := routeMux.Handler(hr)
	if p := hr.URL.EscapedPath(); pat == "" || p != cleanPath(p) {
		return // 404 no-such-endpoint or 405: no operation
	}
	if hr.Method == http.MethodHead {
		return
	}
	op, ok := docOpsCached()[pat]
	if !ok {
		e.t.Fatalf("route %s is not in the OpenAPI document", pat)
	}
	st := strconv.Itoa(a.status)
	if _, ok := op.Responses[st]; !ok {
		e.t.Fatalf("%s answered %d, which assets/openapi.json does not declare for %s: %s", pat, a.status, op.OperationID, a.body)
	}
	seen.Lock()
	if seen.m[op.OperationID] == nil {
		seen.m[op.OperationID] = map[string]bool{}
	}
	seen.m[op.OperationID][st] = true
	seen.Unlock()
}

var docOpsCached = sync.OnceValue(func() map[string]openAPIOp { return docOps(fatalTB{}) })

// wantStatus fails unless a has the status (and, for problems, the type).
func wantStatus(t *testing.T, a answer, status int, typ ...string) {
	t.Helper()
	if a.status != status {
		t.Fatalf("status %d, want %d: %s", a.status, status, a.body)
	}
	if len(typ) > 0 {
		if p := a.problem(t); p.Type != typ[0] {
			t.Fatalf("problem type %q, want %q (%s)", p.Type, typ[0], a.body)
		}
	}
}

// verifyBody is a /v1/verify request body.
func verifyBody(id, secret, op string, credits int64) map[string]any {
	b := map[string]any{"client_id": id, "client_secret": secret, "operation": op}
	if credits != 0 {
		b["credits"] = credits
	}
	return b
}

func storeAuditFilter(key string) storage.AuditFilter { return storage.AuditFilter{Key: key} }

// sample is a well-formed request for a route, naming key id where the
// path takes one.
func sample(rt Route, id string) req {
	r := req{method: rt.Method, path: strings.ReplaceAll(rt.Path, "{client_id}", id)}
	switch rt.OperationID {
	case "createKey":
		r.body = map[string]any{"name": "sample-" + strconv.Itoa(int(time.Now().UnixNano()%1e6)), "permissions": []string{"read"}, "query_allocation": 1, "mutation_allocation": 1}
	case "editKey":
		r.body = map[string]any{"name": "edited-by-sample"}
	case "revokeKey":
		r.body = map[string]any{"keep_allocation": false}
	case "verify":
		r.body = verifyBody(id, "", "read", 0)
	}
	return r
}

func storageListAll() storage.ListOptions {
	return storage.ListOptions{IncludeRevoked: true, Limit: storage.MaxLimit}
}

// waitFor polls cond for up to 5s (denials are flushed asynchronously).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	servertest.WaitFor(t, 5*time.Second, what, cond)
}
