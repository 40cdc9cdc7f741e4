package ssh

// Tests of what happens before authentication (limits.go) and of panics
// (panics.go). Different sources are different loopback addresses
// (127.0.0.0/8 is all local on Linux); every connection goes to loopback
// and every test ends by itself within seconds.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/server/internal/servertest"
	"github.com/keydeck/keydeck/storage"
)

// dialFrom opens a TCP connection to addr from the loopback address src.
func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 3 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", src, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// loginFrom authenticates key from src and opens a session.
func (e *sshEnv) loginFrom(src string, key gossh.Signer) *sshTerm {
	e.t.Helper()
	c := dialFrom(e.t, src, e.addr)
	cc, chans, reqs, err := gossh.NewClientConn(c, e.addr, clientConfig(key, nil))
	if err != nil {
		e.t.Fatalf("login from %s: %v", src, err)
	}
	client := gossh.NewClient(cc, chans, reqs)
	e.t.Cleanup(func() { client.Close() })
	sess, err := client.NewSession()
	if err != nil {
		e.t.Fatalf("session from %s: %v", src, err)
	}
	return startTerm(e.t, sess, 80, 24)
}

// firstLine reads one line, for up to d.
func firstLine(c net.Conn, d time.Duration) (string, *bufio.Reader, error) {
	_ = c.SetReadDeadline(time.Now().Add(d))
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	return line, r, err
}

// logLines counts the log lines that hold every one of want.
func logLines(log string, want ...string) int {
	n := 0
	for _, l := range strings.Split(log, "\n") {
		ok := l != ""
		for _, w := range want {
			ok = ok && strings.Contains(l, w)
		}
		if ok {
			n++
		}
	}
	return n
}

// One source gets MaxUnauthenticatedPerSource connections; the next are
// told why, closed, and logged once; other sources and users are not
// affected.
func TestSSHPreAuthPerSourceLimit(t *testing.T) {
	e := newSSHEnv(t, func(c *Config) { c.MaxUnauthenticatedPerSource = 4 })
	alice := newUserKey(t)
	e.register("default", alice)

	var conns []net.Conn
	for range 10 {
		conns = append(conns, dialFrom(t, "127.0.0.2", e.addr))
	}
	kept, refused := 0, 0
	for _, c := range conns {
		line, r, err := firstLine(c, 3*time.Second)
		switch {
		case err != nil:
			t.Fatalf("reading the first line: %v", err)
		case strings.HasPrefix(line, "SSH-2.0-"):
			kept++
		case line == msgPerSource+"\r\n":
			refused++
			if _, err := r.ReadByte(); err != io.EOF {
				t.Errorf("a refused connection is still open: %v", err)
			}
		default:
			t.Fatalf("first line %q", line)
		}
	}
	if kept != 4 || refused != 6 {
		t.Errorf("%d kept, %d refused; want 4 and 6", kept, refused)
	}
	if n := e.srv.unauthenticated(); n != 4 {
		t.Errorf("unauthenticated = %d, want 4", n)
	}
	// Another source is not counted with it, and users log in.
	other := dialFrom(t, "127.0.0.3", e.addr)
	if line, _, err := firstLine(other, 3*time.Second); err != nil || !strings.HasPrefix(line, "SSH-2.0-") {
		t.Errorf("another source: %q, %v", line, err)
	}
	tm := e.loginFrom("127.0.0.1", alice)
	tm.waitFor("You have no API keys yet")
	tm.send("q")
	tm.exit(5 * time.Second)

	if n := logLines(e.log.String(), "level=WARN", whyPerSource, "remote=127.0.0.2:"); n != 1 {
		t.Errorf("%d log lines for 6 refusals within a second, want 1:\n%s", n, e.log.String())
	}
	for _, c := range conns {
		c.Close()
	}
	other.Close()
	servertest.WaitFor(t, 3*time.Second, "closed connections are still counted", func() bool { return e.srv.unauthenticated() == 0 })
}

