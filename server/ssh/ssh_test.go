package ssh

// Unit tests of the SSH server: wish's testsession clients against the real
// server on a real SQLite database.
//
// Tests that each have their own server run in parallel (t.Parallel).
// Three stay sequential, so they run alone, before the parallel ones
// resume: TestSSHIdleTimeout (a session typed into every 50ms must not look
// idle after 400ms), TestSSHShutdown (clients must hang up within the
// grace) and TestSSHDroppedSessions (it counts the whole process's
// goroutines and open files).

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"charm.land/wish/v2/testsession"
	"github.com/charmbracelet/x/ansi"
	gossh "golang.org/x/crypto/ssh"

	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/server/internal/servertest"
	"github.com/keydeck/keydeck/storage"
	"github.com/keydeck/keydeck/tui"
	"github.com/keydeck/keydeck/tui/tmuxtest"
)

// Each key opens its own account's screen, and only that one.
func TestSSHOpensTheKeysAccount(t *testing.T) {
	t.Parallel()
	e := newSSHEnv(t, nil)
	alice, bob := newUserKey(t), newUserKey(t)
	e.register("default", alice)
	e.register("acme", bob)
	e.createKey("default", "Only-Default")
	e.createKey("acme", "Only-Acme")

	ta := e.open(alice, 80, 24)
	tb := e.open(bob, 80, 24)
	sa := ta.waitFor("account default", "Only-Default")
	sb := tb.waitFor("account acme", "Only-Acme")
	if strings.Contains(sa, "Only-Acme") || strings.Contains(sa, "acme") {
		t.Errorf("the default account's session shows acme's key:\n%s", sa)
	}
	if strings.Contains(sb, "Only-Default") {
		t.Errorf("acme's session shows the default account's key:\n%s", sb)
	}
	if n := e.sessions(); n != 2 {
		t.Errorf("%d sessions, want 2", n)
	}
	ta.send("q")
	tb.send("q")
	for _, tm := range []*sshTerm{ta, tb} {
		if code, stderr := tm.exit(5 * time.Second); code != 0 || stderr != "" {
			t.Errorf("quitting: exit status %d, stderr %q; want 0 and nothing", code, stderr)
		}
	}
}

// Unregistered keys, passwords and keyboard-interactive are refused; the
// refused key is named in a banner.
func TestSSHRefusesWhatIsNotARegisteredKey(t *testing.T) {
	t.Parallel()
	e := newSSHEnv(t, nil)
	e.register("default", newUserKey(t))
	stranger := newUserKey(t)

	banner := &servertest.SyncBuffer{}
	_, err := testsession.NewClientSession(t, e.addr, clientConfig(stranger, banner))
	if err == nil || !strings.Contains(err.Error(), "unable to authenticate") {
		t.Fatalf("an unregistered key: err = %v, want an authentication failure", err)
	}
	fp := gossh.FingerprintSHA256(stranger.PublicKey())
	if want := fmt.Sprintf(msgNotKnown, fp) + "\n"; banner.String() != want {
		t.Errorf("banner = %q, want %q", banner.String(), want)
	}

	for name, auth := range map[string]gossh.AuthMethod{
		"password": gossh.Password("hunter2"),
		"keyboard-interactive": gossh.KeyboardInteractive(func(string, string, []string, []bool) ([]string, error) {
			t.Error("the server asked a keyboard-interactive question")
			return nil, nil
		}),
	} {
		cfg := &gossh.ClientConfig{User: "root", Auth: []gossh.AuthMethod{auth}, HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second}
		_, err := testsession.NewClientSession(t, e.addr, cfg)
		// The server offers publickey only, so the client never gets to
		// try its method.
		if err == nil || !strings.Contains(err.Error(), "no supported methods remain") {
			t.Errorf("%s: err = %v, want no supported methods", name, err)
		}
	}
	if strings.Contains(e.log.String(), "hunter2") {
		t.Error("the password reached the log")
	}
}

