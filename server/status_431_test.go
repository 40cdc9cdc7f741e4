package server

import (
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/keydeck/keydeck/model"
)

// Headers over MaxHeaderBytes are refused by net/http before any handler
// runs, so the 431 is its plain text, not a problem (a known limit, in the
// README). What is checked: the status, and that nothing is echoed.
func TestHeadersTooLarge431(t *testing.T) {
	addr := serveAPI(t, newEnv(t))
	secret := model.NewSecret()
	raw := "GET /v1/keys HTTP/1.1\r\nHost: x\r\nX-Big: " + secret + strings.Repeat("a", 64<<10) + "\r\n\r\n"
	status, _, body := rawExchange(t, addr, raw)
	if status != http.StatusRequestHeaderFieldsTooLarge || strings.Contains(body, secret[4:20]) {
		t.Fatalf("status %d, body %q", status, model.RedactSecrets(body))
	}
}

// serveAPI serves the API with the listener settings of keydeck serve
// (HTTPServer), which net/http's own answers depend on.
func serveAPI(t *testing.T, e *env) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := HTTPServer(e.srv.Handler(), e.srv.APITimeouts(), nil)
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return ln.Addr().String()
}
