package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// A PostgreSQL behind a network that drops packets (a partition, a host
// that froze, a stalled proxy) never answers and never refuses: a call
// without a deadline on a pooled connection would wait for its answer
// forever. Connecting is bounded by Options.ConnectTimeout; the watchdog
// bounds the wait for an answer on a connection already open, whatever
// context the caller gave, without bounding statements that are merely
// slow (a lock wait, a large import): when a read has waited longer than
// the connect timeout it connects anew and pings; only when that fails
// too, for want of a network answer, are the pool's connections closed,
// so their callers get a *storage.DatabaseDownError at once. A call
// waits at most about three times the connect timeout for a database that
// went away (the stuck read, the probe, and pgx trying a new connection).

// watchdog watches the reads of the pool's connections.
type watchdog struct {
	wait  time.Duration // Options.ConnectTimeout
	probe func(context.Context) error
	log   *slog.Logger

	mu    sync.Mutex
	conns map[*watchedConn]struct{}

	stop chan struct{}
	done chan struct{}
}

func newWatchdog(wait time.Duration, log *slog.Logger, probe func(context.Context) error) *watchdog {
	return &watchdog{wait: wait, probe: probe, log: log, conns: map[*watchedConn]struct{}{},
		stop: make(chan struct{}), done: make(chan struct{})}
}

// dial wraps the pool's dial function so the watchdog sees its
// connections.
func (w *watchdog) dial(inner pgconn.DialFunc) pgconn.DialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := inner(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		wc := &watchedConn{Conn: c, w: w}
		w.mu.Lock()
		w.conns[wc] = struct{}{}
		w.mu.Unlock()
		return wc, nil
	}
}

// start runs the watch until close.
func (w *watchdog) start() { go w.run() }

func (w *watchdog) close() {
	close(w.stop)
	<-w.done
}

func (w *watchdog) run() {
	defer close(w.done)
	tick := time.NewTicker(max(w.wait/4, 10*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-tick.C:
		}
		if !w.anyStuck(time.Now().Add(-w.wait)) {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), w.wait)
		go func() {
			select {
			case <-w.stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		err := w.probe(ctx)
		cancel()
		if err == nil || isServerAnswer(err) {
			// It answers: the reads wait for it (locks, long statements).
			continue
		}
		select {
		case <-w.stop:
			return
		default:
		}
		n := w.killAll()
		w.log.Warn("database does not answer: connections closed", "connections", n, "err", err)
	}
}

// anyStuck reports a read that has waited since before t.
func (w *watchdog) anyStuck(t time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for c := range w.conns {
		if s := c.since.Load(); s != 0 && s < t.UnixNano() {
			return true
		}
	}
	return false
}

// killAll closes every connection: they all lead to a database that a
// new connection cannot reach. Their pending and later reads fail at once.
func (w *watchdog) killAll() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(w.conns)
	for c := range w.conns {
		c.killed.Store(true)
		c.Conn.Close()
	}
	clear(w.conns)
	return n
}

func (w *watchdog) forget(c *watchedConn) {
	w.mu.Lock()
	delete(w.conns, c)
	w.mu.Unlock()
}

// isServerAnswer reports an error PostgreSQL itself sent (too many
// connections, shutting down, a refused login): the network works.
func isServerAnswer(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code != "57P01" && pe.Code != "57P02"
}

// watchedConn is a connection of the pool whose reads the watchdog times.
type watchedConn struct {
	net.Conn
	w      *watchdog
	since  atomic.Int64 // UnixNano when the pending read began; 0 when none
	killed atomic.Bool
}

func (c *watchedConn) Read(b []byte) (int, error) {
	c.since.Store(time.Now().UnixNano())
	n, err := c.Conn.Read(b)
	c.since.Store(0)
	if err != nil && c.killed.Load() {
		// What the caller's error says (storage.DatabaseDownError's
		// cause), rather than "use of closed network connection".
		err = &net.OpError{Op: "read", Net: "tcp", Addr: c.RemoteAddr(),
			Err: fmt.Errorf("no answer within %v", c.w.wait)}
	}
	return n, err
}

func (c *watchedConn) Close() error {
	c.w.forget(c)
	return c.Conn.Close()
}

// probe connects anew, outside the pool, and pings.
func (db *DB) probe(ctx context.Context, cfg *pgx.ConnConfig) error {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		conn.Close(ctx)
	}()
	return conn.Ping(ctx)
}
