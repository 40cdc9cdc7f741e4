package server

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/keydeck/keydeck/api"
	"github.com/keydeck/keydeck/model"
)

// Headers of the gateway.
const (
	HeaderClientID     = "X-Client-Id"
	HeaderClientSecret = "X-Client-Secret"
	// HeaderVerifiedID is set on requests sent upstream to the Client ID
	// that was verified; a client's own X-Keydeck-* headers are removed
	// first (see scrubHeaders).
	HeaderVerifiedID = "X-Keydeck-Client-Id"
)

// CreditCost prices the gateway requests a ServeMux pattern matches.
type CreditCost struct {
	Pattern string // "POST /media", "/media/", "GET /media/{id}/thumb"
	Credits int64
}

// ParseCreditCost reads an operator's --credit-cost value, "PATTERN=N":
// PATTERN is a net/http ServeMux pattern (an optional method, then a path;
// a path ending in / matches everything under it; GET also matches HEAD)
// and N the credits each matching request costs.
func ParseCreditCost(s string) (CreditCost, error) {
	i := strings.LastIndexByte(s, '=')
	if i < 0 {
		return CreditCost{}, fmt.Errorf("credit cost %q: use PATTERN=N, e.g. 'POST /media=5'", model.Sanitize(s, 80))
	}
	pat, num := strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+1:])
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > model.MaxQuota {
		return CreditCost{}, fmt.Errorf("credit cost %q: %q is not a whole number of credits from 0 to %d", model.Sanitize(s, 80), model.Sanitize(num, 20), int64(model.MaxQuota))
	}
	if pat == "" {
		return CreditCost{}, fmt.Errorf("credit cost %q: the pattern is empty; use e.g. 'POST /media=5'", model.Sanitize(s, 80))
	}
	return CreditCost{Pattern: pat, Credits: n}, nil
}

// costHandler marks a pattern's price inside the cost mux; it is never
// served.
type costHandler int64

func (costHandler) ServeHTTP(http.ResponseWriter, *http.Request) {}

// costTable finds the price of a request with the same matching rules as
// net/http (most specific pattern wins).
type costTable struct{ mux *http.ServeMux }

func newCostTable(costs []CreditCost) (t costTable, err error) {
	if len(costs) == 0 {
		return t, nil // no lookup per request: every request costs 0
	}
	t.mux = http.NewServeMux()
	for _, c := range costs {
		if err := register(t.mux, c); err != nil {
			return costTable{}, err
		}
	}
	return t, nil
}

// register adds one pattern; ServeMux panics on a bad or conflicting
// pattern, which becomes an error here.
func register(mux *http.ServeMux, c CreditCost) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("credit cost %q: %v", model.Sanitize(c.Pattern, 80), r)
		}
	}()
	mux.Handle(c.Pattern, costHandler(c.Credits))
	return nil
}

func (t costTable) cost(r *http.Request) int64 {
	if t.mux == nil {
		return 0
	}
	h, _ := t.mux.Handler(r)
	if c, ok := h.(costHandler); ok {
		return int64(c)
	}
	return 0
}

// gateway verifies each request's key and proxies the allowed ones.
type gateway struct {
	s     *Server
	costs costTable
	proxy *httputil.ReverseProxy
}

// ParseUpstream reads the gateway's upstream URL: http or https, with a
// host, and no credentials (they would go with every proxied request and
// show in process listings). Errors never quote the credentials.
func ParseUpstream(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not an http:// or https:// URL with a host", api.ShowURL(s))
	}
	return u, checkUpstream(u)
}

func checkUpstream(u *url.URL) error {
	if u.User != nil {
		return fmt.Errorf("%q: put no credentials in the URL", api.ShowURL(u.String()))
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("%q is not an http:// or https:// URL with a host", api.ShowURL(u.String()))
	}
	return nil
}

func newGateway(s *Server, upstream *url.URL, costs []CreditCost, timeout time.Duration) (*gateway, error) {
	if err := checkUpstream(upstream); err != nil {
		return nil, fmt.Errorf("upstream: %w", err)
	}
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	ct, err := newCostTable(costs)
	if err != nil {
		return nil, err
	}
	g := &gateway{s: s, costs: ct}
	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   128,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: timeout,
		ExpectContinueTimeout: time.Second,
	}
	g.proxy = &httputil.ReverseProxy{
		// Rewrite runs after the hop-by-hop headers are removed, so a client
		// naming keydeck's headers in Connection cannot drop them.
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(upstream)
			pr.SetXForwarded()
			pr.Out.Header.Set(HeaderVerifiedID, pr.In.Header.Get(HeaderVerifiedID))
		},
		Transport: transport,
		ModifyResponse: func(resp *http.Response) error {
			// The gateway's own quota headers (set before proxying) win.
			resp.Header.Del("RateLimit")
			resp.Header.Del("RateLimit-Policy")
			return nil
		},
		ErrorHandler: g.upstreamFailed,
	}
	return g, nil
}

