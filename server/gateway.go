package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

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
// a path ending in / matches itself and everything under it; GET also
// matches HEAD) and N the credits each matching request costs. Patterns
// match the canonical key of a request's path (see canonPath), so case,
// ;parameters, escapes of unreserved characters and a trailing slash make
// no difference.
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
// net/http (most specific pattern wins), on the canonical key of its path
// (canonPath) and with the patterns' paths folded the same way.
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
	// A catch-all at 0 (unless the operator priced "/") makes every lookup
	// a match: ServeMux's answers for no match (a search for the methods
	// that would match) cost ten times a lookup.
	_ = register(t.mux, CreditCost{Pattern: "/"})
	return t, nil
}

// register adds one pattern; ServeMux panics on a bad or conflicting
// pattern, which becomes an error here.
func register(mux *http.ServeMux, c CreditCost) (err error) {
	pat, err := foldPattern(c.Pattern)
	if err != nil {
		return fmt.Errorf("credit cost %q: %v", model.Sanitize(c.Pattern, 80), err)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("credit cost %q: %v", model.Sanitize(c.Pattern, 80), r)
		}
	}()
	mux.Handle(pat, costHandler(c.Credits))
	return nil
}

// foldPattern puts a pattern's host and literal path segments in the form
// canonPath gives request paths; wildcards and a trailing slash are kept.
func foldPattern(pat string) (string, error) {
	method, rest := "", pat
	if i := strings.IndexAny(pat, " \t"); i >= 0 {
		method, rest = pat[:i+1], strings.TrimLeft(pat[i:], " \t")
	}
	slash := strings.IndexByte(rest, '/')
	if slash < 0 {
		return pat, nil // ServeMux says what is wrong
	}
	var b strings.Builder
	b.WriteString(method)
	b.WriteString(strings.ToLower(rest[:slash]))
	segs := strings.Split(rest[slash+1:], "/")
	for i, seg := range segs {
		b.WriteByte('/')
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") || seg == "" && i == len(segs)-1 {
			b.WriteString(seg)
			continue
		}
		if strings.Contains(seg, ";") {
			return "", errors.New("a ;parameter in a pattern never matches: parameters are cut from paths before matching")
		}
		_, key, bad := canonPath("/" + seg)
		if bad != "" {
			return "", errors.New(bad)
		}
		b.WriteString(url.PathEscape(key[1:]))
	}
	return b.String(), nil
}

// cost is the price of a request whose path has the canonical key key.
// Rails (/media(.:format)) and Spring (suffix matching) route /media.json
// to /media, so a last segment with an extension also pays the bare name's
// price when that is higher.
func (t costTable) cost(r *http.Request, key string) int64 {
	if t.mux == nil {
		return 0
	}
	lr := &http.Request{Method: r.Method, Host: strings.ToLower(r.Host), URL: &url.URL{}}
	c := t.lookup(lr, key)
	last := key[strings.LastIndexByte(key, '/')+1:]
	if i := strings.IndexByte(last, '.'); i > 0 {
		c = max(c, t.lookup(lr, key[:len(key)-len(last)+i]))
	}
	return c
}

// lookup prices key. A key has no trailing slash, so a pattern ending in /
// (which ServeMux answers with a redirect for the bare path) is tried with
// one.
func (t costTable) lookup(lr *http.Request, key string) int64 {
	lr.URL.Path = key
	if c, ok := t.handler(lr); ok {
		return c
	}
	if key != "/" {
		lr.URL.Path = key + "/"
		if c, ok := t.handler(lr); ok {
			return c
		}
	}
	return 0
}

func (t costTable) handler(r *http.Request) (int64, bool) {
	h, _ := t.mux.Handler(r)
	c, ok := h.(costHandler)
	return int64(c), ok
}

