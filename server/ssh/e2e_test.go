package ssh

// End-to-end tests of `keydeck serve --ssh` with the system ssh client
// under tmux: the real binary, real keys made with ssh-keygen, loopback
// only. Secrets never reach the test output: screens are redacted.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/keydeck/keydeck/server/internal/servertest"
	"github.com/keydeck/keydeck/tui/tmuxtest"
)

// needSSHTools skips when the tools the end-to-end tests drive are missing
// (.ci/run installs them).
func needSSHTools(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped with -short")
	}
	for _, tool := range []string{"tmux", "ssh", "ssh-keygen"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (.ci/run installs it)", tool)
		}
	}
}

// sshKeyFile makes an Ed25519 key with ssh-keygen and returns the private
// key's path and the key's fingerprint.
func sshKeyFile(t *testing.T, dir, name string) (string, string) {
	t.Helper()
	path := filepath.Join(dir, name)
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name+"@e2e", "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	pub, err := os.ReadFile(path + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	pk, _, _, _, err := gossh.ParseAuthorizedKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return path, gossh.FingerprintSHA256(pk)
}

// sshServe is a running `keydeck serve --ssh`.
type sshServe struct {
	cmd    *exec.Cmd
	stderr *servertest.SyncBuffer
	done   chan error // what cmd.Wait returned

	addr, port, hostKeyFP, hostKeyState, httpURL string
}

var (
	sshListenRE  = regexp.MustCompile(`keydeck: SSH listening on (127\.0\.0\.1:(\d+))`)
	sshHostKeyRE = regexp.MustCompile(`keydeck: SSH host key (SHA256:[0-9A-Za-z+/]+) \((.+), (generated now|reused)\)`)
	httpListenRE = regexp.MustCompile(`keydeck: HTTP API listening on (http://[0-9.:]+)`)
)

// startSSHServe runs `keydeck serve --ssh 127.0.0.1:0` (plus extra) and
// waits for its SSH listener.
func startSSHServe(t *testing.T, bin, db string, extra ...string) *sshServe {
	t.Helper()
	args := append([]string{"serve", "--db", db, "--ssh", "127.0.0.1:0", "--log-level", "warn"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "KEYDECK_REMOTE=")
	p := &sshServe{cmd: cmd, stderr: &servertest.SyncBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-p.done
		}
	})
	wantHTTP := strings.Contains(strings.Join(extra, " "), "--http")
	deadline := time.Now().Add(15 * time.Second)
	for {
		out := p.stderr.String()
		l, h := sshListenRE.FindStringSubmatch(out), sshHostKeyRE.FindStringSubmatch(out)
		hu := httpListenRE.FindStringSubmatch(out)
		if l != nil && h != nil && (!wantHTTP || hu != nil) {
			p.addr, p.port, p.hostKeyFP, p.hostKeyState = l[1], l[2], h[1], h[3]
			if hu != nil {
				p.httpURL = hu[1]
			}
			return p
		}
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("keydeck serve exited: %v\n%s", err, tmuxtest.Redact(out))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("keydeck serve --ssh did not start:\n%s", tmuxtest.Redact(out))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sshArgs are the client options of every connection: no user config, no
// agent, only the given key, and an unpinned host key (TestSSHHostKey
// pins it).
func sshArgs(port, key string, extra ...string) []string {
	args := []string{"-F", "/dev/null", "-p", port, "-i", key,
		"-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "BatchMode=yes",
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "ConnectTimeout=10"}
	return append(append(args, extra...), "localhost")
}

// sshRun runs the ssh client without a terminal and returns its exit
// status and stderr.
func sshRun(t *testing.T, args []string, command ...string) (int, string) {
	t.Helper()
	cmd := exec.Command("ssh", append(args, command...)...)
	var stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(""), io.Discard, &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), stderr.String()
		} else if err != nil {
			t.Fatal(err)
		}
		return 0, stderr.String()
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("ssh %v did not finish in 15s; stderr: %s", args, stderr.String())
		return 0, ""
	}
}

// sshPane runs ssh with args in a w×h tmux pane; when ssh ends the pane
// shows SSH-EXITED and its status. What the pane shows reaches the test
// output only redacted.
func sshPane(t *testing.T, w, h int, args []string) *tmuxtest.Session {
	t.Helper()
	return tmuxtest.Start(t, w, h, "ssh "+shellQuote(args)+"; echo SSH-EXITED $?; sleep 600",
		tmuxtest.WithRedact(tmuxtest.Redact))
}

