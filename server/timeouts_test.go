package server

import (
	"io"
	"net"
	"testing"
	"time"
)

// TestConfigTimeouts: the listeners' timeouts come from the Config, a zero
// field taking the default, so a caller changes them without touching
// package state.
func TestConfigTimeouts(t *testing.T) {
	e := newEnv(t, func(_ *sqliteOptions, c *Config) {
		c.APITimeouts = Timeouts{ReadHeader: 50 * time.Millisecond}
	})
	want := DefaultAPITimeouts()
	want.ReadHeader = 50 * time.Millisecond
	if got := e.srv.APITimeouts(); got != want {
		t.Fatalf("APITimeouts() = %+v, want %+v", got, want)
	}
	if got, want := e.srv.GatewayTimeouts(), DefaultGatewayTimeouts(); got != want {
		t.Fatalf("GatewayTimeouts() = %+v, want %+v", got, want)
	}

	// The set field reaches the listener: a client that sends no header
	// is dropped long before the default 5s.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := HTTPServer(e.srv.Handler(), e.srv.APITimeouts(), nil)
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("GET /healthz HTTP/1.1\r\n"))
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.ReadAll(c); err != nil {
		t.Fatalf("the connection stayed open past the ReadHeader timeout: %v", err)
	}
}
