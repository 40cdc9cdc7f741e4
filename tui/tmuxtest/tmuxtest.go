// Package tmuxtest drives a terminal program in a detached tmux pane for
// end-to-end tests: start a command at a given size, send keys, read the
// pane, wait (with a deadline, polling at a short interval) until it shows
// something, resize it, find its process. Each Session runs on its own tmux server (-L), which
// t.Cleanup kills; when the test has failed, the pane is logged first,
// through the Session's redaction, so secrets never reach the output.
//
// It is an ordinary package, not internal, so end-to-end tests anywhere in
// the module (the TUI's, the SSH server's) share it.
package tmuxtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	// DefaultTimeout is how long Wait and WaitFor wait unless told.
	DefaultTimeout = 15 * time.Second
	// pollEvery is how often a wait reads the pane again.
	pollEvery = 20 * time.Millisecond
)

// Available reports whether tmux is installed; tests skip without it.
func Available() bool {
	_, err := exec.LookPath("tmux")
	return err == nil
}

// Session is one pane running one command on a private tmux server.
type Session struct {
	t       testing.TB
	socket  string
	target  string
	timeout time.Duration
	redact  func(string) string
	env     []string
}

// Option configures Start.
type Option func(*Session)

// WithTimeout sets how long waits wait (default DefaultTimeout).
func WithTimeout(d time.Duration) Option { return func(s *Session) { s.timeout = d } }

// WithRedact sets what every pane passes through before it is printed
// (failure messages, the dump on failure); use it to hide secrets.
func WithRedact(f func(string) string) Option { return func(s *Session) { s.redact = f } }

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// secretLike is a Client Secret ("kds_" and base62), or enough of one
// (20 characters on) that a cut-off secret is hidden too.
var secretLike = regexp.MustCompile(`kds_[0-9A-Za-z]{20,}`)

// Redact hides Client Secrets in s, so that test output (failure messages,
// pane dumps) never prints one. Pass it to WithRedact for a session's panes.
func Redact(s string) string { return secretLike.ReplaceAllString(s, "kds_[redacted]") }

// Start runs command (through sh -c) in a detached pane of width×height.
func Start(t testing.TB, width, height int, command string, opts ...Option) *Session {
	t.Helper()
	if !Available() {
		t.Skip("tmux is not installed")
	}
	name := unsafeChars.ReplaceAllString(t.Name(), "_")
	if len(name) > 40 {
		name = name[:40]
	}
	s := &Session{
		t:       t,
		socket:  fmt.Sprintf("tmuxtest-%s-%d-%d", name, os.Getpid(), time.Now().UnixNano()),
		target:  "main",
		timeout: DefaultTimeout,
		redact:  func(p string) string { return p },
		env:     []string{"TERM=xterm-256color", "LANG=C.UTF-8"},
	}
	for _, o := range opts {
		o(s)
	}
	t.Cleanup(s.kill)
	// Registered after kill, so it runs before it (cleanups run last first).
	t.Cleanup(func() {
		if t.Failed() {
			s.Dump()
		}
	})
	args := []string{"new-session", "-d", "-s", s.target, "-x", fmt.Sprint(width), "-y", fmt.Sprint(height), "env"}
	args = append(append(args, s.env...), "sh", "-c", command)
	s.run(args...)
	return s
}

// kill stops the session's tmux server and removes its socket.
func (s *Session) kill() {
	s.cmd("kill-server").Run()
	dir := os.Getenv("TMUX_TMPDIR")
	if dir == "" {
		dir = os.TempDir()
	}
	os.Remove(filepath.Join(dir, fmt.Sprintf("tmux-%d", os.Getuid()), s.socket))
}

func (s *Session) cmd(args ...string) *exec.Cmd {
	c := exec.Command("tmux", append([]string{"-L", s.socket}, args...)...)
	// A test run from inside tmux must not talk to the user's server.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TMUX=") && !strings.HasPrefix(kv, "TMUX_PANE=") {
			c.Env = append(c.Env, kv)
		}
	}
	return c
}

func (s *Session) run(args ...string) string {
	s.t.Helper()
	out, err := s.cmd(args...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %s: %v: %s", args[0], err, s.redact(string(out)))
	}
	return string(out)
}

// Send sends tmux key names ("Enter", "Tab", "Down", "C-c") or text.
func (s *Session) Send(keys ...string) {
	s.t.Helper()
	s.run(append([]string{"send-keys", "-t", s.target}, keys...)...)
}

// Type types text literally (no key names).
func (s *Session) Type(text string) {
	s.t.Helper()
	s.run("send-keys", "-t", s.target, "-l", text)
}

// Capture returns the pane's text as shown now.
func (s *Session) Capture() string {
	s.t.Helper()
	return s.run("capture-pane", "-p", "-t", s.target)
}

// Within returns the session with waits of d instead of its timeout, for
// one check that must happen sooner (or may take longer) than the rest:
// s.Within(5*time.Second).WaitFor("EXITED").
func (s *Session) Within(d time.Duration) *Session {
	c := *s
	c.timeout = d
	return &c
}

// PID is the process id of the pane's command (the sh -c, or what it
// execs), to kill it the hard way.
func (s *Session) PID() int {
	s.t.Helper()
	out := strings.TrimSpace(s.run("display-message", "-p", "-t", s.target, "#{pane_pid}"))
	pid, err := strconv.Atoi(out)
	if err != nil {
		s.t.Fatalf("tmux pane_pid: %q: %v", out, err)
	}
	return pid
}

// Resize sets the pane to width×height.
func (s *Session) Resize(width, height int) {
	s.t.Helper()
	s.run("resize-window", "-t", s.target, "-x", fmt.Sprint(width), "-y", fmt.Sprint(height))
}

// Wait reads the pane until ok accepts it and returns that pane; at the
// deadline it fails the test, saying what it waited for (what) and showing
// the last pane, redacted.
func (s *Session) Wait(what string, ok func(pane string) bool) string {
	s.t.Helper()
	deadline := time.Now().Add(s.timeout)
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		pane := s.Capture()
		if ok(pane) {
			return pane
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("after %s the pane still does not show %s; it shows:\n%s", s.timeout, what, s.redact(pane))
		}
		<-tick.C
	}
}

// WaitFor waits until the pane contains every one of want.
func (s *Session) WaitFor(want ...string) string {
	s.t.Helper()
	return s.Wait(fmt.Sprintf("%q", want), func(pane string) bool {
		for _, w := range want {
			if !strings.Contains(pane, w) {
				return false
			}
		}
		return true
	})
}

// Dump logs the pane, redacted.
func (s *Session) Dump() {
	s.t.Helper()
	out, err := s.cmd("capture-pane", "-p", "-t", s.target).CombinedOutput()
	if err != nil {
		s.t.Logf("tmux pane: capture failed: %v", err)
		return
	}
	s.t.Logf("tmux pane at the end:\n%s", s.redact(string(out)))
}