func shellQuote(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

// createKeyInWizard types through the creation wizard and returns the
// Client ID and secret read off the reveal screen, leaving it with "I have
// stored it".
func createKeyInWizard(t *testing.T, p *tmuxtest.Session, name, query, mutation string) (string, string) {
	t.Helper()
	p.Send("n")
	p.WaitFor("Key name")
	p.Type(name)
	p.Send("Enter")
	p.WaitFor("[x] Read")
	p.Send("Down", "Space", "Enter") // + write
	p.WaitFor("Query allocation")
	p.Type(query)
	p.Send("Enter")
	p.WaitFor("Mutation allocation")
	p.Type(mutation)
	p.Send("Enter")
	p.WaitFor("Review", "read, write")
	p.Send("Enter")
	screen := p.WaitFor("New API key created", "shown only once")
	id, secret := clientIDRE.FindString(screen), secretRE.FindString(screen)
	if id == "" || secret == "" {
		t.Fatalf("no Client ID or secret on the reveal screen:\n%s", tmuxtest.Redact(screen))
	}
	p.Send("Tab", "Tab", "Enter") // I have stored it
	p.WaitFor(name)
	return id, secret
}

var clientIDRE = regexp.MustCompile(`kdc_[0-9A-Za-z]{22}`)

// keydeckCLI runs the binary on db with args (stdin given) and returns
// its redacted output and exit status.
func keydeckCLI(t *testing.T, bin, db, stdin string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"--db", db}, args...)...)
	cmd.Env = append(os.Environ(), "KEYDECK_REMOTE=", "KEYDECK_SECRET=")
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return tmuxtest.Redact(out.String()), ee.ExitCode()
	} else if err != nil {
		t.Fatalf("keydeck %v: %v", args, err)
	}
	return tmuxtest.Redact(out.String()), 0
}

func mustCLI(t *testing.T, bin, db string, args ...string) string {
	t.Helper()
	out, code := keydeckCLI(t, bin, db, "", args...)
	if code != 0 {
		t.Fatalf("keydeck %v: exit %d: %s", args, code, out)
	}
	return out
}

type listedKeys struct {
	Keys []struct {
		Name          string `json:"name"`
		ClientID      string `json:"client_id"`
		Status        string `json:"status"`
		QueryAlloc    int64  `json:"query_allocation"`
		MutationAlloc int64  `json:"mutation_allocation"`
	} `json:"keys"`
}

func keysOf(t *testing.T, bin, db, account string) listedKeys {
	t.Helper()
	out := mustCLI(t, bin, db, "--account", account, "keys", "list", "--all", "--json")
	var l listedKeys
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		t.Fatalf("keys list --json: %v: %s", err, out)
	}
	return l
}

