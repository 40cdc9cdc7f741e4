package tui_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keydeck/keydeck/tui/tmuxtest"
)

// tokenLike is an account API token, or enough of one to hide.
var tokenLike = regexp.MustCompile(`kdt_[0-9A-Za-z]{8,}`)

// redactAll hides Client Secrets and account API tokens.
func redactAll(s string) string {
	return tokenLike.ReplaceAllString(tmuxtest.Redact(s), "kdt_[redacted]")
}

// remoteRig is the keydeck binary, a database with account acme (and its
// token) and one key in it, for running the TUI against a real server.
type remoteRig struct {
	t     *testing.T
	bin   string
	db    string
	token string
}

func newRemoteRig(t *testing.T) *remoteRig {
	t.Helper()
	if !tmuxtest.Available() {
		t.Skip("tmux is not installed (.ci/run installs it)")
	}
	if testing.Short() {
		t.Skip("builds the binary and runs a server; skipped with -short")
	}
	dir := t.TempDir()
	r := &remoteRig{t: t, bin: filepath.Join(dir, "keydeck"), db: filepath.Join(dir, "keydeck.db")}
	build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", r.bin, "github.com/keydeck/keydeck/cmd/keydeck")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out := r.cli("account", "create", "acme", "--query-total", "1000", "--mutation-total", "100")
	r.token = tokenLike.FindString(out)
	if r.token == "" {
		t.Fatalf("account create printed no token: %s", redactAll(out))
	}
	r.cli("--account", "acme", "keys", "create", "--name", "Remote-E2E", "--perm", "read", "--query", "7", "--mutation", "0")
	return r
}

// cli runs keydeck on the rig's database and returns its output; a
// failure prints it redacted.
func (r *remoteRig) cli(args ...string) string {
	r.t.Helper()
	cmd := exec.Command(r.bin, append([]string{"--db", r.db}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		r.t.Fatalf("keydeck %s: %v: %s", args[0], err, redactAll(out.String()))
	}
	return out.String()
}

// freePort is a loopback port with nothing listening on it (now).
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// lockedBuffer collects a process's output while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// serve starts `keydeck serve` on 127.0.0.1:port and waits (10 s at most)
// until /healthz answers; t.Cleanup stops it.
func (r *remoteRig) serve(port int) {
	r.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, r.bin, "serve", "--db", r.db, "--http", fmt.Sprintf("127.0.0.1:%d", port), "--access-log", "off")
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		cancel()
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if r.t.Failed() {
			r.t.Logf("keydeck serve said:\n%s", redactAll(out.String()))
		}
	})
	url := fmt.Sprintf("http://127.0.0.1:%d/healthz", port)
	client := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(10 * time.Second); ; {
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("keydeck serve did not answer on %s within 10s", url)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// tui runs the TUI against url with token in a 100×24 pane.
func (r *remoteRig) tui(url, token string) *tmuxtest.Session {
	r.t.Helper()
	cmd := fmt.Sprintf("%s --remote %s --token %s; echo KEYDECK-EXITED $?; sleep 60", r.bin, url, token)
	return tmuxtest.Start(r.t, 100, 24, cmd, tmuxtest.WithRedact(redactAll))
}

// TestTmuxRemoteServerComesLater starts the TUI on a server that is not
// there yet: the main screen says it cannot reach the URL and retries; once
// a real `keydeck serve` is up, the TUI loads the account and its keys by
// itself.
func TestTmuxRemoteServerComesLater(t *testing.T) {
	r := newRemoteRig(t)
	port := freePort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	tm := r.tui(url, r.token)

	tm.Within(10*time.Second).WaitFor("cannot reach "+url, "retrying every")
	if strings.Contains(tm.Capture(), "account acme") {
		t.Fatal("the header names the account before the server answered")
	}

	r.serve(port)
	tm.Within(15*time.Second).WaitFor("account acme", "Remote-E2E", "Query 993 of 1,000")
	if pane := tm.Capture(); strings.Contains(pane, "cannot reach") {
		t.Fatalf("the TUI still says it cannot reach the server:\n%s", redactAll(pane))
	}

	tm.Send("q")
	tm.Within(5 * time.Second).WaitFor("KEYDECK-EXITED 0")
}

// TestTmuxRemoteWrongToken runs the TUI against a running server with a
// well-formed token that is not (or no longer) the account's: the main
// screen says the token is invalid and where to fix it.
func TestTmuxRemoteWrongToken(t *testing.T) {
	r := newRemoteRig(t)
	old := r.token
	out := r.cli("account", "token", "acme", "--rotate", "--yes") // the old token stops working
	if tokenLike.FindString(out) == "" {
		t.Fatalf("token --rotate printed no token: %s", redactAll(out))
	}
	port := freePort(t)
	r.serve(port)
	tm := r.tui(fmt.Sprintf("http://127.0.0.1:%d", port), old)

	pane := tm.Within(10*time.Second).WaitFor("the API token is invalid or missing", "check --token or KEYDECK_TOKEN")
	for _, bad := range []string{"account acme", "Remote-E2E", "retrying"} {
		if strings.Contains(pane, bad) {
			t.Fatalf("with a wrong token the pane shows %q:\n%s", bad, redactAll(pane))
		}
	}
	if strings.Contains(pane, "kdt_") {
		t.Fatal("the pane shows a token")
	}

	tm.Send("q")
	tm.Within(5 * time.Second).WaitFor("KEYDECK-EXITED 0")
}
