package remote_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/server"
	"github.com/keydeck/keydeck/storage"
	"github.com/keydeck/keydeck/storage/remote"
	"github.com/keydeck/keydeck/storage/sqlite"
)

func TestNewRefusesUnsafeURLs(t *testing.T) {
	tok := model.NewToken()
	for _, c := range []struct {
		url      string
		insecure bool
		ok       bool
	}{
		{"http://127.0.0.1:8080", false, true},
		{"http://[::1]:8080/", false, true},
		{"http://localhost:8080", false, true},
		{"https://keys.example.com", false, true},
		{"https://keys.example.com/keydeck/", false, true},
		{"http://keys.example.com", false, false},
		{"http://10.0.0.5:8080", false, false},
		{"http://keys.example.com", true, true},
		{"ftp://keys.example.com", false, false},
		{"keys.example.com:8080", false, false},
		{"http://user:pw@127.0.0.1:8080", false, false},
		{"http://127.0.0.1:8080/?x=1", false, false},
		{"", false, false},
	} {
		_, err := remote.New(c.url, tok, remote.Options{Insecure: c.insecure})
		if (err == nil) != c.ok {
			t.Errorf("New(%q, insecure=%v): %v", c.url, c.insecure, err)
		}
		if err != nil && (strings.Contains(err.Error(), tok) || strings.Contains(err.Error(), "\n")) {
			t.Errorf("New(%q): error is not one clean line: %q", c.url, err)
		}
	}
}

// A server that is down, or hangs, is one line wrapping
// storage.ErrUnavailable, within the timeout, never a hang.
func TestUnreachableIsOneLine(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	url := dead.URL
	dead.Close()
	tok := model.NewToken()
	st, err := remote.New(url, tok, remote.Options{Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.ListKeys(context.Background(), storage.ListOptions{})
	if !errors.Is(err, storage.ErrUnavailable) || strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), tok) ||
		!strings.Contains(err.Error(), strings.TrimPrefix(url, "http://")) {
		t.Fatalf("down server: %q", err)
	}

	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hang.Close()
	defer close(release)
	st, err = remote.New(hang.URL, tok, remote.Options{Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = st.Verify(context.Background(), model.VerifyRequest{ClientID: model.NewClientID(), ClientSecret: model.NewSecret(), Operation: model.OpRead})
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("a hanging server held the call for %v", d)
	}
	if !errors.Is(err, storage.ErrUnavailable) || !strings.Contains(err.Error(), "no answer within 300ms") {
		t.Fatalf("hanging server: %q", err)
	}
	// The caller's own cancellation is reported as such.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := st.Account(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled call: %v", err)
	}
}

// Something that is not a keydeck server gets a plain message.
func TestNotAKeydeckServer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/account":
			http.Error(w, "<html>nope</html>", http.StatusNotFound)
		case "/v1/keys":
			http.Error(w, "bad gateway", http.StatusBadGateway)
		case "/v1/audit":
			http.Redirect(w, r, "https://elsewhere.example/v1/audit", http.StatusFound)
		default:
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"key": 5}`))
		}
	}))
	defer srv.Close()
	st, err := remote.New(srv.URL, model.NewToken(), remote.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := st.Account(ctx); err == nil || !strings.Contains(err.Error(), "is it a keydeck server?") {
		t.Errorf("HTML 404: %v", err)
	}
	if _, err := st.ListKeys(ctx, storage.ListOptions{}); !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("plain 502: %v", err)
	}
	if _, err := st.Audit(ctx, storage.AuditFilter{}); err == nil || !strings.Contains(err.Error(), "redirects to https://elsewhere.example/v1/audit") {
		t.Errorf("redirect: %v", err)
	}
	if _, err := st.GetKey(ctx, "x"); err == nil || !strings.Contains(err.Error(), "cannot read") {
		t.Errorf("odd JSON: %v", err)
	}
}

// newServer is a real server on a fresh database, for the client tests.
func newServer(t *testing.T, tlsServer bool) (*sqlite.DB, *httptest.Server) {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "k.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	srv, err := server.New(server.Config{Admin: db})
	if err != nil {
		t.Fatal(err)
	}
	var ts *httptest.Server
	if tlsServer {
		ts = httptest.NewTLSServer(srv.Handler())
	} else {
		ts = httptest.NewServer(srv.Handler())
	}
	t.Cleanup(ts.Close)
	return db, ts
}

// Names that a server's path cleaning would bend still reach their key.
func TestAwkwardNames(t *testing.T) {
	db, ts := newServer(t, false)
	tok, err := db.RotateToken(context.Background(), "test", "default")
	if err != nil {
		t.Fatal(err)
	}
	st, err := remote.New(ts.URL, tok, remote.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, name := range []string{"..", ".", "a/b", "a//b", "a/../b", "/lead", "trail/", "%2F", "?x#y", "sp ace", "ünï", "kdc_"} {
		k, _, err := st.CreateKey(ctx, model.KeySpec{Name: name, Permissions: model.PermRead, QueryAlloc: 1})
		if err != nil {
			t.Fatalf("create %q: %v", name, err)
		}
		g, err := st.GetKey(ctx, name)
		if err != nil || g.ClientID != k.ClientID {
			t.Fatalf("get %q: %+v %v", name, g, err)
		}
		if _, err := st.Usage(ctx, name, 2); err != nil {
			t.Fatalf("usage %q: %v", name, err)
		}
		if _, err := st.RevokeKey(ctx, name, false); err != nil {
			t.Fatalf("revoke %q: %v", name, err)
		}
		if g, err := st.GetKey(ctx, name); err != nil || g.ClientID != k.ClientID || g.Status != model.StatusRevoked {
			t.Fatalf("get revoked %q: %+v %v", name, g, err)
		}
	}
	if _, err := st.GetKey(ctx, ""); !errors.Is(err, model.ErrKeyNotFound) {
		t.Fatalf("empty ID: %v", err)
	}
}

// TLS: the client trusts what it is told to, and a certificate it cannot
// verify is one clear line.
func TestTLS(t *testing.T) {
	db, ts := newServer(t, true)
	tok, err := db.RotateToken(context.Background(), "test", "default")
	if err != nil {
		t.Fatal(err)
	}
	st, err := remote.New(ts.URL, tok, remote.Options{TLSConfig: ts.Client().Transport.(*http.Transport).TLSClientConfig})
	if err != nil {
		t.Fatal(err)
	}
	if a, err := st.Account(context.Background()); err != nil || a.Name != "default" {
		t.Fatalf("over TLS: %+v %v", a, err)
	}
	st, err = remote.New(ts.URL, tok, remote.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.Account(context.Background())
	if !errors.Is(err, storage.ErrUnavailable) || !strings.Contains(err.Error(), "certificate") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("untrusted certificate: %v", err)
	}
}

func TestWrongTokenAndClose(t *testing.T) {
	_, ts := newServer(t, false)
	st, err := remote.New(ts.URL, model.NewToken(), remote.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Account(context.Background()); !errors.Is(err, model.ErrUnauthorized) {
		t.Fatalf("wrong token: %v", err)
	}
	// Verify needs no token.
	r, err := st.Verify(context.Background(), model.VerifyRequest{ClientID: model.NewClientID(), ClientSecret: model.NewSecret(), Operation: model.OpRead})
	if err != nil || r.Verdict != model.DeniedUnauthorized {
		t.Fatalf("verify without a valid token: %+v %v", r, err)
	}
	st.Close()
	if _, err := st.Account(context.Background()); !errors.Is(err, storage.ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}