// gatewayMethods are the methods the gateway maps to an operation.
const gatewayMethods = "DELETE, GET, HEAD, PATCH, POST, PUT"

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := g.s
	start := requestStart(w)
	op, ok := api.OperationForMethod(r.Method)
	if !ok {
		w.Header().Set("Allow", gatewayMethods)
		p := api.NewProblem(http.StatusMethodNotAllowed, api.TypeMethodNotAllowed, r.Method+" is not one of the methods keydeck maps to an operation ("+gatewayMethods+")")
		p.Allow = strings.Split(gatewayMethods, ", ")
		s.writeProblem(w, p)
		return
	}
	// Credit costs are matched on the path; a path that is not in canonical
	// form ("//media", "/./media", "/x/../media") would match no cost and
	// still reach the upstream, which may well read it as "/media".
	if p := r.URL.Path; p != cleanPath(p) {
		s.writeProblem(w, api.NewProblem(http.StatusBadRequest, api.TypeBadRequest,
			"the path is not in canonical form (no //, /./ or /../ segments)"))
		return
	}
	if p := refuseOverride(r); p != nil {
		s.writeProblem(w, p)
		return
	}
	id, secret, basic := credentials(r)
	setClientID(w, id)
	res, ok := s.settle(w, r, sourceGateway, start, model.VerifyRequest{ClientID: id, ClientSecret: secret, Operation: op, Credits: g.costs.cost(r)})
	if !ok {
		return
	}
	h := r.Header
	h.Del(HeaderClientID)
	h.Del(HeaderClientSecret)
	if basic {
		h.Del("Authorization")
	}
	h.Set(HeaderVerifiedID, res.ClientID) // copied to the outbound request by Rewrite
	g.proxy.ServeHTTP(w, r)
}

// gatewayFormPeekBytes bounds the form body the gateway reads, before
// anything goes upstream, to look for _method; a larger one is refused.
const gatewayFormPeekBytes = 64 << 10

// refuseOverride answers 400 for a request that carries a method override
// (a header, or _method in the query or a form body): the permission and
// the unit are decided from the request's method, and an upstream that
// honours the override would run another method's handler, a DELETE with
// a write-only key. Overrides are refused rather than stripped: stripping
// would run a method the client did not mean without telling it, and
// stripping _method from a form means rewriting the body. It also removes
// client copies of keydeck's headers (scrubHeaders).
func refuseOverride(r *http.Request) *api.Problem {
	if h := scrubHeaders(r.Header); h != "" {
		return api.NewProblem(http.StatusBadRequest, api.TypeBadRequest,
			"method overrides are refused (header "+h+"): send the method itself")
	}
	if hasMethodParam(r.URL.RawQuery) {
		return api.NewProblem(http.StatusBadRequest, api.TypeBadRequest,
			"method overrides are refused (_method in the query): send the method itself")
	}
	if !formBody(r) {
		return nil
	}
	if ce := r.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		return api.NewProblem(http.StatusBadRequest, api.TypeBadRequest,
			"a form body with a Content-Encoding cannot be checked for a _method override; send it unencoded")
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, gatewayFormPeekBytes+1))
	if err != nil {
		return api.NewProblem(http.StatusBadRequest, api.TypeBadRequest, "the request body could not be read")
	}
	if len(b) > gatewayFormPeekBytes {
		return api.NewProblem(http.StatusRequestEntityTooLarge, api.TypeBodyTooLarge,
			"a form body over 64 KiB cannot be checked for a _method override; send large bodies with another Content-Type (multipart/form-data, JSON)")
	}
	if hasMethodParam(string(b)) {
		return api.NewProblem(http.StatusBadRequest, api.TypeBadRequest,
			"method overrides are refused (_method in the form body): send the method itself")
	}
	r.Body = peekedBody{bytes.NewReader(b), r.Body}
	return nil
}

// peekedBody replays what was read of a body; closing closes the original.
type peekedBody struct {
	io.Reader
	io.Closer
}