// A flood of idle and slow connections from many sources fills the
// unauthenticated budget, never the room of registered users: they log in
// and get sessions throughout, and the flood's oldest connections go.
func TestSSHPreAuthFloodLeavesRoomForUsers(t *testing.T) {
	const budget, perSource = 16, 4
	e := newSSHEnv(t, func(c *Config) {
		c.MaxUnauthenticated = budget
		c.MaxUnauthenticatedPerSource = perSource
		c.MaxSessions = 4 // before the budget, 2×4+8 connections were all there was
	})
	alice := newUserKey(t)
	e.register("default", alice)

	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { stop(); wg.Wait() })
	var opened, closed atomic.Int32
	hold := func(c net.Conn, drip bool) {
		opened.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer closed.Add(1)
			go func() { <-ctx.Done(); c.Close() }()
			if drip {
				// Slow handshake: a byte of a version line now and then.
				go func() {
					for _, b := range []byte("SSH-2.0-slow-client-taking-its-time") {
						if _, err := c.Write([]byte{b}); err != nil {
							return
						}
						select {
						case <-ctx.Done():
							return
						case <-time.After(100 * time.Millisecond):
						}
					}
				}()
			}
			_, _ = io.Copy(io.Discard, c)
		}()
	}
	// 25 sources × 4 idle connections, then 5 slow ones.
	for i := range 25 {
		for range perSource {
			hold(dialFrom(t, fmt.Sprintf("127.0.0.%d", 10+i), e.addr), false)
		}
	}
	for i := range 5 {
		hold(dialFrom(t, fmt.Sprintf("127.0.1.%d", 1+i), e.addr), true)
	}
	servertest.WaitFor(t, 4*time.Second, "the flood beyond the budget is still open", func() bool {
		return int(closed.Load()) >= int(opened.Load())-budget
	})
	// And it goes on: a new connection every 100ms from the same sources.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(fmt.Sprintf("127.0.0.%d", 10+i%25))}}
			if c, err := d.DialContext(ctx, "tcp", e.addr); err == nil {
				hold(c, false)
			}
		}
	}()

	for i := range 3 {
		start := time.Now()
		tm := e.loginFrom("127.0.0.1", alice)
		tm.waitFor("You have no API keys yet")
		t.Logf("login %d during the flood: %s", i+1, time.Since(start).Round(time.Millisecond))
		if n := e.srv.unauthenticated(); n > budget {
			t.Errorf("unauthenticated = %d, over the budget %d", n, budget)
		}
		tm.send("q")
		if code, _ := tm.exit(5 * time.Second); code != 0 {
			t.Errorf("login %d: exit %d", i+1, code)
		}
	}
	stop()
	wg.Wait()
	t.Logf("%d flood connections, %d closed by the server or the test", opened.Load(), closed.Load())
	// Rate-limited: a line a second at most, however many were evicted.
	log := e.log.String()
	if n := logLines(log, "level=WARN", whyEvicted); n < 1 || n > 10 {
		t.Errorf("%d log lines for evictions, want 1 to a few:\n%s", n, log)
	}
	if !strings.Contains(log, "more_since_last=") && logLines(log, whyEvicted) > 1 {
		t.Error("the log does not say how many evictions it left out")
	}
}

