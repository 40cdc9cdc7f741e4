package ssh

// Connections before authentication. A connection is "unauthenticated"
// from accept until x/crypto/ssh reports a successful authentication; while
// it is, it counts against a budget of its own, apart from the session
// slots, so that idle or slow strangers can never lock registered users
// out:
//
//   - it has HandshakeTimeout from accept to authenticate, however slowly
//     it sends (the timer is absolute, not reset by traffic);
//   - one source (an IPv4 address, or an IPv6 /64, the usual size of one
//     site's network) may hold MaxUnauthenticatedPerSource of them; the
//     next is told so in a line before the SSH version (RFC 4253 §4.2
//     lets a server send such lines) and closed;
//   - all sources together may hold MaxUnauthenticated; the next one
//     evicts the oldest. Refusing the new one instead would let a flood
//     that merely holds its connections open keep everyone out for good;
//     evicting the oldest means a flood must open MaxUnauthenticated new
//     connections while a user's login is in flight to stop it.
//
// Connections closed for these reasons are logged at most once a second
// per reason, with how many more were closed meanwhile.

import (
	"container/list"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"

	"charm.land/ssh"
	gossh "golang.org/x/crypto/ssh"
)

// Pre-authentication defaults.
const (
	// DefaultHandshakeTimeout is how long a connection has from accept to
	// authenticate.
	DefaultHandshakeTimeout = 10 * time.Second
	// DefaultMaxUnauthenticated is how many connections may be
	// unauthenticated at once, from all sources.
	DefaultMaxUnauthenticated = 64
	// DefaultMaxUnauthenticatedPerSource is how many of them one source
	// (IPv4 address or IPv6 /64) may hold.
	DefaultMaxUnauthenticatedPerSource = 8
)

// What a connection closed before authentication is told, where the
// protocol lets the server say anything.
const (
	msgPerSource = "keydeck: too many connections from your address are still logging in; try again in a few seconds"
	msgEvicted   = "keydeck: the server is busy with other logins; connection closed, try again"
	msgTimeout   = "keydeck: no login within %s; connection closed"
)

// Why a connection was closed before authentication, as logged.
const (
	whyPerSource = "too many unauthenticated connections from this source"
	whyEvicted   = "unauthenticated connections at the limit: the oldest was closed"
	whyTimeout   = "not authenticated in time"
)

// ctxKeyConn carries the trackedConn from ConnCallback to the connection's
// ServerConfig.
type ctxKeyConn struct{}

// trackedConn is a connection from accept to close.
type trackedConn struct {
	net.Conn
	s      *Server
	source string

	// Guarded by s.mu.
	pending *list.Element // in s.pending while unauthenticated
	timer   *time.Timer
	authed  bool
	auth    gossh.ServerPreAuthConn // once in the authentication phase

	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.s.mu.Lock()
		c.s.leavePendingLocked(c)
		if c.authed {
			c.s.authed--
		}
		delete(c.s.conns, c)
		c.s.mu.Unlock()
	})
	return c.Conn.Close()
}

// sourceOf is the per-source key of a remote address: the IPv4 address,
// or the IPv6 /64.
func sourceOf(a net.Addr) string {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	ip, ok := netip.AddrFromSlice(ta.IP)
	if !ok {
		return ta.IP.String()
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// trackConn is the ConnCallback: it counts the connection as
// unauthenticated, starts its handshake timer, and refuses it (nil) when
// its source is at the limit or Shutdown began.
func (s *Server) trackConn(ctx ssh.Context, c net.Conn) net.Conn {
	src := sourceOf(c.RemoteAddr())
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return nil
	}
	if s.perSource[src] >= s.maxPerSource {
		s.mu.Unlock()
		s.dropped(whyPerSource, c.RemoteAddr())
		// Nothing has been sent yet, so the line precedes the version;
		// the deadline keeps a client that reads nothing from holding us.
		_ = c.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = io.WriteString(c, msgPerSource+"\r\n")
		return nil
	}
	var evict *trackedConn
	if s.pending.Len() >= s.maxPending {
		evict = s.pending.Front().Value.(*trackedConn)
		s.leavePendingLocked(evict)
	}
	tc := &trackedConn{Conn: c, s: s, source: src}
	tc.pending = s.pending.PushBack(tc)
	s.perSource[src]++
	tc.timer = time.AfterFunc(s.handshake, func() { s.expire(tc) })
	s.conns[tc] = struct{}{}
	s.mu.Unlock()

	if evict != nil {
		s.dropped(whyEvicted, evict.RemoteAddr())
		go evict.drop(msgEvicted)
	}
	ctx.SetValue(ctxKeyConn{}, tc)
	return tc
}

// leavePendingLocked stops counting c as unauthenticated; it reports
// whether c was.
func (s *Server) leavePendingLocked(c *trackedConn) bool {
	if c.pending == nil {
		return false
	}
	s.pending.Remove(c.pending)
	c.pending = nil
	c.timer.Stop()
	if s.perSource[c.source]--; s.perSource[c.source] <= 0 {
		delete(s.perSource, c.source)
	}
	return true
}

// authenticated moves c out of the unauthenticated budget; false when it
// was already evicted or timed out (it is being closed).
func (s *Server) authenticated(c *trackedConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.leavePendingLocked(c) {
		return false
	}
	c.authed = true
	c.auth = nil
	s.authed++
	return true
}

// inAuthPhase remembers how to send c a banner while it authenticates.
func (s *Server) inAuthPhase(c *trackedConn, pc gossh.ServerPreAuthConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.pending != nil {
		c.auth = pc
	}
}

// expire closes c if it has not authenticated by now.
func (s *Server) expire(c *trackedConn) {
	s.mu.Lock()
	was := s.leavePendingLocked(c)
	s.mu.Unlock()
	if was {
		s.dropped(whyTimeout, c.RemoteAddr())
		c.drop(fmt.Sprintf(msgTimeout, s.handshake))
	}
}

// drop closes c, telling the client why when it is authenticating (a
// banner is the one message the protocol shows a user at that point).
func (c *trackedConn) drop(msg string) {
	c.s.mu.Lock()
	pc := c.auth
	c.auth = nil
	c.s.mu.Unlock()
	if pc != nil {
		// A client that reads nothing must not keep the connection.
		t := time.AfterFunc(time.Second, func() { _ = c.Conn.Close() })
		_ = pc.SendAuthBanner(msg + "\r\n")
		t.Stop()
	}
	_ = c.Close()
}

// dropped logs a connection closed before authentication, at most once a
// second per reason.
func (s *Server) dropped(why string, remote net.Addr) {
	if more, ok := s.dropLog.allow(why, time.Now()); ok {
		args := []any{"reason", why, "remote", remote.String()}
		if more > 0 {
			args = append(args, "more_since_last", more)
		}
		s.log.Warn("ssh: connection closed before authentication", args...)
	}
}

// logLimiter lets one line a second through per reason and counts the
// rest.
type logLimiter struct {
	mu   sync.Mutex
	last map[string]time.Time
	held map[string]int
}

func (l *logLimiter) allow(why string, now time.Time) (more int, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil {
		l.last, l.held = map[string]time.Time{}, map[string]int{}
	}
	if t, seen := l.last[why]; seen && now.Sub(t) < time.Second {
		l.held[why]++
		return 0, false
	}
	more = l.held[why]
	l.last[why] = now
	delete(l.held, why)
	return more, true
}

// unauthenticated is how many connections have not authenticated yet.
func (s *Server) unauthenticated() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pending.Len()
}
