package server

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keydeck/keydeck/model"
)

// AccessLog writes one slog line per request, off the request path: a
// handler hands its entry to a buffered channel and goes on; one goroutine
// formats the entries and writes them in batches. When the channel is full
// (the output cannot keep up) entries are dropped and counted rather than
// slowing requests down.
//
// An entry has the listener, method, route, path (never the query string),
// status, size, duration, remote address and, for verifications, the
// public Client ID. It never has a secret, a token, a body or a header:
// the path and the method are passed through model.RedactSecrets.
type AccessLog struct {
	ch      chan accessEntry
	quit    chan struct{}
	done    chan struct{}
	once    sync.Once
	dropped atomic.Uint64
	out     io.Writer
	buf     bytes.Buffer
	h       slog.Handler
	json    bool
}

type accessEntry struct {
	at       time.Time
	listener string
	method   string
	route    string
	path     string
	status   int
	size     int64
	dur      time.Duration
	remote   string
	clientID string
}

// accessQueue is how many entries may wait for the writer.
const accessQueue = 16384

// NewAccessLog starts an access log writing to out, as JSON lines or as
// slog text.
func NewAccessLog(out io.Writer, asJSON bool) *AccessLog {
	l := &AccessLog{
		ch:   make(chan accessEntry, accessQueue),
		quit: make(chan struct{}),
		done: make(chan struct{}),
		out:  out,
		json: asJSON,
	}
	if asJSON {
		l.h = slog.NewJSONHandler(&l.buf, nil)
	} else {
		l.h = slog.NewTextHandler(&l.buf, nil)
	}
	go l.run()
	return l
}

// Dropped counts the entries lost because the output could not keep up.
func (l *AccessLog) Dropped() uint64 { return l.dropped.Load() }

// Close writes what is queued and stops the writer. Entries logged after
// Close are dropped.
func (l *AccessLog) Close() error {
	l.once.Do(func() { close(l.quit) })
	<-l.done
	return nil
}

func (l *AccessLog) add(e accessEntry) {
	select {
	case l.ch <- e:
	default:
		l.dropped.Add(1)
	}
}

// accessFlushEvery is how often the writer wakes to format and write what
// has queued. Waking on a timer rather than on every entry keeps the
// request path free of goroutine wake-ups: a handler's entry is a send on a
// buffered channel nobody waits on. At 25,000 requests a second a period's
// entries take a tenth of the queue.
const accessFlushEvery = 50 * time.Millisecond

func (l *AccessLog) run() {
	defer close(l.done)
	tick := time.NewTicker(accessFlushEvery)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
		case <-l.quit:
			l.drain()
			return
		}
		l.drain()
	}
}

// drain formats what is queued and writes it in one call per 512 lines, so
// lines never interleave with other writers of out.
func (l *AccessLog) drain() {
	for {
		for n := 0; n < 512; n++ {
			select {
			case e := <-l.ch:
				l.format(e)
			default:
				l.flush()
				return
			}
		}
		l.flush()
	}
}

func (l *AccessLog) format(e accessEntry) {
	// The path and the method are the client's: either may hold a secret.
	e.path = model.RedactSecrets(e.path)
	e.method = model.RedactSecrets(e.method)
	if b, ok := appendAccess(l.buf.AvailableBuffer(), e, l.json); ok {
		l.buf.Write(b)
		return
	}
	rec := slog.NewRecord(e.at, slog.LevelInfo, "access", 0)
	rec.AddAttrs(
		slog.String("listener", e.listener),
		slog.String("method", e.method),
		slog.String("route", e.route),
		slog.String("path", e.path),
		slog.Int("status", e.status),
		slog.Int64("bytes", e.size),
		slog.Duration("dur", e.dur),
		slog.String("remote", e.remote),
	)
	if e.clientID != "" {
		rec.AddAttrs(slog.String("client_id", e.clientID))
	}
	l.h.Handle(context.Background(), rec)
}

