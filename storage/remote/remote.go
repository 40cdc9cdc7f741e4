// Package remote is a storage.Store that talks to a keydeck server's HTTP
// API (keydeck serve --http) with an account API token. The TUI and the
// CLI use it with --remote URL --token T and cannot tell it from the local
// SQLite store: errors come back as the same model and storage errors
// (the server sends them as RFC 9457 problems, see package api), and a
// server that cannot be reached is one line wrapping
// storage.ErrUnavailable, after at most Options.Timeout. Every string of
// an answer is made printable, and fields with a fixed form checked, as
// it is decoded (see clean.go): a server is not trusted with the terminal.
package remote

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/keydeck/keydeck/api"
	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage"
)

// Options configure a Client.
type Options struct {
	// Insecure allows a plain http:// URL to a host that is not loopback
	// (the token and secrets then cross the network in clear text).
	Insecure bool
	// Timeout bounds each call, connecting included; 0 means 15s.
	Timeout time.Duration
	// TLSConfig is used for https:// URLs (say, to trust a private CA);
	// nil means the system's roots.
	TLSConfig *tls.Config
	// Transport replaces the HTTP transport (TLSConfig is then ignored).
	Transport http.RoundTripper
}

// DefaultTimeout bounds a call when Options.Timeout is 0.
const DefaultTimeout = 15 * time.Second

// maxAnswer bounds an answer body: a page of 1,000 keys is well under
// this.
const maxAnswer = 32 << 20

// Client is the remote store. It is safe for concurrent use.
type Client struct {
	base    *url.URL
	host    string
	token   string
	timeout time.Duration
	http    *http.Client
	closed  atomic.Bool
}

var _ storage.Store = (*Client)(nil)

// New returns a store that talks to the keydeck server at baseURL (for
// instance https://keys.example.com or http://127.0.0.1:8080) with an
// account API token. It refuses a plain http:// URL to a host that is not
// loopback unless opt.Insecure. It does not contact the server.
func New(baseURL, token string, opt Options) (storage.Store, error) {
	return NewClient(baseURL, token, opt)
}

// CheckURL checks a server's base URL: http(s) with a host, no
// credentials, query or fragment, and plain http only to a loopback host
// unless insecure, so a token never crosses a network in clear text by
// accident.
func CheckURL(baseURL string, insecure bool) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("remote: %q is not an http:// or https:// URL", api.ShowURL(baseURL))
	}
	if u.User != nil {
		return nil, errors.New("remote: put the token in --token or KEYDECK_TOKEN, not in the URL")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("remote: %q: give the server's base URL, without ? or #", api.ShowURL(baseURL))
	}
	if u.Scheme == "http" && !insecure && !IsLoopback(u.Hostname()) {
		return nil, fmt.Errorf("remote: refusing plain http:// to %s, which is not loopback (the token would cross the network unencrypted); use https:// or pass --insecure", model.Sanitize(u.Hostname(), 100))
	}
	return u, nil
}

