package ssh

// Helpers of the SSH tests: a real SQLite database with accounts and
// registered keys, the SSH server listening on loopback (testsession), and
// gossh clients that read the session's screen as text.

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"charm.land/wish/v2/testsession"
	"github.com/charmbracelet/x/ansi"
	gossh "golang.org/x/crypto/ssh"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/server/internal/servertest"
	"github.com/keydeck/keydeck/storage/sqlite"
	"github.com/keydeck/keydeck/tui"
	"github.com/keydeck/keydeck/tui/tmuxtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	servertest.RemoveBinary()
	os.Exit(code)
}

// sshEnv is a database and an SSH server over it.
type sshEnv struct {
	t    *testing.T
	db   *sqlite.DB
	path string
	srv  *Server
	addr string
	log  *servertest.SyncBuffer
}

// newSSHEnv opens a fresh database with the accounts "default" and "acme"
// and starts an SSH server on it; tweak adjusts the configuration.
func newSSHEnv(t *testing.T, tweak func(*Config)) *sshEnv {
	t.Helper()
	dir := t.TempDir()
	e := &sshEnv{t: t, path: filepath.Join(dir, "keydeck.db"), log: &servertest.SyncBuffer{}}
	db, err := sqlite.Open(context.Background(), e.path, sqlite.Options{FlushInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	e.db = db
	t.Cleanup(func() { db.Close() })
	if _, _, err := db.CreateAccount(context.Background(), "test", "acme", model.AccountUpdate{}); err != nil {
		t.Fatal(err)
	}
	hostKey, _, err := LoadHostKey(HostKeyPath(e.path))
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Admin:   db,
		HostKey: hostKey,
		Logger:  slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		TUI:     tui.Options{Refresh: 200 * time.Millisecond},
	}
	if tweak != nil {
		tweak(&cfg)
	}
	e.srv, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.addr = testsession.Listen(t, e.srv.srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = e.srv.Shutdown(ctx)
		if secrets := secretRE.FindAllString(e.log.String(), -1); len(secrets) > 0 {
			t.Errorf("the server log holds %d secrets", len(secrets))
		}
	})
	return e
}

// sessions is how many sessions the server is running.
func (e *sshEnv) sessions() int {
	e.srv.mu.Lock()
	defer e.srv.mu.Unlock()
	return len(e.srv.sessions)
}

// newUserKey makes an Ed25519 key pair for a client.
func newUserKey(t *testing.T) gossh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// register adds a client key to an account and returns its fingerprint.
func (e *sshEnv) register(account string, key gossh.Signer) string {
	e.t.Helper()
	k, err := model.ParseAuthorizedKey(gossh.MarshalAuthorizedKey(key.PublicKey()))
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.db.AddSSHKey(context.Background(), "test", account, k); err != nil {
		e.t.Fatal(err)
	}
	return k.Fingerprint
}

// createKey makes an API key through the store.
func (e *sshEnv) createKey(account, name string) model.Key {
	e.t.Helper()
	st, err := e.db.Store(account, "test")
	if err != nil {
		e.t.Fatal(err)
	}
	k, _, err := st.CreateKey(context.Background(), model.KeySpec{Name: name, Permissions: model.PermRead, QueryAlloc: 10, MutationAlloc: 0})
	if err != nil {
		e.t.Fatal(err)
	}
	return k
}

// clientConfig authenticates with key, hands banners to banner (nil:
// ignored).
func clientConfig(key gossh.Signer, banner *servertest.SyncBuffer) *gossh.ClientConfig {
	cfg := &gossh.ClientConfig{
		User:            "whoever",
		Auth:            []gossh.AuthMethod{gossh.PublicKeys(key)},
		HostKeyCallback: gossh.InsecureIgnoreHostKey(),
		Timeout:         10 * time.Second,
	}
	if banner != nil {
		cfg.BannerCallback = func(msg string) error { _, err := banner.Write([]byte(msg)); return err }
	}
	return cfg
}

// sshTerm is a client session with a PTY and a shell: the screen is read
// from the raw output with escape sequences stripped.
type sshTerm struct {
	t      *testing.T
	sess   *gossh.Session
	stdin  io.WriteCloser
	out    *servertest.SyncBuffer
	errOut *servertest.SyncBuffer
	done   chan error
}

// open starts a session of key at w×h.
func (e *sshEnv) open(key gossh.Signer, w, h int) *sshTerm {
	e.t.Helper()
	sess, err := testsession.NewClientSession(e.t, e.addr, clientConfig(key, nil))
	if err != nil {
		e.t.Fatalf("connect: %v", err)
	}
	return startTerm(e.t, sess, w, h)
}

func startTerm(t *testing.T, sess *gossh.Session, w, h int) *sshTerm {
	t.Helper()
	tm := &sshTerm{t: t, sess: sess, out: &servertest.SyncBuffer{}, errOut: &servertest.SyncBuffer{}, done: make(chan error, 1)}
	sess.Stdout, sess.Stderr = tm.out, tm.errOut
	var err error
	if tm.stdin, err = sess.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := sess.RequestPty("xterm-256color", h, w, gossh.TerminalModes{}); err != nil {
		t.Fatalf("pty: %v", err)
	}
	if err := sess.Shell(); err != nil {
		t.Fatalf("shell: %v", err)
	}
	go func() { tm.done <- sess.Wait() }()
	return tm
}

// waitFor waits until the screen holds every want.
func (tm *sshTerm) waitFor(want ...string) string {
	tm.t.Helper()
	return tm.wait(fmt.Sprintf("%q", want), func(out string) bool {
		s := ansi.Strip(out)
		for _, w := range want {
			if !strings.Contains(s, w) {
				return false
			}
		}
		return true
	})
}

// wait polls the raw output (escape sequences and all) until ok accepts
// it, for up to 10s, and returns the screen.
func (tm *sshTerm) wait(what string, ok func(out string) bool) string {
	tm.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out := tm.out.String()
		if ok(out) {
			return ansi.Strip(out)
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("the session never showed %s; it showed:\n%s\nstderr: %s", what, tmuxtest.Redact(lastChars(ansi.Strip(out), 3000)), tm.errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (tm *sshTerm) send(s string) {
	tm.t.Helper()
	if _, err := io.WriteString(tm.stdin, s); err != nil {
		tm.t.Fatalf("typing: %v", err)
	}
}

// exit waits up to d for the session to end and returns its exit status
// (-1 without one) and stderr.
func (tm *sshTerm) exit(d time.Duration) (int, string) {
	tm.t.Helper()
	select {
	case err := <-tm.done:
		return exitStatus(tm.t, err), tm.errOut.String()
	case <-time.After(d):
		tm.t.Fatalf("the session did not end within %s; stderr: %q", d, tm.errOut.String())
		return 0, ""
	}
}

// ended reports whether the session is over (without waiting).
func (tm *sshTerm) ended() bool {
	select {
	case err := <-tm.done:
		tm.done <- err
		return true
	default:
		return false
	}
}

func exitStatus(t *testing.T, err error) int {
	t.Helper()
	var ee *gossh.ExitError
	var missing *gossh.ExitMissingError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitStatus()
	case errors.As(err, &missing):
		return -1
	}
	t.Fatalf("session: %v", err)
	return 0
}

var secretRE = regexp.MustCompile(`kds_[0-9A-Za-z]{20,}`)

func lastChars(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
