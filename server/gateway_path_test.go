package server

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/keydeck/keydeck/api"
	"github.com/keydeck/keydeck/model"
)

// rawAnswer sends method and target to base byte for byte (no client
// re-encodes the target) and returns the status and Content-Type.
func rawAnswer(t *testing.T, base, method, target string, h map[string]string) (int, string) {
	t.Helper()
	u, _ := url.Parse(base)
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\nContent-Length: 0\r\n", method, target, u.Host)
	for k, v := range h {
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(c, b.String()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("%s %q: %v", method, target, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Content-Type")
}

// Every spelling of a priced path an upstream could take for it is either
// priced or refused, never free: cost rules match the path's canonical key
// (case-folded, ;parameters cut, unreserved escapes decoded, no trailing
// slash), and what an upstream could read as another path is refused
// before verification, consuming nothing.
func TestGatewayPricedPathSpellings(t *testing.T) {
	up := newUpstream(t)
	e := newEnv(t, withGateway(up.URL, "POST /media=5", "DELETE /files/=2"))
	k, secret := e.key("default", "wd", model.PermWrite|model.PermDelete, 0, 1000)
	h := basic(k.ClientID, secret)
	const priced, refused = true, false
	for _, c := range []struct {
		method, target string
		priced         bool
		credits        int64
	}{
		{"POST", "/media", priced, 5},
		{"POST", "/media/", priced, 5},
		{"POST", "/MEDIA", priced, 5},
		{"POST", "/Media", priced, 5},
		{"POST", "/MEDIA/", priced, 5},
		{"POST", "/media;x", priced, 5},
		{"POST", "/media;x=1;y", priced, 5},
		{"POST", "/MEDIA;jsessionid=1/", priced, 5},
		{"POST", "/media?x", priced, 5},
		{"POST", "/media?x=1&y", priced, 5},
		{"POST", "/%6Dedia", priced, 5},
		{"POST", "/%6dedia", priced, 5},
		{"POST", "/%4D%45DIA", priced, 5},
		{"POST", "/media%20", priced, 5},
		{"POST", "/%20media", priced, 5},
		{"POST", "/MED\u0130A", priced, 5},                     // İ, raw UTF-8
		{"POST", "/MED%C4%B0A", priced, 5},                     // İ, escaped
		{"POST", "/med\u0131a", priced, 5},                     // ı
		{"POST", "/ME\u212aDIA", priced, 0},                    // Kelvin sign folds to k: /mekdia, not priced
		{"POST", "/\uff4d\uff45\uff44\uff49\uff41", priced, 5}, // fullwidth
		{"POST", "/media.json", priced, 5},                     // Rails' (.:format), Spring's suffix match
		{"POST", "/MEDIA.JSON;x", priced, 5},
		{"POST", "/media.", priced, 5},
		{"POST", "/media.tar.gz", priced, 5},
		{"POST", "/.media", priced, 0},
		{"POST", "/media/x.json", priced, 0},
		{"POST", "/media%2F", refused, 0},
		{"POST", "/media%2f", refused, 0},
		{"POST", "/media%2Fx", refused, 0},
		{"POST", "/media%00", refused, 0},
		{"POST", "/media%0a", refused, 0},
		{"POST", "/media%7F", refused, 0},
		{"POST", "/media%252F", refused, 0},
		{"POST", "/%252Fmedia", refused, 0},
		{"POST", "/media%zz", refused, 0}, // net/http's own 400
		{"POST", "/media%2", refused, 0},
		{"POST", "//media", refused, 0},
		{"POST", "/media//x", refused, 0},
		{"POST", "/./media", refused, 0},
		{"POST", "/media/.", refused, 0},
		{"POST", "/media/..", refused, 0},
		{"POST", "/x/../media", refused, 0},
		{"POST", "/../media", refused, 0},
		{"POST", "/%2E/media", refused, 0},
		{"POST", "/%2e%2E/media", refused, 0},
		{"POST", "/..;/media", refused, 0},
		{"POST", "/x/..;x/media", refused, 0},
		{"POST", "/.%20/media", refused, 0},
		{"POST", "/media//", refused, 0},
		{"POST", "/;x/media", refused, 0},
		{"POST", "/media/;x", refused, 0},
		{"POST", "/media%5C", refused, 0},
		{"POST", "/media\\", refused, 0},
		{"POST", "/x\\..\\media", refused, 0},
		{"POST", "/media%3B", refused, 0},
		{"POST", "/media%3Fx", refused, 0},
		{"POST", "/media%23", refused, 0},
		{"POST", "/media#", refused, 0},
		{"POST", "/media#x", refused, 0},
		{"POST", "/media%C0%AE", refused, 0},
		{"POST", "/%C0%AE%C0%AE/media", refused, 0},
		{"POST", "/\uff0e\uff0e/media", refused, 0}, // fullwidth dots
		{"POST", "/media\uff0f", refused, 0},        // fullwidth slash
		{"post", "/media", refused, 0},              // 405
		{"DELETE", "/files", priced, 2},
		{"DELETE", "/files/", priced, 2},
		{"DELETE", "/FILES/x", priced, 2},
		{"DELETE", "/Files;v=1", priced, 2},
		{"DELETE", "/files/x;y/Z", priced, 2},
		{"DELETE", "/%66iles/x", priced, 2},
		{"DELETE", "/files%2Fx", refused, 0},
		{"DELETE", "/files/../x", refused, 0},
	} {
		before, _ := e.store("default").GetKey(t.Context(), k.ClientID)
		n := len(up.requests())
		status, ct := rawAnswer(t, e.gw.URL, c.method, c.target, h)
		after, _ := e.store("default").GetKey(t.Context(), k.ClientID)
		got := after.CreditsUsed - before.CreditsUsed
		if c.priced {
			if status != http.StatusAccepted || got != c.credits || len(up.requests()) != n+1 {
				t.Errorf("%s %q: %d, %d credits; want 202 and %d credits", c.method, c.target, status, got, c.credits)
			}
			continue
		}
		if status != http.StatusBadRequest && status != http.StatusMethodNotAllowed || len(up.requests()) != n ||
			after.MutationUsed != before.MutationUsed {
			t.Errorf("%s %q: %d (%d credits), want it refused", c.method, c.target, status, got)
		}
		// Invalid escapes never get past net/http's own parser (a plain
		// 400); everything else is keydeck's problem+json.
		if !strings.Contains(c.target, "%zz") && !strings.HasSuffix(c.target, "%2") && ct != api.ContentType {
			t.Errorf("%s %q: refused with Content-Type %q", c.method, c.target, ct)
		}
	}
}

// The upstream gets the path with escapes of unreserved characters decoded
// and the others in upper case, otherwise as sent: case, ;parameters and a
// trailing slash are the upstream's to read.
func TestGatewayForwardsNormalisedPath(t *testing.T) {
	up := newUpstream(t)
	e := newEnv(t, withGateway(up.URL+"/base", "POST /media=5"))
	k, secret := e.key("default", "w", model.PermWrite, 0, 100)
	for _, c := range []struct{ sent, upstream string }{
		{"/media", "/base/media"},
		{"/%6Dedia/%2a%c3%a9?q=%2F", "/base/media/%2A%C3%A9?q=%2F"},
		{"/Media;x=1/", "/base/Media;x=1/"},
		{"/a%20b", "/base/a%20b"},
		{"/files/%7e%7Euser", "/base/files/~~user"},
	} {
		n := len(up.requests())
		if status, _ := rawAnswer(t, e.gw.URL, "POST", c.sent, basic(k.ClientID, secret)); status != http.StatusAccepted {
			t.Fatalf("%q: %d", c.sent, status)
		}
		if got := up.requests()[n].requestURI; got != c.upstream {
			t.Errorf("%q reached the upstream as %q, want %q", c.sent, got, c.upstream)
		}
	}
}

func TestCanonPath(t *testing.T) {
	for _, c := range []struct{ in, fwd, key string }{
		{"/", "/", "/"},
		{"/media", "/media", "/media"},
		{"/media/", "/media/", "/media"},
		{"/A/b;c/%7a/", "/A/b;c/z/", "/a/b/z"},
		{"/x/%c3%A9%2a", "/x/%C3%A9%2A", "/x/é*"},
		{"/\u017Fs/\u212A", "/\u017Fs/\u212A", "/ss/k"},
		{"/\u00C9T\u00C9", "/\u00C9T\u00C9", "/\u00E9t\u00E9"},
		{"/%25x", "/%25x", "/%x"},
	} {
		fwd, key, bad := canonPath(c.in)
		if bad != "" || fwd != c.fwd || key != c.key {
			t.Errorf("canonPath(%q) = %q, %q, %q; want %q, %q", c.in, fwd, key, bad, c.fwd, c.key)
		}
	}
}

// Patterns are folded like paths: a pattern in any case matches, one that
// could never match (a ;parameter, a dot segment) is refused at start-up,
// and patterns that fold to the same conflict.
func TestGatewayCostPatternsFold(t *testing.T) {
	for _, c := range []struct {
		costs []string
		bad   bool
	}{
		{[]string{"POST /Media=5"}, false},
		{[]string{"POST /%6Dedia=5"}, false},
		{[]string{"POST EXAMPLE.com/media=5"}, false},
		{[]string{"/media;x=1"}, true},
		{[]string{"/a/../b=1"}, true},
		{[]string{"/a%2Fb=1"}, true},
		{[]string{"POST /MEDIA=1", "POST /media=2"}, true},
	} {
		var costs []CreditCost
		for _, s := range c.costs {
			cc, err := ParseCreditCost(s)
			if err != nil {
				t.Fatal(err)
			}
			costs = append(costs, cc)
		}
		if _, err := newCostTable(costs); c.bad != (err != nil) {
			t.Errorf("credit costs %q: %v", c.costs, err)
		}
	}
	up := newUpstream(t)
	e := newEnv(t, withGateway(up.URL, "POST /MEDIA=5", "GET /Thumbs/{id}/Big=1"))
	k, secret := e.key("default", "rw", model.PermRead|model.PermWrite, 10, 10)
	wantStatus(t, e.gateway(req{method: "POST", path: "/media", header: basic(k.ClientID, secret)}), http.StatusAccepted)
	wantStatus(t, e.gateway(req{method: "GET", path: "/thumbs/X1/BIG", header: basic(k.ClientID, secret)}), http.StatusAccepted)
	wantStatus(t, e.gateway(req{method: "HEAD", path: "/THUMBS/x1/big/", header: basic(k.ClientID, secret)}), http.StatusAccepted)
	if got, _ := e.store("default").GetKey(t.Context(), k.ClientID); got.CreditsUsed != 7 {
		t.Fatalf("credits used %d, want 7", got.CreditsUsed)
	}
}

// Canonicalising and pricing run on every gateway request.
func BenchmarkGatewayCost(b *testing.B) {
	costs := []CreditCost{{"POST /media", 5}, {"DELETE /files/", 2}, {"GET /thumbs/{id}/big", 1}}
	t, err := newCostTable(costs)
	if err != nil {
		b.Fatal(err)
	}
	r, _ := http.NewRequest("GET", "http://gw/Thumbs/Ab12/big.jpg;v=2", nil)
	b.ReportAllocs()
	for b.Loop() {
		_, key, bad := canonPath(r.URL.EscapedPath())
		if bad != "" || t.cost(r, key) != 1 {
			b.Fatal(key, bad)
		}
	}
}