// TestSSHEndToEnd: two accounts, two keys; each ssh session sees only its
// own account, creates a key through the wizard (checked from the CLI, and
// the secret verified), follows a resize; unregistered and removed keys,
// passwords, sessions without a PTY and commands are refused with the
// client's exit status and message; SIGTERM ends the live session with a
// line and stops the server within a few seconds.
func TestSSHEndToEnd(t *testing.T) {
	t.Parallel()
	needSSHTools(t)
	bin := servertest.Binary(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "data", "keydeck.db")
	alice, aliceFP := sshKeyFile(t, dir, "alice")
	bob, _ := sshKeyFile(t, dir, "bob")
	carol, carolFP := sshKeyFile(t, dir, "carol")
	mustCLI(t, bin, db, "account", "create", "acme")
	mustCLI(t, bin, db, "account", "add-ssh-key", "default", alice+".pub")
	mustCLI(t, bin, db, "account", "add-ssh-key", "acme", bob+".pub")

	srv := startSSHServe(t, bin, db, "--http", "127.0.0.1:0")
	if srv.hostKeyState != "generated now" {
		t.Errorf("first start: host key %s, want generated now", srv.hostKeyState)
	}
	a := sshPane(t, 80, 24, sshArgs(srv.port, alice))
	b := sshPane(t, 80, 24, sshArgs(srv.port, bob))
	a.WaitFor("account default", "You have no API keys yet")
	b.WaitFor("account acme", "You have no API keys yet")

	// alice creates a key; the CLI sees it in her account only, the secret
	// works, and the audit log names her SSH key.
	id, secret := createKeyInWizard(t, a, "E2E-SSH-Key", "250", "25")
	a.WaitFor("1–1 of 1 key")
	if _, code := keydeckCLI(t, bin, db, secret+"\n", "verify", "--client-id", id, "--secret", "-", "--op", "write"); code != 0 {
		t.Errorf("verify with the secret revealed over SSH: exit %d, want 0", code)
	}
	mine := keysOf(t, bin, db, "default")
	if len(mine.Keys) != 1 || mine.Keys[0].ClientID != id || mine.Keys[0].Name != "E2E-SSH-Key" ||
		mine.Keys[0].QueryAlloc != 250 || mine.Keys[0].MutationAlloc != 25 || mine.Keys[0].Status != "active" {
		t.Errorf("keys list --json of default after the wizard: %+v", mine)
	}
	audit := mustCLI(t, bin, db, "audit", "--key", id, "--json")
	if !strings.Contains(audit, `"actor": "ssh:`+aliceFP+`"`) && !strings.Contains(audit, `"actor":"ssh:`+aliceFP+`"`) {
		t.Errorf("the audit log does not name alice's SSH key (%s):\n%s", aliceFP, audit)
	}

	// bob creates his own; neither session shows the other's key. A read
	// verified with each secret after that shows up as 1 query unit used:
	// the list was reloaded since bob's key was created.
	bobID, bobSecret := createKeyInWizard(t, b, "Acme-SSH-Key", "40", "4")
	if theirs := keysOf(t, bin, db, "acme"); len(theirs.Keys) != 1 || theirs.Keys[0].ClientID != bobID {
		t.Errorf("keys list --json of acme: %+v", theirs)
	}
	for _, k := range [][2]string{{id, secret}, {bobID, bobSecret}} {
		if _, code := keydeckCLI(t, bin, db, k[1]+"\n", "verify", "--client-id", k[0], "--secret", "-", "--op", "read"); code != 0 {
			t.Errorf("verify read of %s: exit %d, want 0", k[0], code)
		}
	}
	a.Send("r")
	b.Send("r")
	if s := a.WaitFor("1–1 of 1 key", "E2E-SSH-Key", "1/250"); strings.Contains(s, "Acme-SSH-Key") {
		t.Errorf("alice's session shows acme's key:\n%s", tmuxtest.Redact(s))
	}
	if s := b.WaitFor("1–1 of 1 key", "Acme-SSH-Key", "1/40"); strings.Contains(s, "E2E-SSH-Key") {
		t.Errorf("bob's session shows the default account's key:\n%s", tmuxtest.Redact(s))
	}

	// The HTTP API runs beside the SSH server.
	if srv.httpURL == "" {
		t.Error("no HTTP API line")
	} else if out, code := keydeckCLI(t, bin, db, "", "--remote", srv.httpURL, "--token", "kdt_x", "keys", "list"); code == 0 || !strings.Contains(out, "token") {
		t.Errorf("the HTTP API beside SSH did not answer a wrong token with a refusal: exit %d: %s", code, out)
	}

	// A resize is followed: 160 columns show the Last used column and
	// whole Client IDs.
	a.Resize(160, 45)
	a.WaitFor("Last used", id)
	a.Resize(80, 24)
	if s := a.WaitFor("E2E-SSH-Key"); strings.Contains(s, "Last used") {
		t.Errorf("back at 80 columns the wide layout remains:\n%s", tmuxtest.Redact(s))
	}

	a.Send("q")
	a.WaitFor("SSH-EXITED 0")

	// Refused: an unregistered key, a password, no PTY, a command.
	refused := func(what string, stderr string, want ...string) {
		t.Helper()
		for _, w := range want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%s: stderr does not say %q:\n%s", what, w, stderr)
			}
		}
	}
	code, stderr := sshRun(t, sshArgs(srv.port, carol))
	if code != 255 {
		t.Errorf("unregistered key: ssh exit %d, want 255", code)
	}
	refused("unregistered key", stderr, fmt.Sprintf(msgNotKnown, carolFP), "Permission denied (publickey)")
	code, stderr = sshRun(t, []string{"-F", "/dev/null", "-p", srv.port, "-o", "PubkeyAuthentication=no",
		"-o", "PreferredAuthentications=password,keyboard-interactive", "-o", "BatchMode=yes",
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "localhost"})
	if code != 255 {
		t.Errorf("password: ssh exit %d, want 255", code)
	}
	refused("password", stderr, "Permission denied (publickey)")
	code, stderr = sshRun(t, sshArgs(srv.port, bob, "-T"))
	if code != 1 {
		t.Errorf("no PTY: ssh exit %d, want 1", code)
	}
	refused("no PTY", stderr, msgNoPTY)
	code, stderr = sshRun(t, sshArgs(srv.port, bob), "cat", "/etc/passwd")
	if code != 1 {
		t.Errorf("command: ssh exit %d, want 1", code)
	}
	refused("command", stderr, msgCommand)
	code, stderr = sshRun(t, sshArgs(srv.port, bob, "-s"), "sftp")
	if code == 0 || !strings.Contains(stderr, "subsystem request failed") {
		t.Errorf("sftp subsystem: ssh exit %d, stderr %q", code, stderr)
	}

	// A removed key is refused on its next connection, without a restart.
	mustCLI(t, bin, db, "account", "remove-ssh-key", "default", aliceFP, "--yes")
	code, stderr = sshRun(t, sshArgs(srv.port, alice))
	if code != 255 {
		t.Errorf("removed key: ssh exit %d, want 255", code)
	}
	refused("removed key", stderr, fmt.Sprintf(msgNotKnown, aliceFP), "Permission denied (publickey)")

	// SIGTERM: bob's session (in the wizard) ends with a line and exit 1,
	// the server stops within a few seconds.
	b.Send("n")
	b.WaitFor("Key name")
	start := time.Now()
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-srv.done:
		if err != nil {
			t.Errorf("keydeck serve after SIGTERM: %v\n%s", err, tmuxtest.Redact(srv.stderr.String()))
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("keydeck serve still running 5s after SIGTERM:\n%s", tmuxtest.Redact(srv.stderr.String()))
	}
	t.Logf("serve stopped %s after SIGTERM", time.Since(start).Round(time.Millisecond))
	screen := b.Within(5 * time.Second).WaitFor("SSH-EXITED 1")
	if !strings.Contains(strings.Join(strings.Fields(screen), " "), msgClosing) {
		t.Errorf("bob's terminal after SIGTERM does not say why:\n%s", tmuxtest.Redact(screen))
	}
	if strings.Contains(screen, "Key name") {
		t.Errorf("the UI was left on bob's terminal (alternate screen not left):\n%s", tmuxtest.Redact(screen))
	}
	if !strings.Contains(srv.stderr.String(), "keydeck: stopped") {
		t.Errorf("stderr: %s", tmuxtest.Redact(srv.stderr.String()))
	}
	if secretRE.MatchString(srv.stderr.String()) {
		t.Error("a secret reached the server's stderr")
	}
}