// NewClient is New returning the concrete type.
func NewClient(baseURL, token string, opt Options) (*Client, error) {
	u, err := CheckURL(baseURL, opt.Insecure)
	if err != nil {
		return nil, err
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	if opt.Timeout <= 0 {
		opt.Timeout = DefaultTimeout
	}
	rt := opt.Transport
	if rt == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConns = 128
		t.MaxIdleConnsPerHost = 64
		t.DialContext = (&net.Dialer{Timeout: opt.Timeout, KeepAlive: 30 * time.Second}).DialContext
		if opt.TLSConfig != nil {
			t.TLSClientConfig = opt.TLSConfig.Clone()
		}
		rt = t
	}
	return &Client{
		base:    u,
		host:    u.Host,
		token:   token,
		timeout: opt.Timeout,
		http: &http.Client{
			Transport: rt,
			// A redirect could carry the token elsewhere; the caller fixes
			// the URL instead.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}, nil
}

// IsLoopback reports whether host (a name or an IP) is this machine.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Close drops idle connections; later calls fail with storage.ErrClosed.
func (c *Client) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	c.http.CloseIdleConnections()
	return nil
}

// call is one request. body, when not nil, is sent as JSON; out, when not
// nil, receives a 2xx answer. auth sends the token.
func (c *Client) call(ctx context.Context, method string, segs []string, query url.Values, body, out any, auth bool) error {
	if c.closed.Load() {
		return storage.ErrClosed
	}
	u := *c.base
	esc := make([]string, len(segs))
	for i, s := range segs {
		esc[i] = url.PathEscape(s)
	}
	u.Path = c.base.Path + "/" + strings.Join(segs, "/")
	u.RawPath = c.base.EscapedPath() + "/" + strings.Join(esc, "/")
	u.RawQuery = query.Encode()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("remote: cannot encode the request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	cctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, method, u.String(), rd)
	if err != nil {
		return fmt.Errorf("remote: %w", err)
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	req.Header.Set("User-Agent", "keydeck-remote")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth && c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return c.netError(ctx, cctx, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return c.netError(ctx, cctx, err)
	}
	if len(data) > maxAnswer {
		return fmt.Errorf("remote: the answer from %s is larger than %d MiB", c.host, maxAnswer>>20)
	}
	if resp.StatusCode >= 300 {
		return c.answerError(resp, data)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("remote: %s sent an answer keydeck cannot read (%s); is it a keydeck server of the same version?", c.host, jsonReason(err))
	}
	return nil
}

// netError is the one line a user sees when the server is unreachable.
func (c *Client) netError(ctx, cctx context.Context, err error) error {
	if ctx.Err() != nil {
		// The caller gave up (Ctrl-C, a closed screen): say so plainly.
		return ctx.Err()
	}
	if errors.Is(cctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w at %s: no answer within %s", storage.ErrUnavailable, c.host, c.timeout)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("%w at %s: %s", storage.ErrUnavailable, c.host, oneLine(err.Error()))
}

// answerError turns an error answer into the error the store returned on
// the server.
func (c *Client) answerError(resp *http.Response, data []byte) error {
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt == api.ContentType || mt == "application/json" {
		var p api.Problem
		if json.Unmarshal(data, &p) == nil && strings.HasPrefix(p.Type, api.TypePrefix) {
			cleanProblem(&p)
			if p.Status == 0 {
				p.Status = resp.StatusCode
			}
			if p.Status >= 500 && p.Type == api.TypeUnavailable {
				return fmt.Errorf("%w at %s: %s", storage.ErrUnavailable, c.host, oneLine(p.Detail))
			}
			return p.Err()
		}
	}
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return fmt.Errorf("remote: %s redirects to %s; use that URL", c.host, model.Sanitize(resp.Header.Get("Location"), 200))
	case resp.StatusCode >= 500:
		return fmt.Errorf("%w at %s: HTTP %s", storage.ErrUnavailable, c.host, oneLine(resp.Status))
	}
	// The status line's reason phrase is the server's text too.
	return fmt.Errorf("remote: %s answered HTTP %s; is it a keydeck server?", c.host, oneLine(resp.Status))
}

func oneLine(s string) string {
	return model.Sanitize(strings.Join(strings.Fields(s), " "), 300)
}

func jsonReason(err error) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return "not JSON at byte " + strconv.FormatInt(syn.Offset, 10)
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		return "field " + typ.Field + " has the wrong type"
	}
	return "unexpected content"
}

// pathSafe reports whether a key ID can travel as one path segment:
// net/http servers clean paths, so "." and "..", and names with "//",
// "/./" or "/../" in them, would reach another route.
func pathSafe(id string) bool {
	if id == "" {
		return false
	}
	p := "/v1/keys/" + id + "/x"
	return path.Clean(p) == p
}
