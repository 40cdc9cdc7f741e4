package server

import (
	"bytes"
	"context"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// slogLine is the line slog's own handler writes for e.
func slogLine(e accessEntry, asJSON bool) string {
	var buf bytes.Buffer
	var h slog.Handler = slog.NewTextHandler(&buf, nil)
	if asJSON {
		h = slog.NewJSONHandler(&buf, nil)
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
	h.Handle(context.Background(), rec)
	return buf.String()
}

// The hand-written access line is byte for byte what slog writes, in both
// formats, for plain entries and for the odd ones it leaves to slog.
func TestAccessLineMatchesSlog(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	strs := []string{"", "api", "gateway", "POST /v1/verify", "/v1/keys/kdc_x", "a=b", "127.0.0.1:5000",
		"[::1]:80", "kdc_5bTtndOVAAheBfe1EYFQol", "/p<a>&b", `quo"te`, `back\slash`, "tab\there", "é", "\x00", "/x y", "%20"}
	pick := func() string { return strs[rng.IntN(len(strs))] }
	base := time.Date(2026, 11, 26, 15, 7, 16, 553254000, time.UTC)
	zones := []*time.Location{time.UTC, time.FixedZone("X", 5*3600+30*60), time.FixedZone("Y", -7*3600)}
	durs := []time.Duration{0, 1, 999, time.Microsecond, 4229851, time.Second, 90 * time.Minute, -5}
	fast := 0
	for i := range 5000 {
		at := base.Add(time.Duration(rng.Int64N(int64(400 * 24 * time.Hour)))).In(zones[i%len(zones)])
		if i%7 == 0 {
			at = at.Truncate(time.Second) // trailing zeros trimmed by RFC3339Nano
		}
		if i%11 == 0 {
			at = time.Now() // a monotonic reading
		}
		e := accessEntry{at: at, listener: pick(), method: pick(), route: pick(), path: pick(),
			status: []int{200, 401, 429, 502}[i%4], size: rng.Int64N(1 << 20), dur: durs[i%len(durs)] + time.Duration(rng.Int64N(1e6)),
			remote: pick(), clientID: pick()}
		for _, asJSON := range []bool{false, true} {
			want := slogLine(e, asJSON)
			l := &AccessLog{json: asJSON}
			if asJSON {
				l.h = slog.NewJSONHandler(&l.buf, nil)
			} else {
				l.h = slog.NewTextHandler(&l.buf, nil)
			}
			l.format(e)
			if got := l.buf.String(); got != want {
				t.Fatalf("entry %+v json=%v:\n got  %q\n want %q", e, asJSON, got, want)
			}
			if _, ok := appendAccess(nil, e, asJSON); ok {
				fast++
			}
		}
	}
	if fast < 500 {
		t.Fatalf("only %d of 10000 lines took the fast path", fast)
	}
}

func TestAccessLineRedactsSecretsInPath(t *testing.T) {
	e := accessEntry{at: time.Now(), listener: "api", method: "GET", route: "GET /v1/keys/{id}",
		path: "/v1/keys/kds_3kVv0f8yqJmS1YpQ9n2m7Lx4cT6wZ8aB0dE2gH4jK6nM1", status: 404, remote: "127.0.0.1:1"}
	for _, asJSON := range []bool{false, true} {
		l := &AccessLog{json: asJSON}
		l.h = slog.NewTextHandler(&l.buf, nil)
		l.format(e)
		if s := l.buf.String(); strings.Contains(s, "3kVv0f8") || !strings.Contains(s, "redacted") {
			t.Fatalf("line %q", s)
		}
	}
}

func BenchmarkAccessLine(b *testing.B) {
	e := accessEntry{at: time.Now(), listener: "api", method: "POST", route: "POST /v1/verify", path: "/v1/verify",
		status: 200, size: 224, dur: 4229851, remote: "127.0.0.1:50896", clientID: "kdc_5bTtndOVAAheBfe1EYFQol"}
	b.Run("fast", func(b *testing.B) {
		l := &AccessLog{}
		l.h = slog.NewTextHandler(&l.buf, nil)
		b.ReportAllocs()
		for b.Loop() {
			l.format(e)
			l.buf.Reset()
		}
	})
	b.Run("slog", func(b *testing.B) {
		var buf bytes.Buffer
		h := slog.NewTextHandler(&buf, nil)
		b.ReportAllocs()
		for b.Loop() {
			rec := slog.NewRecord(e.at, slog.LevelInfo, "access", 0)
			rec.AddAttrs(slog.String("listener", e.listener), slog.String("method", e.method), slog.String("route", e.route),
				slog.String("path", e.path), slog.Int("status", e.status), slog.Int64("bytes", e.size),
				slog.Duration("dur", e.dur), slog.String("remote", e.remote), slog.String("client_id", e.clientID))
			h.Handle(context.Background(), rec)
			buf.Reset()
		}
	})
}
