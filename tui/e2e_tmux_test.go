package tui_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/keydeck/keydeck/tui/tmuxtest"
)

// TestTmuxEndToEnd runs the real keydeck binary in a tmux pane at 80x24:
// it types through the creation wizard, reads the secret off the screen,
// checks it with `keydeck verify`, then regenerates and revokes through the
// UI and checks each result from the command line. Secrets never reach the
// test output: failures print the pane with secrets redacted.
func TestTmuxEndToEnd(t *testing.T) {
	if !tmuxtest.Available() {
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
	tm := tmuxtest.Start(t, 80, 24, fmt.Sprintf("%s --db %s; echo KEYDECK-EXITED $?; sleep 60", bin, db),
		tmuxtest.WithRedact(tmuxtest.Redact))

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
		return tmuxtest.Redact(out.String()), code
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

	tm.WaitFor("You have no API keys yet")
	tm.Send("n")
	tm.WaitFor("Key name")
	tm.Type("E2E-Key")
	tm.Send("Enter")
	tm.WaitFor("[x] Read")
	tm.Send("Down", "Space", "Enter") // + write
	tm.WaitFor("Query allocation")
	tm.Type("250")
	tm.Send("Enter")
	tm.WaitFor("Mutation allocation")
	tm.Type("25")
	tm.Send("Enter")
	tm.WaitFor("Review", "read, write", "250")
	tm.Send("Enter")
	screen := tm.WaitFor("New API key created", "shown only once")
	secret := secretRE.FindString(screen)
	id := clientIDRE.FindString(screen)
	if secret == "" || id == "" {
		t.Fatalf("no Client ID or secret on the reveal screen:\n%s", tmuxtest.Redact(screen))
	}
	if code := verify(id, secret); code != 0 {
		t.Fatalf("keydeck verify with the revealed secret: exit %d, want 0", code)
	}
	tm.Send("Tab", "Tab", "Enter") // I have stored it
	tm.WaitFor("1–1 of 1 key", "E2E-Key")

	// Regenerate through the confirm dialog (focus starts on Cancel).
	tm.Send("R")
	tm.WaitFor("Regenerate the secret of “E2E-Key”?")
	tm.Send("Tab", "Enter")
	screen = tm.WaitFor("New secret generated")
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
	tm.Send("Tab", "Tab", "Enter")
	tm.WaitFor("1–1 of 1 key")

	// Revoke, returning the allocation (the default).
	tm.Send("x")
	tm.WaitFor("Revoke “E2E-Key”?", "[x] Return its unused allocation")
	tm.Send("Tab", "Enter")
	// it still holds the two queries it used this period
	tm.WaitFor("revoked; ", "Query 9,998 of 10,000")
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
	tm.WaitFor("From-CLI")

	tm.Send("q")
	tm.WaitFor("KEYDECK-EXITED 0")
}

var (
	secretRE   = regexp.MustCompile(`kds_[0-9A-Za-z]{49}`)
	clientIDRE = regexp.MustCompile(`kdc_[0-9A-Za-z]{22}`)
)
