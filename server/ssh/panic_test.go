package ssh

// Tests of panics in a session (panics.go).

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/keydeck/keydeck/storage"
)

const panicSecret = "kds_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

func (p *faulty) Store(account, actor string) (storage.Store, error) {
	if p.inStore.CompareAndSwap(true, false) {
		panic("Store exploded, holding " + panicSecret)
	}
	st, err := p.Admin.Store(account, actor)
	if err != nil {
		return nil, err
	}
	return &faultyStore{Store: st, p: p}, nil
}

type faultyStore struct {
	storage.Store
	p *faulty
}

func (s *faultyStore) ListKeys(ctx context.Context, opt storage.ListOptions) (storage.KeyPage, error) {
	if s.p.inList.CompareAndSwap(true, false) {
		panic("ListKeys exploded, holding " + panicSecret)
	}
	return s.Store.ListKeys(ctx, opt)
}

// A panic in one session, in its program or in its handler, closes that
// session with one line (the terminal given back), logs it without the
// secret, and leaves the other sessions and the server running.
func TestSSHPanicEndsOneSession(t *testing.T) {
	p := &faulty{}
	e := newSSHEnv(t, func(c *Config) {
		p.Admin = c.Admin
		c.Admin = p
		c.TUI.Refresh = -1 // only a key press lists keys
		c.ShutdownGrace = 300 * time.Millisecond
	})
	alice, bob := newUserKey(t), newUserKey(t)
	e.register("default", alice)
	e.register("acme", bob)

	a := e.open(alice, 80, 24)
	b := e.open(bob, 80, 24)
	a.waitFor("You have no API keys yet")
	b.waitFor("You have no API keys yet")

	// In a command the program runs on a goroutine of its own.
	p.inList.Store(true)
	a.send("r")
	code, stderr := a.exit(5 * time.Second)
	if code != 1 || stderr != msgPanic+"\r\n" {
		t.Errorf("panicking session: exit %d, stderr %q; want 1, %q", code, stderr, msgPanic)
	}
	if out := a.out.String(); !strings.Contains(out, "\x1b[?1049l") {
		t.Errorf("the panicking session did not leave the alternate screen: …%q", lastChars(out, 200))
	}

	// In the handler, before the program exists.
	p.inStore.Store(true)
	c := e.open(alice, 80, 24)
	if code, stderr := c.exit(5 * time.Second); code != 1 || stderr != msgPanic+"\r\n" {
		t.Errorf("session whose handler panicked: exit %d, stderr %q; want 1, %q", code, stderr, msgPanic)
	}

	// The others go on, and the server takes new sessions.
	b.send("n")
	b.waitFor("Key name")
	if n := e.sessions(); n != 1 {
		t.Errorf("%d sessions, want 1 (the slots of the panicked ones are back)", n)
	}
	d := e.open(alice, 80, 24)
	d.waitFor("You have no API keys yet")
	d.send("q")
	if code, _ := d.exit(5 * time.Second); code != 0 {
		t.Errorf("a new session after the panics: exit %d", code)
	}

	log := e.log.String()
	if n := logLines(log, "level=ERROR", logPanic); n != 2 {
		t.Errorf("%d panic log lines, want 2:\n%s", n, log)
	}
	if !strings.Contains(log, "ListKeys exploded") || !strings.Contains(log, "Store exploded") {
		t.Errorf("the log does not say what panicked:\n%s", log)
	}
	// (newSSHEnv's cleanup fails the test if the secret reached the log.)

	// Nothing of the panicked sessions keeps Shutdown waiting.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// fakeModel panics where it is told to.
type fakeModel struct{ in string }

func (m fakeModel) Init() tea.Cmd {
	if m.in == "init" {
		panic("init")
	}
	return func() tea.Msg {
		return tea.BatchMsg{func() tea.Msg {
			if m.in == "cmd" {
				panic("cmd")
			}
			return nil
		}}
	}
}

func (m fakeModel) Update(tea.Msg) (tea.Model, tea.Cmd) {
	if m.in == "update" {
		panic("update")
	}
	return m, nil
}

func (m fakeModel) View() tea.View {
	if m.in == "view" {
		panic("view")
	}
	return tea.NewView("fine")
}

// guardModel turns a panic anywhere in the model, or in a command of a
// batch it returns, into one report and a quit.
func TestGuardModel(t *testing.T) {
	for _, where := range []string{"init", "update", "view", "cmd", "nowhere"} {
		var got []any
		g := guardModel(fakeModel{in: where}, func(r any) { got = append(got, r) })
		var quit bool
		run := func(c tea.Cmd) {
			for c != nil {
				msg := c()
				c = nil
				switch m := msg.(type) {
				case tea.QuitMsg:
					quit = true
				case tea.BatchMsg:
					for _, c := range m {
						if _, ok := c().(tea.QuitMsg); ok {
							quit = true
						}
					}
				}
			}
		}
		run(g.Init())
		g.View()
		_, c := g.Update(nil)
		run(c)
		g.View()
		want := 1
		if where == "nowhere" {
			want = 0
		}
		if len(got) != want || (want == 1 && got[0] != where) {
			t.Errorf("panic in %s: reported %v", where, got)
		}
		if quit != (want == 1) {
			t.Errorf("panic in %s: quit = %v", where, quit)
		}
	}
}