// TestSSHHostKey: `serve --ssh` alone; the host key is made on first start
// beside the database (0600), its fingerprint printed, and reused on the
// next start, where a client that pinned the printed key connects and one
// that pinned another key is stopped.
func TestSSHHostKey(t *testing.T) {
	t.Parallel()
	needSSHTools(t)
	bin := servertest.Binary(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "keydeck.db")
	bob, _ := sshKeyFile(t, dir, "bob")
	mustCLI(t, bin, db, "account", "add-ssh-key", "default", bob+".pub")

	first := startSSHServe(t, bin, db)
	path := filepath.Join(dir, HostKeyFile)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("no host key beside the database: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("host key mode %04o, want 0600", fi.Mode().Perm())
	}
	if first.hostKeyState != "generated now" || !strings.Contains(first.stderr.String(), path) {
		t.Errorf("first start: %s", first.stderr.String())
	}
	first.cmd.Process.Signal(syscall.SIGTERM)
	<-first.done

	second := startSSHServe(t, bin, db)
	if second.hostKeyState != "reused" || second.hostKeyFP != first.hostKeyFP {
		t.Errorf("second start: host key %s %s, want reused %s", second.hostKeyState, second.hostKeyFP, first.hostKeyFP)
	}
	signer, _, err := LoadHostKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if gossh.FingerprintSHA256(signer.PublicKey()) != second.hostKeyFP {
		t.Errorf("printed fingerprint %s is not the key file's", second.hostKeyFP)
	}
	pin := func(key gossh.PublicKey) string {
		f := filepath.Join(t.TempDir(), "known_hosts")
		line := fmt.Sprintf("[localhost]:%s %s", second.port, gossh.MarshalAuthorizedKey(key))
		if err := os.WriteFile(f, []byte(line), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	pinned := []string{"-F", "/dev/null", "-p", second.port, "-i", bob, "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
		"-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-T"}
	code, stderr := sshRun(t, append(pinned, "-o", "UserKnownHostsFile="+pin(signer.PublicKey()), "localhost"))
	if code != 1 || !strings.Contains(stderr, msgNoPTY) {
		t.Errorf("with the printed key pinned: ssh exit %d, stderr %q; want 1 and the no-PTY line", code, stderr)
	}
	code, stderr = sshRun(t, append(pinned, "-o", "UserKnownHostsFile="+pin(newUserKey(t).PublicKey()), "localhost"))
	if code != 255 || !strings.Contains(stderr, "REMOTE HOST IDENTIFICATION HAS CHANGED") {
		t.Errorf("with another key pinned: ssh exit %d, stderr %q; want 255 and a host key warning", code, stderr)
	}
	second.cmd.Process.Signal(syscall.SIGTERM)
	if err := <-second.done; err != nil {
		t.Errorf("second serve: %v", err)
	}
}
