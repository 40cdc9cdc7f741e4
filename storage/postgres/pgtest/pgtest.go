// Package pgtest gives tests a PostgreSQL schema of their own on the
// server named by KEYDECK_TEST_POSTGRES (`make test` starts a throwaway
// cluster and sets it when the Debian binaries are installed; see
// .ci/pg-cluster). Without it the tests skip with one line saying how to
// enable them; with CI=true they fail instead, so CI cannot go green
// without having run them.
package pgtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Env names the server URL the tests use.
const Env = "KEYDECK_TEST_POSTGRES"

// Base is the server URL, or skips t (fails it under CI=true) when there
// is none.
func Base(t testing.TB) string {
	t.Helper()
	u := os.Getenv(Env)
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: CI must run the PostgreSQL tests (.ci/pg-cluster run -- …)", Env)
		}
		t.Skipf("PostgreSQL tests skipped: set %s to a server URL, or install the postgresql package and use make test", Env)
	}
	return u
}

// Schema creates a fresh schema for t and returns a URL whose search_path
// is that schema; it is dropped when t ends. name makes the schema's name
// (hashed), so another process given the same name opens the same schema:
// see Existing.
func Schema(t testing.TB, name string) string {
	t.Helper()
	base := Base(t)
	dbURL, drop, err := Create(base, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if err := drop(); err != nil {
			t.Logf("pgtest: %v", err)
		}
	})
	return dbURL
}

// Create is Schema for callers without a testing.TB (testscript's
// commands): it creates the schema for name on the server at base and
// returns its URL and the function that drops it.
func Create(base, name string) (dbURL string, drop func() error, err error) {
	schema := SchemaName(name)
	dbURL, err = withSchema(base, schema)
	if err != nil {
		return "", nil, err
	}
	run := func(sql string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			return fmt.Errorf("connect to %s: %w", Env, err)
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := run(`DROP SCHEMA IF EXISTS ` + schema + ` CASCADE; CREATE SCHEMA ` + schema); err != nil {
		return "", nil, fmt.Errorf("create schema: %w", err)
	}
	drop = func() error {
		if err := run(`DROP SCHEMA IF EXISTS ` + schema + ` CASCADE`); err != nil {
			return fmt.Errorf("drop schema %s: %w", schema, err)
		}
		return nil
	}
	return dbURL, drop, nil
}

// Existing is the URL of the schema Schema made for name, for another
// process of the same test; it is neither created nor dropped.
func Existing(t testing.TB, name string) string {
	t.Helper()
	return WithSchema(t, Base(t), SchemaName(name))
}

// SchemaName is the schema Schema makes for name.
func SchemaName(name string) string {
	h := sha256.Sum256([]byte(name))
	return "kdt_" + hex.EncodeToString(h[:10])
}

// WithSchema is base with its search_path set to schema.
func WithSchema(t testing.TB, base, schema string) string {
	t.Helper()
	u, err := withSchema(base, schema)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return u
}

func withSchema(base, schema string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("%s does not parse: %w", Env, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// Proxy is a loopback TCP proxy in front of the test server: cutting it
// drops every connection and refuses new ones, as a PostgreSQL that went
// away would; restoring it listens again on the same port.
type Proxy struct {
	t      testing.TB
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]bool
	// resume is closed when a Stall ends; nil when not stalled.
	resume chan struct{}
}

// NewProxy starts a proxy to the host of dbURL and returns it with dbURL
// pointing at it.
func NewProxy(t testing.TB, dbURL string) (*Proxy, string) {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{t: t, target: u.Host, conns: map[net.Conn]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.Cut)
	u.Host = p.addr
	return p, u.String()
}

func (p *Proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[s] = true, true
			p.mu.Unlock()
			go func() { p.pump(s, c); s.Close() }()
			go func() { p.pump(c, s); c.Close() }()
		}
	}()
}

// pump copies src to dst, holding what it read while the proxy is stalled.
func (p *Proxy) pump(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			resume := p.resume
			p.mu.Unlock()
			if resume != nil {
				<-resume
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// Stall keeps every connection, and accepts new ones, but forwards nothing
// until Restore or Cut: a database behind a network that drops packets,
// where only deadlines end a wait.
func (p *Proxy) Stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.resume == nil {
		p.resume = make(chan struct{})
	}
}

// unstall ends a Stall; p.mu is held.
func (p *Proxy) unstall() {
	if p.resume != nil {
		close(p.resume)
		p.resume = nil
	}
}

// Cut closes the listener and every connection through it.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	defer p.unstall()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

// Restore ends a Stall, or listens again on the proxy's port after Cut.
func (p *Proxy) Restore() {
	p.t.Helper()
	p.mu.Lock()
	p.unstall()
	listening := p.ln != nil
	p.mu.Unlock()
	if listening {
		return
	}
	var ln net.Listener
	var err error
	for range 50 {
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		p.t.Fatalf("pgtest: proxy cannot listen again on %s: %v", p.addr, err)
	}
	p.serve(ln)
}