// canonPath checks the escaped path p, as it would go upstream, and
// returns the form it goes upstream in (escapes of unreserved characters
// decoded, other escapes in upper case, otherwise as sent) and the key
// credit costs match: segments percent-decoded, ;parameters cut, spaces
// trimmed, case-folded (Unicode simple folding, İ and ı as i, fullwidth as
// ASCII), no trailing slash. A path an upstream could read as another path
// than its key says is refused, bad saying why (the list is the README's,
// under Server). So every spelling of a priced path is either priced or
// refused, in one pass.
func canonPath(p string) (fwd, key string, bad string) {
	if p == "" || p[0] != '/' {
		return "", "", "the path does not start with /"
	}
	var norm []byte // nil while p needs no change
	k := make([]byte, 0, len(p))
	dec := make([]byte, 0, 64)
	for start, more := 1, true; more; {
		seg := p[start:]
		if i := strings.IndexByte(seg, '/'); i >= 0 {
			seg = seg[:i]
		} else {
			more = false
		}
		dec = dec[:0]
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			switch {
			case c == '%':
				if i+2 >= len(seg) || !ishex(seg[i+1]) || !ishex(seg[i+2]) {
					return "", "", "the path has invalid percent-encoding"
				}
				b := unhex(seg[i+1])<<4 | unhex(seg[i+2])
				switch {
				case b == '/':
					return "", "", "the path has an encoded slash (%2F), which upstreams may read as /"
				case b == '\\':
					return "", "", "the path has an encoded backslash (%5C), which upstreams may read as /"
				case b < 0x20 || b == 0x7f:
					return "", "", "the path has an encoded control character (such as %00)"
				case b == ';' || b == '?' || b == '#':
					return "", "", "the path has a # or an encoded ;, ? or # (%3B, %3F, %23), which upstreams read differently"
				case b == '%' && i+4 < len(seg) && ishex(seg[i+3]) && ishex(seg[i+4]):
					return "", "", "the path is percent-encoded twice (such as %252F)"
				}
				dec = append(dec, b)
				if unreserved(b) || seg[i+1] != upperhex[b>>4] || seg[i+2] != upperhex[b&15] {
					if norm == nil {
						norm = append(make([]byte, 0, len(p)), p[:start+i]...)
					}
				}
				if norm != nil {
					if unreserved(b) {
						norm = append(norm, b)
					} else {
						norm = append(norm, '%', upperhex[b>>4], upperhex[b&15])
					}
				}
				i += 2
				continue
			case c == '\\' || c == '#':
				return "", "", "the path has a \\ or #, which upstreams read differently"
			case c < 0x20 || c == 0x7f:
				return "", "", "the path has a control character"
			}
			dec = append(dec, c)
			if norm != nil {
				norm = append(norm, c)
			}
		}
		if norm != nil && more {
			norm = append(norm, '/')
		}
		start += len(seg) + 1
		if len(dec) == 0 {
			if more {
				return "", "", "the path has an empty segment (//)"
			}
			break // a trailing slash, or the root
		}
		ks := dec
		if i := bytes.IndexByte(ks, ';'); i >= 0 {
			ks = ks[:i]
		}
		ks = bytes.Trim(ks, " ")
		switch {
		case len(ks) == 0:
			return "", "", "the path has a segment that is empty but for ;parameters or spaces"
		case len(ks) == 1 && ks[0] == '.' || len(ks) == 2 && ks[0] == '.' && ks[1] == '.':
			return "", "", "the path has a . or .. segment"
		case !utf8.Valid(dec):
			return "", "", "the path is not UTF-8 once percent-decoded"
		}
		k = append(k, '/')
		var ok bool
		if k, ok = appendFolded(k, ks); !ok {
			return "", "", "the path has fullwidth punctuation, which upstreams may read as ASCII"
		}
	}
	if len(k) == 0 {
		k = append(k, '/')
	}
	if norm != nil {
		return string(norm), string(k), ""
	}
	return p, string(k), ""
}

const upperhex = "0123456789ABCDEF"

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// unreserved is RFC 3986's unreserved set, whose escapes mean the
// character itself.
func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// appendFolded appends s (valid UTF-8) case-folded; false for fullwidth
// punctuation.
func appendFolded(b, s []byte) ([]byte, bool) {
	for len(s) > 0 {
		if c := s[0]; c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b, s = append(b, c), s[1:]
			continue
		}
		r, n := utf8.DecodeRune(s)
		s = s[n:]
		switch {
		case r == '\u0130' || r == '\u0131': // İ, ı
			r = 'i'
		case '\uFF10' <= r && r <= '\uFF19', '\uFF21' <= r && r <= '\uFF3A', '\uFF41' <= r && r <= '\uFF5A':
			r -= 0xFEE0 // fullwidth digits and letters
		case '\uFF01' <= r && r <= '\uFF5E':
			return b, false
		default:
			// The lower case of the orbit's smallest rune: K (Kelvin) is k,
			// ſ is s, É is é.
			m := r
			for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
				m = min(m, f)
			}
			r = unicode.ToLower(m)
		}
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		b = utf8.AppendRune(b, r)
	}
	return b, true
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
	// Credit costs are matched on the path's canonical key; a path an
	// upstream could read as another one ("//media", "/media%2F") is
	// refused, as it could reach a priced handler without its price.
	ep := r.URL.EscapedPath()
	fwd, key, bad := canonPath(ep)
	if bad != "" {
		s.writeProblem(w, api.NewProblem(http.StatusBadRequest, api.TypeBadRequest, bad))
		return
	}
	if fwd != ep {
		r.URL.RawPath = fwd // the same decoded Path, one spelling upstream
	}
	if p := refuseOverride(r); p != nil {
		s.writeProblem(w, p)
		return
	}
	id, secret, basic := credentials(r)
	setClientID(w, id)
	res, ok := s.settle(w, r, sourceGateway, start, model.VerifyRequest{ClientID: id, ClientSecret: secret, Operation: op, Credits: g.costs.cost(r, key)})
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
