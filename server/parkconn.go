package server

import (
	"context"
	"net"
	"sync"
	"time"
)

// Once a body is read, net/http reads one byte in the background to notice
// a client that leaves, and interrupts that read (a deadline in the past)
// when the handler is done. A verification always waits for a group commit,
// so that read always reaches the kernel: a read(2), a netpoll park and a
// wake-up per request. An armed connection (verify, body read) parks that
// read on a channel instead; the deadline or Close that would interrupt it
// releases it with the timeout error net/http expects. The price: a client
// that leaves during the commit is noticed after the answer. Interrupting
// always goes through a deadline or Close, so a change in net/http can cost
// the saving (TestParkedReadEngages) but never hang a connection. Measured
// gain: README, Performance.

// ParkingListener wraps the API listener's connections so verifications
// can park net/http's background read (see above). Use it with a server
// from HTTPServer, whose ConnContext lets a handler find its connection.
func ParkingListener(ln net.Listener) net.Listener { return parkingListener{ln} }

type parkingListener struct{ net.Listener }

func (l parkingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &parkConn{Conn: c, wake: make(chan struct{}, 1)}, nil
}

type parkConn struct {
	net.Conn
	mu     sync.Mutex
	armed  bool          // the next one-byte read parks
	parked bool          // a read waits on wake
	wake   chan struct{} // releases the parked read
	parks  int           // reads that parked, for TestParkedReadEngages
}

// errParkedRead is what a released read returns: a timeout, as a read
// interrupted by a past deadline would.
var errParkedRead error = parkedReadError{}

type parkedReadError struct{}

func (parkedReadError) Error() string   { return "read interrupted" }
func (parkedReadError) Timeout() bool   { return true }
func (parkedReadError) Temporary() bool { return true }

func (c *parkConn) Read(p []byte) (int, error) {
	if len(p) == 1 {
		c.mu.Lock()
		if c.armed {
			c.armed, c.parked = false, true
			c.parks++
			c.mu.Unlock()
			<-c.wake
			return 0, errParkedRead
		}
		c.mu.Unlock()
	}
	return c.Conn.Read(p)
}

// release wakes a parked read; it reports whether there was one.
func (c *parkConn) release() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.armed = false
	if !c.parked {
		return false
	}
	c.parked = false
	c.wake <- struct{}{}
	return true
}

// SetReadDeadline releases a parked read. That deadline was meant for the
// read alone: the connection has no other read pending, so it is not set.
func (c *parkConn) SetReadDeadline(t time.Time) error {
	if c.release() {
		return nil
	}
	return c.Conn.SetReadDeadline(t)
}

// SetDeadline is SetReadDeadline and SetWriteDeadline; net/http does not
// use it, but a parked read must not outlive it either.
func (c *parkConn) SetDeadline(t time.Time) error {
	c.release()
	return c.Conn.SetDeadline(t)
}

func (c *parkConn) Close() error {
	c.release()
	return c.Conn.Close()
}

// arm makes the connection's next one-byte read park: call it only once
// the request body has been read to its end. disarm undoes it if that read
// has not come (it may have started before arm, and gone through). A
// parked read stays parked: net/http interrupts it after the handler
// returns.
func (c *parkConn) arm() {
	c.mu.Lock()
	c.armed = true
	c.mu.Unlock()
}

func (c *parkConn) disarm() {
	c.mu.Lock()
	c.armed = false
	c.mu.Unlock()
}

type parkConnKey struct{}

// connContext is the http.Server's ConnContext: it lets a handler find a
// parkConn (and finds nothing on any other connection).
func connContext(ctx context.Context, c net.Conn) context.Context {
	if pc, ok := c.(*parkConn); ok {
		return context.WithValue(ctx, parkConnKey{}, pc)
	}
	return ctx
}

// parkingConn is the request's parkConn, or nil.
func parkingConn(ctx context.Context) *parkConn {
	pc, _ := ctx.Value(parkConnKey{}).(*parkConn)
	return pc
}