// A connection that has not authenticated HandshakeTimeout after accept is
// closed, whether it sends nothing, drips, or stalls in authentication
// (which is told why in a banner); an authenticated one is not.
func TestSSHHandshakeDeadline(t *testing.T) {
	const deadline = 500 * time.Millisecond
	db := &faulty{}
	e := newSSHEnv(t, func(c *Config) {
		c.HandshakeTimeout = deadline
		db.Admin = c.Admin
		c.Admin = db
	})
	alice := newUserKey(t)
	e.register("default", alice)

	tm := e.loginFrom("127.0.0.1", alice) // logged in before the others start

	// closedWithin waits for the server to close c.
	closedWithin := func(name string, c net.Conn, r *bufio.Reader) {
		t.Helper()
		start := time.Now()
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err := io.Copy(io.Discard, r)
		// Bytes the server had not read yet make its close a reset.
		if err != nil && !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("%s: %v, want the server to close it", name, err)
		}
		// Generous for a loaded machine, and still far from the default.
		if took := time.Since(start); took > deadline+2*time.Second {
			t.Errorf("%s: closed after %s; the deadline is %s", name, took, deadline)
		}
	}
	idle := dialFrom(t, "127.0.0.2", e.addr)
	drip := dialFrom(t, "127.0.0.3", e.addr)
	go func() {
		for _, b := range []byte("SSH-2.0-drip-drip-drip-drip-drip-drip") {
			if _, err := drip.Write([]byte{b}); err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()

	// Stalled in authentication: the client holds its key back.
	release := make(chan struct{})
	cfg := clientConfig(alice, nil)
	cfg.Auth = []gossh.AuthMethod{gossh.PublicKeysCallback(func() ([]gossh.Signer, error) {
		<-release
		return []gossh.Signer{alice}, nil
	})}
	stalled := make(chan error, 1)
	go func() {
		c, err := gossh.Dial("tcp", e.addr, cfg)
		if err == nil {
			c.Close()
		}
		stalled <- err
	}()

	for name, c := range map[string]net.Conn{"silent connection": idle, "dripping connection": drip} {
		line, r, err := firstLine(c, 3*time.Second)
		if err != nil || !strings.HasPrefix(line, "SSH-2.0-") {
			t.Fatalf("%s: first line %q, %v", name, line, err)
		}
		closedWithin(name, c, r)
	}
	servertest.WaitFor(t, 3*time.Second, "the stalled client's connection is still counted", func() bool { return e.srv.unauthenticated() == 0 })
	close(release)
	select {
	case err := <-stalled:
		if err == nil {
			t.Error("the stalled client logged in after the deadline")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the stalled client was not let go")
	}

	// Timed out while the server looks the key up: the client is reading,
	// and shows the banner saying why.
	db.slowLookup.Store(true)
	banner := &servertest.SyncBuffer{}
	if c, err := gossh.Dial("tcp", e.addr, clientConfig(alice, banner)); err == nil {
		c.Close()
		t.Error("logged in although the lookup outlasted the deadline")
	}
	db.slowLookup.Store(false)
	if want := fmt.Sprintf(msgTimeout, deadline) + "\r\n"; banner.String() != want {
		t.Errorf("banner = %q, want %q", banner.String(), want)
	}

	// The session that logged in first is well past the deadline.
	tm.send("n")
	tm.waitFor("Key name")
	if tm.ended() {
		t.Error("an authenticated session was closed by the handshake deadline")
	}
	log := e.log.String()
	if n := logLines(log, "level=WARN", whyTimeout); n < 1 || n > 2 {
		t.Errorf("%d log lines for 4 timeouts within about a second, want 1 (or 2 across a second):\n%s", n, log)
	}
}

// faulty is a database whose key lookups can be slow, and whose next
// Store call, or next key listing, can panic (panic_test.go).
type faulty struct {
	storage.Admin
	slowLookup      atomic.Bool
	inStore, inList atomic.Bool
}

func (p *faulty) AccountForSSHKey(ctx context.Context, fp string) (model.Account, error) {
	if p.slowLookup.Load() {
		select {
		case <-ctx.Done():
			return model.Account{}, ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
	return p.Admin.AccountForSSHKey(ctx, fp)
}

func TestSourceOf(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.2:2222":                  "127.0.0.2",
		"[::ffff:10.1.2.3]:22":            "10.1.2.3",
		"[2001:db8:1:2:3:4:5:6]:22":       "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff:ffff::1]:999": "2001:db8:1:2::/64",
		"[2001:db8:1:3::1]:22":            "2001:db8:1:3::/64",
		"[fe80::1%lo]:22":                 "fe80::/64",
	} {
		a, err := net.ResolveTCPAddr("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := sourceOf(a); got != want {
			t.Errorf("sourceOf(%s) = %q, want %q", addr, got, want)
		}
	}
}

func TestLogLimiter(t *testing.T) {
	var l logLimiter
	t0 := time.Unix(1000, 0)
	steps := []struct {
		why  string
		at   time.Duration
		ok   bool
		more int
	}{
		{"a", 0, true, 0},
		{"a", 100 * time.Millisecond, false, 0},
		{"b", 200 * time.Millisecond, true, 0}, // each reason its own
		{"a", 900 * time.Millisecond, false, 0},
		{"a", 1100 * time.Millisecond, true, 2},
		{"a", 2200 * time.Millisecond, true, 0},
	}
	for i, s := range steps {
		more, ok := l.allow(s.why, t0.Add(s.at))
		if ok != s.ok || more != s.more {
			t.Errorf("step %d: allow = %d, %v; want %d, %v", i, more, ok, s.more, s.ok)
		}
	}
}
