package tui_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestTmuxEndToEnd runs the real keydeck binary in a tmux pane at 80x24:
// it types through the creation wizard, reads the secret off the screen,
// checks it with `keydeck verify`, then regenerates and revokes through the
// UI and checks each result from the command line. Secrets never reach the
// test output: failures print the pane with secrets redacted.
func TestTmuxEndToEnd(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed (.ci/run installs it)")
	}
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "keydeck")
	build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", bin, "github.com/keydeck/keydeck/cmd/keydeck")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	db := filepath.Join(dir, "keydeck.db")
	tm := newTmux(t, 80, 24, fmt.Sprintf("%s --db %s; echo KEYDECK-EXITED $?; sleep 60", bin, db))

	cli := func(stdin string, args ...string) (string, int) {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"--db", db}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("keydeck %v: %v", args, err)
		}
		return redact(out.String()), code
	}
	verify := func(id, secret string) int {
		t.Helper()
		_, code := cli(secret+"\n", "verify", "--client-id", id, "--secret", "-", "--op", "read")
		return code
	}
	showStatus := func(id string) string {
		t.Helper()
		out, code := cli("", "keys", "show", id, "--json")
		if code != 0 {
			t.Fatalf("keys show: exit %d: %s", code, out)
		}
		var k struct {
			Status string `json:"status"`
		}
		if err := json.Unmarshal([]byte(out), &k); err != nil {
			t.Fatalf("keys show --json: %v: %s", err, out)
		}
		return k.Status
	}

	tm.waitFor("You have no API keys yet")
	tm.send("n")
	tm.waitFor("Key name")
	tm.typeText("E2E-Key")
	tm.send("Enter")
	tm.waitFor("[x] Read")
	tm.send("Down", "Space", "Enter") // + write
	tm.waitFor("Query allocation")
	tm.typeText("250")
	tm.send("Enter")
	tm.waitFor("Mutation allocation")
	tm.typeText("25")
	tm.send("Enter")
	tm.waitFor("Review", "read, write", "250")
	tm.send("Enter")
	screen := tm.waitFor("New API key created", "shown only once")
	secret := secretRE.FindString(screen)
	id := clientIDRE.FindString(screen)
	if secret == "" || id == "" {
		t.Fatalf("no Client ID or secret on the reveal screen:\n%s", redact(screen))
	}
	if code := verify(id, secret); code != 0 {
		t.Fatalf("keydeck verify with the revealed secret: exit %d, want 0", code)
	}
	tm.send("Tab", "Tab", "Enter") // I have stored it
	tm.waitFor("1–1 of 1 key", "E2E-Key")

	// Regenerate through the confirm dialog (focus starts on Cancel).
	tm.send("R")
	tm.waitFor("Regenerate the secret of “E2E-Key”?")
	tm.send("Tab", "Enter")
	screen = tm.waitFor("New secret generated")
	newSecret := secretRE.FindString(screen)
	if newSecret == "" || newSecret == secret {
		t.Fatal("no new secret on the screen")
	}
	if code := verify(id, secret); code != 3 {
		t.Fatalf("the old secret after regenerate: exit %d, want 3", code)
	}
	if code := verify(id, newSecret); code != 0 {
		t.Fatalf("the new secret: exit %d, want 0", code)
	}
	tm.send("Tab", "Tab", "Enter")
	tm.waitFor("1–1 of 1 key")

	// Revoke, returning the allocation (the default).
	tm.send("x")
	tm.waitFor("Revoke “E2E-Key”?", "[x] Return its unused allocation")
	tm.send("Tab", "Enter")
	// it still holds the two queries it used this period
	tm.waitFor("revoked; its allocation went back", "Query 9,998 of 10,000")
	if st := showStatus(id); st != "revoked" {
		t.Fatalf("status after revoke: %q", st)
	}
	if code := verify(id, newSecret); code != 3 {
		t.Fatalf("the revoked key: exit %d, want 3", code)
	}

	// A key made from the CLI shows up by itself.
	if out, code := cli("", "keys", "create", "--name", "From-CLI", "--perm", "read", "--query", "5", "--mutation", "0"); code != 0 {
		t.Fatalf("keys create: %s", out)
	}
	tm.waitFor("From-CLI")

	tm.send("q")
	tm.waitFor("KEYDECK-EXITED 0")
}

var (
	secretRE   = regexp.MustCompile(`kds_[0-9A-Za-z]{49}`)
	clientIDRE = regexp.MustCompile(`kdc_[0-9A-Za-z]{22}`)
)

func redact(s string) string { return secretRE.ReplaceAllString(s, "kds_[redacted]") }

// tmux drives one pane on a private server socket.
type tmux struct {
	t      *testing.T
	socket string
}

func newTmux(t *testing.T, w, h int, command string) *tmux {
	t.Helper()
	tm := &tmux{t: t, socket: fmt.Sprintf("keydeck-e2e-%d-%d", os.Getpid(), time.Now().UnixNano())}
	t.Cleanup(func() {
		exec.Command("tmux", "-L", tm.socket, "kill-server").Run()
		dir := os.Getenv("TMUX_TMPDIR")
		if dir == "" {
			dir = "/tmp"
		}
		os.Remove(filepath.Join(dir, fmt.Sprintf("tmux-%d", os.Getuid()), tm.socket))
	})
	tm.run("new-session", "-d", "-s", "kd", "-x", fmt.Sprint(w), "-y", fmt.Sprint(h),
		"env", "TERM=xterm-256color", "LANG=C.UTF-8", "sh", "-c", command)
	return tm
}

func (tm *tmux) run(args ...string) string {
	tm.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", tm.socket}, args...)...).CombinedOutput()
	if err != nil {
		tm.t.Fatalf("tmux %s: %v: %s", args[0], err, redact(string(out)))
	}
	return string(out)
}

func (tm *tmux) capture() string { return tm.run("capture-pane", "-p", "-t", "kd") }

func (tm *tmux) send(keys ...string) {
	tm.t.Helper()
	tm.run(append([]string{"send-keys", "-t", "kd"}, keys...)...)
}

func (tm *tmux) typeText(s string) {
	tm.t.Helper()
	tm.run("send-keys", "-t", "kd", "-l", s)
}

// waitFor polls the pane until it shows every want, for up to 15s.
func (tm *tmux) waitFor(want ...string) string {
	tm.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		screen := tm.capture()
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(screen, w)
		}
		if ok {
			return screen
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("the pane never showed %q; it shows:\n%s", want, redact(screen))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
