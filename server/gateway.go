package server

import (
	"fmt"
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
	scrubHeaders(r.Header)
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

// scrubHeaders removes what a client sends in keydeck's name: anything in
// the X-Keydeck- namespace and the forwarding headers keydeck sets, in any
// spelling an upstream may read as theirs. CGI-style upstreams (Rack, PHP,
// WSGI) read X_Keydeck_Client_Id as X-Keydeck-Client-Id, so '_' counts as
// '-'. The canonical X-Forwarded-* are replaced in Rewrite anyway.
func scrubHeaders(h http.Header) {
	for k := range h {
		if hasFoldedPrefix(k, "x-keydeck-") || foldedEqual(k, "forwarded") || foldedEqual(k, "x-forwarded-for") ||
			foldedEqual(k, "x-forwarded-host") || foldedEqual(k, "x-forwarded-proto") {
			delete(h, k)
		}
	}
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
