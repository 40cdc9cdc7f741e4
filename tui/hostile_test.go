package tui

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/keydeck/keydeck/api"
	"github.com/keydeck/keydeck/model"
	"github.com/keydeck/keydeck/storage/remote"
	"github.com/keydeck/keydeck/storage/remote/remotetest"
)

// hostileModel is the TUI on a remote store whose server answers a.
func hostileModel(t *testing.T, a remotetest.Answers) *Model {
	t.Helper()
	ts := httptest.NewServer(remotetest.Handler(a))
	t.Cleanup(ts.Close)
	st, err := remote.New(ts.URL, model.NewToken(), remote.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	m := newTestModel(t, st, testOptions(nil), 140, 40)
	run(t, m, m.Init())
	return m
}

// mustDrawClean fails if the frame carries anything of the server's text
// that could act on the terminal. The frame's own styling is escape
// sequences too, so the raw frame is searched for the hostile ones, and
// the frame without styling for any control character at all.
func mustDrawClean(t *testing.T, what string, m *Model) {
	t.Helper()
	raw := m.Render()
	for _, seq := range []string{"\x1b]0;", "\x1b[2J", "\x07", "\r", "\u202e", "\u2066", "\u009b", "\x7f", "\x00", "\t"} {
		if strings.Contains(raw, seq) {
			t.Errorf("%s: the frame carries %q:\n%q", what, seq, raw)
		}
	}
	for _, line := range strings.Split(ansi.Strip(raw), "\n") {
		if r, bad := remotetest.Unsafe(line); bad {
			t.Errorf("%s: a line carries %U: %q", what, r, line)
		}
	}
}

// The TUI in remote mode draws a hostile server's strings (account name,
// key names, audit details) with their control characters replaced, and
// its error messages on the status line the same way.
func TestHostileServerCannotReachTheScreen(t *testing.T) {
	m := hostileModel(t, remotetest.Default())
	mustShow(t, m, remotetest.Marker) // the key list, and the account in the header
	mustDrawClean(t, "list", m)
	press(t, m, "enter")
	if m.Screen() != ScreenDetail {
		t.Fatalf("enter opened %v (%q)", m.Screen(), m.ErrorText())
	}
	mustShow(t, m, "forged line")
	mustDrawClean(t, "details", m)

	a := remotetest.Default()
	a.Problem = remotetest.HostileProblem(http.StatusConflict, api.TypePrefix+"something-new")
	m = hostileModel(t, a)
	press(t, m, "x", "tab", "enter") // revoke: answered with the problem
	if !strings.Contains(m.ErrorText(), remotetest.Marker) {
		t.Fatalf("the revoke's error is not shown: %q", m.ErrorText())
	}
	mustDrawClean(t, "status line", m)
}