// appendAccess writes the entry's line exactly as slog's text or JSON
// handler would (a test holds it to that), without building a record: the
// access log formats a line per request. It reports false when a string
// needs escaping, and format then lets slog do it.
func appendAccess(b []byte, e accessEntry, asJSON bool) ([]byte, bool) {
	// quote[i]: the text handler quotes the i-th string.
	var quote [6]bool
	for i, s := range [...]string{e.listener, e.method, e.route, e.path, e.remote, e.clientID} {
		ok, q := plainLogString(s)
		if !ok {
			return nil, false
		}
		quote[i] = q
	}
	if y := e.at.Year(); y < 0 || y >= 10000 {
		return nil, false
	}
	// slog drops the monotonic reading before formatting.
	at := e.at.Round(0)
	if asJSON {
		b = append(b, `{"time":"`...)
		b = at.AppendFormat(b, time.RFC3339Nano)
		b = append(b, `","level":"INFO","msg":"access"`...)
		str := func(k, v string) {
			b = append(b, `,"`...)
			b = append(b, k...)
			b = append(b, `":"`...)
			b = append(b, v...)
			b = append(b, '"')
		}
		num := func(k string, v int64) {
			b = append(b, `,"`...)
			b = append(b, k...)
			b = append(b, `":`...)
			b = strconv.AppendInt(b, v, 10)
		}
		str("listener", e.listener)
		str("method", e.method)
		str("route", e.route)
		str("path", e.path)
		num("status", int64(e.status))
		num("bytes", e.size)
		num("dur", int64(e.dur))
		str("remote", e.remote)
		if e.clientID != "" {
			str("client_id", e.clientID)
		}
		return append(b, "}\n"...), true
	}
	b = append(b, "time="...)
	b = appendRFC3339Millis(b, at)
	b = append(b, " level=INFO msg=access"...)
	str := func(k, v string, quoted bool) {
		b = append(b, ' ')
		b = append(b, k...)
		b = append(b, '=')
		if quoted {
			b = append(b, '"')
			b = append(b, v...)
			b = append(b, '"')
		} else {
			b = append(b, v...)
		}
	}
	str("listener", e.listener, quote[0])
	str("method", e.method, quote[1])
	str("route", e.route, quote[2])
	str("path", e.path, quote[3])
	b = append(b, " status="...)
	b = strconv.AppendInt(b, int64(e.status), 10)
	b = append(b, " bytes="...)
	b = strconv.AppendInt(b, e.size, 10)
	b = append(b, " dur="...)
	b = append(b, e.dur.String()...)
	str("remote", e.remote, quote[4])
	if e.clientID != "" {
		str("client_id", e.clientID, quote[5])
	}
	return append(b, '\n'), true
}

// plainLogString: printable ASCII without a quote or a backslash, which
// both handlers write as it is; quote: the text handler puts it in quotes
// (it has a space or an equals sign, or is empty).
func plainLogString(s string) (ok, quote bool) {
	quote = s == ""
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c > 0x7e || c == '"' || c == '\\':
			return false, false
		case c == ' ' || c == '=':
			quote = true
		}
	}
	return true, quote
}

// appendRFC3339Millis is slog's text time: RFC 3339 with exactly three
// digits of milliseconds.
func appendRFC3339Millis(b []byte, t time.Time) []byte {
	const prefixLen = len("2006-01-02T15:04:05.000")
	n := len(b)
	t = t.Truncate(time.Millisecond).Add(time.Millisecond / 10)
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b[:n+prefixLen], b[n+prefixLen+1:]...)
}

func (l *AccessLog) flush() {
	if l.buf.Len() == 0 {
		return
	}
	l.out.Write(l.buf.Bytes())
	l.buf.Reset()
}

// statusWriter remembers what a handler answered, for the access log and
// the metrics. Unwrap lets http.ResponseController (and so the gateway's
// reverse proxy) reach Flush and Hijack.
type statusWriter struct {
	http.ResponseWriter
	start    time.Time // when the request reached the handler
	status   int
	size     int64
	clientID string
}

// requestStart is when the request reached the handler: the time logged
// already took, so the verify path reads the clock once for both.
func requestStart(w http.ResponseWriter) time.Time {
	if sw, ok := w.(*statusWriter); ok {
		return sw.start
	}
	return time.Now()
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.size += int64(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// statusOf is what the handler answered (200 if it wrote nothing).
func statusOf(w http.ResponseWriter) int {
	if sw, ok := w.(*statusWriter); ok && sw.status != 0 {
		return sw.status
	}
	return http.StatusOK
}

// setClientID names the key a request used in its access-log entry.
func setClientID(w http.ResponseWriter, id string) {
	// Only a well-formed Client ID: a secret sent in its place must not
	// reach the log.
	if sw, ok := w.(*statusWriter); ok && model.ValidClientID(id) {
		sw.clientID = id
	}
}

// logged wraps a listener's handler: every request gets a statusWriter and,
// with an access log, an entry.
func (s *Server) logged(listener string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, start: time.Now()}
		h.ServeHTTP(sw, r)
		if s.access == nil {
			return
		}
		s.access.add(accessEntry{
			at:       sw.start,
			listener: listener,
			method:   r.Method,
			route:    r.Pattern,
			path:     r.URL.Path,
			status:   statusOf(sw),
			size:     sw.size,
			dur:      time.Since(sw.start),
			remote:   r.RemoteAddr,
			clientID: sw.clientID,
		})
	})
}
