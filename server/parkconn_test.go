package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keydeck/keydeck/model"
)

// accepted keeps the connections a listener hands out.
type accepted struct {
	net.Listener
	mu    sync.Mutex
	conns []*parkConn
}

func (a *accepted) Accept() (net.Conn, error) {
	c, err := a.Listener.Accept()
	if pc, ok := c.(*parkConn); ok {
		a.mu.Lock()
		a.conns = append(a.conns, pc)
		a.mu.Unlock()
	}
	return c, err
}

// parks is how many reads parked on the connections so far.
func (a *accepted) parks() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, c := range a.conns {
		c.mu.Lock()
		n += c.parks
		c.mu.Unlock()
	}
	return n
}

// parkingServer serves e's API as keydeck serve does: HTTPServer on a
// ParkingListener. It returns the address, the connections it accepted,
// and a function that shuts the server down and reports how long that
// took.
func parkingServer(t *testing.T, e *env) (addr string, acc *accepted, shutdown func() time.Duration) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := HTTPServer(e.srv.Handler(), e.srv.APITimeouts(), nil)
	acc = &accepted{Listener: ParkingListener(ln)}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(acc) }()
	var once sync.Once
	shutdown = func() (took time.Duration) {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			begin := time.Now()
			if err := hs.Shutdown(ctx); err != nil {
				t.Errorf("shutdown: %v", err)
			}
			<-done
			took = time.Since(begin)
		})
		return took
	}
	t.Cleanup(func() { shutdown() })
	return ln.Addr().String(), acc, shutdown
}

// parked is a key served by parkingServer, and how to reach it.
type parked struct {
	e        *env
	id       string
	msg      string // one verification of the key, as it goes over the wire
	addr     string
	acc      *accepted
	shutdown func() time.Duration
}

func newParked(t *testing.T, quota int64) parked {
	t.Helper()
	e := newEnv(t)
	e.account("acme", quota, 0, 0, model.PeriodMonthly)
	k, secret := e.key("acme", "svc", model.PermRead, quota, 0)
	addr, acc, shutdown := parkingServer(t, e)
	return parked{e: e, id: k.ClientID, msg: rawVerify(t, k.ClientID, secret), addr: addr, acc: acc, shutdown: shutdown}
}

// dial connects to the server; a hang fails the test rather than timing
// it out.
func (p parked) dial(t *testing.T) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	t.Cleanup(func() { conn.Close() })
	return conn
}

func (p parked) used(t *testing.T) int64 { return queriesUsed(t, p.e, p.id) }

// rawVerify is one verification as it goes over the wire.
func rawVerify(t *testing.T, clientID, secret string) string {
	t.Helper()
	body, err := json.Marshal(verifyBody(clientID, secret, "read", 0))
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("POST /v1/verify HTTP/1.1\r\nHost: keydeck\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
}

func readAnswer(t *testing.T, br *bufio.Reader) *http.Response {
	t.Helper()
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}

func queriesUsed(t *testing.T, e *env, clientID string) int64 {
	t.Helper()
	k, err := e.store("acme").GetKey(context.Background(), clientID)
	if err != nil {
		t.Fatal(err)
	}
	return k.QueryUsed
}

// The saving of parkconn.go depends on how net/http reads in the
// background; this fails when a Go release changes that, so the saving is
// not lost unnoticed. (Nothing hangs then: reads go through.)
func TestParkedReadEngages(t *testing.T) {
	p := newParked(t, 1000)
	conn := p.dial(t)
	br := bufio.NewReader(conn)
	const n = 50
	for i := range n {
		if _, err := io.WriteString(conn, p.msg); err != nil {
			t.Fatal(err)
		}
		if res := readAnswer(t, br); res.StatusCode != http.StatusOK {
			t.Fatalf("verification %d: %s", i+1, res.Status)
		}
	}
	// The same connection still serves other routes.
	io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: keydeck\r\n\r\n")
	if res := readAnswer(t, br); res.StatusCode != http.StatusOK {
		t.Fatalf("healthz after verifications: %s", res.Status)
	}
	// A read that starts before the handler arms goes through; most park.
	if parked := p.acc.parks(); parked < n/2 {
		t.Fatalf("%d of %d verifications parked net/http's background read; see parkconn.go", parked, n)
	}
	if got := p.used(t); got != n {
		t.Fatalf("%d queries recorded, want %d", got, n)
	}
}

// Two verifications in one write (HTTP pipelining) are both answered, in
// order, and the connection goes on.
func TestParkedReadPipelined(t *testing.T) {
	p := newParked(t, 1000)
	conn := p.dial(t)
	io.WriteString(conn, p.msg+p.msg+"GET /healthz HTTP/1.1\r\nHost: keydeck\r\n\r\n")
	br := bufio.NewReader(conn)
	for i := range 3 {
		if res := readAnswer(t, br); res.StatusCode != http.StatusOK {
			t.Fatalf("answer %d: %s", i+1, res.Status)
		}
	}
	if got := p.used(t); got != 2 {
		t.Fatalf("%d queries recorded, want 2", got)
	}
}

// A client that sends a verification and goes away at once: the unit is
// committed (the client might have seen the answer), the handler finishes
// and the server shuts down without waiting for the connection.
func TestParkedReadClientGone(t *testing.T) {
	p := newParked(t, 1000)
	for range 20 {
		conn := p.dial(t)
		io.WriteString(conn, p.msg)
		conn.Close()
	}
	waitFor(t, "20 verifications recorded", func() bool { return p.used(t) == 20 })
	if took := p.shutdown(); took > 5*time.Second {
		t.Fatalf("shutdown took %v: a connection hung", took)
	}
}

// A body that arrives in pieces, or never whole, is read as before: arming
// happens only once the body is read to its end.
func TestParkedReadSlowAndShortBodies(t *testing.T) {
	p := newParked(t, 1000)
	conn := p.dial(t)
	br := bufio.NewReader(conn)
	cut := len(p.msg) - 20
	for range 3 {
		io.WriteString(conn, p.msg[:cut])
		time.Sleep(30 * time.Millisecond) // the pieces arrive apart: what is tested
		io.WriteString(conn, p.msg[cut:])
		if res := readAnswer(t, br); res.StatusCode != http.StatusOK {
			t.Fatalf("verification in two pieces: %s", res.Status)
		}
	}

	// A body cut short: the client gives up half way.
	short := p.dial(t)
	io.WriteString(short, p.msg[:cut])
	short.(*net.TCPConn).CloseWrite()
	if b, _ := io.ReadAll(short); strings.Contains(string(b), "200 OK") {
		t.Fatalf("a body cut short was answered 200:\n%s", b)
	}
	if got := p.used(t); got != 3 {
		t.Fatalf("%d queries recorded, want 3", got)
	}
	conn.Close()
	short.Close()
	if took := p.shutdown(); took > 5*time.Second {
		t.Fatalf("shutdown took %v: a connection hung", took)
	}
}

// Many connections at once, under the race detector in make test.
func TestParkedReadConcurrent(t *testing.T) {
	p := newParked(t, 100000)
	const conns, each = 16, 25
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for range conns {
		c := p.dial(t)
		wg.Go(func() {
			br := bufio.NewReader(c)
			for range each {
				if _, err := io.WriteString(c, p.msg); err != nil {
					errs <- err
					return
				}
				res, err := http.ReadResponse(br, nil)
				if err != nil {
					errs <- err
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					errs <- fmt.Errorf("status %s", res.Status)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := p.used(t); got != conns*each {
		t.Fatalf("%d queries recorded, want %d", got, conns*each)
	}
}