// A removed key is refused on the next connection, and a session that
// starts after its key was removed is refused too.
func TestSSHRemovedKeyIsRefused(t *testing.T) {
	t.Parallel()
	e := newSSHEnv(t, nil)
	alice := newUserKey(t)
	fp := e.register("default", alice)

	tm := e.open(alice, 80, 24)
	tm.waitFor("You have no API keys yet")

	// Authenticated a moment ago, removed before the session starts.
	conn, err := gossh.Dial("tcp", e.addr, clientConfig(alice, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := e.db.RemoveSSHKey(context.Background(), "test", "default", fp); err != nil {
		t.Fatal(err)
	}
	sess, err := conn.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	late := startTerm(t, sess, 80, 24)
	if code, stderr := late.exit(5 * time.Second); code != 1 || stderr != fmt.Sprintf(msgGone, fp)+"\r\n" {
		t.Errorf("session after removal: exit %d, stderr %q; want 1 and %q", code, stderr, fmt.Sprintf(msgGone, fp))
	}

	banner := &servertest.SyncBuffer{}
	if _, err := testsession.NewClientSession(t, e.addr, clientConfig(alice, banner)); err == nil {
		t.Fatal("a removed key still connects")
	}
	if !strings.Contains(banner.String(), fp) {
		t.Errorf("banner %q does not name the key", banner.String())
	}

	// The session that was open keeps working until it ends.
	tm.send("q")
	if code, _ := tm.exit(5 * time.Second); code != 0 {
		t.Errorf("open session: exit %d", code)
	}
}

// Without a PTY, with a command, or asking for a subsystem: one line and a
// non-zero exit, or a refusal by the protocol.
func TestSSHServesOnlyTheUI(t *testing.T) {
	t.Parallel()
	e := newSSHEnv(t, nil)
	alice := newUserKey(t)
	e.register("default", alice)

	run := func(pty bool, cmd string) (int, string, string) {
		t.Helper()
		sess, err := testsession.NewClientSession(t, e.addr, clientConfig(alice, nil))
		if err != nil {
			t.Fatal(err)
		}
		var out, errOut servertest.SyncBuffer
		sess.Stdout, sess.Stderr = &out, &errOut
		if pty {
			if err := sess.RequestPty("xterm", 24, 80, gossh.TerminalModes{}); err != nil {
				t.Fatal(err)
			}
		}
		done := make(chan error, 1)
		go func() {
			if cmd == "" {
				err := sess.Shell()
				if err == nil {
					err = sess.Wait()
				}
				done <- err
			} else {
				done <- sess.Run(cmd)
			}
		}()
		select {
		case err = <-done:
		case <-time.After(5 * time.Second):
			sess.Close()
			t.Fatalf("pty %v, command %q: the session is still open after 5s", pty, cmd)
		}
		return exitStatus(t, err), out.String(), errOut.String()
	}
	for _, c := range []struct {
		name string
		pty  bool
		cmd  string
		want string
	}{
		{"shell without a PTY", false, "", msgNoPTY + "\n"},
		{"command without a PTY", false, "cat /etc/passwd", msgCommand + "\n"},
		{"command with a PTY", true, "sh", msgCommand + "\r\n"},
	} {
		code, out, stderr := run(c.pty, c.cmd)
		if code != 1 || stderr != c.want || out != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want 1, nothing, %q", c.name, code, out, stderr, c.want)
		}
	}

	sess, err := testsession.NewClientSession(t, e.addr, clientConfig(alice, nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.RequestSubsystem("sftp"); err == nil {
		t.Error("the sftp subsystem was accepted")
	}
	if n := e.sessions(); n != 0 {
		t.Errorf("%d sessions after refusals, want 0", n)
	}
}

// No port forwarding either way, no other channel types.
func TestSSHForwardsNothing(t *testing.T) {
	t.Parallel()
	e := newSSHEnv(t, nil)
	alice := newUserKey(t)
	e.register("default", alice)
	target, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	go func() {
		for {
			c, err := target.Accept()
			if err != nil {
				return
			}
			t.Error("a forwarded connection reached the target")
			c.Close()
		}
	}()

	client, err := gossh.Dial("tcp", e.addr, clientConfig(alice, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if c, err := client.Dial("tcp", target.Addr().String()); err == nil {
		c.Close()
		t.Error("local forwarding (direct-tcpip) was accepted")
	}
	if l, err := client.Listen("tcp", "127.0.0.1:0"); err == nil {
		l.Close()
		t.Error("remote forwarding (tcpip-forward) was accepted")
	}
	for _, typ := range []string{"x11", "direct-streamlocal@openssh.com", "auth-agent@openssh.com"} {
		if ch, _, err := client.OpenChannel(typ, nil); err == nil {
			ch.Close()
			t.Errorf("channel type %s was accepted", typ)
		}
	}
}

// A session creates a key through the wizard: the audit log names the SSH
// key, copy goes out as OSC 52 to the client and never to the server's
// clipboard, and a window change redraws at the new size.
func TestSSHWizardAuditAndClipboard(t *testing.T) {
	t.Parallel()
	var serverClipboard atomic.Int32
	e := newSSHEnv(t, func(c *Config) {
		// What a local TUI would use; the server must override it.
		c.TUI.Clipboard = tui.ClipboardLocal
		c.TUI.WriteClipboard = func(string) error { serverClipboard.Add(1); return nil }
	})
	alice := newUserKey(t)
	fp := e.register("default", alice)

	tm := e.open(alice, 80, 24)
	tm.waitFor("You have no API keys yet")
	tm.send("n")
	tm.waitFor("Key name")
	tm.send("Unit-SSH-Key\r")
	tm.waitFor("Permissions")
	tm.send("\r")
	tm.waitFor("Query allocation")
	tm.send("7\r")
	tm.waitFor("Mutation allocation")
	tm.send("\r")
	tm.waitFor("Review")
	tm.send("\r")
	screen := tm.waitFor("New API key created", "shown only once")
	secret := secretRE.FindString(screen)
	if secret == "" {
		t.Fatalf("no secret on the reveal screen:\n%s", tmuxtest.Redact(screen))
	}
	tm.send("c")
	osc52 := "\x1b]52;c;" + base64.StdEncoding.EncodeToString([]byte(secret))
	tm.wait("the secret sent to the client as OSC 52", func(out string) bool { return strings.Contains(out, osc52) })
	if n := serverClipboard.Load(); n != 0 {
		t.Errorf("the server's clipboard was written %d times", n)
	}
	tm.send("\t\t\r") // I have stored it
	tm.waitFor("1–1 of 1 key")

	// Resize: the next frame is drawn at 160 columns, where the list
	// shows the Last used column and whole Client IDs.
	mark := len(tm.out.String())
	if err := tm.sess.WindowChange(45, 160); err != nil {
		t.Fatal(err)
	}
	tm.wait("a wide frame after the window change", func(out string) bool {
		return strings.Contains(ansi.Strip(out[mark:]), "Last used")
	})

	tm.send("q")
	if code, _ := tm.exit(5 * time.Second); code != 0 {
		t.Errorf("exit %d", code)
	}

	st, err := e.db.Store("default", "test")
	if err != nil {
		t.Fatal(err)
	}
	page, err := st.ListKeys(context.Background(), storage.ListOptions{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Keys) != 1 || page.Keys[0].Name != "Unit-SSH-Key" || page.Keys[0].QueryAlloc != 7 {
		t.Fatalf("keys after the wizard: %+v", page.Keys)
	}
	events, err := st.Audit(context.Background(), storage.AuditFilter{Key: page.Keys[0].ClientID})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || events[0].Action != model.AuditKeyCreate || events[0].Actor != "ssh:"+fp {
		t.Errorf("audit events: %+v; want one key.create by ssh:%s", events, fp)
	}
	if strings.Contains(e.log.String(), secret) {
		t.Error("the secret reached the server log")
	}
}

// At most MaxSessions run at once; the next one is told, and once one
// ends there is room again.
func TestSSHMaxSessions(t *testing.T) {
	t.Parallel()
	e := newSSHEnv(t, func(c *Config) { c.MaxSessions = 1 })
	alice := newUserKey(t)
	e.register("default", alice)

	first := e.open(alice, 80, 24)
	first.waitFor("You have no API keys yet")
	second := e.open(alice, 80, 24)
	if code, stderr := second.exit(5 * time.Second); code != 1 || stderr != fmt.Sprintf(msgBusy, 1)+"\r\n" {
		t.Errorf("second session: exit %d, stderr %q", code, stderr)
	}
	first.send("q")
	first.exit(5 * time.Second)
	third := e.open(alice, 80, 24)
	third.waitFor("You have no API keys yet")
	third.send("q")
	if code, _ := third.exit(5 * time.Second); code != 0 {
		t.Errorf("third session: exit %d", code)
	}
}

// A session without input is closed after IdleTimeout, with a line saying
// so; typing keeps it open.
func TestSSHIdleTimeout(t *testing.T) {
	const idle = 400 * time.Millisecond
	e := newSSHEnv(t, func(c *Config) { c.IdleTimeout = idle })
	alice := newUserKey(t)
	e.register("default", alice)

	busy := e.open(alice, 80, 24)
	// Type into busy every idle/8 from the start (the pace is what is
	// tested; a key every 50ms leaves room for a slow machine) until quiet
	// has been closed.
	stop, stopped := make(chan struct{}), make(chan error, 1)
	go func() {
		tick := time.NewTicker(idle / 8)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				stopped <- nil
				return
			case <-tick.C:
			}
			if _, err := io.WriteString(busy.stdin, "r"); err != nil { // refresh: harmless input
				stopped <- err
				return
			}
		}
	}()
	busy.waitFor("You have no API keys yet")
	quiet := e.open(alice, 80, 24)
	quiet.waitFor("You have no API keys yet")
	// quiet is closed about idle after it started; busy, older and typed
	// into all along, is still open then.
	select {
	case err := <-quiet.done:
		quiet.done <- err
	case err := <-stopped:
		t.Fatalf("a session with input was closed as idle (typing: %v)", err)
	case <-time.After(10 * idle):
		t.Fatal("a session without input is still open after 10× the idle timeout")
	}
	close(stop)
	if err := <-stopped; err != nil || busy.ended() {
		t.Fatalf("a session with input was closed as idle (typing: %v)", err)
	}
	if code, stderr := quiet.exit(time.Second); code != 1 || stderr != fmt.Sprintf(msgIdle, idle)+"\r\n" {
		t.Errorf("idle session: exit %d, stderr %q", code, stderr)
	}
	if code, _ := busy.exit(3 * idle); code != 1 {
		t.Errorf("the busy session, once quiet: exit %d, want 1 (idle)", code)
	}
}

// Shutdown ends every session with a line saying why, closes connections
// that never opened a session, refuses new ones, and returns in a few
// seconds.
func TestSSHShutdown(t *testing.T) {
	// Not parallel, and a grace of 1s: the sessions' programs must quit
	// and their clients hang up within the grace, which at load 10 on two
	// cores, beside other tests, 500ms was not. The connection without a
	// session holds Shutdown for the whole grace, so it is the test's
	// length.
	e := newSSHEnv(t, func(c *Config) { c.ShutdownGrace = time.Second })
	alice, bob := newUserKey(t), newUserKey(t)
	e.register("default", alice)
	e.register("acme", bob)

	a := e.open(alice, 80, 24)
	b := e.open(bob, 120, 40)
	a.waitFor("You have no API keys yet")
	b.waitFor("You have no API keys yet")
	b.send("n") // in the wizard
	b.waitFor("Key name")
	// A connection with no session: only the grace period ends it.
	bare, err := gossh.Dial("tcp", e.addr, clientConfig(alice, nil))
	if err != nil {
		t.Fatal(err)
	}
	bareDone := make(chan error, 1)
	go func() { bareDone <- bare.Wait() }()

	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	took := time.Since(start)
	if took > 3*time.Second {
		t.Errorf("Shutdown took %s", took)
	}
	t.Logf("Shutdown took %s", took)
	for _, tm := range []*sshTerm{a, b} {
		code, stderr := tm.exit(time.Second)
		if code != 1 || stderr != msgClosing+"\r\n" {
			t.Errorf("session at shutdown: exit %d, stderr %q; want 1, %q", code, stderr, msgClosing)
		}
		// The client's terminal is given back: the program left the
		// alternate screen.
		if out := tm.out.String(); !strings.Contains(out, "\x1b[?1049l") {
			t.Errorf("the session did not leave the alternate screen: …%q", lastChars(out, 200))
		}
	}
	select {
	case <-bareDone:
	case <-time.After(2 * time.Second):
		t.Error("the connection without a session is still open")
	}
	if n := e.sessions(); n != 0 {
		t.Errorf("%d sessions after Shutdown", n)
	}
	if c, err := net.DialTimeout("tcp", e.addr, time.Second); err == nil {
		c.Close()
		t.Error("the listener still accepts after Shutdown")
	}
}