// formBody says whether an upstream may parse r's body as a form: an
// urlencoded Content-Type, or a POST with a body and no Content-Type
// (Rack reads those as forms). Multipart bodies are not read: _method may
// follow any amount of file data, and buffering uploads is not bounded.
func formBody(r *http.Request) bool {
	if r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody {
		return false
	}
	cts := r.Header["Content-Type"]
	if len(cts) == 0 {
		return r.Method == http.MethodPost
	}
	for _, ct := range cts {
		mt, _, _ := strings.Cut(ct, ";")
		if strings.EqualFold(strings.TrimSpace(mt), "application/x-www-form-urlencoded") {
			return true
		}
	}
	return false
}

// hasMethodParam says whether a query or urlencoded form has a _method
// field. Fields are split on & and on ; (which some upstreams still take
// as a separator).
func hasMethodParam(q string) bool {
	for q != "" {
		var pair string
		if i := strings.IndexAny(q, "&;"); i >= 0 {
			pair, q = q[:i], q[i+1:]
		} else {
			pair, q = q, ""
		}
		name, _, _ := strings.Cut(pair, "=")
		if isMethodParam(name) {
			return true
		}
	}
	return false
}

// isMethodParam says whether a field name, still escaped, is _method as
// some upstream reads it: decoded, in any case, with PHP's mangling (leading
// spaces dropped, ' ' and '.' read as '_', "_method[]" an array of it).
func isMethodParam(raw string) bool {
	name, err := url.QueryUnescape(raw)
	if err != nil {
		name = raw
	}
	name = strings.TrimLeft(name, " ")
	if i := strings.IndexByte(name, '['); i > 0 {
		name = name[:i]
	}
	const want = "_method"
	if len(name) != len(want) {
		return false
	}
	for i := 0; i < len(want); i++ {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		} else if c == ' ' || c == '.' {
			c = '_'
		}
		if c != want[i] {
			return false
		}
	}
	return true
}

// scrubHeaders removes what a client sends in keydeck's name: anything in
// the X-Keydeck- namespace and the forwarding headers keydeck sets, in any
// spelling an upstream may read as theirs. CGI-style upstreams (Rack, PHP,
// WSGI) read X_Keydeck_Client_Id as X-Keydeck-Client-Id, so '_' counts as
// '-'. The canonical X-Forwarded-* are replaced in Rewrite anyway. It
// returns the name of a method-override header if there is one.
func scrubHeaders(h http.Header) (override string) {
	for k := range h {
		switch {
		case hasFoldedPrefix(k, "x-keydeck-") || foldedEqual(k, "forwarded") || foldedEqual(k, "x-forwarded-for") ||
			foldedEqual(k, "x-forwarded-host") || foldedEqual(k, "x-forwarded-proto"):
			delete(h, k)
		case foldedEqual(k, "x-http-method-override") || foldedEqual(k, "x-http-method") || foldedEqual(k, "x-method-override"):
			override = k
		}
	}
	return override
}

// foldedEqual says whether the header name k is want (lower case, '-')
// ignoring case and reading '_' as '-'.
func foldedEqual(k, want string) bool {
	return len(k) == len(want) && hasFoldedPrefix(k, want)
}

func hasFoldedPrefix(k, want string) bool {
	if len(k) < len(want) {
		return false
	}
	for i := 0; i < len(want); i++ {
		c := k[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		} else if c == '_' {
			c = '-'
		}
		if c != want[i] {
			return false
		}
	}
	return true
}

// cleanPath is p as ServeMux would clean it: rooted, no empty, "." or ".."
// segments, a trailing slash kept.
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

// credentials reads the key from X-Client-Id + X-Client-Secret or, when
// neither is present, from Authorization: Basic. basic says the
// Authorization header carried them (and so must not go upstream). A
// request with neither gets empty strings, which the store answers 401
// like any other bad credential.
func credentials(r *http.Request) (id, secret string, basic bool) {
	id, secret = r.Header.Get(HeaderClientID), r.Header.Get(HeaderClientSecret)
	if id != "" || secret != "" {
		return id, secret, false
	}
	if u, p, ok := r.BasicAuth(); ok {
		return u, p, true
	}
	return "", "", false
}

// upstreamFailed answers 502 when the upstream cannot be reached or fails
// mid-answer. The unit stays consumed (see the package doc).
func (g *gateway) upstreamFailed(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() == nil {
		g.s.metrics.upstream.Inc()
		g.s.log.Warn("gateway: upstream failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	w.Header().Del(HeaderVerifiedID)
	g.s.writeProblem(w, api.NewProblem(http.StatusBadGateway, api.TypeUpstreamFailed,
		"the upstream service cannot be reached or failed to answer; the request's unit was counted"))
}
